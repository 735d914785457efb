/**
 * `openfront kvs schema set|get|delete`: a store's value schema through the native API
 * (docs/safe-changes.md, "Value schemas").
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { apiAction, nativeRequest, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';
import { readJsonFile, usageError } from '../input.js';

type Options = ApiOptions & { json?: boolean; ifMatch?: string; force?: boolean };

/** The server refuses documents over 64 KiB with a precise message; the CLI only refuses what it should not read. */
const MAX_SCHEMA_FILE_BYTES = 1024 * 1024;

interface SchemaAnswer {
  store: string;
  etag: string;
  updated?: string;
  updatedBy?: string;
  schema?: unknown;
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function schemaPath(store: string): string {
  return `/openfront/v1/key-value-stores/${encodeURIComponent(store)}/schema`;
}

function action<A extends unknown[]>(run: (config: ApiClientConfig, options: Options, ...args: A) => Promise<void>) {
  return apiAction<Options, A>(run);
}

function readSchemaFile(file: string): unknown {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw usageError(`cannot read schema file "${file}": no such file`);
  }
  if (size > MAX_SCHEMA_FILE_BYTES) throw usageError(`schema file "${file}" is ${size} bytes; a value schema is at most 64 KiB`);
  return readJsonFile(file, 'schema');
}

function ifMatchHeader(options: Options): Record<string, string> {
  return options.ifMatch === undefined ? {} : { 'if-match': options.ifMatch };
}

/** The API's answer; or, when the store has no schema, says so (not an error) and gives undefined. */
async function unlessNoSchema(store: string, options: Options, call: () => Promise<SchemaAnswer>): Promise<SchemaAnswer | undefined> {
  try {
    return await call();
  } catch (err) {
    const status = (err as { details?: { status?: number } }).details?.status;
    if (status !== 404 || !/has no value schema/.test((err as Error).message)) throw err;
    print(options.json ? JSON.stringify({ store, etag: 'none' }) : `${store} has no value schema`);
    return undefined;
  }
}

/** Adds `schema set|get|delete` under `openfront kvs`. */
export function registerKvsSchema(kvs: Command): void {
  const schema = kvs.command('schema').description("Set, show or remove a store's value schema (JSON Schema checked on every write)");

  withApiOptions(schema.command('set'))
    .description('Set the value schema of a store from a JSON file ({"default": …, "patterns": [{"keys": "glob", "schema": …}]})')
    .argument('<store>', 'store name')
    .argument('<schema.json>', 'the schema document')
    .option('--if-match <etag>', 'only if the current schema has this ETag ("none": only if the store has none)')
    .option('--force', 'set it even when values already stored fail it (they stay; later writes must conform)')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, store: string, file: string) => {
        const document = readSchemaFile(file);
        const query = options.force ? '?force=true' : '';
        const answer = (await nativeRequest(config, 'PUT', `${schemaPath(store)}${query}`, {
          body: document,
          headers: ifMatchHeader(options),
        })) as SchemaAnswer;
        if (options.json) print(JSON.stringify(answer));
        else print(`Set the value schema of ${answer.store}; ETag ${answer.etag}`);
      }),
    );

  withApiOptions(schema.command('get'))
    .description("Print a store's value schema")
    .argument('<store>', 'store name')
    .option('--json', 'print the schema with its ETag and who set it when')
    .action(
      action(async (config, options, store: string) => {
        const answer = await unlessNoSchema(store, options, () => nativeRequest(config, 'GET', schemaPath(store)) as Promise<SchemaAnswer>);
        if (answer === undefined) return;
        if (options.json) print(JSON.stringify(answer));
        else {
          print(`# ${answer.store}: ETag ${answer.etag}, set ${answer.updated} by ${answer.updatedBy}`);
          print(JSON.stringify(answer.schema, null, 2));
        }
      }),
    );

  withApiOptions(schema.command('delete'))
    .description("Remove a store's value schema")
    .argument('<store>', 'store name')
    .option('--if-match <etag>', 'only if the current schema has this ETag')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, store: string) => {
        const answer = await unlessNoSchema(
          store,
          options,
          () => nativeRequest(config, 'DELETE', schemaPath(store), { headers: ifMatchHeader(options) }) as Promise<SchemaAnswer>,
        );
        if (answer === undefined) return;
        if (options.json) print(JSON.stringify(answer));
        else print(`Removed the value schema of ${answer.store}`);
      }),
    );
}
