/**
 * Fleet benchmark (issue 13, docs/fleet.md), real processes on loopback: `openfront control` and three
 * `openfront edge`s on one nats-server, then on a 3-server JetStream cluster with R3 buckets.
 *   - write acknowledged → served by each of the 3 edges: a PutKey through the control API, then each edge asked over
 *     HTTP (a viewer-request function answers the key's value) until it answers the new value; p50/p99 of the time
 *     until all three do. Baseline: a bare JetStream KV put seen by three `kv.watch()` consumers, same server, same
 *     pacing. An edge (or watcher) that already serves the write when the ack arrives counts as 0 ms.
 *   - a new edge's cold load: a 5 MB store and a store of 50,000 small keys, from spawning `openfront edge` with an
 *     empty state dir to its first answer of the last key written. Baseline: spawning `openfront --version` (Node and
 *     CLI start-up, which the cold load includes).
 * Targets (issue 13): p99 ≤ 10 ms on one server, ≤ 50 ms on R3; cold load of 5 MB ≤ 1 s.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeKeyValueStoreCommand as DescribeStoreCommand, CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { DescribeKeyValueStoreCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { Pool } from 'undici';
import { CLI_MAIN, readKeyConfig, READ_KEY_FUNCTION, runCli, startRoleProcess, type RoleProcess } from '../test/helpers/fleet-processes.js';
import { freePort, natsServerBinary, startNatsCluster, startNatsServer } from '../test/helpers/nats-server.js';
import { kvsClient, loopbackAgent, signedPost, type Credentials } from './helpers/kvs-clients.js';
import { fiveMegabyteRows } from './kvs.js';
import { fmt, printTable, summarize, type BenchRow } from './stats.js';

const SAMPLES = 200;
const WARMUP = 20;
const SERVE_TIMEOUT_MS = 15_000;
const EDGES = 3;
/** Well below nats-server's default max_payload (1 MiB): one batch is one journal message, then one message per key. */
const IMPORT_CHUNK_BYTES = 256 * 1024;
/** And few enough messages that the batch is written within the writer's publish timeout on a busy machine. */
const IMPORT_CHUNK_KEYS = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The value `path` has at the edge (the function answers it), or undefined while the edge does not answer. */
async function edgeValue(pool: Pool, path: string): Promise<string | undefined> {
  try {
    const res = await pool.request({ method: 'GET', path, headers: { host: 'bench.local' } });
    return await res.body.text();
  } catch {
    return undefined;
  }
}

/** Ms until the edge answers `value` for `path`, asking continuously; Infinity after the timeout. */
async function untilServed(pool: Pool, path: string, value: string, from: bigint): Promise<number> {
  const deadline = Date.now() + SERVE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if ((await edgeValue(pool, path)) === value) return Number(process.hrtime.bigint() - from) / 1e6;
  }
  return Number.POSITIVE_INFINITY;
}

interface Fleet {
  dir: string;
  config: string;
  secretKeyFile: string;
  credentials: Credentials;
  control: RoleProcess;
  edges: RoleProcess[];
  pools: Pool[];
  stop(): Promise<void>;
}

