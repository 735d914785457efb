/**
 * Edge A/B across builds (docs/benchmarks.md, "The no-cache ratio after the streamed bodies"): how much CPU the edge
 * of other revisions spends per request against this one, measured where a loaded machine cannot blur it.
 *
 *   node dist/bench/edge-ab.js ROUNDS REQUESTS label=/path/to/worktree[:metrics] …
 *
 * Each worktree is a built checkout of some revision (`git worktree add /tmp/x <rev>`, node_modules, `npx tsc`).
 * One process holds the origin (`node:http`, the edge bench's 28-byte answer), the edge of every build (its own
 * `startEdge` from its `dist/`, CachingDisabled, the edge bench's function), one function source shared by all (this
 * build's isolates, so only the edge code differs) and an undici client keeping 50 requests in flight. Slices of
 * REQUESTS requests alternate between the edges for ROUNDS rounds; each edge's process CPU per request is compared
 * with the first edge's slice by slice (median of the paired ratios: a slow phase of the machine hits both sides of
 * a pair), beside the young-generation collections per 1,000 requests (allocation, which load does not change).
 * `:metrics` adds that build's `startNodeObservability` observer (metrics and the decision ring, nobody tailing).
 * Not part of `npm run bench`: it needs the other builds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants } from 'node:perf_hooks';
import { Pool } from 'undici';
import { parseConfig } from '../src/config/index.js';
import { ConfigFunctionSource } from '../src/edge/index.js';
import { openSqliteState } from '../src/state/sqlite/index.js';
import { ReplicaSet } from '../src/kvs/replica.js';
import { ensureConfigStores, replicaStoreResolver } from '../src/node/seed-stores.js';
import { ASYNC_FUNCTION } from './engine.js';
import { writeEdgeWorkload } from './helpers/edge-workload.js';
import { fmt } from './stats.js';

const IN_FLIGHT = 50;
const BODY = Buffer.from('hello from the bench origin\n');

interface Edge {
  label: string;
  pool: Pool;
  close(): Promise<void>;
  cpu: number[];
  collections: number[];
}

/** What another build's modules offer, loaded by path (their types are that build's, not this one's). */
type Loaded = Record<string, (...args: never[]) => unknown>;

const [roundsArg, requestsArg, ...specs] = process.argv.slice(2);
const rounds = Number(roundsArg);
const perSlice = Number(requestsArg);
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(perSlice) || perSlice < IN_FLIGHT || specs.length === 0) {
  throw new Error('usage: node dist/bench/edge-ab.js ROUNDS REQUESTS(≥ 50) label=/path/to/worktree[:metrics] …');
}

