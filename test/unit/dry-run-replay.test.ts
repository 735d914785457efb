/**
 * The dry run's engine (src/edge/dry-run/replay.ts), the store overlay (src/kvs/overlay-snapshot.ts), the request
 * bounds of the API (src/control/dry-run-api.ts) and the node's one-at-a-time rule (src/node/dry-run-service.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/index.js';
import type { DistributionConfig } from '../../src/config/types.js';
import { parseDryRunRequest } from '../../src/control/dry-run-api.js';
import { replayRecording, type ReplayFunction, type ReplaySide } from '../../src/edge/dry-run/replay.js';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { OverlaySnapshotSource } from '../../src/kvs/overlay-snapshot.js';
import { MapSnapshot, type KvsSnapshotSource } from '../../src/kvs/snapshot.js';
import { dryRunService } from '../../src/node/dry-run-service.js';
import { DEFAULT_RECORDING, RecordingSet, type RecordedRequest } from '../../src/observe/recording.js';
import { loadFunction } from '../../src/runtime/index.js';
import type { CloudFrontFunction } from '../../src/runtime/types.js';
import type { NodeState } from '../../src/state/types.js';

const STORE_ID = '11111111-2222-4333-8444-555555555555';

const CURRENT = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const request = event.request;
  if (request.uri.startsWith('/go/')) {
    if (await kvs.exists(request.uri)) return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get(request.uri) } } };
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  if (Math.random() < 0.5) request.headers['x-bucket'] = { value: 'a' };
  return request;
}`;

/** Rewrites /app/* to /v2/*, sends it to origin "b" and tags it: uri, cache key, origin and headers change. */
const PROPOSED = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const request = event.request;
  if (request.uri.startsWith('/go/')) {
    if (await kvs.exists(request.uri)) return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get(request.uri) } } };
    return { statusCode: 404, statusDescription: 'Not Found' };
  }
  if (Math.random() < 0.5) request.headers['x-bucket'] = { value: 'a' };
  if (request.uri.startsWith('/app/')) {
    request.uri = '/v2/' + request.uri.slice(5);
    request.headers['x-version'] = { value: '2' };
    cf.selectRequestOriginById('b');
  }
  return request;
}`;

function recorded(uri: string, querystring = ''): RecordedRequest {
  return { time: '2026-01-01T00:00:00.000Z', method: 'GET', uri, querystring, headers: [['host', 'example.com']], cookies: [], clientIp: '192.0.2.1' };
}

describe('dry-run replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-replay-'));
  let distribution: DistributionConfig;
  const loaded: CloudFrontFunction[] = [];
  let current: CloudFrontFunction;
  let currentAgain: CloudFrontFunction;
  let proposed: CloudFrontFunction;
  const data = new MapSnapshot({ '/go/a': '/a', '/go/b': '/b' }, { id: STORE_ID, version: 7 });
  const base = { snapshot: () => data };

  const load = async (code: string): Promise<CloudFrontFunction> => {
    const fn = await loadFunction(code, { name: 'fn' });
    loaded.push(fn);
    return fn;
  };
  const side =
    (fn: CloudFrontFunction, source: KvsSnapshotSource = base): ReplaySide =>
    (name) =>
      name === 'fn' ? ({ fn, kvs: { defaultStoreId: STORE_ID, stores: new Map([[STORE_ID, source]]) } } satisfies ReplayFunction) : undefined;

  before(async () => {
    writeFileSync(join(dir, 'fn.js'), 'function handler(event) { return event.request; }');
    distribution = parseConfig(
      {
        functions: [{ name: 'fn', code: 'fn.js' }],
        distributions: [
          {
            id: 'D1',
            hostnames: ['*'],
            origins: [
              { id: 'a', url: 'http://127.0.0.1:1' },
              { id: 'b', url: 'http://127.0.0.1:2' },
            ],
            defaultBehavior: { origin: 'a', cachePolicy: 'CachingOptimized', functionAssociations: { 'viewer-request': 'fn' } },
          },
        ],
      },
      dir,
    ).distributions[0]!;
    current = await load(CURRENT);
    currentAgain = await load(CURRENT);
    proposed = await load(PROPOSED);
  });

  after(() => {
    for (const fn of loaded) fn.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (requests: RecordedRequest[], b: ReplaySide, a: ReplaySide, extra: { deadline?: number; maxExamples?: number } = {}) =>
    replayRecording({ distribution, requests, before: b, after: a, maxExamples: extra.maxExamples ?? 10, deadline: extra.deadline ?? Date.now() + 60_000 });

  it('finds no change between two copies of the same code, although it draws random numbers', async () => {
    const requests = Array.from({ length: 40 }, (_, i) => recorded(`/page/${i}`));
    const report = await run(requests, side(current), side(currentAgain));
    assert.equal(report.replayed, 40);
    assert.equal(report.changed, 0);
    assert.equal(report.unstable, 0);
    assert.equal(report.complete, true);
  });

  it('reports store changes through the overlay, never writing them', async () => {
    const overlay = new OverlaySnapshotSource(base, { puts: [{ key: '/go/c', value: '/c' }], deletes: ['/go/b'] });
    const report = await run([recorded('/go/a'), recorded('/go/b'), recorded('/go/c'), recorded('/go/d')], side(current), side(current, overlay));
    assert.equal(report.changed, 2);
    assert.deepEqual(
      report.examples.map((e) => [e.request.uri, e.before.status, e.after.status, e.after.location]),
      [
        ['/go/b', 301, 404, undefined],
        ['/go/c', 404, 301, '/c'],
      ],
    );
    assert.equal(data.has('/go/b'), true);
    assert.equal(data.has('/go/c'), false);
  });

  it('reports uri, cache key, origin and header changes of new code', async () => {
    const report = await run([recorded('/app/x', 'q=1'), recorded('/other')], side(current), side(proposed));
    assert.equal(report.changed, 1);
    const [example] = report.examples;
    assert.deepEqual(example!.kinds, ['uri', 'origin', 'cacheKey', 'headers']);
    assert.equal(example!.before.uri, '/app/x?q=1');
    assert.equal(example!.after.uri, '/v2/x?q=1');
    assert.equal(example!.before.origin, 'a http://127.0.0.1:1');
    assert.equal(example!.after.origin, 'b http://127.0.0.1:2');
    assert.equal(example!.after.requestHeaders!['x-version'], '2');
  });

  it('stops at its deadline and says so', async () => {
    const report = await run([recorded('/a'), recorded('/b')], side(current), side(proposed), { deadline: Date.now() - 1 });
    assert.equal(report.replayed, 0);
    assert.equal(report.complete, false);
  });

  it('bounds a runaway proposed function by its normal limits: an execution error', async () => {
    const runaway = await load('function handler(event) { while (true) {} }');
    const started = Date.now();
    const report = await run([recorded('/a'), recorded('/b')], side(current), side(runaway));
    assert.equal(report.changed, 2);
    assert.deepEqual(report.examples[0]!.kinds, ['status', 'uri', 'origin', 'cacheKey', 'headers', 'error']);
    assert.match(report.examples[0]!.after.error!, /^FunctionExecutionError: The function exceeded its CPU time budget/);
    assert.equal(report.examples[0]!.after.status, 503);
    assert.ok(Date.now() - started < 10_000, 'each run is killed at its limit');
  });

  it('calls a request whose decision is not the same twice unstable, not changed', async () => {
    let calls = 0;
    const flaky: ReplaySide = (name) => (calls++ % 2 === 0 ? side(current)(name) : side(proposed)(name));
    const report = await run([recorded('/app/x')], flaky, side(proposed));
    assert.equal(report.unstable, 1);
    assert.equal(report.changed, 0);
  });

  it('keeps at most maxExamples examples and counts the rest', async () => {
    const requests = Array.from({ length: 12 }, (_, i) => recorded(`/app/${i}`));
    const report = await run(requests, side(current), side(proposed), { maxExamples: 3 });
    assert.equal(report.changed, 12);
    assert.equal(report.examples.length, 3);
  });
});

describe('store overlay', () => {
  it('reads puts and deletes over the base, counts keys, and leaves the base alone', () => {
    const baseSnapshot = new MapSnapshot({ a: '1', b: '2' }, { id: STORE_ID, version: 3 });
    const overlay = new OverlaySnapshotSource(
      { snapshot: () => baseSnapshot },
      {
        puts: [
          { key: 'c', value: '3' },
          { key: 'a', value: 'x' },
        ],
        deletes: ['b'],
      },
    );
    const view = overlay.snapshot();
    assert.equal(view.get('a'), 'x');
    assert.equal(view.has('b'), false);
    assert.equal(view.get('b'), undefined);
    assert.equal(view.get('c'), '3');
    assert.equal(view.meta().keyCount, 2);
    assert.equal(view.version, 3);
    assert.equal(baseSnapshot.get('a'), '1');
    assert.equal(overlay.snapshot(), view, 'one view per base snapshot');
  });
});

describe('dry-run request bounds', () => {
  const parse = (body: Record<string, unknown>) => parseDryRunRequest({ distributionId: 'D1', ...body }, DEFAULT_KVS_LIMITS);
  const changeSet = { stores: { s: { deletes: ['k'] } } };

  it('fills defaults and accepts a change set and code', () => {
    const request = parse({ changeSet, function: { name: 'fn', code: 'x' } });
    assert.equal(request.maxRequests, 1000);
    assert.equal(request.timeoutMs, 30_000);
    assert.equal(request.maxExamples, 10);
    assert.deepEqual(request.changeSet, { stores: { s: { puts: [], deletes: ['k'] } } });
  });

  it('refuses what is out of bounds, naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ changeSet, maxRequests: 10_001 }, /maxRequests/],
      [{ changeSet, timeoutMs: 120_001 }, /timeoutMs/],
      [{ changeSet, maxExamples: 101 }, /maxExamples/],
      [{ changeSet, maxChangedRatio: 1.5 }, /maxChangedRatio/],
      [{ function: { name: 'fn', code: 'x'.repeat(1024 * 1024 + 1) } }, /function\.code/],
      [{ function: { name: 'fn', code: 'x', runtime: 'nodejs' } }, /function\.runtime/],
      [{ changeSet: { stores: { s: { puts: [{ key: 'k', value: 'v'.repeat(1025) }] } } } }, /1024/],
      [
        { changeSet: { stores: { s: { puts: Array.from({ length: 6000 }, (_, i) => ({ key: `k${i}`.padEnd(500, 'k'), value: 'v'.repeat(1000) })) } } } },
        /larger than/,
      ],
      [{ distributionId: '../x', changeSet }, /distributionId/],
      [{}, /something to try/],
      [{ changeSet, extra: 1 }, /extra|Unrecognized/],
    ];
    for (const [body, message] of cases) assert.throws(() => parse(body), { code: /INPUT_INVALID|KVS_VALIDATION/, message }, JSON.stringify(body).slice(0, 80));
  });
});

describe('dry-run service', () => {
  it('runs one dry run at a time per node', async () => {
    const recordings = new RecordingSet();
    const distribution = parseConfig(
      { distributions: [{ id: 'D1', hostnames: ['*'], origins: [{ id: 'a', url: 'http://127.0.0.1:1' }], defaultBehavior: { origin: 'a' } }] },
      tmpdir(),
    ).distributions[0]!;
    recordings.configure([{ id: 'D1', recording: DEFAULT_RECORDING }]);
    recordings.get('D1')!.offer('GET', '/', ['Host', 'x'], '127.0.0.1');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const state = {
      functions: { live: async () => undefined },
      stores: {
        getStore: async () => {
          await gate;
          return { id: STORE_ID };
        },
      },
    } as unknown as NodeState;
    const service = dryRunService({ recordings, distributions: () => [distribution], state, storeSource: () => ({ snapshot: () => new MapSnapshot({}) }) });
    const request = parseDryRunRequest({ distributionId: 'D1', changeSet: { stores: { s: { deletes: ['k'] } } } }, DEFAULT_KVS_LIMITS);
    const first = service.dryRun(request, { accessKeyId: 'test' });
    await assert.rejects(service.dryRun(request, { accessKeyId: 'test' }), { code: 'DRY_RUN_IN_PROGRESS' });
    release();
    const answer = (await first) as { replayed: number; pass: boolean };
    assert.equal(answer.replayed, 1);
    assert.equal(answer.pass, true);
    await service.dryRun(request, { accessKeyId: 'test' });
  });
});
