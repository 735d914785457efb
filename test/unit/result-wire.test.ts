/**
 * The compact result wire must never change a verdict: for any value a handler returns, validating what the host
 * decodes gives exactly what validating JSON.parse(JSON.stringify(value)) gives — the same result or the same
 * error. Values are generated inside a real isolate (functions, undefined, NaN, toJSON, extra keys, wrong types…).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ivm from '../../src/runtime/sandbox/isolated-vm.js';
import { decodeResult } from '../../src/runtime/sandbox/result-wire.js';
import { isolateScript } from '../../src/runtime/sandbox/isolate-scripts.js';
import { validateResult } from '../../src/runtime/validate.js';
import type { CFEvent } from '../../src/runtime/event.js';

/** Declares the isolate's `encodeResult` as a global (isolate/encode-result.ts, bundled alone). */
const ENCODE_RESULT_SOURCE = isolateScript('encode-result');

const GENERATOR = `
var seed = $0;
function random() { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff; }
function pick(list) { return list[Math.floor(random() * list.length)]; }
var ODD = [undefined, null, 7, NaN, Infinity, true, function () {}, [], {}, 'x\\u0001y'];
function text() { return random() < 0.08 ? pick(ODD) : pick(['', 'v', 'a b', 'ünï', '/p', 'text/html', 'k=v; Path=/']); }
function entry(withAttributes) {
  if (random() < 0.06) return pick(ODD);
  var e = { value: text() };
  if (withAttributes && random() < 0.5) e.attributes = text();
  if (random() < 0.3) { e.multiValue = []; for (var i = 0; i < 1 + Math.floor(random() * 3); i++) e.multiValue.push(random() < 0.08 ? pick(ODD) : { value: text(), attributes: withAttributes ? text() : undefined }); }
  if (random() < 0.05) e.extra = pick(ODD);
  if (random() < 0.03) e.toJSON = function () { return { value: 'j' }; };
  return e;
}
function valueMap(withAttributes) {
  if (random() < 0.05) return pick(ODD);
  var m = {};
  var names = ['host', 'x-a', 'cookie', 'X-Upper', '', '__proto__', 'via', 'x-forwarded-proto', 'content-length'];
  for (var i = 0; i < Math.floor(random() * 4); i++) Object.defineProperty(m, pick(names), { value: entry(withAttributes), enumerable: true, configurable: true, writable: true });
  return m;
}
function value() {
  if (random() < 0.05) return pick(ODD);
  if (random() < 0.5) {
    var r = { statusCode: random() < 0.85 ? pick([200, 301, 404, 599, 600, 199, 200.5, -0]) : pick(ODD) };
    if (random() < 0.7) r.statusDescription = text();
    if (random() < 0.7) r.headers = valueMap(false);
    if (random() < 0.5) r.cookies = valueMap(true);
    if (random() < 0.4) r.body = random() < 0.8 ? text() : { data: 'aGk=', encoding: 'base64' };
    return r;
  }
  var q = { method: random() < 0.9 ? 'GET' : text(), uri: random() < 0.9 ? pick(['/', '/a', '/b?c']) : text(),
    querystring: random() < 0.2 ? pick(['a=1', 'a b']) : valueMap(false), headers: valueMap(false), cookies: valueMap(false) };
  if (random() < 0.1) q.extra = { deep: [1, 2] };
  return q;
}
var out = [];
for (var n = 0; n < $1; n++) {
  var v = value(), wire = encodeResult(v), json;
  try { json = JSON.stringify(v === undefined ? null : v); } catch (e) { json = null; }
  out.push([wire, json === undefined ? 'null' : json]);
}
return out;`;

function verdict(value: unknown, event: CFEvent): string {
  try {
    return JSON.stringify(validateResult(value, event));
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

test('validating the decoded wire gives the same verdict as validating JSON, for 3,000 generated values', () => {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    const context = isolate.createContextSync();
    context.evalSync(`var objectKeys = Object.keys, isArray = Array.isArray; ${ENCODE_RESULT_SOURCE}`);
    const pairs = context.evalClosureSync(GENERATOR, [20261127, 3000], { result: { copy: true } }) as Array<[string, string | null]>;
    const event: CFEvent = {
      version: '1.0',
      context: { eventType: 'viewer-request' },
      viewer: { ip: '1.2.3.4' },
      request: { method: 'GET', uri: '/', querystring: {}, headers: { host: { value: 'h' } }, cookies: {} },
    };
    let compact = 0;
    for (const [i, [wire, json]] of pairs.entries()) {
      if (wire === '') continue;
      compact++;
      assert.notEqual(json, null, `#${i}: the encoder accepted a value JSON cannot serialise`);
      assert.equal(verdict(decodeResult(wire), event), verdict(JSON.parse(json as string), event), `#${i}: ${json}`);
    }
    assert.ok(compact > 1000, `most values take the compact path (${compact})`);
  } finally {
    isolate.dispose();
  }
});
