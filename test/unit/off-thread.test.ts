/**
 * The edge's way of running a function (runOffThread): on the isolate's own thread, invocations that arrive while
 * it is busy going in as one batch. Every invocation must still behave exactly as if it ran alone (runSync).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFunction, MapSnapshot, type FunctionResult } from '../../src/index.js';
import { prepareSource } from '../../src/runtime/checker.js';
import { resolveRuntimeLimits } from '../../src/runtime/limits.js';
import { encodeEvent } from '../../src/runtime/sandbox/event-wire.js';
import { FunctionIsolate, type DispatchInput, type OffThreadOutcome } from '../../src/runtime/sandbox/function-isolate.js';
import { testEvent } from '../helpers/events.js';
import { errorOf, errorText, requestOf } from '../helpers/results.js';

const event = testEvent;

const DECIDE = `import cf from 'cloudfront';
async function handler(event) {
  const kvs = cf.kvs();
  const uri = event.request.uri;
  console.log('start ' + uri + ' at ' + Date.now());
  if (uri === '/hang') return new Promise(function () {});
  if (uri === '/throw') throw new Error('thrown for ' + uri);
  if (await kvs.exists('redirect:' + uri)) {
    return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get('redirect:' + uri) } } };
  }
  event.request.headers['x-seen'] = { value: uri };
  console.log('end ' + uri);
  return event.request;
}`;

function store(): MapSnapshot {
  const entries: Record<string, string> = {};
  for (let i = 0; i < 200; i++) if (i % 3 === 0) entries[`redirect:/p${i}`] = `https://example.com/new/${i}`;
  return new MapSnapshot(entries, { id: 'table', version: 7 });
}

/** What a result says, without the timing fields (which differ between runs) and the batch it ran in. */
function essence(result: FunctionResult): unknown {
  const { elapsedMicros, computeUtilization, batchSize, ...rest } = result;
  assert.ok(elapsedMicros >= 0 && computeUtilization >= 0);
  assert.ok(batchSize === undefined || batchSize >= 1);
  return rest;
}

test('many concurrent off-thread invocations give exactly what each gives alone', async () => {
  const fn = await loadFunction(DECIDE, { name: 'decide' });
  const kvs = store();
  try {
    const uris = Array.from({ length: 120 }, (_, i) => (i % 40 === 7 ? '/throw' : `/p${i}`));
    const now = 1_700_000_000_000;
    const offThread = await Promise.all(uris.map((uri) => fn.runOffThread(event(uri), { kvs, now })));
    for (let i = 0; i < uris.length; i++) {
      const alone = fn.runSync(event(uris[i] as string), { kvs, now });
      assert.deepEqual(essence(offThread[i] as FunctionResult), essence(alone), `invocation ${i} (${uris[i]})`);
    }
    // Each invocation's logs and KVS reads are its own, never a neighbour's.
    const second = offThread[1] as FunctionResult;
    assert.deepEqual(second.logs, [`start /p1 at ${now}`, 'end /p1']);
    assert.deepEqual(second.kvsReads, [{ storeId: 'table', op: 'exists', key: 'redirect:/p1', version: 7, hit: false }]);
  } finally {
    fn.dispose();
  }
});

test('a promise that never settles fails alone; the invocations queued behind it still run', async () => {
  const fn = await loadFunction(DECIDE, { name: 'decide' });
  try {
    const results = await Promise.all(['/a', '/b', '/hang', '/c', '/d'].map((uri) => fn.runOffThread(event(uri), { kvs: store() })));
    assert.equal(results[2]?.kind, 'error');
    assert.match(errorOf(results[2]).message, /never settled/);
    for (const i of [0, 1, 3, 4]) assert.equal(results[i]?.kind, 'request', errorText(results[i]));
    assert.equal(requestOf(results[4]).headers['x-seen']?.value, '/d');
  } finally {
    fn.dispose();
  }
});