const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-ab-'));
const work = writeEdgeWorkload(dir);
const origin = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
  const tenant = req.headers['x-tenant'];
  res.writeHead(200, {
    'content-type': 'text/plain',
    'content-length': String(BODY.length),
    'cache-control': 'max-age=60',
    ...(typeof tenant === 'string' ? { 'x-origin-saw-tenant': tenant } : {}),
  });
  res.end(BODY);
});
await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
writeFileSync(join(dir, 'tenants.json'), JSON.stringify({ data: [...work.items].map(([key, value]) => ({ key, value })) }));
writeFileSync(join(dir, 'decide.js'), ASYNC_FUNCTION);
const raw = {
  server: { nodeId: 'bench', cacheBytes: 100 * 1024 * 1024 },
  stores: [{ name: 'tenants', seed: 'tenants.json' }],
  functions: [{ name: 'decide', code: 'decide.js', store: 'tenants' }],
  distributions: [
    {
      id: 'EBENCH',
      hostnames: ['*'],
      origins: [{ id: 'origin', url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`, maxConnections: 128 }],
      defaultBehavior: { origin: 'origin', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'decide' } },
    },
  ],
};
const config = parseConfig(raw, dir);
const db = openSqliteState(join(dir, 'openfront.db'));
await ensureConfigStores(config, db.stores);
const replicas = new ReplicaSet(db.kvs);
const functions = await ConfigFunctionSource.create(config, { stores: replicaStoreResolver(db.kvs, replicas) });

let minorCollections = 0;
const collections = new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) minorCollections++;
});
collections.observe({ entryTypes: ['gc'] });

const edges: Edge[] = [];
for (const spec of specs) {
  const [label, rest = ''] = spec.split('=');
  const [build, observe] = rest.split(':');
  const server = (await import(join(build as string, 'dist/src/edge/edge-server.js'))) as Loaded;
  const configModule = (await import(join(build as string, 'dist/src/config/index.js'))) as Loaded;
  const ownConfig = configModule.parseConfig!(raw as never, dir as never) as { observability: unknown };
  let observer: unknown;
  if (observe === 'metrics') {
    const observability = (await import(join(build as string, 'dist/src/node/observability.js'))) as Loaded;
    const started = (await observability.startNodeObservability!({
      config: ownConfig.observability,
      // This build's options (an older build took the whole node's database as `db`).
      stores: db.kvs,
      lookupSecret: () => undefined,
      nodeId: 'bench',
      cacheStats: () => ({ bytes: 0, entries: 0, evictions: 0 }),
    } as never)) as { observer: unknown };
    observer = started.observer;
  }
  const edge = (await server.startEdge!({ config: ownConfig, functions, host: '127.0.0.1', port: 0, observer } as never)) as {
    port: number;
    close(): Promise<void>;
  };
  edges.push({
    label: label as string,
    pool: new Pool(`http://127.0.0.1:${edge.port}`, { connections: IN_FLIGHT }),
    close: () => edge.close(),
    cpu: [],
    collections: [],
  });
}

/** One slice: `perSlice` requests of the workload with IN_FLIGHT in flight; CPU µs per request and collections. */
async function slice(edge: Edge): Promise<{ cpu: number; collections: number }> {
  let next = 0;
  let done = 0;
  const cpuBefore = process.cpuUsage();
  const collectionsBefore = minorCollections;
  await new Promise<void>((resolve, reject) => {
    const fire = () => {
      const request = work.requests[next++ % work.requests.length]!;
      edge.pool
        .request({ method: 'GET', path: request.path, headers: request.headers })
        .then((res) => res.body.dump())
        .then(() => {
          if (++done === perSlice) resolve();
          else if (next < perSlice) fire();
        }, reject);
    };
    for (let i = 0; i < IN_FLIGHT; i++) fire();
  });
  const used = process.cpuUsage(cpuBefore);
  // The collections of this slice are reported on the next turn.
  await new Promise((resolve) => setImmediate(resolve));
  return { cpu: (used.user + used.system) / perSlice, collections: minorCollections - collectionsBefore };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

try {
  for (const edge of edges) await slice(edge);
  console.log(`Edge A/B: ${rounds} rounds of ${perSlice} requests per edge, ${IN_FLIGHT} in flight; load average ${fmt(loadavg()[0] ?? 0, 1)}`);
  for (let round = 0; round < rounds; round++) {
    for (const edge of round % 2 === 0 ? edges : [...edges].reverse()) {
      const measured = await slice(edge);
      edge.cpu.push(measured.cpu);
      edge.collections.push(measured.collections);
    }
  }
  const first = edges[0]!;
  for (const edge of edges) {
    const paired = median(edge.cpu.map((cpu, round) => cpu / first.cpu[round]!));
    const perThousand = (edge.collections.reduce((sum, n) => sum + n, 0) / (rounds * perSlice)) * 1000;
    console.log(
      `  ${edge.label.padEnd(16)} CPU µs/request (whole process) median ${fmt(median(edge.cpu), 1).padStart(7)}, vs ${first.label} ${fmt(paired, 3)}x; minor GCs per 1k requests ${fmt(perThousand, 2)}`,
    );
  }
} finally {
  collections.disconnect();
  for (const edge of edges) {
    await edge.pool.close();
    await edge.close();
  }
  functions.close();
  replicas.close();
  db.database.close();
  origin.close();
  rmSync(dir, { recursive: true, force: true });
}
