/**
 * The bounds of what an edge worker forwards to the primary (docs/deploy.md, "What the primary sees"), and the disk
 * tier each worker gets from its config.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import { DecisionBatcher } from '../../src/node/cluster/decision-batcher.js';
import { workerConfig } from '../../src/node/cluster/worker-config.js';
import { approximateTraceBytes, workerObservation } from '../../src/node/cluster/worker-observer.js';
import type { EdgeTrace } from '../../src/observe/decision-trace.js';
import type { RequestFacts } from '../../src/observe/request-facts.js';

const DISTRIBUTIONS = [{ id: 'D1', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:9' }], defaultBehavior: { origin: 'o' } }];

function facts(i: number, status = 200): RequestFacts {
  return {
    requestId: `req-${i}`,
    nodeId: 'edge',
    startedAt: 0,
    method: 'GET',
    target: '/',
    rawHeaders: ['Host', 'example.com'],
    remoteAddress: '127.0.0.1',
    distributionId: 'D1',
    collapsed: false,
    status,
    result: 'origin',
  };
}

function trace(i: number): EdgeTrace {
  return {
    requestId: `req-${i}`,
    nodeId: 'edge',
    method: 'GET',
    host: 'example.com',
    target: '/',
    functions: [],
    status: 200,
    result: 'origin',
    timings: { total: 1 },
  };
}

describe('DecisionBatcher', () => {
  it('sends full batches at once and a partial one after flushMs', async () => {
    const sent: number[][] = [];
    const batcher = new DecisionBatcher<number>({ send: (batch) => sent.push(batch), maxBatch: 3, maxInFlight: 10, flushMs: 5 });
    for (let i = 0; i < 7; i++) batcher.offer(i);
    assert.deepEqual(sent, [
      [0, 1, 2],
      [3, 4, 5],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.deepEqual(sent.at(-1), [6]);
    batcher.close();
  });

  it('a flood while the primary does not acknowledge keeps at most maxInFlight batches and maxQueued records, dropping and counting the rest', () => {
    const sent: number[][] = [];
    const batcher = new DecisionBatcher<number>({ send: (batch) => sent.push(batch), maxBatch: 10, maxQueued: 50, maxInFlight: 2, flushMs: 1000 });
    const flood = 100_000;
    for (let i = 0; i < flood; i++) batcher.offer(i);
    assert.equal(sent.length, 2, 'two batches in flight, no more');
    assert.ok(sent.every((b) => b.length === 10));
    assert.equal(batcher.queued, 50);
    assert.equal(batcher.dropped, flood - 20 - 50);
    // The primary catches up: what was queued goes, in order, and nothing dropped comes back.
    batcher.acknowledge();
    assert.equal(sent.length, 3);
    assert.deepEqual(sent[2], [20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    for (let i = 0; i < 10; i++) batcher.acknowledge();
    assert.equal(batcher.queued, 0);
    assert.deepEqual(
      sent.flat(),
      Array.from({ length: 70 }, (_, i) => i),
    );
    batcher.close();
  });

  it('holds at most maxBytes of records, queued and in flight together, by their measured size', () => {
    const sent: string[][] = [];
    const batcher = new DecisionBatcher<string>({
      send: (batch) => sent.push(batch),
      sizeOf: (r) => r.length,
      maxBytes: 1000,
      maxBatch: 2,
      maxInFlight: 1,
      flushMs: 1000,
    });
    const big = 'x'.repeat(300);
    for (let i = 0; i < 10; i++) batcher.offer(big);
    // Two in flight (600) and one queued (300): a fourth would pass 1000.
    assert.equal(sent.flat().length, 2);
    assert.equal(batcher.queued, 1);
    assert.equal(batcher.bytes, 900);
    assert.equal(batcher.dropped, 7);
    batcher.offer('y'.repeat(100));
    assert.equal(batcher.bytes, 1000, 'a small record still fits');
    batcher.acknowledge();
    assert.equal(batcher.bytes, 400, 'an acknowledged batch frees its bytes');
    batcher.close();
  });

  it('refuses bounds that are not positive integers', () => {
    assert.throws(() => new DecisionBatcher({ send: () => undefined, maxQueued: 0 }), /maxQueued must be a positive integer/);
    assert.throws(() => new DecisionBatcher({ send: () => undefined, maxBatch: 1.5 }), /maxBatch must be a positive integer/);
  });
});

describe('workerObservation', () => {
  const config = parseConfig({ distributions: DISTRIBUTIONS }, '/').observability;
  const observe = { traceAll: false, tailing: false, perSecond: 2, insecureNoAuth: false };
  const base = {
    config,
    storeName: () => undefined,
    lookupSecret: () => undefined,
    cacheStats: () => ({ bytes: 0, entries: 0, evictions: 0 }),
  };

  it('counts every request in its own metrics and forwards a flood of traces within its bounds, counting the drops as a metric', async () => {
    const batches: EdgeTrace[][] = [];
    const seen = workerObservation({
      ...base,
      observe: { ...observe, traceAll: true },
      send: (traces) => batches.push(traces),
      batch: { maxBatch: 8, maxQueued: 16, maxInFlight: 1, flushMs: 1000 },
    });
    const flood = 10_000;
    for (let i = 0; i < flood; i++) {
      assert.equal(seen.observer.wantsTrace(), true, 'an access log wants every request traced');
      seen.observer.requestDone(facts(i), trace(i));
    }
    assert.equal(batches.length, 1, 'the primary has not acknowledged the first batch');
    assert.equal(seen.batcher.queued, 16);
    const json = await seen.metrics.registry.getMetricsAsJSON();
    const value = (name: string) => json.find((m) => m.name === name)?.values.reduce((sum, v) => sum + v.value, 0);
    assert.equal(value('openfront_edge_requests_total'), flood);
    assert.equal(value('openfront_edge_worker_decisions_dropped_total'), flood - 8 - 16);
    seen.close();
  });

  it('traces its share of requests per second unless somebody tails; a 5xx is forwarded even untraced', () => {
    const batches: EdgeTrace[][] = [];
    const seen = workerObservation({ ...base, observe, send: (traces) => batches.push(traces), batch: { maxBatch: 1, maxInFlight: 100 } });
    assert.deepEqual([seen.observer.wantsTrace(), seen.observer.wantsTrace(), seen.observer.wantsTrace()], [true, true, false]);
    seen.setTailing(true);
    assert.equal(seen.observer.wantsTrace(), true);
    seen.setTailing(false);
    assert.equal(seen.observer.wantsTrace(), false);
    seen.observer.requestDone(facts(1, 200), undefined);
    seen.observer.requestDone(facts(2, 502), undefined);
    assert.deepEqual(
      batches.flat().map((t) => [t.requestId, t.status, t.partial]),
      [['req-2', 502, true]],
    );
    seen.close();
  });
});

describe('workerObservation with metrics off', () => {
  it('counts nothing and asks the engine for no KVS reads of untraced requests, as the primary would', async () => {
    const config = parseConfig({ observability: { metrics: { enabled: false } }, distributions: DISTRIBUTIONS }, '/').observability;
    const seen = workerObservation({
      config,
      observe: { traceAll: false, tailing: false, perSecond: 0, insecureNoAuth: false },
      storeName: () => undefined,
      lookupSecret: () => undefined,
      cacheStats: () => ({ bytes: 0, entries: 0, evictions: 0 }),
      send: () => undefined,
    });
    assert.equal(seen.observer.countsKvsReads, false);
    seen.observer.requestDone(facts(1), undefined);
    const json = await seen.metrics.registry.getMetricsAsJSON();
    assert.deepEqual(json.find((m) => m.name === 'openfront_edge_requests_total')?.values, []);
    seen.close();
  });
});

describe('approximateTraceBytes', () => {
  it('grows with the viewer headers and the function logs a trace carries', () => {
    const plain = approximateTraceBytes(trace(1));
    const heavy = approximateTraceBytes({
      ...trace(1),
      viewerHeaders: [['cookie', 'c'.repeat(20_000)]],
      functions: [
        {
          eventType: 'viewer-request',
          name: 'f',
          version: '1',
          codeHash: 'h',
          kind: 'request',
          computeUtilization: 1,
          elapsedMicros: 1,
          kvsReads: [],
          logs: ['l'.repeat(10_000)],
        },
      ],
    });
    assert.ok(plain < 1024);
    assert.ok(heavy - plain > 30_000);
  });
});

describe('workerConfig', () => {
  it("puts each worker's disk tier in w<index> of the cache directory with its share of the disk budget", () => {
    const config = parseConfig({ server: { cache: { diskBytes: 1000 } }, distributions: DISTRIBUTIONS }, '/');
    const one = workerConfig(config, { index: 1, workerCount: 3, cacheDir: '/data/cache' });
    const three = workerConfig(config, { index: 3, workerCount: 3, cacheDir: '/data/cache' });
    assert.equal(one.server.cache.diskDir, join('/data/cache', 'w1'));
    assert.equal(three.server.cache.diskDir, join('/data/cache', 'w3'));
    assert.equal(one.server.cache.diskBytes, 333);
    assert.equal(config.server.cache.diskBytes, 1000, 'the shared config is not changed');
    const configured = parseConfig({ server: { cache: { diskDir: '/fast/cache' } }, distributions: DISTRIBUTIONS }, '/');
    assert.equal(workerConfig(configured, { index: 2, workerCount: 2, cacheDir: '/data/cache' }).server.cache.diskDir, join('/fast/cache', 'w2'));
  });
});
