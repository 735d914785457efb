/**
 * `openfront test-function <code.js> --event <event.json> [--kvs <data.json>] [--runtime …]`
 *
 * Prints ONE JSON object with CloudFront's TestResult field names. Exit 0 whenever the function ran (even if it
 * failed); exit 2 for unusable input (missing file, invalid JSON, bad flag), exit 1 when CloudFront would refuse
 * the code itself.
 */
import type { Command } from 'commander';
import { isOpenFrontError } from '../../errors.js';
import { parseImportJson } from '../../kvs/import-export.js';
import { MapSnapshot } from '../../kvs/snapshot.js';
import type { KvsRead } from '../../runtime/types.js';
import { assertRuntime, DEFAULT_RUNTIME, loadFunction } from '../../runtime/function.js';
import { normalizeTestEvent } from '../../runtime/test-event.js';
import { toTestResult } from '../../runtime/test-result.js';
import { isUsageError, readInputFile, readJsonFile, usageError } from '../input.js';

interface TestFunctionOptions {
  event: string;
  kvs?: string;
  runtime: string;
  cpuBudgetUs?: string;
}

export function register(program: Command): void {
  program
    .command('test-function')
    .description('Run a function once against an event, like CloudFront TestFunction, and print the TestResult JSON')
    .argument('<code>', 'function code file (.js)')
    .requiredOption('--event <file>', 'event JSON file (the TestFunction / console test event format)')
    .option('--kvs <file>', 'KeyValueStore data in the S3 import format {"data":[{"key":…,"value":…}]}')
    .option('--runtime <runtime>', 'cloudfront-js-1.0 or cloudfront-js-2.0', DEFAULT_RUNTIME)
    .option('--cpu-budget-us <micros>', 'CPU budget behind ComputeUtilization, in microseconds')
    .action(async (codeFile: string, options: TestFunctionOptions) => {
      try {
        assertRuntime(options.runtime);
        const code = readInputFile(codeFile, 'function code');
        const event = normalizeTestEvent(readJsonFile(options.event, 'event'));
        const items = options.kvs ? parseImportJson(readInputFile(options.kvs, 'KVS data')) : [];
        const kvs = new MapSnapshot(new Map(items.map((item) => [item.key, item.value])));
        const cpuBudgetMicros = options.cpuBudgetUs === undefined ? undefined : Number(options.cpuBudgetUs);
        if (cpuBudgetMicros !== undefined && !(cpuBudgetMicros > 0))
          throw usageError(`--cpu-budget-us must be a positive number, got "${options.cpuBudgetUs}"`);
        const fn = await loadFunction(code, {
          runtime: options.runtime,
          name: codeFile,
          ...(cpuBudgetMicros ? { limits: { cpuBudgetMicros } } : {}),
        }).catch((err: unknown) => {
          if (isOpenFrontError(err) && err.status === 503) return { loadFailure: err.message };
          throw err;
        });
        if ('loadFailure' in fn) {
          printResult({ FunctionOutput: '', FunctionErrorMessage: fn.loadFailure, FunctionExecutionLogs: [], ComputeUtilization: '0' });
          return;
        }
        const result = await fn.run(event, { kvs });
        fn.dispose();
        printResult(toTestResult(result));
        noteRequestedStoreIds(result.kvsReads, options.kvs);
      } catch (err) {
        if (isUsageError(err)) {
          process.stderr.write(`openfront test-function: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        if (isOpenFrontError(err)) {
          process.stderr.write(`${err.message}\n`);
          process.exitCode = err.code === 'EVENT_INVALID' || err.code === 'FUNCTION_RUNTIME_UNKNOWN' || err.code.startsWith('KVS_') ? 2 : 1;
          return;
        }
        throw err;
      }
    });
}

/**
 * The data of --kvs has no store id, so it answers to whatever id the code names; say which ids those were (on
 * stderr, beside the TestResult) so that a typo in an id does not pass unnoticed before `openfront start`.
 */
function noteRequestedStoreIds(reads: KvsRead[], kvsFile: string | undefined): void {
  const ids = [...new Set(reads.flatMap((read) => (read.requestedId === undefined ? [] : [read.requestedId])))];
  for (const id of ids) {
    process.stderr.write(
      `openfront test-function: cf.kvs(${JSON.stringify(id)}) read ${kvsFile ?? 'an empty store'} (local data has no store id; on openfront start the store needs awsId ${JSON.stringify(id)})\n`,
    );
  }
}

function printResult(result: object): void {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
