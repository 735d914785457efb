/**
 * KeyValueStore benchmark (issue 3), each figure beside a baseline measured in the same run:
 *   - GetKey / PutKey latency through the real API server, driven by the official SDK client (SigV4a), against a
 *     plain node:http server answering the same JSON to the same client;
 *   - UpdateKeys of 50 keys per second, through the API (baseline: the plain server) and in the database alone
 *     (baseline: bare better-sqlite3 transactions of the same 50 rows, same WAL/synchronous=FULL settings);
 *   - a 5 MB import through the native bulk-import endpoint and through `db.importData` (baseline: JSON.parse plus
 *     one bare better-sqlite3 transaction of the same rows);
 *   - loading a replica of the 5 MB store (`KvsReplica.load`; baseline: JSON.parse of the file plus a Map build);
 *   - one snapshot read as the edge does it (`replica.snapshot().get(key)`; baseline: `Map.get`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetKeyCommand, PutKeyCommand, UpdateKeysCommand, type CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { startApiServer } from '../src/control/api-server.js';
import { openSqliteState, type SqliteState } from '../src/state/sqlite/index.js';
import { parseImportJson } from '../src/kvs/import-export.js';
import { KvsReplica } from '../src/kvs/replica.js';
import { BareSqlite, type KeyValueRow } from './helpers/bare-sqlite.js';
import { kvsClient, loopbackAgent, signedPost } from './helpers/kvs-clients.js';
import { startPlainKvsServer } from './helpers/plain-kvs-server.js';
import { fmt, printTable, sampleAsync, sampleSync, summarize, type BenchRow } from './stats.js';

const ACTOR = { accessKeyId: 'bench' };
const API_SAMPLES = 1000;
const API_WARMUP = 100;
const UPDATE_CALLS = 200;
const IMPORT_RUNS = 3;
const REPLICA_LOADS = 10;
const READS_PER_BATCH = 200_000;
const MiB = 1024 * 1024;

/** Rows whose import file (S3 import format) stays just under CloudFront's 5 MB import limit. */
export function fiveMegabyteRows(): { rows: KeyValueRow[]; text: string } {
  const rows: KeyValueRow[] = [];
  let bytes = '{"data":[]}'.length;
  for (let i = 0; ; i++) {
    const row = { key: `item/${String(i).padStart(6, '0')}`, value: `value-${i}-`.padEnd(200, 'x') };
    const itemBytes = JSON.stringify(row).length + 1;
    if (bytes + itemBytes > 5 * MiB - 1024) break;
    rows.push(row);
    bytes += itemBytes;
  }
  return { rows, text: JSON.stringify({ data: rows }) };
}

/** Latency of `send(i)`, OpenFront's client against the plain server's, as two p50/p99 rows in milliseconds. */
async function latencyRows(label: string, ours: (i: number) => Promise<unknown>, plain: (i: number) => Promise<unknown>): Promise<BenchRow[]> {
  const base = summarize(await sampleAsync(plain, API_SAMPLES, API_WARMUP));
  const us = summarize(await sampleAsync(ours, API_SAMPLES, API_WARMUP));
  return [
    { name: `${label} p50 (ms)`, value: fmt(us.p50 / 1000, 2), baseline: fmt(base.p50 / 1000, 2), ratio: `${fmt(us.p50 / base.p50, 2)}x` },
    { name: `${label} p99 (ms)`, value: fmt(us.p99 / 1000, 2), baseline: fmt(base.p99 / 1000, 2), ratio: `${fmt(us.p99 / base.p99, 2)}x` },
  ];
}

/** Calls per second of `call(i)` run `count` times in a row. */
async function callsPerSecond(count: number, call: (i: number) => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await call(i);
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

function medianMs(samplesUs: number[]): number {
  return summarize(samplesUs).p50 / 1000;
}

/** Nanoseconds per call of `read(i)`: the median of five batches, so per-call timer overhead stays out. */
function nsPerRead(read: (i: number) => unknown): number {
  const batches: number[] = [];
  let sink = 0;
  for (let b = 0; b < 6; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS_PER_BATCH; i++) if (read(i) !== undefined) sink++;
    if (b > 0) batches.push(Number(process.hrtime.bigint() - t0) / READS_PER_BATCH);
  }
  if (sink === 0) throw new Error('the read benchmark found no keys');
  return summarize(batches).p50;
}

