/**
 * Sandbox escape and abuse attempts. Each function misbehaves on /abuse and behaves on any other path: the abusive
 * invocation must fail safely (or be contained), and the very next invocation of the same function must work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFunction, MapSnapshot, type FunctionResult, type KvsBinding } from '../../src/index.js';
import { testEvent } from '../helpers/events.js';
import { errorOf, errorText, requestOf, responseOf } from '../helpers/results.js';

const event = testEvent;

interface Attempt {
  name: string;
  body: string;
  /** What the abusive invocation must produce. */
  expect: (result: FunctionResult) => void;
  prelude?: string;
  /** The kill limit for this attempt (default 50 ms). */
  /** Default TIME_TO_FINISH; the attempts that must be stopped by the clock say STOP_AFTER. */
  killAfterMicros?: number;
}

const executionError =
  (code = 'FUNCTION_EXECUTION_ERROR') =>
  (r: FunctionResult) => {
    assert.equal(r.kind, 'error');
    assert.equal(errorOf(r).errorClass, 'execution');
    assert.equal(errorOf(r).code, code);
  };
const validationError = (r: FunctionResult) => {
  assert.equal(r.kind, 'error');
  assert.equal(errorOf(r).errorClass, 'validation');
};
const headerEquals = (name: string, value: string) => (r: FunctionResult) => {
  assert.equal(r.kind, 'request', errorText(r));
  assert.equal(requestOf(r).headers[name]?.value, value);
};

/** The time limit of the attempts that must be stopped by the clock: they are, and at once. */
const STOP_AFTER = 50_000;
/**
 * The time limit of the others. What they check is how the attempt ends (an error of its own, validation, a memory
 * kill, truncated logs), not how fast: on a loaded 2-core CI machine legal work such as a stack overflow, 100,000
 * log calls or copying a 1 MB body out of the isolate took from 20 to over 100 ms, on either engine.
 */
const TIME_TO_FINISH = 5_000_000;

