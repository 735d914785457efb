/** The engine's contract beyond the conformance fixtures: snapshots, traces, clock, helpers, limits, the front door. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFunction, MapSnapshot, type KvsSnapshot, type KvsSnapshotSource } from '../../src/index.js';
import { testEvent } from '../helpers/events.js';
import { errorOf, errorText, requestOf, responseOf } from '../helpers/results.js';

const event = testEvent;

/** A store whose every snapshot is a new version: reads must stay on the first snapshot of an invocation. */
function movingStore(): KvsSnapshotSource & { taken: number } {
  const source = {
    taken: 0,
    snapshot(): KvsSnapshot {
      source.taken += 1;
      const version = source.taken;
      return new MapSnapshot({ a: `a@${version}`, b: `b@${version}` }, { id: 'moving', version });
    },
  };
  return source;
}

test('every read of one invocation sees the same snapshot, and each read is recorded with its version', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
async function handler(event) {
  const kvs = cf.kvs();
  const a = await kvs.get('a');
  const b = await kvs.get('b');
  const missing = await kvs.exists('zzz');
  event.request.headers['x-values'] = { value: a + ',' + b + ',' + missing };
  return event.request;
}`);
  const store = movingStore();
  const binding = { defaultStoreId: 'moving', stores: new Map([['moving', store]]) };
  const first = await fn.run(event(), { kvs: binding });
  assert.equal(requestOf(first).headers['x-values']?.value, 'a@1,b@1,false');
  assert.deepEqual(
    first.kvsReads.map((r) => `${r.op}:${r.key}:${r.version}:${r.hit}`),
    ['get:a:1:true', 'get:b:1:true', 'exists:zzz:1:false'],
  );
  const second = await fn.run(event(), { kvs: binding });
  assert.equal(requestOf(second).headers['x-values']?.value, 'a@2,b@2,false', 'the next invocation sees the next version');
  fn.dispose();
});

test('meta() reports the snapshot; get() formats json and bytes', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
async function handler(event) {
  const kvs = cf.kvs();
  const meta = await kvs.meta();
  const json = await kvs.get('cfg', { format: 'json' });
  const bytes = await kvs.get('cfg', { format: 'bytes' });
  event.request.headers['x-out'] = { value: [meta.keyCount, meta.creationDateTime, json.n, bytes.length, Buffer.isBuffer(bytes)].join('|') };
  return event.request;
}`);
  const snapshot = new MapSnapshot({ cfg: '{"n":42}' }, { created: new Date('2024-01-02T03:04:05.000Z') });
  const result = await fn.run(event(), { kvs: snapshot });
  assert.equal(requestOf(result).headers['x-out']?.value, '1|2024-01-02T03:04:05.000Z|42|8|true');
  fn.dispose();
});

test('cf.kvs() without an associated store rejects with a message saying so', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
async function handler(event) { await cf.kvs().get('k'); return event.request; }`);
  const result = await fn.run(event());
  assert.equal(result.kind, 'error');
  assert.match(errorOf(result).message, /No KeyValueStore is associated/);
  fn.dispose();
});

test('edgeLocation is set for viewer-request and null for viewer-response; logCustomData keeps the last 800 bytes', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
function handler(event) {
  const where = cf.edgeLocation === null ? 'none' : cf.edgeLocation.name + '/' + cf.edgeLocation.region;
  cf.logCustomData('first');
  cf.logCustomData('x'.repeat(1000));
  if (event.context.eventType === 'viewer-response') {
    event.response.headers['x-where'] = { value: where };
    return event.response;
  }
  event.request.headers['x-where'] = { value: where };
  return event.request;
}`);
  const edgeLocation = { name: 'FRA', serverIp: '127.0.0.1', region: 'eu-central-1' };
  const request = await fn.run(event(), { edgeLocation });
  assert.equal(requestOf(request).headers['x-where']?.value, 'FRA/eu-central-1');
  assert.equal(request.customLogData, 'x'.repeat(800));
  const response = await fn.run(event('/', 'viewer-response'), { edgeLocation });
  assert.equal(responseOf(response).headers?.['x-where']?.value, 'none');
  fn.dispose();
});

