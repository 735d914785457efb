/**
 * `openfront function …`: the function lifecycle through the API. CloudFront operations go through the official
 * `@aws-sdk/client-cloudfront` (what users' own tooling does); history, diff and rollback through the native API.
 * Writes fetch the ETag they need themselves. Human output by default, `--json` for scripts; any failure exits
 * non-zero with one sentence on stderr.
 */
import { writeFileSync } from 'node:fs';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  DescribeKeyValueStoreCommand,
  DescribeFunctionCommand,
  GetFunctionCommand,
  ListFunctionsCommand,
  PublishFunctionCommand,
  TestFunctionCommand,
  UpdateFunctionCommand,
  type FunctionConfig,
  type FunctionStage,
  type FunctionSummary,
} from '@aws-sdk/client-cloudfront';
import type { Command } from 'commander';
import type { FunctionVersionJson, StagePointerJson } from '../../control/functions/native-routes.js';
import { apiAction, cloudFrontClient, nativeRequest, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';
import { readInputFile, usageError } from '../input.js';
import { sdkWait, waitQuery, withWaitOption, withWaitParams } from '../wait.js';
import { ownershipByName, registerOwnerCommand } from './ownership.js';
import { labelsText } from '../../state/ownership.js';

type Options = ApiOptions & { json?: boolean; stage?: string; wait?: string | boolean };

const NATIVE = '/openfront/v1/functions';

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function action<O extends Options, A extends unknown[]>(run: (config: ApiClientConfig, options: O, ...args: A) => Promise<void>) {
  return apiAction<O, A>(run);
}

function stageOf(options: Options): FunctionStage | undefined {
  if (options.stage === undefined) return undefined;
  const stage = options.stage.toUpperCase();
  if (stage !== 'DEVELOPMENT' && stage !== 'LIVE') throw usageError(`--stage must be DEVELOPMENT or LIVE, got "${options.stage}"`);
  return stage;
}

function versionArg(text: string, what: string): number {
  if (!/^[1-9]\d*$/.test(text)) throw usageError(`${what} must be a version number (1, 2, …), got "${text}"`);
  return Number(text);
}

/** A store given by name or ARN → its ARN. */
async function storeArn(config: ApiClientConfig, ref: string): Promise<string> {
  if (ref.startsWith('arn:')) return ref;
  return (await cloudFrontClient(config).send(new DescribeKeyValueStoreCommand({ Name: ref }))).KeyValueStore!.ARN!;
}

function functionConfig(runtime: string, comment: string, arn: string | undefined): FunctionConfig {
  return {
    Runtime: runtime as FunctionConfig['Runtime'],
    Comment: comment,
    ...(arn ? { KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: arn }] } } : {}),
  };
}

async function etagOf(config: ApiClientConfig, name: string, stage: FunctionStage): Promise<string> {
  return (await cloudFrontClient(config).send(new DescribeFunctionCommand({ Name: name, Stage: stage }))).ETag!;
}

function summaryJson(summary: FunctionSummary | undefined, etag: string | undefined): Record<string, unknown> {
  return {
    name: summary?.Name,
    stage: summary?.FunctionMetadata?.Stage,
    status: summary?.Status,
    runtime: summary?.FunctionConfig?.Runtime,
    comment: summary?.FunctionConfig?.Comment,
    keyValueStoreArn: summary?.FunctionConfig?.KeyValueStoreAssociations?.Items?.[0]?.KeyValueStoreARN ?? null,
    arn: summary?.FunctionMetadata?.FunctionARN,
    created: summary?.FunctionMetadata?.CreatedTime?.toISOString(),
    lastModified: summary?.FunctionMetadata?.LastModifiedTime?.toISOString(),
    ...(etag ? { etag } : {}),
  };
}

function printSummary(summary: FunctionSummary | undefined, etag: string | undefined, options: Options): void {
  const json = summaryJson(summary, etag);
  if (options.json) {
    print(JSON.stringify(json));
    return;
  }
  const rows: Array<[string, unknown]> = [
    ['Name', json.name],
    ['Stage', json.stage],
    ['Status', json.status],
    ['Runtime', json.runtime],
    ['Comment', json.comment || '-'],
    ['Store', json.keyValueStoreArn ?? '-'],
    ['ARN', json.arn],
    ['ETag', json.etag ?? '-'],
    ['Modified', json.lastModified],
  ];
  for (const [label, value] of rows) print(`${`${label}:`.padEnd(10)} ${String(value)}`);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join('  ')).join('\n');
}

interface VersionsResponse {
  name: string;
  stages: { DEVELOPMENT: StagePointerJson; LIVE?: StagePointerJson };
  versions: FunctionVersionJson[];
}