async function startFleet(natsUrl: string, replicas: number): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-fleet-'));
  mkdirSync(join(dir, 'site'));
  writeFileSync(join(dir, 'read-key.js'), READ_KEY_FUNCTION);
  const config = join(dir, 'openfront.config.yaml');
  writeFileSync(config, JSON.stringify(readKeyConfig('bench')));
  const secretKeyFile = join(dir, 'secret.key');
  writeFileSync(secretKeyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const created = await runCli(['keys', 'create', '--nats', natsUrl, '--secret-key-file', secretKeyFile, '--json']);
  if (created.code !== 0) throw new Error(`openfront keys create --nats failed: ${created.stderr}`);
  const credentials = JSON.parse(created.stdout) as Credentials;
  const roles: RoleProcess[] = [];
  const stop = async () => {
    for (const role of roles.reverse()) await role.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const apiPort = await freePort();
    const control = await startRoleProcess(
      'control',
      [
        'control',
        '--nats',
        natsUrl,
        '--config',
        config,
        '--api-port',
        String(apiPort),
        '--nats-replicas',
        String(replicas),
        '--secret-key-file',
        secretKeyFile,
      ],
      apiPort,
    );
    roles.push(control);
    const edges: RoleProcess[] = [];
    for (let i = 1; i <= EDGES; i++) edges.push(await startEdge(natsUrl, config, dir, `edge-${i}`, roles));
    const pools = edges.map((e) => new Pool(`http://127.0.0.1:${e.port}`, { connections: 2 }));
    return {
      dir,
      config,
      secretKeyFile,
      credentials,
      control,
      edges,
      pools,
      stop: async () => {
        await Promise.all(pools.map((p) => p.close()));
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startEdge(natsUrl: string, config: string, dir: string, name: string, roles: RoleProcess[]): Promise<RoleProcess> {
  const port = await freePort();
  const edge = await startRoleProcess(
    name,
    ['edge', '--nats', natsUrl, '--config', config, '--edge-port', String(port), '--name', name, '--state-dir', join(dir, `state-${name}`)],
    port,
  );
  roles.push(edge);
  return edge;
}

/** Paced PutKeys through the control API; per write, ms from the acknowledgement until every edge serves it. */
async function fleetLatency(fleet: Fleet): Promise<{ ack: number[]; served: number[]; get: number[] }> {
  const agent = loopbackAgent();
  const cf = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: `http://localhost:${fleet.control.port}`,
    credentials: fleet.credentials,
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
  const kvs = kvsClient(fleet.control.port, fleet.credentials, agent);
  try {
    const arn = (await cf.send(new DescribeStoreCommand({ Name: 'bench' }))).KeyValueStore!.ARN!;
    let etag = (await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
    const ack: number[] = [];
    const served: number[] = [];
    // One edge answer: the resolution of "served" (an edge is asked again as soon as it answers).
    const get: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const t0 = process.hrtime.bigint();
      await edgeValue(fleet.pools[i % fleet.pools.length]!, '/k');
      get.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const value = `v${i}-${Date.now()}`;
      const t0 = process.hrtime.bigint();
      etag = (await kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'k', Value: value, IfMatch: etag }))).ETag!;
      const acked = process.hrtime.bigint();
      const each = await Promise.all(fleet.pools.map((pool) => untilServed(pool, '/k', value, acked)));
      if (i < WARMUP) continue;
      ack.push(Number(acked - t0) / 1e6);
      served.push(Math.max(...each));
    }
    return { ack, served, get };
  } finally {
    cf.destroy();
    kvs.destroy();
    agent.destroy();
  }
}

/** The same pacing on bare JetStream KV: ms from a put's acknowledgement until three watchers have seen it. */
export async function bareLatency(natsUrl: string, replicas: number): Promise<number[]> {
  const servers = natsUrl.split(',');
  const writer = await connect({ servers });
  const readers = await Promise.all(Array.from({ length: EDGES }, () => connect({ servers })));
  try {
    const kv = await new Kvm(writer).create('bench_baseline', { history: 1, replicas });
    const seen: Array<Map<string, bigint>> = readers.map(() => new Map());
    const waiters = new Set<() => void>();
    const watches = await Promise.all(readers.map((nc) => new Kvm(nc).open('bench_baseline').then((r) => r.watch())));
    watches.forEach((watch, i) => {
      void (async () => {
        for await (const entry of watch) {
          seen[i]!.set(entry.string(), process.hrtime.bigint());
          for (const w of [...waiters]) w();
        }
      })();
    });
    const out: number[] = [];
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const value = `v${i}-${Date.now()}`;
      await kv.put('k', value);
      const acked = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        const check = () => {
          if (seen.every((m) => m.has(value))) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
      });
      // A watcher may see the message before the writer gets its ack: that is no wait at all, not a negative one.
      if (i >= WARMUP) out.push(Math.max(0, ...seen.map((m) => Number(m.get(value)! - acked) / 1e6)));
    }
    for (const watch of watches) watch.stop();
    return out;
  } finally {
    await Promise.all([writer, ...readers].map((nc) => nc.close()));
  }
}

function ratio(value: number, base: number): string {
  return base > 0 ? `${fmt(value / base, 1)}x` : '-';
}

function latencyRows(label: string, ours: { ack: number[]; served: number[]; get: number[] }, bare: number[], targetP99: number): BenchRow[] {
  const served = summarize(ours.served);
  const ack = summarize(ours.ack);
  const get = summarize(ours.get);
  const base = summarize(bare);
  const missed = ours.served.filter((v) => !Number.isFinite(v)).length;
  return [
    { name: `${label}: PutKey acknowledged p50 / p99 (ms)`, value: `${fmt(ack.p50, 2)} / ${fmt(ack.p99, 2)}` },
    { name: `${label}: one edge GET p50 / p99 (ms; resolution of "served")`, value: `${fmt(get.p50, 2)} / ${fmt(get.p99, 2)}` },
    {
      name: `${label}: ack → served by all ${EDGES} edges p50 (ms)`,
      value: fmt(served.p50, 2),
      baseline: fmt(base.p50, 2),
      ratio: ratio(served.p50, base.p50),
    },
    {
      name: `${label}: ack → served by all ${EDGES} edges p99 (ms)${missed > 0 ? ` (${missed} never served)` : ''}`,
      value: fmt(served.p99, 2),
      baseline: fmt(base.p99, 2),
      ratio: ratio(served.p99, base.p99),
      target: `≤ ${targetP99}`,
      ok: served.p99 <= targetP99,
    },
  ];
}

/** Ms from spawning a fresh edge until it answers `value` for `path`. */
async function coldLoad(natsUrl: string, fleet: Fleet, name: string, path: string, value: string): Promise<number> {
  const port = await freePort();
  const t0 = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [
      CLI_MAIN,
      'edge',
      '--nats',
      natsUrl,
      '--config',
      fleet.config,
      '--edge-port',
      String(port),
      '--name',
      name,
      '--state-dir',
      join(fleet.dir, `state-${name}`),
    ],
    { stdio: 'ignore' },
  );
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await edgeValue(pool, path)) === value) return Number(process.hrtime.bigint() - t0) / 1e6;
      await sleep(5);
    }
    return Number.POSITIVE_INFINITY;
  } finally {
    await pool.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  }
}