function putsOf(call: number): KeyValueRow[] {
  return Array.from({ length: 50 }, (_, k) => ({ key: `batch/${k}`, value: `call-${call}-key-${k}` }));
}

async function apiRows(db: SqliteState, client: CloudFrontKeyValueStoreClient, plain: CloudFrontKeyValueStoreClient): Promise<BenchRow[]> {
  const seed = Array.from({ length: 1000 }, (_, i) => ({ key: `key-${i}`, value: `value-${i}` }));
  const store = db.kvs.createStore({ name: 'bench-api', importItems: seed }, ACTOR);
  const arn = store.arn;
  const rows: BenchRow[] = [];
  rows.push(
    ...(await latencyRows(
      'GetKey via SDK',
      (i) => client.send(new GetKeyCommand({ KvsARN: arn, Key: `key-${i % 1000}` })),
      (i) => plain.send(new GetKeyCommand({ KvsARN: arn, Key: `key-${i % 1000}` })),
    )),
  );

  let etag = db.kvs.getStore({ id: store.id })!.etag;
  let plainEtag = '"v0"';
  rows.push(
    ...(await latencyRows(
      'PutKey via SDK',
      async (i) => {
        etag = (await client.send(new PutKeyCommand({ KvsARN: arn, Key: `key-${i % 1000}`, Value: `new-${i}`, IfMatch: etag }))).ETag!;
      },
      async (i) => {
        plainEtag = (await plain.send(new PutKeyCommand({ KvsARN: arn, Key: `key-${i % 1000}`, Value: `new-${i}`, IfMatch: plainEtag }))).ETag!;
      },
    )),
  );

  const toSdk = (rows: KeyValueRow[]) => rows.map((r) => ({ Key: r.key, Value: r.value }));
  const plainUpdates = await callsPerSecond(UPDATE_CALLS, async (i) => {
    plainEtag = (await plain.send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: plainEtag, Puts: toSdk(putsOf(i)) }))).ETag!;
  });
  const ourUpdates = await callsPerSecond(UPDATE_CALLS, async (i) => {
    etag = (await client.send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: toSdk(putsOf(i)) }))).ETag!;
  });
  rows.push({
    name: 'UpdateKeys (50 keys) via SDK, calls/s',
    value: fmt(ourUpdates, 0),
    baseline: fmt(plainUpdates, 0),
    ratio: `${fmt(ourUpdates / plainUpdates, 2)}x`,
  });
  return rows;
}

function storageRows(db: SqliteState, bare: BareSqlite): BenchRow[] {
  const store = db.kvs.createStore({ name: 'bench-storage' }, ACTOR);
  let etag = store.etag;
  const ourPut = summarize(sampleSync((i) => (etag = db.kvs.putKey(store.id, `key-${i % 1000}`, `v${i}`, etag, ACTOR).etag), 500, 50));
  const barePut = summarize(sampleSync((i) => bare.putMany([{ key: `key-${i % 1000}`, value: `v${i}` }]), 500, 50));
  // The puts above wrote key-0 … key-499 (500 samples after 50 warmup calls).
  const ourGet = summarize(sampleSync((i) => db.kvs.getKey(store.id, `key-${i % 500}`), 5000, 500));
  const bareGet = summarize(sampleSync((i) => bare.get(`key-${i % 500}`), 5000, 500));
  const ourBatch = summarize(sampleSync((i) => (etag = db.kvs.updateKeys(store.id, { puts: putsOf(i) }, etag, ACTOR).etag), 200, 20));
  const bareBatch = summarize(sampleSync((i) => bare.putMany(putsOf(i)), 200, 20));
  return [
    { name: 'db.getKey p50 (µs)', value: fmt(ourGet.p50), baseline: fmt(bareGet.p50), ratio: `${fmt(ourGet.p50 / bareGet.p50, 2)}x` },
    { name: 'db.putKey (1 key, durable) p50 (µs)', value: fmt(ourPut.p50), baseline: fmt(barePut.p50), ratio: `${fmt(ourPut.p50 / barePut.p50, 2)}x` },
    {
      name: 'db.updateKeys (50 keys) calls/s',
      value: fmt(1e6 / ourBatch.mean, 0),
      baseline: fmt(1e6 / bareBatch.mean, 0),
      ratio: `${fmt(bareBatch.mean / ourBatch.mean, 2)}x`,
    },
  ];
}

