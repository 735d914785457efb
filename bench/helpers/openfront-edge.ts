/**
 * Bench child: OpenFront's real edge (`startEdge`, config from `parseConfig`, `ConfigFunctionSource`) with the
 * bench's viewer-request function reading a real store: a temp SQLite state (`openSqliteState`) seeded with the
 * 10,000-key table through `ensureConfigStores`, read through the in-process replicas (`replicaStoreResolver`).
 *
 *   node dist/bench/helpers/openfront-edge.js --origin URL --table table.json --cache off|on --cache-bytes N
 *
 * `--cache off` puts CachingDisabled on the behavior (every request runs the function and goes to the origin);
 * `--cache on` caches origin answers per tenant (`x-tenant` in the cache key); the function runs either way.
 * `--observe metrics` adds what `openfront start` runs with nobody tailing (`startNodeObservability` with the
 * default config: metrics and the decision ring, told about every request by the edge's observer); `--observe tail`
 * adds one live stream at full sampling writing to a socket-less sink (every record built, redacted and serialized
 * as for `openfront tail`). Default `off`: no observer, no trace channel subscriber.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/index.js';
import { ensureConfigStores, replicaStoreResolver } from '../../src/node/seed-stores.js';
import { ConfigFunctionSource, startEdge } from '../../src/edge/index.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { ReplicaSet } from '../../src/kvs/replica.js';
import { startNodeObservability, type NodeObservability } from '../../src/node/observability.js';
import { DecisionFilter } from '../../src/observe/filter.js';
import { ASYNC_FUNCTION } from '../engine.js';
import { childArgs, requiredArg, serveInChild } from './child-runtime.js';

const args = childArgs();
const cached = requiredArg(args, 'cache') === 'on';
const cacheBytes = Number(args.get('cache-bytes') ?? 100 * 1024 * 1024);
const observe = args.get('observe') ?? 'off';
// With a certificate the load goes to the HTTPS listener (HTTP/2 or HTTP/1.1 by ALPN).
const tlsCert = args.get('tls-cert');
const tlsKey = args.get('tls-key');
if (!['off', 'metrics', 'tail'].includes(observe)) throw new Error(`--observe must be off, metrics or tail, got ${observe}`);

await serveInChild(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-edge-'));
  const table = JSON.parse(readFileSync(requiredArg(args, 'table'), 'utf8')) as Record<string, string>;
  writeFileSync(join(dir, 'tenants.json'), JSON.stringify({ data: Object.entries(table).map(([key, value]) => ({ key, value })) }));
  writeFileSync(join(dir, 'decide.js'), ASYNC_FUNCTION);
  const config = parseConfig(
    {
      server: {
        nodeId: 'bench',
        cacheBytes,
        ...(tlsCert === undefined ? {} : { tls: { defaultCertificate: { certificate: tlsCert, privateKey: tlsKey } } }),
      },
      stores: [{ name: 'tenants', seed: 'tenants.json' }],
      functions: [{ name: 'decide', code: 'decide.js', store: 'tenants' }],
      cachePolicies: [{ name: 'PerTenant', minTtl: 0, defaultTtl: 60, maxTtl: 3600, headers: { behavior: 'whitelist', names: ['x-tenant'] } }],
      distributions: [
        {
          id: 'EBENCH',
          hostnames: ['*'],
          origins: [{ id: 'origin', url: requiredArg(args, 'origin'), maxConnections: 128 }],
          defaultBehavior: { origin: 'origin', cachePolicy: cached ? 'PerTenant' : 'CachingDisabled', functionAssociations: { 'viewer-request': 'decide' } },
        },
      ],
    },
    dir,
  );
  const db = openSqliteState(join(dir, 'openfront.db'));
  await ensureConfigStores(config, db.stores);
  const replicas = new ReplicaSet(db.kvs);
  const functions = await ConfigFunctionSource.create(config, { stores: replicaStoreResolver(db.kvs, replicas) });
  let observability: NodeObservability | undefined;
  if (observe !== 'off') {
    observability = await startNodeObservability({
      config: config.observability,
      stores: db.kvs,
      lookupSecret: (id) => db.keys.getAccessKeySecret(id),
      nodeId: 'bench',
      cacheStats: () => edge.cacheStats(),
    });
    if (observe === 'tail') {
      const streams = observability.streams;
      // A reader that keeps up: what a stream costs the edge is building, redacting and serializing each record.
      const sink = { writableLength: 0, destroyed: false, write: (chunk: string) => chunk.length > 0, once: () => sink };
      streams.attach(sink, new DecisionFilter({}), streams.reserve());
    }
  }
  const edge = await startEdge({
    config,
    functions,
    host: '127.0.0.1',
    port: 0,
    observer: observability?.observer,
    ...(tlsCert === undefined ? {} : { httpsPort: 0 }),
  });
  return {
    port: edge.httpsPort ?? edge.port,
    close: async () => {
      await observability?.close();
      await edge.close();
      functions.close();
      replicas.close();
      db.database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