const attempts: Attempt[] = [
  { name: 'Function constructor through a function', body: `(function () {}).constructor('return process')();`, expect: executionError() },
  { name: 'Function constructor through the event', body: `event.constructor.constructor('return this')();`, expect: executionError() },
  { name: 'AsyncFunction constructor', body: `Object.getPrototypeOf(handler).constructor('return 1');`, expect: executionError() },
  { name: 'global Function', body: `Function('return globalThis')();`, expect: executionError() },
  { name: 'eval', body: `eval('1 + 1');`, expect: executionError() },
  { name: 'indirect eval', body: `var e = globalThis['ev' + 'al']; e('1');`, expect: executionError() },
  { name: 'require of a host module', body: `require('f' + 's');`, expect: executionError() },
  { name: 'require of child_process', body: `var name = ['child', 'process'].join('_'); require(name);`, expect: executionError() },
  {
    name: 'host globals are absent',
    body: `event.request.headers['x-types'] = { value: [typeof process, typeof setTimeout, typeof setImmediate, typeof fetch, typeof XMLHttpRequest, typeof WebAssembly, typeof Proxy, typeof Reflect, typeof SharedArrayBuffer, typeof Atomics].join(',') }; return event.request;`,
    expect: headerEquals('x-types', Array(10).fill('undefined').join(',')),
  },
  {
    name: 'no internal names leak onto globalThis',
    body: `var names = Object.getOwnPropertyNames(globalThis).filter(function (n) { return /host|digest|prelude|dispatch|__/i.test(n); }); event.request.headers['x-names'] = { value: names.join(',') }; return event.request;`,
    expect: headerEquals('x-names', ''),
  },
  {
    name: 'prototype pollution stays inside the isolate',
    body: `Object.prototype.polluted = 'yes'; Array.prototype.polluted = 'yes'; String.prototype.trim = function () { return 'pwned'; }; return event.request;`,
    expect: (r) => {
      assert.equal(r.kind, 'request');
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(([] as unknown as Record<string, unknown>).polluted, undefined);
      assert.equal(' x '.trim(), 'x');
    },
  },
  {
    name: 'overriding JSON does not fool the host',
    body: `JSON.stringify = function () { return '{"kind":"result","value":{"statusCode":200},"logs":[]}'; }; JSON.parse = function () { return {}; }; return { statusCode: 418 };`,
    expect: (r) => {
      assert.equal(r.kind, 'response');
      assert.equal(responseOf(r).statusCode, 418);
    },
  },
  {
    name: 'getter trap on the result that loops forever',
    body: `return { get statusCode() { for (;;) {} } };`,
    expect: executionError('FUNCTION_CPU_LIMIT_EXCEEDED'),
    killAfterMicros: STOP_AFTER,
  },
  { name: 'getter trap on the result that throws', body: `return { get uri() { throw new Error('trap'); }, method: 'GET' };`, expect: validationError },
  { name: 'toJSON returning a cycle', body: `var a = {}; a.self = a; return { toJSON: function () { return a; } };`, expect: validationError },
  {
    name: 'deeply nested result overflows the serialiser',
    body: `var o = {}; var cur = o; for (var i = 0; i < 5000; i++) { cur.n = {}; cur = cur.n; } return o;`,
    expect: validationError,
  },
  {
    name: 'getter on the event does not reach the host',
    body: `Object.defineProperty(event.request, 'uri', { get: function () { return '/x'; }, enumerable: true }); return event.request;`,
    expect: (r) => {
      assert.equal(r.kind, 'request');
      assert.equal(requestOf(r).uri, '/x');
    },
  },
  { name: 'infinite loop', body: `for (;;) {}`, expect: executionError('FUNCTION_CPU_LIMIT_EXCEEDED'), killAfterMicros: STOP_AFTER },
  {
    name: 'allocation-heavy loop',
    body: `for (;;) { var a = new Array(1000); a[0] = {}; }`,
    expect: executionError('FUNCTION_CPU_LIMIT_EXCEEDED'),
    killAfterMicros: STOP_AFTER,
  },
  {
    name: 'memory bomb',
    body: `var keep = []; for (;;) keep.push(new Array(100000).fill(keep.length));`,
    expect: executionError('FUNCTION_MEMORY_LIMIT_EXCEEDED'),
  },
  {
    name: 'string memory bomb',
    body: `var s = 'x'; for (;;) s = s + s;`,
    killAfterMicros: STOP_AFTER,
    expect: (r) => {
      assert.equal(r.kind, 'error');
      assert.equal(errorOf(r).errorClass, 'execution');
    },
  },
  {
    name: 'unbounded recursion',
    body: `function f() { return f() + 1; } f();`,
    expect: executionError(),
  },
  {
    name: 'loop inside a promise continuation',
    body: `return Promise.resolve().then(function () { for (;;) {} });`,
    expect: executionError('FUNCTION_CPU_LIMIT_EXCEEDED'),
    killAfterMicros: STOP_AFTER,
  },
  { name: 'promise that never settles', body: `return new Promise(function () {});`, expect: executionError() },
  {
    name: 'thenable that resolves twice',
    body: `return { then: function (ok) { ok({ statusCode: 200 }); ok({ statusCode: 500 }); } };`,
    expect: (r) => {
      assert.equal(r.kind, 'response');
    },
  },
  {
    name: 'huge logs are truncated',
    body: `for (var i = 0; i < 100000; i++) console.log('line ' + i + ' ' + 'x'.repeat(50)); return event.request;`,
    expect: (r) => {
      assert.equal(r.kind, 'request');
      const bytes = r.logs.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
      assert.ok(bytes <= 10 * 1024 + 64, `logs are ${bytes} bytes`);
      assert.match(r.logs[r.logs.length - 1] as string, /truncated/);
    },
  },
  { name: 'console methods other than log are absent', body: `console.error('x');`, expect: executionError() },
  {
    name: 'Date and Math.random cannot be replaced',
    body: `try { Date = function () {}; } catch (e) { event.request.headers['x-date'] = { value: e.name }; } return event.request;`,
    expect: headerEquals('x-date', 'TypeError'),
  },
  {
    name: 'KVS key of the wrong type',
    prelude: `import cf from 'cloudfront';`,
    body: `await cf.kvs().get({ toString: function () { return 'k'; } });`,
    expect: executionError(),
  },
  { name: 'unknown KVS store id', prelude: `import cf from 'cloudfront';`, body: `await cf.kvs('not-a-store').get('k');`, expect: executionError() },
  {
    name: 'errors from host callbacks carry no host frames or paths',
    prelude: `import cf from 'cloudfront';`,
    body: `var out = ''; try { await cf.kvs('nope').get('k'); } catch (e) { out = String(e.stack); }
      event.request.headers['x-stack'] = { value: encodeURIComponent(out) }; return event.request;`,
    expect: (r) => {
      assert.equal(r.kind, 'request', errorText(r));
      const stack = decodeURIComponent(requestOf(r).headers['x-stack']?.value ?? '');
      assert.match(stack, /not associated/);
      assert.doesNotMatch(stack, /file:|\/work\/|dist\/src|node:internal/);
    },
  },
  {
    name: 'huge generated body',
    body: `return { statusCode: 200, body: 'x'.repeat(1024 * 1024) };`,
    expect: validationError,
  },
];

