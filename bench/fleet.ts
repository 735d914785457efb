/**
 * Fleet benchmark (issue 13, docs/fleet.md), real processes on loopback: `openfront control` and three
 * `openfront edge`s on one nats-server, then on a 3-server JetStream cluster with R3 buckets.
 *   - write acknowledged → served by each of the 3 edges: a PutKey through the control API; the time each edge
 *     switched to the new version is the `appliedAt` of its own next propagation report (`of_edges`; every process
 *     runs on this machine, so one clock; 1 ms resolution), and then each edge is asked over HTTP (a viewer-request
 *     function answers the key's value) and must answer the new value. p50/p99 of ack → the last of the three
 *     applied it. Nothing probes the edges while a write propagates: an earlier version of this bench asked them in
 *     a loop until they answered, and that loop's own GETs (p99 of one GET ~7–28 ms on 2 cores shared by five
 *     processes) were most of what it measured (docs/benchmarks.md). Beside it, ack → applied by a replica of the
 *     store inside the bench process (the edge's consumer and apply code, no HTTP).
 *     Baseline: a bare JetStream KV put seen by three `kv.watch()` consumers, same server, same pacing.
 *   - a new edge's cold load: a 5 MB store (written as one replace import, a journal over several NATS messages) and
 *     a store of 50,000 small keys, from spawning `openfront edge` with an empty state dir to its first answer of the
 *     last key written; beside it, from the edge's own log, the NATS connect and the load inside the process (stream
 *     followed → store loaded). Baseline: spawning `openfront edge --help` (Node and the CLI's start).
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
import type { EdgeReport } from '../src/observe/propagation.js';
import { EDGES_BUCKET, parseEdgeReport } from '../src/observe/propagation-jetstream.js';
import { DEFAULT_REPORT_HEARTBEAT_MS } from '../src/observe/propagation-report.js';
import { storeIdOf } from '../src/runtime/kvs-access.js';
import { connectNats } from '../src/state/jetstream/connection.js';
import { JetStreamStoreReplica } from '../src/state/jetstream/kv-data/replica.js';
import { CLI_MAIN, readKeyConfig, READ_KEY_FUNCTION, runCli, startRoleProcess, type RoleProcess } from '../test/helpers/fleet-processes.js';
import { freePort, natsServerBinary, startNatsCluster, startNatsServer } from '../test/helpers/nats-server.js';
import { kvsClient, loopbackAgent, signedPost, type Credentials } from './helpers/kvs-clients.js';
import { fiveMegabyteRows } from './kvs.js';
import { fmt, printTable, summarize, type BenchRow } from './stats.js';

const SAMPLES = 200;
const WARMUP = 20;
const SERVE_TIMEOUT_MS = 15_000;
const EDGES = 3;

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

/** A replica of the store in this process (the edge's own code, without HTTP): when it applied each value of `key`. */
async function benchReplica(natsUrl: string, storeId: string, key: string) {
  const conn = await connectNats(natsUrl, { name: 'bench-replica' });
  const appliedAt = new Map<string, bigint>();
  const replica: JetStreamStoreReplica = new JetStreamStoreReplica({
    storeId,
    onApplied: () => {
      const value = replica.snapshot().get(key);
      if (value !== undefined && !appliedAt.has(value)) appliedAt.set(value, process.hrtime.bigint());
    },
  });
  replica.follow(conn);
  await replica.whenCaughtUp();
  return {
    appliedAt,
    async close() {
      await replica.close();
      await conn.close();
    },
  };
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

interface FleetLatency {
  ack: number[];
  /** Ack → a replica in the bench process applied the write (the edge's consumer and apply, no HTTP). */
  applied: number[];
  /** Ack → the last of the edges applied the write, by the `appliedAt` of their own reports. */
  edgeApplied: number[];
  get: number[];
}

/** Paced PutKeys through the control API; per write, ms from the acknowledgement until every edge serves it. */
async function fleetLatency(fleet: Fleet, natsUrl: string): Promise<FleetLatency> {
  const agent = loopbackAgent();
  const cf = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: `http://localhost:${fleet.control.port}`,
    credentials: fleet.credentials,
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
  const kvs = kvsClient(fleet.control.port, fleet.credentials, agent);
  let replica: Awaited<ReturnType<typeof benchReplica>> | undefined;
  let reports: EdgeReports | undefined;
  try {
    const arn = (await cf.send(new DescribeStoreCommand({ Name: 'bench' }))).KeyValueStore!.ARN!;
    const storeId = storeIdOf(arn);
    replica = await benchReplica(natsUrl, storeId, 'k');
    reports = await edgeReports(natsUrl);
    await reports.prime(
      fleet.edges.map((e) => e.label),
      storeId,
    );
    let etag = (await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
    const out: FleetLatency = { ack: [], applied: [], edgeApplied: [], get: [] };
    // One edge GET alone, for scale (the edges are idle meanwhile).
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const t0 = process.hrtime.bigint();
      await edgeValue(fleet.pools[i % fleet.pools.length]!, '/k');
      if (i >= WARMUP) out.get.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const value = `v${i}-${Date.now()}`;
      const t0 = process.hrtime.bigint();
      const put = await kvs.send(new PutKeyCommand({ KvsARN: arn, Key: 'k', Value: value, IfMatch: etag }));
      const acked = process.hrtime.bigint();
      const ackedWallMs = Date.now();
      etag = put.ETag!;
      // Nothing probes the edges while the write propagates (a probe loop would compete with the apply for the CPU):
      // each edge's next report says when it switched to the new version; then HTTP checks that it serves the value.
      const appliedAt = await Promise.all(fleet.edges.map((edge) => reports!.nextApplied(edge.label, storeId)));
      const served = await Promise.all(fleet.pools.map((pool) => edgeValue(pool, '/k')));
      const wrong = served.findIndex((v) => v !== value);
      if (wrong !== -1) throw new Error(`${fleet.edges[wrong]!.label} reported the new version but answered ${JSON.stringify(served[wrong])}, not ${value}`);
      if (i < WARMUP) continue;
      out.edgeApplied.push(Math.max(0, ...appliedAt.map((at) => at - ackedWallMs)));
      out.ack.push(Number(acked - t0) / 1e6);
      const applied = replica.appliedAt.get(value);
      // Applied before the ack reached the bench (the server delivers while it acknowledges): no wait at all.
      out.applied.push(applied === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Number(applied - acked) / 1e6));
    }
    return out;
  } finally {
    await reports?.close();
    await replica?.close();
    cf.destroy();
    kvs.destroy();
    agent.destroy();
  }
}

