/**
 * `openfront kvs …`: KeyValueStores through the API, with the official AWS SDK clients (CloudFront for stores, the
 * KeyValueStore client for keys), so the CLI exercises exactly what users' SDK code does. Writes fetch the current
 * ETag themselves. Bulk import uses the native import endpoint (UpdateKeys stops at 50 keys).
 */
import {
  CreateKeyValueStoreCommand,
  DeleteKeyValueStoreCommand,
  DescribeKeyValueStoreCommand as DescribeStoreCommand,
  ListKeyValueStoresCommand,
  type KeyValueStore,
} from '@aws-sdk/client-cloudfront';
import { DeleteKeyCommand, DescribeKeyValueStoreCommand, GetKeyCommand, paginateListKeys, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { AWS_ID_HEADER } from '../../control/kvs-control-plane.js';
import { readImportFile, writeExportFile } from '../../kvs/import-export.js';
import { UNLIMITED_KVS_LIMITS } from '../../kvs/limits.js';
import type { KeyValue } from '../../kvs/types.js';
import { cloudFrontClient, apiAction, keyValueStoreClient, nativeRequest, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';
import { openFrontError } from '../../errors.js';
import { sdkWait, waitQuery, withWaitOption, withWaitParams } from '../wait.js';
import { ownershipByName, ownershipColumns, registerOwnerCommand } from './ownership.js';
import { registerHistoryCommands, storeVersion } from './kvs-history.js';
import { registerKvsSchema } from './kvs-schema.js';

type Options = ApiOptions & { json?: boolean; wait?: string | boolean };

const SERVED_NOTE = '; served by every live edge';

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

function action<A extends unknown[]>(run: (config: ApiClientConfig, options: Options, ...args: A) => Promise<void>) {
  return apiAction<Options, A>(run);
}

/** A store given by name or ARN → both. */
async function resolveStore(config: ApiClientConfig, ref: string): Promise<{ name: string; arn: string }> {
  const cf = cloudFrontClient(config);
  if (!ref.startsWith('arn:')) {
    const described = await cf.send(new DescribeStoreCommand({ Name: ref }));
    return { name: ref, arn: described.KeyValueStore!.ARN! };
  }
  for await (const store of allStores(config)) if (store.ARN === ref) return { name: store.Name!, arn: ref };
  throw openFrontError('KVS_NOT_FOUND', `no key value store has the ARN ${ref}`);
}

async function* allStores(config: ApiClientConfig): AsyncGenerator<KeyValueStore> {
  const cf = cloudFrontClient(config);
  let marker: string | undefined;
  do {
    const page = await cf.send(new ListKeyValueStoresCommand({ Marker: marker }));
    yield* page.KeyValueStoreList?.Items ?? [];
    marker = page.KeyValueStoreList?.NextMarker;
  } while (marker);
}

async function* allKeys(config: ApiClientConfig, arn: string): AsyncGenerator<KeyValue> {
  for await (const page of paginateListKeys({ client: keyValueStoreClient(config), pageSize: 50 }, { KvsARN: arn })) {
    for (const item of page.Items ?? []) yield { key: item.Key!, value: item.Value! };
  }
}

async function currentEtag(config: ApiClientConfig, arn: string): Promise<string> {
  return (await keyValueStoreClient(config).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
}

/** Reads and validates an import file, with a progress bar on a terminal. */
async function readWithProgress(file: string): Promise<KeyValue[]> {
  const bar = process.stderr.isTTY ? new SingleBar({ format: 'reading {bar} {percentage}% | {value}/{total} bytes', stream: process.stderr }) : undefined;
  bar?.start(1, 0);
  try {
    // The server enforces its own limits; the client only checks the file is well-formed.
    return await readImportFile(file, {
      limits: UNLIMITED_KVS_LIMITS,
      onProgress: (read, total) => {
        bar?.setTotal(total);
        bar?.update(read);
      },
    });
  } finally {
    bar?.stop();
  }
}

interface ImportResult {
  etag: string;
  version: number;
  itemCount: number;
  totalSizeInBytes: number;
}

async function importFile(
  config: ApiClientConfig,
  name: string,
  file: string,
  mode: 'merge' | 'replace',
  wait?: Record<string, string>,
): Promise<ImportResult & { imported: number }> {
  const items = await readWithProgress(file);
  if (process.stderr.isTTY) process.stderr.write(`uploading ${items.length} items…\n`);
  const result = (await nativeRequest(config, 'POST', withWaitParams(`/openfront/v1/key-value-stores/${encodeURIComponent(name)}/import?mode=${mode}`, wait), {
    body: { data: items },
  })) as ImportResult;
  return { ...result, imported: items.length };
}

export function register(program: Command): void {
  const kvs = program.command('kvs').description('Manage KeyValueStores and their keys through the API');
  registerOwnerCommand(kvs, 'store');
  registerKvsSchema(kvs);

  withApiOptions(kvs.command('create'))
    .description('Create a store, optionally loading a file in the S3 import format')
    .argument('<name>')
    .option('--comment <text>', 'store comment', '')
    .option('--import-file <file>', 'load this {"data":[{"key","value"}]} file into the new store')
    .option('--aws-id <id>', 'create the store with the id it has in AWS, so that code calling cf.kvs("<id>") reads it')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options: Options & { comment?: string; importFile?: string; awsId?: string }, name: string) => {
        const client = cloudFrontClient(config);
        if (options.awsId !== undefined) {
          const awsId = options.awsId;
          // Added before signing, so the header is signed like the rest of the request.
          client.middlewareStack.add(
            (next) => async (args) => {
              const request = args.request as { headers?: Record<string, string> };
              if (request.headers) request.headers[AWS_ID_HEADER] = awsId;
              return next(args);
            },
            { step: 'build', name: 'openfrontAwsId' },
          );
        }
        const created = await client.send(new CreateKeyValueStoreCommand({ Name: name, Comment: options.comment }));
        const imported = options.importFile ? await importFile(config, name, options.importFile, 'replace') : undefined;
        const store = created.KeyValueStore!;
        if (options.json) {
          print(
            JSON.stringify({
              name: store.Name,
              id: store.Id,
              arn: store.ARN,
              status: store.Status,
              etag: created.ETag,
              ...(imported ? { import: imported } : {}),
            }),
          );
          return;
        }
        print(`Created ${store.Name} (${store.ARN})`);
        if (imported) print(`Imported ${imported.imported} items; data ETag ${imported.etag}`);
      }),
    );

  withApiOptions(kvs.command('list'))
    .description('List stores, or the keys of one store')
    .argument('[store]', 'store name or ARN: list its keys')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, store?: string) => {
        if (store === undefined) {
          const stores: KeyValueStore[] = [];
          for await (const s of allStores(config)) stores.push(s);
          const owned = await ownershipByName(config, 'store');
          if (options.json) {
            print(
              JSON.stringify(
                stores.map((s) => ({
                  name: s.Name,
                  id: s.Id,
                  arn: s.ARN,
                  status: s.Status,
                  comment: s.Comment,
                  lastModified: s.LastModifiedTime?.toISOString(),
                  owner: owned.get(s.Name ?? '')?.owner ?? null,
                  labels: owned.get(s.Name ?? '')?.labels ?? {},
                })),
              ),
            );
            return;
          }
          if (stores.length === 0) print('No key value stores.');
          for (const s of stores) print(`${s.Name}  ${s.Status}  ${s.ARN}  ${ownershipColumns(owned.get(s.Name ?? ''))}${s.Comment ? `  ${s.Comment}` : ''}`);
          return;
        }
        const { arn } = await resolveStore(config, store);
        const items: KeyValue[] = [];
        for await (const item of allKeys(config, arn)) items.push(item);
        if (options.json) print(JSON.stringify(items));
        else for (const item of items) print(`${item.key}\t${item.value}`);
      }),
    );

  withApiOptions(kvs.command('describe'))
    .description('Show a store: metadata, item count, size and data ETag')
    .argument('<store>', 'store name or ARN')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string) => {
        const { name, arn } = await resolveStore(config, ref);
        const meta = await cloudFrontClient(config).send(new DescribeStoreCommand({ Name: name }));
        const data = await keyValueStoreClient(config).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
        const summary = {
          name,
          id: meta.KeyValueStore?.Id,
          arn,
          comment: meta.KeyValueStore?.Comment,
          status: meta.KeyValueStore?.Status,
          etag: data.ETag,
          version: await storeVersion(config, name),
          metadataEtag: meta.ETag,
          itemCount: data.ItemCount,
          totalSizeInBytes: data.TotalSizeInBytes,
          created: data.Created?.toISOString(),
          lastModified: data.LastModified?.toISOString(),
        };
        if (options.json) print(JSON.stringify(summary));
        else for (const [field, value] of Object.entries(summary)) print(`${`${field}:`.padEnd(18)}${value ?? ''}`);
      }),
    );

  withApiOptions(kvs.command('get'))
    .description('Print the value of a key')
    .argument('<store>', 'store name or ARN')
    .argument('<key>')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string, key: string) => {
        const { arn } = await resolveStore(config, ref);
        const item = await keyValueStoreClient(config).send(new GetKeyCommand({ KvsARN: arn, Key: key }));
        print(options.json ? JSON.stringify({ key: item.Key, value: item.Value }) : (item.Value ?? ''));
      }),
    );

  withWaitOption(withApiOptions(kvs.command('put')))
    .description('Set a key (fetches the current ETag first)')
    .argument('<store>', 'store name or ARN')
    .argument('<key>')
    .argument('<value>')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string, key: string, value: string) => {
        const wait = waitQuery(options.wait);
        const { arn } = await resolveStore(config, ref);
        const client = keyValueStoreClient(config);
        const version = sdkWait(client, wait);
        const res = await client.send(new PutKeyCommand({ KvsARN: arn, Key: key, Value: value, IfMatch: await currentEtag(config, arn) }));
        if (options.json) print(JSON.stringify({ etag: res.ETag, version: version(), itemCount: res.ItemCount, totalSizeInBytes: res.TotalSizeInBytes }));
        else print(`Put ${key}; ETag ${res.ETag}, version ${version()} (${res.ItemCount} items)${wait ? SERVED_NOTE : ''}`);
      }),
    );

  withWaitOption(withApiOptions(kvs.command('delete')))
    .description('Delete a key, or with --force and no key, the whole store')
    .argument('<store>', 'store name or ARN')
    .argument('[key]', 'key to delete')
    .option('--force', 'delete the store itself when no key is given')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options: Options & { force?: boolean }, ref: string, key?: string) => {
        const wait = waitQuery(options.wait);
        const { name, arn } = await resolveStore(config, ref);
        if (key !== undefined) {
          const client = keyValueStoreClient(config);
          const version = sdkWait(client, wait);
          const res = await client.send(new DeleteKeyCommand({ KvsARN: arn, Key: key, IfMatch: await currentEtag(config, arn) }));
          if (options.json) print(JSON.stringify({ etag: res.ETag, version: version(), itemCount: res.ItemCount, totalSizeInBytes: res.TotalSizeInBytes }));
          else print(`Deleted ${key}; ETag ${res.ETag}, version ${version()} (${res.ItemCount} items)${wait ? SERVED_NOTE : ''}`);
          return;
        }
        if (!options.force) throw openFrontError('CLI_USAGE', `refusing to delete the store ${name} without --force (to delete a key, give the key)`);
        const cf = cloudFrontClient(config);
        const described = await cf.send(new DescribeStoreCommand({ Name: name }));
        await cf.send(new DeleteKeyValueStoreCommand({ Name: name, IfMatch: described.ETag }));
        print(options.json ? JSON.stringify({ deleted: name }) : `Deleted store ${name}`);
      }),
    );

  withWaitOption(withApiOptions(kvs.command('import')))
    .description('Load a file in the S3 import format into a store (merge by default)')
    .argument('<store>', 'store name or ARN')
    .argument('<file>')
    .option('--replace', 'replace every key of the store with the file')
    .option('--merge', 'add and overwrite keys, keep the others (default)')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options: Options & { replace?: boolean; merge?: boolean }, ref: string, file: string) => {
        if (options.replace && options.merge) throw openFrontError('CLI_USAGE', 'choose one of --replace and --merge');
        const wait = waitQuery(options.wait);
        const { name } = await resolveStore(config, ref);
        const result = await importFile(config, name, file, options.replace ? 'replace' : 'merge', wait);
        if (options.json) print(JSON.stringify(result));
        else
          print(
            `Imported ${result.imported} items into ${name} (${options.replace ? 'replace' : 'merge'}); ${result.itemCount} items, ETag ${result.etag}, version ${result.version}${wait ? SERVED_NOTE : ''}`,
          );
      }),
    );

  withApiOptions(kvs.command('export'))
    .description('Write every key of a store to a file in the S3 import format')
    .argument('<store>', 'store name or ARN')
    .argument('<file>')
    .option('--json', 'print JSON')
    .action(
      action(async (config, options, ref: string, file: string) => {
        const { name, arn } = await resolveStore(config, ref);
        const items: KeyValue[] = [];
        for await (const item of allKeys(config, arn)) items.push(item);
        await writeExportFile(file, items);
        print(options.json ? JSON.stringify({ store: name, file, itemCount: items.length }) : `Exported ${items.length} items from ${name} to ${file}`);
      }),
    );

  registerHistoryCommands(kvs);
}