export function register(program: Command): void {
  const fn = program.command('function').description('Manage CloudFront Functions through the API: versions, DEVELOPMENT/LIVE, publish, rollback');
  registerOwnerCommand(fn, 'function');

  withApiOptions(fn.command('create'))
    .description('Create a function (DEVELOPMENT stage) from a code file')
    .argument('<name>')
    .argument('<code>', 'function code file (.js)')
    .option('--runtime <runtime>', 'cloudfront-js-1.0 or cloudfront-js-2.0', 'cloudfront-js-2.0')
    .option('--comment <text>', 'function comment', '')
    .option('--kvs <store>', 'associate a KeyValueStore (name or ARN)')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options: Options & { runtime: string; comment: string; kvs?: string }, name: string, codeFile: string) => {
        const code = readInputFile(codeFile, 'function code');
        const arn = options.kvs ? await storeArn(config, options.kvs) : undefined;
        const res = await cloudFrontClient(config).send(
          new CreateFunctionCommand({
            Name: name,
            FunctionConfig: functionConfig(options.runtime, options.comment, arn),
            FunctionCode: Buffer.from(code, 'utf8'),
          }),
        );
        printSummary(res.FunctionSummary, res.ETag, options);
      }),
    );

  withApiOptions(fn.command('update'))
    .description('Write a new DEVELOPMENT version from a code file (runtime, comment and store stay unless given)')
    .argument('<name>')
    .argument('<code>', 'function code file (.js)')
    .option('--runtime <runtime>', 'cloudfront-js-1.0 or cloudfront-js-2.0')
    .option('--comment <text>', 'function comment')
    .option('--kvs <store>', 'associate a KeyValueStore (name or ARN)')
    .option('--no-kvs', 'remove the KeyValueStore association')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options: Options & { runtime?: string; comment?: string; kvs?: string | false }, name: string, codeFile: string) => {
        const code = readInputFile(codeFile, 'function code');
        const cf = cloudFrontClient(config);
        const current = await cf.send(new DescribeFunctionCommand({ Name: name, Stage: 'DEVELOPMENT' }));
        const currentConfig = current.FunctionSummary?.FunctionConfig;
        const arn =
          options.kvs === false
            ? undefined
            : typeof options.kvs === 'string'
              ? await storeArn(config, options.kvs)
              : currentConfig?.KeyValueStoreAssociations?.Items?.[0]?.KeyValueStoreARN;
        const res = await cf.send(
          new UpdateFunctionCommand({
            Name: name,
            IfMatch: current.ETag,
            FunctionConfig: functionConfig(
              options.runtime ?? currentConfig?.Runtime ?? 'cloudfront-js-2.0',
              options.comment ?? currentConfig?.Comment ?? '',
              arn,
            ),
            FunctionCode: Buffer.from(code, 'utf8'),
          }),
        );
        printSummary(res.FunctionSummary, res.ETag, options);
      }),
    );

  withApiOptions(fn.command('describe'))
    .description('Show a function as seen through a stage')
    .argument('<name>')
    .option('--stage <stage>', 'DEVELOPMENT or LIVE', 'DEVELOPMENT')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, name: string) => {
        const res = await cloudFrontClient(config).send(new DescribeFunctionCommand({ Name: name, Stage: stageOf(options) }));
        printSummary(res.FunctionSummary, res.ETag, options);
      }),
    );

  withApiOptions(fn.command('get'))
    .description("Print a stage's code (or write it to a file)")
    .argument('<name>')
    .option('--stage <stage>', 'DEVELOPMENT or LIVE', 'DEVELOPMENT')
    .option('-o, --output <file>', 'write the code to this file')
    .action(
      action(async (config, options: Options & { output?: string }, name: string) => {
        const res = await cloudFrontClient(config).send(new GetFunctionCommand({ Name: name, Stage: stageOf(options) }));
        const code = Buffer.from(res.FunctionCode ?? new Uint8Array());
        if (options.output) writeFileSync(options.output, code);
        else process.stdout.write(code);
      }),
    );

  withApiOptions(fn.command('list'))
    .description('List functions')
    .option('--stage <stage>', 'DEVELOPMENT, or LIVE for published functions only')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options) => {
        const cf = cloudFrontClient(config);
        const items: FunctionSummary[] = [];
        let marker: string | undefined;
        do {
          const page = await cf.send(new ListFunctionsCommand({ Marker: marker, Stage: stageOf(options) }));
          items.push(...(page.FunctionList?.Items ?? []));
          marker = page.FunctionList?.NextMarker;
        } while (marker);
        const owned = await ownershipByName(config, 'function');
        if (options.json) {
          print(
            JSON.stringify(
              items.map((item) => ({
                ...summaryJson(item, undefined),
                owner: owned.get(item.Name ?? '')?.owner ?? null,
                labels: owned.get(item.Name ?? '')?.labels ?? {},
              })),
            ),
          );
          return;
        }
        if (items.length === 0) {
          print('No functions');
          return;
        }
        const rows = items.map((s) => [
          s.Name ?? '',
          s.FunctionMetadata?.Stage ?? '',
          s.Status ?? '',
          s.FunctionConfig?.Runtime ?? '',
          s.FunctionMetadata?.LastModifiedTime?.toISOString() ?? '',
          owned.get(s.Name ?? '')?.owner ?? '-',
          labelsText(owned.get(s.Name ?? '')?.labels) || '-',
        ]);
        print(table([['NAME', 'STAGE', 'STATUS', 'RUNTIME', 'MODIFIED', 'OWNER', 'LABELS'], ...rows]));
      }),
    );

  withApiOptions(fn.command('test'))
    .description('Run a stage against an event with TestFunction and print the TestResult JSON')
    .argument('<name>')
    .requiredOption('--event <file>', 'event JSON file (the TestFunction / console test event format)')
    .option('--stage <stage>', 'DEVELOPMENT or LIVE', 'DEVELOPMENT')
    .action(
      action(async (config, options: Options & { event: string }, name: string) => {
        const event = readInputFile(options.event, 'event');
        const stage = stageOf(options) ?? 'DEVELOPMENT';
        const res = await cloudFrontClient(config).send(
          new TestFunctionCommand({ Name: name, Stage: stage, IfMatch: await etagOf(config, name, stage), EventObject: Buffer.from(event, 'utf8') }),
        );
        const result = res.TestResult;
        // The same four fields, in the same order, as `openfront test-function`.
        print(
          JSON.stringify(
            {
              FunctionOutput: result?.FunctionOutput ?? '',
              FunctionErrorMessage: result?.FunctionErrorMessage ?? '',
              FunctionExecutionLogs: result?.FunctionExecutionLogs ?? [],
              ComputeUtilization: result?.ComputeUtilization ?? '0',
            },
            null,
            2,
          ),
        );
      }),
    );

  withWaitOption(withApiOptions(fn.command('publish')))
    .description("Point LIVE at DEVELOPMENT's version")
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, name: string) => {
        const wait = waitQuery(options.wait);
        const cf = cloudFrontClient(config);
        sdkWait(cf, wait);
        const res = await cf.send(new PublishFunctionCommand({ Name: name, IfMatch: await etagOf(config, name, 'DEVELOPMENT') }));
        const live = (await nativeRequest(config, 'GET', `${NATIVE}/${encodeURIComponent(name)}/live`)) as { version: number | null; etag?: string };
        if (options.json) {
          print(JSON.stringify({ ...summaryJson(res.FunctionSummary, live.etag), version: live.version }));
          return;
        }
        print(`Published ${name}: LIVE is now version ${live.version}${wait ? '; served by every live edge' : ''}`);
      }),
    );

  withWaitOption(withApiOptions(fn.command('rollback')))
    .description('Point LIVE at an earlier version')
    .argument('<name>')
    .argument('<version>', 'version number (see `openfront function versions`)')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, name: string, versionText: string) => {
        const version = versionArg(versionText, 'version');
        const wait = waitQuery(options.wait);
        const res = (await nativeRequest(config, 'POST', withWaitParams(`${NATIVE}/${encodeURIComponent(name)}/rollback`, wait), {
          body: { version },
          headers: { 'if-match': await etagOf(config, name, 'LIVE') },
        })) as { version: number; etag: string; status: string };
        if (options.json) print(JSON.stringify(res));
        else print(`Rolled back ${name}: LIVE is now version ${res.version}${wait ? '; served by every live edge' : ''}`);
      }),
    );

  withApiOptions(fn.command('versions'))
    .description('List every version of a function and where DEVELOPMENT and LIVE point')
    .argument('<name>')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, name: string) => {
        const res = (await nativeRequest(config, 'GET', `${NATIVE}/${encodeURIComponent(name)}/versions`)) as VersionsResponse;
        if (options.json) {
          print(JSON.stringify(res));
          return;
        }
        const rows = res.versions.map((v) => [String(v.version), v.stages.join(',') || '-', v.createdAt, v.createdBy, v.sha256.slice(0, 12), v.config.comment]);
        print(table([['VERSION', 'STAGES', 'CREATED', 'BY', 'SHA256', 'COMMENT'], ...rows]));
      }),
    );

  withApiOptions(fn.command('diff'))
    .description('Unified diff between two versions (default: LIVE → DEVELOPMENT)')
    .argument('<name>')
    .argument('[from]', 'version to diff from')
    .argument('[to]', 'version to diff to')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, name: string, from?: string, to?: string) => {
        const query = new URLSearchParams();
        if (from !== undefined) query.set('from', String(versionArg(from, 'from')));
        if (to !== undefined) query.set('to', String(versionArg(to, 'to')));
        const suffix = query.toString() === '' ? '' : `?${query.toString()}`;
        const res = (await nativeRequest(config, 'GET', `${NATIVE}/${encodeURIComponent(name)}/diff${suffix}`)) as { from: number; to: number; diff: string };
        if (options.json) print(JSON.stringify(res));
        else process.stdout.write(res.diff === '' ? `Versions ${res.from} and ${res.to} have the same code\n` : res.diff);
      }),
    );

  withApiOptions(fn.command('delete'))
    .description('Delete a function and all its versions')
    .argument('<name>')
    .action(
      action(async (config, _options, name: string) => {
        await cloudFrontClient(config).send(new DeleteFunctionCommand({ Name: name, IfMatch: await etagOf(config, name, 'DEVELOPMENT') }));
        print(`Deleted ${name}`);
      }),
    );
}