interface EdgeReports {
  /** Notes the version of `storeId` each edge reports now; call while nothing is written (reports settle first). */
  prime(edges: string[], storeId: string): Promise<void>;
  /** When `edge` applied the next version of `storeId` after the one noted last (epoch ms). */
  nextApplied(edge: string, storeId: string): Promise<number>;
  close(): Promise<void>;
}

/** The edges' own propagation reports (`of_edges`), watched: what version of a store each applied, and when. */
async function edgeReports(natsUrl: string): Promise<EdgeReports> {
  const nc = await connect({ servers: natsUrl.split(',') });
  const kv = await new Kvm(nc).open(EDGES_BUCKET);
  const latest = new Map<string, EdgeReport>();
  const waiters = new Set<() => void>();
  const watch = await kv.watch();
  void (async () => {
    for await (const entry of watch) {
      const report = parseEdgeReport(entry);
      if (report !== undefined) latest.set(report.name, report);
      for (const w of [...waiters]) w();
    }
  })();
  const seen = new Map<string, number>();
  return {
    async prime(edges, storeId) {
      // A heartbeat later every edge has republished what it serves now.
      await sleep(DEFAULT_REPORT_HEARTBEAT_MS + 200);
      for (const edge of edges) {
        const applied = latest.get(edge)?.stores[storeId];
        if (applied === undefined) throw new Error(`${edge} reports no version of ${storeId}`);
        seen.set(`${edge}/${storeId}`, applied.version);
      }
    },
    nextApplied(edge, storeId) {
      const key = `${edge}/${storeId}`;
      return new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${edge} reported no new version of ${storeId} within ${SERVE_TIMEOUT_MS} ms`));
        }, SERVE_TIMEOUT_MS);
        function check() {
          const applied = latest.get(edge)?.stores[storeId];
          if (applied === undefined || applied.version <= (seen.get(key) ?? -1)) return;
          seen.set(key, applied.version);
          waiters.delete(check);
          clearTimeout(timer);
          resolve(Date.parse(applied.appliedAt));
        }
        waiters.add(check);
        check();
      });
    },
    async close() {
      watch.stop();
      await nc.close();
    },
  };
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

function latencyRows(label: string, ours: FleetLatency, bare: number[], targetP99: number): BenchRow[] {
  const edgeApplied = summarize(ours.edgeApplied);
  const applied = summarize(ours.applied);
  const ack = summarize(ours.ack);
  const get = summarize(ours.get);
  const base = summarize(bare);
  return [
    { name: `${label}: PutKey acknowledged p50 / p99 (ms)`, value: `${fmt(ack.p50, 2)} / ${fmt(ack.p99, 2)}` },
    {
      name: `${label}: ack → served by all ${EDGES} edges p50 (ms; each edge's appliedAt, verified by HTTP)`,
      value: fmt(edgeApplied.p50, 0),
      baseline: fmt(base.p50, 2),
      ratio: ratio(edgeApplied.p50, base.p50),
    },
    {
      name: `${label}: ack → served by all ${EDGES} edges p99 (ms; each edge's appliedAt, verified by HTTP)`,
      value: fmt(edgeApplied.p99, 0),
      baseline: fmt(base.p99, 2),
      ratio: ratio(edgeApplied.p99, base.p99),
      target: `≤ ${targetP99}`,
      ok: edgeApplied.p99 <= targetP99,
    },
    { name: `${label}:   for scale: one edge GET alone p50 / p99 (ms)`, value: `${fmt(get.p50, 2)} / ${fmt(get.p99, 2)}` },
    {
      name: `${label}: ack → applied by a replica in the bench process p50 / p99 (ms; the edge's consumer, no HTTP)`,
      value: `${fmt(applied.p50, 2)} / ${fmt(applied.p99, 2)}`,
      baseline: `${fmt(base.p50, 2)} / ${fmt(base.p99, 2)}`,
    },
  ];
}

/** What a cold edge's start-up cost, measured from outside (spawn, requests) and from its own log lines. */
interface ColdLoad {
  /** Spawn → the first request answered with the store's last key: the cold load the target is about. */
  served: number;
  /** Spawn → the edge's "edge serving" line: Node start, CLI and module imports, the edge server listening. */
  listening: number;
  /** NATS connect, inside the process (it runs while the edge server starts). */
  connect: number;
  /** Inside the process: from following the store's stream to its last version applied (`store loaded`). */
  load: number;
  /** Inside the process: from the process start to the store loaded. */
  loadedSinceStart: number;
}

/** The JSON detail of the edge's first log line starting with `message`, once it is printed. */
function logDetail(lines: string[], message: string): Record<string, number> | undefined {
  const prefix = `openfront edge: ${message} `;
  const line = lines.find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : (JSON.parse(line.slice(prefix.length)) as Record<string, number>);
}

/** Spawns a fresh edge (empty state dir) and measures its cold load of the store until it answers `value` for `path`. */
async function coldLoad(natsUrl: string, fleet: Fleet, name: string, path: string, value: string): Promise<ColdLoad> {
  const port = await freePort();
  const stateDir = join(fleet.dir, `state-${name}`);
  rmSync(stateDir, { recursive: true, force: true });
  const t0 = process.hrtime.bigint();
  const since = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const child = spawn(
    process.execPath,
    [CLI_MAIN, 'edge', '--nats', natsUrl, '--config', fleet.config, '--edge-port', String(port), '--name', name, '--state-dir', stateDir],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const lines: string[] = [];
  let listening = Number.POSITIVE_INFINITY;
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (pending + chunk.toString('utf8')).split('\n');
    pending = parts.pop()!;
    for (const line of parts) {
      if (line.startsWith('openfront edge: edge serving ') && !Number.isFinite(listening)) listening = since();
      lines.push(line);
    }
  });
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  try {
    const deadline = Date.now() + 60_000;
    let served = Number.POSITIVE_INFINITY;
    while (Date.now() < deadline && child.exitCode === null) {
      if ((await edgeValue(pool, path)) === value) {
        served = since();
        break;
      }
      await sleep(2);
    }
    const loaded = logDetail(lines, 'store loaded');
    return {
      served,
      listening,
      connect: logDetail(lines, 'connected to NATS')?.connectMs ?? Number.NaN,
      load: loaded?.loadMs ?? Number.NaN,
      loadedSinceStart: loaded?.sinceProcessStartMs ?? Number.NaN,
    };
  } finally {
    await pool.close();
    child.kill('SIGTERM');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
  }
}

