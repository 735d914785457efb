/**
 * `openfront kvs history|diff|rollback` (docs/safe-changes.md, "History and rollback"), over the native history
 * routes (`control/kvs-history-api.ts`). Rollback fetches the store's current data ETag itself unless `--if-match`
 * names one, so a write made in between is refused (conflict), never overwritten.
 */
import { DescribeKeyValueStoreCommand as DescribeStoreCommand, ListKeyValueStoresCommand } from '@aws-sdk/client-cloudfront';
import { DescribeKeyValueStoreCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { Command } from 'commander';
import { openFrontError } from '../../errors.js';
import type { StoreDiff } from '../../kvs/history.js';
import type { HistoryRowJson } from '../../control/kvs-history-api.js';
import { cloudFrontClient, apiAction, keyValueStoreClient, nativeRequest, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';
import { waitQuery, withWaitOption, withWaitParams } from '../wait.js';

type Options = ApiOptions & { json?: boolean; wait?: string | boolean; key?: string; from?: string; to?: string; limit?: string; ifMatch?: string };

/** The most history rows one `kvs history` prints (pages of the API are followed up to it). */
const MAX_CLI_ROWS = 100_000;

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function action<A extends unknown[]>(run: (config: ApiClientConfig, options: Options, ...args: A) => Promise<void>) {
  return apiAction<Options, A>(run);
}

function versionArg(text: string, name: string): number {
  if (!/^\d{1,15}$/.test(text)) throw openFrontError('CLI_USAGE', `${name} must be a version number (a non-negative integer), got "${text.slice(0, 40)}"`);
  return Number(text);
}

function storePath(name: string, tail: string): string {
  return `/openfront/v1/key-value-stores/${encodeURIComponent(name)}/${tail}`;
}

/** A store given by name or ARN → its name (the native routes take names). */
async function storeName(config: ApiClientConfig, ref: string): Promise<string> {
  if (!ref.startsWith('arn:')) return ref;
  const cf = cloudFrontClient(config);
  let marker: string | undefined;
  do {
    const page = await cf.send(new ListKeyValueStoresCommand({ Marker: marker }));
    const found = page.KeyValueStoreList?.Items?.find((store) => store.ARN === ref);
    if (found?.Name !== undefined) return found.Name;
    marker = page.KeyValueStoreList?.NextMarker;
  } while (marker);
  throw openFrontError('KVS_NOT_FOUND', `no key value store has the ARN ${ref}`);
}

/** The store's current data version (its native key listing says it), for `kvs describe --json`. */
export async function storeVersion(config: ApiClientConfig, name: string): Promise<number> {
  const page = (await nativeRequest(config, 'GET', storePath(name, 'keys?maxResults=1'))) as { version: number };
  return page.version;
}

function shown(value: string | null): string {
  return value === null ? '(absent)' : JSON.stringify(value);
}

export function registerHistoryCommands(kvs: Command): void {
  withApiOptions(kvs.command('history'))
    .description("Show a store's history: who changed which key when, before → after, newest first")
    .argument('<store>', 'store name or ARN')
    .option('--key <key>', 'only this key')
    .option('--from <version>', 'oldest version to show')
    .option('--to <version>', 'newest version to show')
    .option('--limit <n>', 'rows to show at most (default 100)', '100')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string) => {
        const limit = versionArg(options.limit ?? '100', '--limit');
        if (limit < 1 || limit > MAX_CLI_ROWS) throw openFrontError('CLI_USAGE', `--limit must be from 1 to ${MAX_CLI_ROWS}`);
        const name = await storeName(config, ref);
        const params = new URLSearchParams();
        if (options.key !== undefined) params.set('key', options.key);
        if (options.from !== undefined) params.set('from', String(versionArg(options.from, '--from')));
        if (options.to !== undefined) params.set('to', String(versionArg(options.to, '--to')));
        const rows: HistoryRowJson[] = [];
        let version: number | undefined;
        let marker: string | undefined;
        do {
          params.set('limit', String(Math.min(1000, limit - rows.length)));
          if (marker !== undefined) params.set('marker', marker);
          const page = (await nativeRequest(config, 'GET', storePath(name, `history?${params.toString()}`))) as {
            version: number;
            items: HistoryRowJson[];
            nextMarker?: string;
          };
          version = page.version;
          rows.push(...page.items);
          marker = page.nextMarker;
        } while (marker !== undefined && rows.length < limit);
        if (options.json) {
          print(JSON.stringify({ store: name, version, items: rows, ...(marker === undefined ? {} : { more: true }) }));
          return;
        }
        if (rows.length === 0) print(`No history for ${name}${options.key === undefined ? '' : ` key ${JSON.stringify(options.key)}`}.`);
        for (const row of rows)
          print(`${row.version}\t${row.at}\t${row.accessKeyId}\t${row.operation}\t${row.key}\t${shown(row.before)} → ${shown(row.after)}`);
        if (marker !== undefined) print(`… more rows: raise --limit or narrow with --from/--to/--key`);
      }),
    );

  withApiOptions(kvs.command('diff'))
    .description('Show the keys added, removed and changed between two versions of a store')
    .argument('<store>', 'store name or ARN')
    .argument('<from>', 'older version')
    .argument('<to>', 'newer version')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string, fromText: string, toText: string) => {
        const from = versionArg(fromText, '<from>');
        const to = versionArg(toText, '<to>');
        const name = await storeName(config, ref);
        const diff = (await nativeRequest(config, 'GET', storePath(name, `diff?from=${from}&to=${to}`))) as StoreDiff & { store: string };
        if (options.json) {
          print(JSON.stringify(diff));
          return;
        }
        for (const { key, value } of diff.added) print(`+ ${key} = ${JSON.stringify(value)}`);
        for (const { key, value } of diff.removed) print(`- ${key} (was ${JSON.stringify(value)})`);
        for (const { key, before, after } of diff.changed) print(`~ ${key}: ${JSON.stringify(before)} → ${JSON.stringify(after)}`);
        print(`${name} ${from}..${to}: ${diff.added.length} added, ${diff.removed.length} removed, ${diff.changed.length} changed`);
      }),
    );

  withWaitOption(withApiOptions(kvs.command('rollback')))
    .description('Make a store equal to an earlier version, as ONE new audited write (If-Match protected)')
    .argument('<store>', 'store name or ARN')
    .requiredOption('--to <version>', 'the version to return to')
    .option('--if-match <etag>', 'the data ETag the store must still have (default: fetched now; a write in between is a conflict)')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string) => {
        const toVersion = versionArg(options.to ?? '', '--to');
        const wait = waitQuery(options.wait);
        const name = await storeName(config, ref);
        let ifMatch = options.ifMatch;
        if (ifMatch === undefined) {
          const arn = (await cloudFrontClient(config).send(new DescribeStoreCommand({ Name: name }))).KeyValueStore!.ARN!;
          ifMatch = (await keyValueStoreClient(config).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
        }
        const result = (await nativeRequest(config, 'POST', withWaitParams(storePath(name, 'rollback'), wait), {
          body: { toVersion },
          headers: { 'if-match': ifMatch },
        })) as { etag: string; version: number; itemCount: number; totalSizeInBytes: number };
        if (options.json) print(JSON.stringify({ store: name, toVersion, ...result }));
        else print(`Rolled back ${name} to version ${toVersion}: now version ${result.version}, ETag ${result.etag} (${result.itemCount} items)`);
      }),
    );
}