/**
 * The function's store under its own id: a binding checks ids, so another id in cf.kvs(id) is refused (plain data
 * without an id would answer to any id, as in the local tools).
 */
const OWN_SNAPSHOT = new MapSnapshot({ k: 'v' }, { id: 'own' });
const OWN_STORE: KvsBinding = { defaultStoreId: 'own', stores: new Map([['own', { snapshot: () => OWN_SNAPSHOT }]]) };

test('at least 25 abuse attempts are covered', () => {
  assert.ok(attempts.length >= 25, String(attempts.length));
});

/** The attempt's function: abusive on /abuse, well-behaved elsewhere. */
function loadAbuse(attempt: Attempt) {
  const code = `${attempt.prelude ?? ''}
async function handler(event) {
  if (event.request.uri === '/abuse') {
    ${attempt.body}
  }
  return event.request;
}`;
  return loadFunction(code, { name: 'abuse', limits: { killAfterMicros: attempt.killAfterMicros ?? TIME_TO_FINISH } });
}

for (const attempt of attempts) {
  test(`abuse: ${attempt.name}`, async () => {
    const fn = await loadAbuse(attempt);
    try {
      const abusive = await fn.run(event('/abuse'), { kvs: OWN_STORE });
      attempt.expect(abusive);
      const next = await fn.run(event('/fine'), { kvs: OWN_STORE });
      assert.equal(next.kind, 'request', `next invocation failed: ${errorText(next)}`);
      assert.equal(requestOf(next).uri, '/fine');
    } finally {
      fn.dispose();
    }
  });

  // The edge's path: the abusive invocation batched between two good ones (runOffThread), which must not suffer.
  test(`abuse off-thread, in a batch: ${attempt.name}`, async () => {
    const fn = await loadAbuse(attempt);
    try {
      const [before, abusive, after] = await Promise.all(['/before', '/abuse', '/after'].map((uri) => fn.runOffThread(event(uri), { kvs: OWN_STORE })));
      attempt.expect(abusive as FunctionResult);
      for (const [result, uri] of [
        [before, '/before'],
        [after, '/after'],
      ] as const) {
        assert.equal(result?.kind, 'request', `${uri} failed beside the abusive invocation: ${errorText(result)}`);
        assert.equal(requestOf(result).uri, uri);
      }
    } finally {
      fn.dispose();
    }
  });
}