/** Replaces the store's data with `rows` in one import: one batch, spread over several NATS messages when big. */
async function importRows(fleet: Fleet, rows: Array<{ key: string; value: string }>): Promise<void> {
  const agent = loopbackAgent();
  try {
    const body = Buffer.from(JSON.stringify({ data: rows }));
    const path = '/openfront/v1/key-value-stores/bench/import?mode=replace';
    const res = await signedPost(fleet.control.port, path, body, fleet.credentials, agent).catch((err: unknown) => {
      throw new Error(
        `import of ${rows.length} keys failed: ${err instanceof Error ? err.message : String(err)}; control log: ${fleet.control.log().slice(-1500)}`,
      );
    });
    if (res.status !== 200) throw new Error(`import of ${rows.length} keys (${body.byteLength} bytes) answered ${res.status}: ${res.body.slice(0, 300)}`);
  } finally {
    agent.destroy();
  }
}

/** The median of each field over `runs` cold loads. */
async function coldLoads(runs: number, load: (run: number) => Promise<ColdLoad>): Promise<ColdLoad> {
  const all: ColdLoad[] = [];
  for (let i = 0; i < runs; i++) all.push(await load(i));
  const median = (pick: (c: ColdLoad) => number) => summarize(all.map(pick)).p50;
  return {
    served: median((c) => c.served),
    listening: median((c) => c.listening),
    connect: median((c) => c.connect),
    load: median((c) => c.load),
    loadedSinceStart: median((c) => c.loadedSinceStart),
  };
}

