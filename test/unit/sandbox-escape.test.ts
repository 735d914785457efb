/**
 * More sandbox escape and abuse attempts (issue 12; sandbox-abuse.test.ts holds the first 32). Same rules: each
 * function misbehaves on /abuse only; the abusive invocation must fail safely or be contained, and the same
 * function's next invocation — which goes through the bootstrap's own machinery again — must work. Several attempts
 * tamper with built-ins that the machinery inside the isolate could rely on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isOpenFrontError } from '../../src/errors.js';
import { loadFunction, type FunctionResult } from '../../src/index.js';
import { testEvent } from '../helpers/events.js';

interface Attempt {
  name: string;
  body: string;
  expect: (result: FunctionResult) => void;
  prelude?: string;
  killAfterMicros?: number;
  /**
   * The attempt tampers with its own realm's built-ins, which persist for the function's later invocations as any
   * global does: the next invocation may then fail, but only with this function's own execution error. Either way
   * a bystander function in the same process must be untouched.
   */
  selfTampering?: boolean;
}

/** Every field a result may have, for assertions that read them whatever the kind. */
interface Loose {
  kind: string;
  error?: { errorClass: string; code: string; message: string };
  request?: { uri: string; headers: Record<string, { value: string } | undefined> };
}
const loose = (r: FunctionResult) => r as unknown as Loose;

