/**
 * The compact event wire: whatever the encoder sends, the function must see exactly the object JSON would have
 * given it — same keys, same order, same values — and anything outside the canonical shape must go as JSON.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFunction, type CFEvent } from '../../src/index.js';
import { encodeEvent } from '../../src/runtime/sandbox/event-wire.js';
import { errorText, responseOf } from '../helpers/results.js';

/** Deterministic PRNG (mulberry32) so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ['a', 'host', 'x-y', '', '__proto__', 'constructor', 'ä', '𝒳', 'toString', 'multi word'];
const VALUES = ['', 'v', '1,2,3', 'ünïcödé', '😀', '{"json":true}', 'a=b&c=d', ' spaced ', 'x'.repeat(300)];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)] as T;
}

function valueMap(random: () => number, withAttributes: boolean): Record<string, unknown> {
  const map: Record<string, unknown> = {};
  const n = Math.floor(random() * 4);
  for (let i = 0; i < n; i++) {
    const entry: Record<string, unknown> = { value: pick(random, VALUES) };
    if (withAttributes && random() < 0.5) entry.attributes = pick(random, ['Path=/', '', 'Secure; HttpOnly']);
    if (random() < 0.3) {
      entry.multiValue = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        const item: Record<string, unknown> = { value: pick(random, VALUES) };
        if (withAttributes && random() < 0.5) item.attributes = 'Max-Age=1';
        return item;
      });
    }
    Object.defineProperty(map, pick(random, NAMES), { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return map;
}

function randomEvent(random: () => number): CFEvent {
  const contextKeys = ['distributionDomainName', 'distributionId', 'eventType', 'requestId', 'endpoint'].filter(() => random() < 0.7);
  if (random() < 0.5) contextKeys.reverse();
  const context: Record<string, string> = {};
  for (const key of contextKeys) context[key] = key === 'eventType' ? 'viewer-request' : pick(random, VALUES);
  const event: Record<string, unknown> = {
    version: '1.0',
    context,
    viewer: { ip: '203.0.113.' + Math.floor(random() * 255) },
    request: {
      method: pick(random, ['GET', 'POST']),
      uri: '/' + pick(random, VALUES),
      querystring: valueMap(random, false),
      headers: valueMap(random, false),
      cookies: valueMap(random, false),
    },
  };
  if (random() < 0.4) {
    const response: Record<string, unknown> = { statusCode: 200 + Math.floor(random() * 300) };
    if (random() < 0.7) response.statusDescription = pick(random, ['OK', '', 'Not Found']);
    if (random() < 0.8) response.headers = valueMap(random, false);
    if (random() < 0.8) response.cookies = valueMap(random, true);
    event.response = response;
  }
  return event as unknown as CFEvent;
}

test('the function sees exactly JSON.parse(JSON.stringify(event)), for 400 random events', async () => {
  const fn = await loadFunction(`function handler(event) { return { statusCode: 200, body: JSON.stringify(event) }; }`, {
    limits: { killAfterMicros: 200_000 },
  });
  const random = rng(20261127);
  let compact = 0;
  for (let i = 0; i < 400; i++) {
    const event = randomEvent(random);
    // viewer-request context: the handler's generated response is always acceptable.
    if (event.context.eventType === undefined) event.context.eventType = 'viewer-request';
    const wire = encodeEvent(event);
    if (wire.startsWith('E1')) compact++;
    const result = await fn.run(event);
    assert.equal(result.kind, 'response', errorText(result));
    assert.equal(responseOf(result).body, JSON.stringify(event), `event #${i} (${wire.startsWith('E1') ? 'compact' : 'json'} wire)`);
  }
  assert.ok(compact > 300, `most canonical events use the compact wire (${compact}/400)`);
  fn.dispose();
});

test('events outside the canonical shape go as JSON', () => {
  const base = (): Record<string, unknown> => ({
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '1.2.3.4' },
    request: { method: 'GET', uri: '/', querystring: {}, headers: {}, cookies: {} },
  });
  assert.match(encodeEvent(base() as unknown as CFEvent), /^E1\u0001/);
  const variants: Array<(e: Record<string, unknown>) => void> = [
    (e) => ((e.request as Record<string, unknown>).querystring = 'a=1'),
    (e) => ((e.context as Record<string, unknown>).custom = 'x'),
    (e) => (e.extra = 1),
    (e) => ((e.request as Record<string, unknown>).uri = 'a\u0001b'),
    (e) => ((e.viewer as Record<string, unknown>).ip = 7),
    (e) => (e.request = { uri: '/', method: 'GET', querystring: {}, headers: {}, cookies: {} }),
    (e) => ((e.request as { headers: Record<string, unknown> }).headers.h = { value: 'v', extra: true }),
    (e) => (e.response = { statusCode: 200, body: 'x' }),
    (e) => (e.response = { statusCode: '200' }),
  ];
  for (const change of variants) {
    const event = base();
    change(event);
    assert.equal(encodeEvent(event as unknown as CFEvent), JSON.stringify(event), JSON.stringify(event));
  }
});