test('the event loop keeps running while a function computes off-thread', async () => {
  const fn = await loadFunction(
    `function handler(event) {
  var until = Date.now();
  var x = 0;
  for (var i = 0; i < 3e7; i++) x += i % 7;
  event.request.headers['x-sum'] = { value: String(x) };
  return event.request;
}`,
    { name: 'busy', limits: { killAfterMicros: 5_000_000 } },
  );
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = Date.now();
    const result = await fn.runOffThread(event('/'));
    const took = Date.now() - started;
    clearInterval(timer);
    assert.equal(result.kind, 'request', errorText(result));
    // While the loop ran (tens of ms), a 1 ms interval kept firing on this thread: it was never blocked.
    assert.ok(took >= 5, `the busy loop took only ${took} ms; nothing to observe`);
    assert.ok(ticks >= 2, `only ${ticks} timer ticks during ${took} ms of function time`);
    assert.ok(result.elapsedMicros > 1000, `elapsed ${result.elapsedMicros} µs`);
  } finally {
    fn.dispose();
  }
});

test('disposing a function settles its queued invocations with an error instead of leaving them hanging', async () => {
  const fn = await loadFunction(DECIDE, { name: 'decide' });
  const pending = ['/a', '/b', '/c'].map((uri) => fn.runOffThread(event(uri), { kvs: store() }));
  fn.dispose();
  const results = await Promise.all(pending);
  for (const result of results) {
    assert.ok(result.kind === 'error' ? /unloaded/.test(result.error.message) : result.kind === 'request', errorText(result));
  }
  assert.ok(
    results.some((r) => r.kind === 'error'),
    'at least the queued invocations report the unload',
  );
});

function isolateFor(code: string, killAfterMicros = 1_000_000): FunctionIsolate {
  const prepared = prepareSource(code, 'cloudfront-js-2.0');
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
  const isolate = new FunctionIsolate(prepared.script, 'cloudfront-js-2.0', resolveRuntimeLimits({ killAfterMicros }));
  isolate.load();
  return isolate;
}

function input(uri: string, read: DispatchInput['kvs'] = () => undefined): DispatchInput {
  return { eventWire: encodeEvent(event(uri)), rawQueryString: null, now: 0, seed: 1, edgeLocationJson: null, kvsToken: 0, kvs: read, recordKvsReads: true };
}

/**
 * invokeAdaptive with a KVS that answers `v<key>` and counts the reads made while invokeAdaptive itself runs: those
 * ran inline, on this thread (off-thread reads arrive later, from the isolate's thread).
 */
function inlineProbe(isolate: FunctionIsolate): { call(uri: string): Promise<OffThreadOutcome>; readonly inlineReads: number } {
  let inlineReads = 0;
  let inCall = false;
  const read = (_op: string, _store: string | null, key: string) => {
    if (inCall) inlineReads++;
    return `v${key}`;
  };
  return {
    call(uri: string) {
      inCall = true;
      try {
        return isolate.invokeAdaptive(input(uri, read));
      } finally {
        inCall = false;
      }
    },
    get inlineReads() {
      return inlineReads;
    },
  };
}

test('invocations go in as batches: those of one event-loop turn together, and those that arrive while one runs', async () => {
  const isolate = isolateFor(
    `function handler(event) {
  var x = 0;
  if (event.request.uri === '/slow') for (var i = 0; i < 3e7; i++) x += i % 7;
  event.request.headers['x-sum'] = { value: String(x) };
  return event.request;
}`,
    // Batches are sized so that their expected run time stays under a quarter of the limit, and /slow's CPU time
    // (0.1 s idle, several times that on a loaded machine) counts in that expectation: a limit far above it keeps
    // the size bound out of what this test looks at.
    60_000_000,
  );
  try {
    const sameTurn = await Promise.all(['/a', '/b', '/c'].map((uri) => isolate.invokeOffThread(input(uri))));
    assert.deepEqual(
      sameTurn.map((r) => r.batchSize),
      [3, 3, 3],
    );
    const slow = isolate.invokeOffThread(input('/slow'));
    await new Promise((resolve) => setImmediate(resolve));
    // '/slow' is running now (tens of ms): these queue behind it and go in together when it returns.
    const queued = Array.from({ length: 10 }, (_, i) => isolate.invokeOffThread(input(`/q${i}`)));
    const slowResult = await slow;
    assert.equal(slowResult.outcome.kind, 'result');
    assert.equal(slowResult.batchSize, 1);
    assert.deepEqual(
      (await Promise.all(queued)).map((r) => r.batchSize),
      Array(10).fill(10),
    );
  } finally {
    isolate.dispose();
  }
});