const failsAs = (errorClass: 'execution' | 'validation', code?: string) => (r: FunctionResult) => {
  assert.equal(r.kind, 'error', `expected a ${errorClass} error, got ${r.kind}`);
  assert.equal(loose(r).error?.errorClass, errorClass, loose(r).error?.message);
  if (code !== undefined) assert.equal(loose(r).error?.code, code, loose(r).error?.message);
};
const anyError = (r: FunctionResult) => assert.equal(r.kind, 'error');
const header = (name: string, check: (value: string) => void) => (r: FunctionResult) => {
  assert.equal(r.kind, 'request', loose(r).error?.message);
  check(loose(r).request?.headers[name]?.value ?? '<missing>');
};
/** Contained either way: a result or an error, but nothing of the host. */
const contained = (r: FunctionResult) => {
  assert.ok(['request', 'response', 'error'].includes(r.kind));
  assert.doesNotMatch(JSON.stringify(r), /\/work\/|dist\/src|node:internal|file:\/\//);
};
const NO_HOST_TEXT = (value: string) => assert.doesNotMatch(value, /\/work\/|dist\/src|node:internal|file:\/\/|isolated-vm/);

const attempts: Attempt[] = [
  { name: 'dynamic import() of a host module', body: `await import('node:fs');`, expect: failsAs('execution') },
  {
    name: 'Atomics.wait cannot block the isolate thread',
    body: `Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1e9);`,
    expect: failsAs('execution'),
  },
  { name: 'WebAssembly cannot be compiled', body: `new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));`, expect: failsAs('execution') },
  {
    name: 'Symbol.species on an array reaches no host object',
    body: `var a = [1, 2]; a.constructor = {}; a.constructor[Symbol.species] = function () { return {}; };
      var out; try { out = typeof a.map(function (x) { return x; }); } catch (e) { out = e.name; }
      event.request.headers['x-species'] = { value: out + ':' + typeof process }; return event.request;`,
    expect: header('x-species', (v) => assert.match(v, /:undefined$/)),
  },
  {
    name: 'Error.prepareStackTrace sees no host frames or objects',
    body: `Error.prepareStackTrace = function (e, frames) { return frames.map(function (f) { return String(f.getFileName()) + '|' + typeof f.getThis() + '|' + String(f.getFunctionName()); }).join(';'); };
      var s = new Error('x').stack; Error.prepareStackTrace = undefined;
      event.request.headers['x-frames'] = { value: encodeURIComponent(String(s)) }; return event.request;`,
    expect: header('x-frames', (v) => NO_HOST_TEXT(decodeURIComponent(v))),
  },
  { name: 'stack overflow inside a result getter', body: `return { get statusCode() { function f() { return f() + 1; } return f(); } };`, expect: anyError },
  {
    name: 'Symbol.toPrimitive that spins on the status code',
    body: `return { statusCode: { [Symbol.toPrimitive]: function () { for (;;) {} } } };`,
    expect: anyError,
  },
  {
    name: 'Array.prototype methods replaced for the invocations that follow',
    body: `Array.prototype.push = function () { return 0; }; Array.prototype.map = function () { return []; }; Array.prototype.join = function () { return 'x'; };
      Array.prototype.slice = function () { return []; }; Array.prototype[Symbol.iterator] = function* () {}; return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'Object.prototype accessors for value/statusCode/uri planted for the invocations that follow',
    body: `['value', 'uri', 'statusCode', 'headers', 'request', 'kind'].forEach(function (k) {
        Object.defineProperty(Object.prototype, k, { get: function () { return '/hijacked'; }, set: function () {}, configurable: true });
      }); return { statusCode: 200 };`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'JSON replaced for the invocations that follow',
    body: `JSON.parse = function () { return { request: { uri: '/evil' } }; }; JSON.stringify = function () { return '{}'; }; return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'Promise.prototype.then replaced for the invocations that follow',
    body: `Promise.prototype.then = function () {}; Promise.resolve = function () { return new Promise(function () {}); }; return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'String.prototype methods replaced for the invocations that follow',
    body: `String.prototype.split = function () { return []; }; String.prototype.slice = function () { return ''; }; String.prototype.indexOf = function () { return -1; }; String.prototype.charCodeAt = function () { return 0; }; return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'intrinsics frozen for the invocations that follow',
    body: `Object.freeze(Object.prototype); Object.freeze(Array.prototype); Object.freeze(String.prototype); Object.freeze(Promise.prototype); return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'Array index getter that spins, planted on the prototype',
    body: `Object.defineProperty(Array.prototype, '0', { get: function () { for (;;) {} }, configurable: true }); return { statusCode: 200, headers: { 'x-a': { value: 'a', multiValue: [{ value: 'a' }] } } };`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'Date.now and Math.random replaced: other functions keep their own clock',
    body: `Date.now = function () { return 42; }; Math.random = function () { return 0.5; }; return event.request;`,
    expect: contained,
    selfTampering: true,
  },
  {
    name: 'the clock is frozen: no high-resolution timer to time side channels with',
    body: `var start = Date.now(); var t = new Date().getTime(); for (var i = 0; i < 3e6; i++) {} 
      event.request.headers['x-clock'] = { value: [Date.now() - start, new Date().getTime() - t, typeof performance].join(',') }; return event.request;`,
    expect: header('x-clock', (v) => assert.equal(v, '0,0,undefined')),
    killAfterMicros: 5_000_000,
  },
  {
    name: 'catastrophic regex backtracking (ReDoS) is killed',
    body: `/^(a+)+$/.test('a'.repeat(40) + '!');`,
    expect: failsAs('execution', 'FUNCTION_CPU_LIMIT_EXCEEDED'),
  },
  {
    name: 'String.prototype.repeat asking for a gigabyte',
    body: `var s = 'xxxxxxxx'.repeat(1 << 27); return { statusCode: 200, body: s.slice(0, 1) };`,
    expect: failsAs('execution'),
    killAfterMicros: 5_000_000,
  },
  {
    name: 'async generator flood',
    body: `async function* g() { for (;;) yield 1; } for await (var x of g()) {}`,
    expect: failsAs('execution', 'FUNCTION_CPU_LIMIT_EXCEEDED'),
  },
  {
    name: 'microtask flood that never yields',
    body: `function f() { Promise.resolve().then(f); } f(); return new Promise(function () {});`,
    expect: failsAs('execution'),
  },
  {
    name: 'caller chains do not reach the bootstrap',
    body: `var c; try { c = String(handler.caller); } catch (e) { c = e.name; }
      var d; try { d = String((function () { return arguments.callee; })()); } catch (e) { d = e.name; }
      event.request.headers['x-caller'] = { value: c + ',' + d }; return event.request;`,
    expect: header('x-caller', (v) => assert.equal(v, 'TypeError,TypeError')),
  },
  {
    name: 'five thousand headers in a result',
    body: `var h = {}; for (var i = 0; i < 5000; i++) h['x-h' + i] = { value: 'v' }; return { statusCode: 200, headers: h };`,
    expect: contained,
    killAfterMicros: 5_000_000,
  },
  {
    name: 'a result whose header value is a getter that throws',
    body: `return { statusCode: 200, headers: { 'x-a': { get value() { throw new Error('trap'); } } } };`,
    expect: anyError,
  },
  {
    name: 'globalThis swapped out',
    body: `Object.getOwnPropertyNames(globalThis).forEach(function (n) { try { delete globalThis[n]; } catch (e) {} }); return event.request;`,
    expect: contained,
    selfTampering: true,
  },
];

/**
 * Found while writing this suite, not fixed here: an object grown to ~100,000 keys inside an 8 MB isolate makes V8
 * fail a large allocation with a fatal out-of-memory that isolated-vm cannot turn into a kill, and the whole
 * process aborts (on the isolate's own thread too). Skipped so that it does not abort the test runner; the fix needs
 * isolated-vm's onCatastrophicError and a watchdog that abandons the isolate (see docs/security.md, "Known gaps").
 */
test(
  'escape: an object grown past the memory limit key by key aborts the process',
  { skip: 'known gap: aborts the whole process (isolated-vm fatal OOM)' },
  () => {},
);

test('at least 18 more abuse attempts (50 with sandbox-abuse.test.ts)', () => {
  assert.ok(attempts.length >= 18, String(attempts.length));
});

function loadAbuse(attempt: Attempt) {
  const code = `${attempt.prelude ?? ''}
async function handler(event) {
  if (event.request.uri === '/abuse') {
    ${attempt.body}
  }
  event.request.headers['x-now'] = { value: String(Date.now()) };
  return event.request;
}`;
  // 200 ms: the kill is wall time, and on a loaded machine the well-behaved next invocation must not hit it.
  return loadFunction(code, { name: 'escape', limits: { killAfterMicros: attempt.killAfterMicros ?? 200_000 } });
}

/** A well-behaved function in the same process: what one function does to its realm must not reach it. */
const BYSTANDER = `function handler(event) {
  event.request.headers['x-bystander'] = { value: [Date.now(), typeof process, [3, 1, 2].sort().join(''), JSON.stringify({ a: 1 }), 'a-b'.split('-').length].join(',') };
  return event.request;
}`;

for (const attempt of attempts) {
  test(`escape: ${attempt.name}`, async () => {
    let fn;
    try {
      fn = await loadAbuse(attempt);
    } catch (err) {
      // Refused before it could run (the checker or the compiler): contained too.
      assert.ok(isOpenFrontError(err), String(err));
      return;
    }
    try {
      const abusive = await fn.run(testEvent('/abuse'), { now: 1_000 });
      attempt.expect(abusive);
      const next = await fn.run(testEvent('/fine'), { now: 2_000 });
      if (attempt.selfTampering && next.kind === 'error') {
        assert.equal(loose(next).error?.errorClass, 'execution', loose(next).error?.message);
      } else {
        assert.equal(next.kind, 'request', `next invocation failed: ${loose(next).error?.message}`);
        assert.equal(loose(next).request?.uri, '/fine');
        if (!attempt.selfTampering) assert.equal(loose(next).request?.headers['x-now']?.value, '2000', 'the next invocation has its own clock');
      }
      const bystander = await loadFunction(BYSTANDER, { name: 'bystander', limits: { killAfterMicros: 2_000_000 } });
      try {
        const seen = await bystander.run(testEvent('/other'), { now: 3_000 });
        assert.equal(loose(seen).request?.headers['x-bystander']?.value, '3000,undefined,123,{"a":1},2');
      } finally {
        bystander.dispose();
      }
    } finally {
      fn.dispose();
    }
  });
}