test('Date is frozen to the invocation clock and Math.random differs between invocations', async () => {
  const fn = await loadFunction(`function handler(event) {
  return { statusCode: 200, headers: { 'x-now': { value: String(Date.now()) + '|' + new Date().toISOString() }, 'x-rand': { value: String(Math.random()) } } };
}`);
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);
  const a = await fn.run(event(), { now });
  const b = await fn.run(event(), { now });
  assert.equal(responseOf(a).headers?.['x-now']?.value, `${now}|2025-01-01T12:00:00.000Z`);
  assert.notEqual(responseOf(a).headers?.['x-rand']?.value, responseOf(b).headers?.['x-rand']?.value);
  fn.dispose();
});

test('ComputeUtilization is elapsed / budget, capped at 100; the budget is configurable', async () => {
  const code = `function handler(event) { var x = 0; for (var i = 0; i < 200000; i++) x += i; event.request.headers['x'] = { value: String(x) }; return event.request; }`;
  // A generous kill limit: on a loaded CI machine the loop must not be mistaken for runaway code.
  const tight = await loadFunction(code, { limits: { cpuBudgetMicros: 1, killAfterMicros: 2_000_000 } });
  const loose = await loadFunction(code, { limits: { cpuBudgetMicros: 10_000_000 } });
  const t = await tight.run(event());
  const l = await loose.run(event());
  assert.equal(t.computeUtilization, 100);
  assert.ok(l.computeUtilization <= 1, String(l.computeUtilization));
  assert.equal(t.computeUtilization, Math.min(100, Math.round((t.elapsedMicros / 1) * 100)));
  tight.dispose();
  loose.dispose();
});

test('code CloudFront would refuse is rejected at load with line:col and the error class', async () => {
  await assert.rejects(
    loadFunction('function handler(event) {\n  let x = 1;\n  return event.request;\n}', { runtime: 'cloudfront-js-1.0', name: 'v1.js' }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'FUNCTION_SYNTAX_UNSUPPORTED');
      assert.match(err.message, /v1\.js:2:3 /);
      return true;
    },
  );
  await assert.rejects(loadFunction(`function handler(e) { return e.request; }\n// ${'x'.repeat(10 * 1024)}`), { code: 'FUNCTION_SIZE_LIMIT_EXCEEDED' });
  await assert.rejects(loadFunction('function notTheHandler() {}'), { code: 'FUNCTION_NO_HANDLER' });
  await assert.rejects(loadFunction('function handler(e) { return e.request; }', { runtime: 'cloudfront-js-9.0' as never }), {
    code: 'FUNCTION_RUNTIME_UNKNOWN',
  });
});

test('a runtime 1.0 handler that returns a Promise is an execution error', async () => {
  const fn = await loadFunction('function handler(event) { return Promise.resolve(event.request); }', { runtime: 'cloudfront-js-1.0' });
  const result = await fn.run(event());
  assert.equal(errorOf(result).errorClass, 'execution');
  assert.match(errorOf(result).message, /cloudfront-js-2\.0/);
  fn.dispose();
});

test('top-level code runs once at load: state survives between invocations of the same function', async () => {
  const fn = await loadFunction(`var loads = 0; loads++; var calls = 0;
function handler(event) { calls++; event.request.headers['x'] = { value: loads + '/' + calls }; return event.request; }`);
  assert.equal(requestOf(await fn.run(event())).headers.x?.value, '1/1');
  assert.equal(requestOf(await fn.run(event())).headers.x?.value, '1/2');
  fn.dispose();
});

test('the package front door exports the runner (import from "openfront")', async () => {
  const pkg = (await import('openfront')) as typeof import('../../src/index.js');
  assert.equal(typeof pkg.loadFunction, 'function');
  assert.equal(typeof pkg.MapSnapshot, 'function');
  const fn = await pkg.loadFunction('function handler(event) { return { statusCode: 204 }; }');
  assert.equal(responseOf(await fn.run(event())).statusCode, 204);
  fn.dispose();
});