test('a killed batch is run again one by one: only the invocation over the limit fails', async () => {
  const isolate = isolateFor(`function handler(event) { if (event.request.uri === '/spin') { while (true) {} } return event.request; }`, 30_000);
  try {
    const first = isolate.invokeOffThread(input('/warm'));
    const batch = ['/a', '/spin', '/b'].map((uri) => isolate.invokeOffThread(input(uri)));
    assert.equal((await first).outcome.kind, 'result');
    const [a, spin, b] = await Promise.all(batch);
    assert.equal(spin?.outcome.kind, 'killed');
    assert.equal(a?.outcome.kind, 'result');
    assert.equal(b?.outcome.kind, 'result');
    assert.equal(a?.batchSize, 1, 'retried alone');
  } finally {
    isolate.dispose();
  }
});

test('KVS reads that miss the isolate cache reach the host from the isolate thread, each with its own invocation', async () => {
  const isolate = isolateFor(`import cf from 'cloudfront';
async function handler(event) {
  var value = await cf.kvs().get('k' + event.request.uri);
  return { statusCode: 200, body: value };
}`);
  try {
    const reads: string[] = [];
    const reader = (uri: string) => (op: string, _store: string | null, key: string) => {
      reads.push(`${uri} ${op} ${key}`);
      return `value for ${uri}`;
    };
    const results = await Promise.all(['/x', '/y', '/z'].map((uri) => isolate.invokeOffThread(input(uri, reader(uri)))));
    assert.deepEqual(
      results.map((r) => r.outcome.kind === 'result' && (r.outcome.value as { body: string }).body),
      ['value for /x', 'value for /y', 'value for /z'],
    );
    assert.deepEqual(reads, ['/x get k/x', '/y get k/y', '/z get k/z']);
  } finally {
    isolate.dispose();
  }
});

test('invokeAdaptive keeps a function that mostly hits its value cache off-thread, and runs one that keeps missing inline', async () => {
  const isolate = isolateFor(`import cf from 'cloudfront';
async function handler(event) {
  return { statusCode: 200, body: await cf.kvs().get(event.request.uri) };
}`);
  try {
    const adaptive = inlineProbe(isolate);
    // The same key over and over: served from the isolate's cache, so off-thread (the read never happens inside
    // the call that dispatches).
    for (let i = 0; i < 50; i++) await adaptive.call('/same');
    assert.equal(adaptive.inlineReads, 0);
    // A new key every time: each invocation calls the host, so the function moves to the calling thread, where
    // the read happens inside the dispatching call.
    for (let i = 0; i < 100; i++) await adaptive.call(`/new${i}`);
    assert.ok(adaptive.inlineReads > 50, `only ${adaptive.inlineReads} of 100 missing reads ran inline`);
    const last = await adaptive.call('/last');
    assert.equal(last.outcome.kind === 'result' && (last.outcome.value as { body: string }).body, 'v/last');
  } finally {
    isolate.dispose();
  }
});

test('an invocation that settles only during a later call does not restart the batch it came from', async () => {
  const isolate = isolateFor(`var release = null;
var runs = 0;
async function handler(event) {
  runs++;
  var uri = event.request.uri;
  if (uri === '/wait') { await new Promise(function (resolve) { release = resolve; }); }
  if (uri === '/release' && release) { release(); release = null; }
  return { statusCode: 200, body: uri + ' run ' + runs };
}`);
  try {
    const first = await Promise.all(['/wait', '/a', '/b'].map((uri) => isolate.invokeOffThread(input(uri))));
    assert.match(first[0]?.outcome.kind === 'error' ? first[0].outcome.message : '', /never settled/);
    const bodies = (results: typeof first) => results.map((r) => (r.outcome.kind === 'result' ? (r.outcome.value as { body: string }).body : r.outcome.kind));
    // '/a' and '/b' did not start in the first call: they ran (once each) in the next one.
    assert.deepEqual(bodies(first).slice(1), ['/a run 2', '/b run 3']);
    // '/release' settles the old '/wait' promise: its batch must not resume '/a' and '/b' a second time.
    const later = await Promise.all(['/release', '/c'].map((uri) => isolate.invokeOffThread(input(uri))));
    assert.deepEqual(bodies(later), ['/release run 4', '/c run 5']);
    // Had the old batch resumed, '/a' and '/b' would have run again meanwhile (runs 6 and 7).
    assert.deepEqual(bodies([await isolate.invokeOffThread(input('/d'))]), ['/d run 6']);
  } finally {
    isolate.dispose();
  }
});

