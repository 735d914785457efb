/**
 * `openfront check <file> [--config openfront.config.yaml]`: runs the compatibility checker on a function file, like
 * CloudFront's create/update would. With --config it also warns when `cf.kvs('<id>')` names a store id that is not
 * the associated store's `awsId` (the read would fail on `openfront start`, as on CloudFront).
 * Exit codes: 0 accepted (warnings included), 1 rejected (one `file:line:col message` per problem on stderr),
 * 2 unusable input.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';
import type { EdgeConfig } from '../../config/types.js';
import { findNamedStores } from '../../runtime/checker/kvs-ids.js';
import { storeIdOf } from '../../runtime/kvs-access.js';
import { Command, Option } from 'commander';
import { RUNTIMES, type RuntimeVersion } from '../../runtime/event.js';
import { checkSource } from '../../runtime/checker.js';
import { DEFAULT_RUNTIME_LIMITS } from '../../runtime/limits.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('Check that a function file would be accepted by CloudFront Functions')
    .argument('<file>', 'function code (JavaScript)')
    .addOption(new Option('--runtime <runtime>', 'CloudFront Functions runtime').choices(RUNTIMES).default('cloudfront-js-2.0'))
    .option('--config <file>', 'the config the function is declared in: warn when cf.kvs(id) names another store than the associated one')
    .action(async (file: string, options: { runtime: RuntimeVersion; config?: string }) => {
      let code: string;
      try {
        code = readFileSync(file, 'utf8');
      } catch (err) {
        process.stderr.write(`openfront check: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const problems = checkSource(code, options.runtime);
      if (problems.length > 0) {
        for (const p of problems) process.stderr.write(`${file}:${p.line}:${p.column} ${p.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (options.config !== undefined) {
        let config: EdgeConfig;
        try {
          config = await loadConfig(options.config);
        } catch (err) {
          process.stderr.write(`openfront check: ${(err as Error).message}\n`);
          process.exitCode = 2;
          return;
        }
        for (const warning of storeIdWarnings(code, resolve(file), config)) process.stderr.write(`${file}:${warning}\n`);
      }
      const size = Buffer.byteLength(code, 'utf8');
      process.stdout.write(`${file}: ok (${size} bytes of ${DEFAULT_RUNTIME_LIMITS.maxCodeBytes})\n`);
    });
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** `line:col warning: …` for each `cf.kvs(…)` whose store id the functions declared with this code file would not find. */
export function storeIdWarnings(code: string, codePath: string, config: EdgeConfig): string[] {
  const named = findNamedStores(code);
  const functions = config.functions.filter((fn) => fn.codePath === codePath);
  const warnings: string[] = [];
  for (const call of named) {
    const at = `${call.line}:${call.column} warning:`;
    const id = storeIdOf(call.text);
    for (const fn of functions) {
      const store = fn.store === undefined ? undefined : config.stores.find((s) => s.name === fn.store);
      if (store === undefined) {
        warnings.push(`${at} cf.kvs(${JSON.stringify(call.text)}) but function ${fn.name} has no associated store: every read fails`);
      } else if (store.awsId !== undefined) {
        if (id.toLowerCase() !== store.awsId) {
          warnings.push(
            `${at} cf.kvs(${JSON.stringify(call.text)}) names store id ${id}, but function ${fn.name}'s store ${store.name} has awsId ${store.awsId}: the read fails, as on CloudFront`,
          );
        }
      } else if (UUID.test(id)) {
        warnings.push(
          `${at} cf.kvs(${JSON.stringify(call.text)}): store ${store.name} of function ${fn.name} has no awsId; local tools read it for any id, openfront start fails the read: add awsId: ${id.toLowerCase()} to store ${store.name}`,
        );
      } else {
        warnings.push(
          `${at} cf.kvs(${JSON.stringify(call.text)}) is not a store id (filled in at deploy time?); local tools read store ${store.name} for it, openfront start needs the real id in the code and as the store's awsId`,
        );
      }
    }
  }
  return warnings;
}