/**
 * Replaces the store's data with `rows`: a replace import of the first chunk, merge imports of the rest. A batch is
 * one JetStream message (the store-data journal), so chunks stay under nats-server's default 1 MiB max_payload.
 */
async function importRows(fleet: Fleet, rows: Array<{ key: string; value: string }>): Promise<void> {
  const agent = loopbackAgent();
  try {
    let chunk: Array<{ key: string; value: string }> = [];
    let bytes = 0;
    let first = true;
    const send = async () => {
      const body = Buffer.from(JSON.stringify({ data: chunk }));
      const path = `/openfront/v1/key-value-stores/bench/import?mode=${first ? 'replace' : 'merge'}`;
      let res = await signedPost(fleet.control.port, path, body, fleet.credentials, agent);
      // 503 STATE_UNAVAILABLE says "retry later" (a busy machine can time a batch out); the same batch again is harmless.
      for (let attempt = 1; res.status === 503 && attempt <= 3; attempt++) {
        await sleep(500 * attempt);
        res = await signedPost(fleet.control.port, path, body, fleet.credentials, agent);
      }
      if (res.status !== 200) throw new Error(`import of ${chunk.length} keys answered ${res.status}: ${res.body.slice(0, 300)}`);
      first = false;
      chunk = [];
      bytes = 0;
    };
    for (const row of rows) {
      const size = JSON.stringify(row).length + 1;
      if (bytes + size > IMPORT_CHUNK_BYTES || chunk.length >= IMPORT_CHUNK_KEYS) await send();
      chunk.push(row);
      bytes += size;
    }
    if (chunk.length > 0) await send();
  } finally {
    agent.destroy();
  }
}

async function cliStartup(): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runCli(['--version']);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Runs a section that adds its rows to `rows` as it measures them; prints them, and the failure if one came. */
async function section(title: string, run: (rows: BenchRow[]) => Promise<void>): Promise<void> {
  const rows: BenchRow[] = [];
  let failure: unknown;
  try {
    await run(rows);
  } catch (err) {
    failure = err;
  }
  if (rows.length > 0) printTable(title, rows);
  else console.log(`\n## ${title}`);
  if (failure !== undefined) console.log(`failed: ${failure instanceof Error ? failure.message : String(failure)}`);
}

export async function main(): Promise<void> {
  if (natsServerBinary() === undefined) {
    console.log('\n## Fleet\nskipped: nats-server is not installed (apt-get install nats-server)');
    return;
  }
  const single = await startNatsServer();
  try {
    const fleet = await startFleet(single.url, 1);
    try {
      await section('Fleet, 1 nats-server: write acknowledged → served by 3 edges (baseline: bare JetStream KV put → 3 watchers)', async (rows) => {
        rows.push(...latencyRows('1 server', await fleetLatency(fleet), await bareLatency(single.url, 1), 10));
      });
      await section('Fleet, 1 nats-server: a new edge’s cold load, spawn → serving the last key (baseline: CLI start-up)', async (rows) => {
        const startup = summarize([await cliStartup(), await cliStartup(), await cliStartup()]).p50;
        const five = fiveMegabyteRows().rows;
        await importRows(fleet, five);
        const last5 = five[five.length - 1]!;
        const cold5 = await coldLoad(single.url, fleet, 'cold-5mb', `/${last5.key}`, last5.value);
        rows.push({
          name: `cold load of 5 MB (${five.length} keys) (ms)`,
          value: fmt(cold5, 0),
          baseline: fmt(startup, 0),
          ratio: ratio(cold5, startup),
          target: '≤ 1000',
          ok: cold5 <= 1000,
        });
        const small = Array.from({ length: 50_000 }, (_, i) => ({ key: `s/${String(i).padStart(5, '0')}`, value: `small-${i}` }));
        await importRows(fleet, small);
        const lastSmall = small[small.length - 1]!;
        const cold50k = await coldLoad(single.url, fleet, 'cold-50k', `/${lastSmall.key}`, lastSmall.value);
        rows.push({ name: 'cold load of 50,000 small keys (ms)', value: fmt(cold50k, 0), baseline: fmt(startup, 0), ratio: ratio(cold50k, startup) });
      });
    } finally {
      await fleet.stop();
    }
  } finally {
    await single.dispose();
  }

  const cluster = await startNatsCluster(3);
  try {
    const fleet = await startFleet(cluster.url, 3);
    try {
      await section('Fleet, 3-server cluster, R3: write acknowledged → served by 3 edges (baseline: bare JetStream KV, R3)', async (rows) => {
        rows.push(...latencyRows('R3 cluster', await fleetLatency(fleet), await bareLatency(cluster.url, 3), 50));
      });
    } finally {
      await fleet.stop();
    }
  } finally {
    await cluster.dispose();
  }
}