test('invokeAdaptive never runs inline a function that was killed lately, or one over its CPU budget', async () => {
  // Every invocation reads a new key (a host callback each), which alone would make it run inline.
  const isolate = isolateFor(
    `import cf from 'cloudfront';
async function handler(event) {
  var uri = event.request.uri;
  var value = await cf.kvs().get(uri);
  if (uri.indexOf('/spin') === 0) { while (true) {} }
  return { statusCode: 200, body: value };
}`,
    30_000,
  );
  try {
    const adaptive = inlineProbe(isolate);
    for (let i = 0; i < 100; i++) await adaptive.call(`/warm${i}`);
    assert.ok(adaptive.inlineReads > 40, `a cheap function that keeps missing runs inline (${adaptive.inlineReads} of 100 reads inline)`);
    assert.equal((await adaptive.call('/spin')).outcome.kind, 'killed');
    const beforeKill = adaptive.inlineReads;
    for (let i = 0; i < 40; i++) await adaptive.call(`/after-kill${i}`);
    assert.equal(adaptive.inlineReads, beforeKill, 'after a kill, off-thread only');
  } finally {
    isolate.dispose();
  }
  const heavy = isolateFor(`import cf from 'cloudfront';
async function handler(event) {
  var value = await cf.kvs().get(event.request.uri);
  var x = 0;
  for (var i = 0; i < 2e7; i++) x += i % 7;
  return { statusCode: 200, body: value + x };
}`);
  try {
    const adaptive = inlineProbe(heavy);
    for (let i = 0; i < 10; i++) await adaptive.call(`/h${i}`);
    // At most the one inline run that showed it is expensive there.
    assert.ok(adaptive.inlineReads <= 1, `a function over its CPU budget stays off-thread (${adaptive.inlineReads} inline reads)`);
  } finally {
    heavy.dispose();
  }
});

test('a retired isolate is freed once the invocations that hold it return, and one that still comes runs on a fresh one', async () => {
  // (The function's clock stands still while it runs, as on CloudFront: the slow path counts instead.)
  const isolate = isolateFor(`function handler(event) {
  var n = 0;
  if (event.request.uri === '/slow') for (var i = 0; i < 2000000; i++) n += i;
  return event.request;
}`);
  try {
    const heap = () => isolate.heapUsedBytes();
    assert.ok((await heap()) > 0, 'loaded');
    // Retired while an invocation is on its way: that one finishes on the same isolate, which is freed right after.
    const inFlight = isolate.invokeOffThread(input('/slow'));
    isolate.retire();
    assert.ok((await heap()) > 0, 'still held by the invocation in flight');
    assert.equal((await inFlight).outcome.kind, 'result');
    assert.equal(await heap(), 0, 'freed when it went idle');
    // A late caller still gets an answer (no "unloaded" error), and that isolate does not outlive the call either.
    assert.equal((await isolate.invokeOffThread(input('/late'))).outcome.kind, 'result');
    assert.equal(await heap(), 0);
    assert.equal(isolate.invoke(input('/late')).kind, 'result');
    assert.equal(await heap(), 0);
  } finally {
    isolate.dispose();
  }
});

test('retiring an idle isolate frees it at once', async () => {
  const isolate = isolateFor('function handler(event) { return event.request; }');
  try {
    assert.equal((await isolate.invokeOffThread(input('/a'))).outcome.kind, 'result');
    assert.ok((await isolate.heapUsedBytes()) > 0);
    isolate.retire();
    assert.equal(await isolate.heapUsedBytes(), 0);
  } finally {
    isolate.dispose();
  }
});