async function importAndReplicaRows(
  db: SqliteState,
  bare: BareSqlite,
  port: number,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<BenchRow[]> {
  const { rows, text } = fiveMegabyteRows();
  const body = Buffer.from(text);
  const store = db.kvs.createStore({ name: 'bench-import' }, ACTOR);
  const agent = loopbackAgent();
  try {
    const bareImport = medianMs(sampleSync(() => bare.replaceAll((JSON.parse(text) as { data: KeyValueRow[] }).data), IMPORT_RUNS, 1));
    const directImport = medianMs(
      sampleSync(() => db.kvs.importData(store.id, parseImportJson(text, db.kvs.limits), { mode: 'replace' }, ACTOR), IMPORT_RUNS, 1),
    );
    const apiImport = medianMs(
      await sampleAsync(
        async () => {
          const res = await signedPost(port, '/openfront/v1/key-value-stores/bench-import/import?mode=replace', body, credentials, agent);
          if (res.status !== 200) throw new Error(`import answered ${res.status}: ${res.body}`);
        },
        IMPORT_RUNS,
        1,
      ),
    );
    const imported = db.kvs.getStore({ id: store.id })!;
    if (imported.itemCount !== rows.length) throw new Error(`imported ${imported.itemCount} items, expected ${rows.length}`);

    const parseLoad = medianMs(
      sampleSync(
        () => {
          const map = new Map<string, string>();
          for (const row of (JSON.parse(text) as { data: KeyValueRow[] }).data) map.set(row.key, row.value);
          return map;
        },
        REPLICA_LOADS,
        2,
      ),
    );
    const replicaLoad = medianMs(sampleSync(() => KvsReplica.load(db.kvs, store.id), REPLICA_LOADS, 2));

    const replica = KvsReplica.load(db.kvs, store.id);
    const map = new Map(rows.map((r) => [r.key, r.value]));
    const keys = rows.map((r) => r.key);
    const mapRead = nsPerRead((i) => map.get(keys[i % keys.length] as string));
    const snapshotRead = nsPerRead((i) => replica.snapshot().get(keys[i % keys.length] as string));

    const size = `${fmt(body.length / MiB, 2)} MiB, ${rows.length} items`;
    return [
      { name: `import via native API (${size}) (ms)`, value: fmt(apiImport, 0), baseline: fmt(bareImport, 0), ratio: `${fmt(apiImport / bareImport, 2)}x` },
      { name: 'import via db.kvs.importData (ms)', value: fmt(directImport, 0), baseline: fmt(bareImport, 0), ratio: `${fmt(directImport / bareImport, 2)}x` },
      { name: 'replica load of the 5 MB store (ms)', value: fmt(replicaLoad, 1), baseline: fmt(parseLoad, 1), ratio: `${fmt(replicaLoad / parseLoad, 2)}x` },
      { name: 'snapshot().get(key) per read (ns)', value: fmt(snapshotRead, 1), baseline: fmt(mapRead, 1), ratio: `${fmt(snapshotRead / mapRead, 2)}x` },
    ];
  } finally {
    agent.destroy();
  }
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-kvs-'));
  const db = openSqliteState(join(dir, 'openfront.db'));
  const bare = new BareSqlite(join(dir, 'bare.db'));
  const credentials = db.keys.createAccessKey('bench');
  const server = await startApiServer({ state: db, port: 0 });
  const plainServer = await startPlainKvsServer(new Map());
  const agent = loopbackAgent();
  const client = kvsClient(server.port, credentials, agent);
  const plain = kvsClient(plainServer.port, credentials, agent);
  try {
    printTable('KVS API through the official SDK client, SigV4a (baseline: plain node:http server answering the same JSON)', await apiRows(db, client, plain));
    printTable('KVS storage, no HTTP (baseline: bare better-sqlite3, WAL + synchronous=FULL, same rows)', storageRows(db, bare));
    printTable(
      'KVS import, replica load and snapshot reads (baselines: JSON.parse + bare SQLite transaction; JSON.parse + Map; Map.get)',
      await importAndReplicaRows(db, bare, server.port, credentials),
    );
  } finally {
    client.destroy();
    plain.destroy();
    agent.destroy();
    await plainServer.close();
    await server.close();
    bare.close();
    db.database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
