/** The per-path throttle's rules, on a fake clock (the integration test shows them at the edge). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FunctionThrottle } from '../../src/edge/function-throttle.js';

function throttle(limits = {}) {
  let now = 0;
  const t = new FunctionThrottle({ killsToThrottle: 2, windowMs: 1_000, cooldownMs: 100, maxCooldownMs: 400, maxTrackedPaths: 3, ...limits }, () => now);
  return { t, at: (ms: number) => (now = ms) };
}

test('a path killed once is quarantined, killed twice within the window is throttled for the cooldown', () => {
  const { t, at } = throttle();
  assert.equal(t.admit('f', 'h1', '/slow'), 'run');
  t.record('f', 'h1', '/slow', true);
  assert.equal(t.admit('f', 'h1', '/slow'), 'quarantine');
  assert.equal(t.admit('f', 'h1', '/fast'), 'run');
  at(10);
  t.record('f', 'h1', '/slow', true);
  assert.equal(t.admit('f', 'h1', '/slow'), 'throttle');
  at(109);
  assert.equal(t.admit('f', 'h1', '/slow'), 'throttle');
  at(110);
  assert.equal(t.admit('f', 'h1', '/slow'), 'quarantine', 'after the cooldown the path is tried again, in quarantine');
  assert.deepEqual(t.stats('f'), { kills: 2, throttled: 2, quarantined: 2 });
});

test('kills far apart do not throttle; a repeat offender is throttled at its first kill, for twice as long, up to the cap', () => {
  const { t, at } = throttle();
  t.record('f', 'h', '/p', true);
  at(2_000);
  t.record('f', 'h', '/p', true);
  assert.equal(t.admit('f', 'h', '/p'), 'quarantine', 'the first kill left the window');
  at(2_010);
  t.record('f', 'h', '/p', true);
  assert.equal(t.admit('f', 'h', '/p'), 'throttle');
  const periods: number[] = [];
  let start = 2_010;
  for (let round = 0; round < 4; round++) {
    let end = start;
    while (t.admit('f', 'h', '/p') === 'throttle') at(++end);
    periods.push(end - start);
    t.record('f', 'h', '/p', true);
    start = end;
  }
  assert.deepEqual(periods, [100, 200, 400, 400]);
});

test('a successful run clears the path; new code starts over; the path table is bounded', () => {
  const { t } = throttle();
  t.record('f', 'h', '/p', true);
  t.record('f', 'h', '/p', false);
  assert.equal(t.admit('f', 'h', '/p'), 'run');
  t.record('f', 'h', '/p', true);
  t.record('f', 'h', '/p', true);
  assert.equal(t.admit('f', 'h2', '/p'), 'run', "a new version of the function is not held to the old one's record");
  for (const p of ['/a', '/b', '/c', '/d']) t.record('f', 'h2', p, true);
  assert.equal(t.admit('f', 'h2', '/a'), 'run', 'the oldest path was forgotten');
  assert.equal(t.admit('f', 'h2', '/d'), 'quarantine');
});