function coldLoadRows(label: string, c: ColdLoad, startup: number, target?: number): BenchRow[] {
  const met = (v: number) => (target === undefined ? {} : { target: `≤ ${target}`, ok: v <= target });
  return [
    {
      name: `${label}: spawn → first request served with all data (ms)`,
      value: fmt(c.served, 0),
      baseline: fmt(startup, 0),
      ratio: ratio(c.served, startup),
      ...met(c.served),
    },
    { name: `${label}:   of which spawn → edge listening (Node, CLI imports, edge server) (ms)`, value: fmt(c.listening, 0) },
    { name: `${label}:   NATS connect, in the process, alongside the edge server start (ms)`, value: fmt(c.connect, 0) },
    { name: `${label}:   in the process: process start → store loaded (ms)`, value: fmt(c.loadedSinceStart, 0) },
    { name: `${label}:   in the process: stream load, follow → store loaded (ms)`, value: fmt(c.load, 0), ...met(c.load) },
  ];
}

/** Spawn → exit of `openfront edge --help`: Node and the edge command's CLI start, the floor of any cold load. */
async function cliStartup(): Promise<number> {
  const t0 = process.hrtime.bigint();
  await runCli(['edge', '--help']);
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
  // FLEET_BENCH=cold runs only the cold loads (FLEET_BENCH=latency only the write → served sections).
  const only = process.env.FLEET_BENCH;
  const single = await startNatsServer();
  try {
    const fleet = await startFleet(single.url, 1);
    try {
      if (only !== 'cold')
        await section('Fleet, 1 nats-server: write acknowledged → served by 3 edges (baseline: bare JetStream KV put → 3 watchers)', async (rows) => {
          rows.push(...latencyRows('1 server', await fleetLatency(fleet, single.url), await bareLatency(single.url, 1), 10));
        });
      if (only !== 'latency')
        await section('Fleet, 1 nats-server: a new edge’s cold load (median of 3; baseline: `openfront edge --help`, spawn → exit)', async (rows) => {
          const startup = summarize([await cliStartup(), await cliStartup(), await cliStartup()]).p50;
          // One replace import each: a 5 MB batch is one journal in several NATS messages (max_payload is 1 MiB).
          const five = fiveMegabyteRows().rows;
          await importRows(fleet, five);
          const last5 = five[five.length - 1]!;
          const cold5 = await coldLoads(3, (run) => coldLoad(single.url, fleet, `cold-5mb-${run}`, `/${last5.key}`, last5.value));
          rows.push(...coldLoadRows(`5 MB (${five.length} keys, one import)`, cold5, startup, 1000));
          const small = Array.from({ length: 50_000 }, (_, i) => ({ key: `s/${String(i).padStart(5, '0')}`, value: `small-${i}` }));
          await importRows(fleet, small);
          const lastSmall = small[small.length - 1]!;
          const cold50k = await coldLoads(3, (run) => coldLoad(single.url, fleet, `cold-50k-${run}`, `/${lastSmall.key}`, lastSmall.value));
          rows.push(...coldLoadRows('50,000 small keys', cold50k, startup));
        });
    } finally {
      await fleet.stop();
    }
  } finally {
    await single.dispose();
  }

  if (only === 'cold') return;
  const cluster = await startNatsCluster(3);
  try {
    const fleet = await startFleet(cluster.url, 3);
    try {
      await section('Fleet, 3-server cluster, R3: write acknowledged → served by 3 edges (baseline: bare JetStream KV, R3)', async (rows) => {
        rows.push(...latencyRows('R3 cluster', await fleetLatency(fleet, cluster.url), await bareLatency(cluster.url, 3), 50));
      });
    } finally {
      await fleet.stop();
    }
  } finally {
    await cluster.dispose();
  }
}