test('values kept in the isolate between invocations never outlive their snapshot, and the cache stays bounded', async () => {
  const fn = await loadFunction(
    `import cf from 'cloudfront';
async function handler(event) {
  const kvs = cf.kvs();
  if (event.request.uri === '/many') {
    for (let i = 0; i < 5000; i++) await kvs.exists('k' + i);
  }
  event.request.headers['x-v'] = { value: await kvs.get('k0') };
  return event.request;
}`,
    { limits: { killAfterMicros: 2_000_000 } },
  );
  let snapshot = new MapSnapshot({ k0: 'one' }, { id: 's', version: 1 });
  const source = { snapshot: () => snapshot };
  const binding = { defaultStoreId: 's', stores: new Map([['s', source]]) };
  assert.equal(requestOf(await fn.run(event('/'), { kvs: binding })).headers['x-v']?.value, 'one');
  snapshot = new MapSnapshot({ k0: 'two' }, { id: 's', version: 2 });
  assert.equal(requestOf(await fn.run(event('/'), { kvs: binding })).headers['x-v']?.value, 'two', 'a new snapshot is read afresh');
  const many = await fn.run(event('/many'), { kvs: binding, now: 0 });
  assert.equal(many.kind, 'request', errorText(many));
  assert.equal(many.kvsReads.length, 5001, 'every read is traced, cached or not');
  assert.equal(requestOf(await fn.run(event('/'), { kvs: binding })).headers['x-v']?.value, 'two');
  fn.dispose();
});

test('rawQueryString() returns exactly what the caller passed: none, empty, or text with any characters', async () => {
  const fn = await loadFunction(`function handler(event) {
  var raw = event.request.rawQueryString();
  return { statusCode: 200, headers: { 'x-raw': { value: raw === undefined ? '<none>' : encodeURIComponent(raw) } } };
}`);
  const seen = async (rawQueryString: string | undefined) => responseOf(await fn.run(event(), { rawQueryString })).headers?.['x-raw']?.value;
  assert.equal(await seen(undefined), '<none>');
  assert.equal(await seen(''), '');
  assert.equal(await seen('a=1&b=%20'), encodeURIComponent('a=1&b=%20'));
  assert.equal(await seen('odd\u0004\u0001chars'), encodeURIComponent('odd\u0004\u0001chars'));
  fn.dispose();
});

test('recordKvsReads: false leaves kvsReads empty and changes nothing else', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
async function handler(event) {
  event.request.headers['x-v'] = { value: await cf.kvs().get('a') };
  return event.request;
}`);
  try {
    const kvs = new MapSnapshot({ a: 'A' }, { id: 'plain', version: 3 });
    const recorded = fn.runSync(event('/'), { kvs });
    const silent = fn.runSync(event('/'), { kvs, recordKvsReads: false });
    assert.deepEqual(recorded.kvsReads, [{ storeId: 'plain', op: 'get', key: 'a', version: 3, hit: true }]);
    assert.deepEqual(silent.kvsReads, []);
    assert.equal(requestOf(silent).headers['x-v']?.value, 'A');
  } finally {
    fn.dispose();
  }
});

test('KVS reads keep their exact keys through the compact envelope (separators, digits, non-ASCII, other stores)', async () => {
  const fn = await loadFunction(`import cf from 'cloudfront';
async function handler(event) {
  const own = cf.kvs();
  const other = cf.kvs('second');
  const a = await own.get('12:3-x:');
  const b = await own.exists('-');
  const c = await own.exists('家/\u00e9');
  const d = await other.get('k');
  event.request.headers['x-v'] = { value: [a, b, c, d].join('|') };
  return event.request;
}`);
  try {
    const own = new MapSnapshot({ '12:3-x:': 'A', '家/\u00e9': 'B' }, { id: 'own', version: 4 });
    const second = new MapSnapshot({ k: 'K' }, { id: 'second', version: 9 });
    const kvs = {
      defaultStoreId: 'own',
      stores: new Map([
        ['own', { snapshot: () => own }],
        ['second', { snapshot: () => second }],
      ]),
    };
    const result = fn.runSync(event('/'), { kvs });
    assert.equal(requestOf(result).headers['x-v']?.value, 'A|false|true|K');
    assert.deepEqual(result.kvsReads, [
      { storeId: 'own', op: 'get', key: '12:3-x:', version: 4, hit: true },
      { storeId: 'own', op: 'exists', key: '-', version: 4, hit: false },
      { storeId: 'own', op: 'exists', key: '家/\u00e9', version: 4, hit: true },
      { storeId: 'second', op: 'get', key: 'k', version: 9, hit: true },
    ]);
  } finally {
    fn.dispose();
  }
});
