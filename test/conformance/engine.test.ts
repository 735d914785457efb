import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFunction } from '../../src/index.js';
import { checkResult, fixtureKvs, loadFixtures } from './fixtures.js';

const fixtures = loadFixtures();

test('the conformance suite has fixtures for every outcome', () => {
  assert.ok(fixtures.length >= 30);
  for (const kind of ['request', 'response', 'error'])
    assert.ok(
      fixtures.some((f) => f.expect.kind === kind),
      kind,
    );
});

for (const fixture of fixtures) {
  test(`engine: ${fixture.name} — ${fixture.description}`, async () => {
    // A generous kill limit so a loaded CI machine cannot turn a slow first run into a kill; runaway fixtures are
    // still killed, a little later.
    const fn = await loadFunction(fixture.code, { runtime: fixture.runtime, name: fixture.name, limits: { killAfterMicros: 1_000_000, ...fixture.limits } });
    try {
      const result = await fn.run(fixture.event, { kvs: fixtureKvs(fixture) });
      assert.equal(checkResult(result, fixture.expect), undefined);
      assert.ok(result.computeUtilization >= 0 && result.computeUtilization <= 100);
    } finally {
      fn.dispose();
    }
  });
}
