/** CloudFront's origin settings in the config: defaults, CloudFront's ranges, seconds or milliseconds (not both). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { isOpenFrontError } from '../../src/errors.js';
import type { CustomOriginConfig } from '../../src/config/types.js';

function origin(settings: Record<string, unknown>): CustomOriginConfig {
  const config = parseConfig(
    { distributions: [{ id: 'd', hostnames: ['*'], origins: [{ id: 'app', url: 'http://127.0.0.1:8080', ...settings }], defaultBehavior: { origin: 'app' } }] },
    '/tmp',
  );
  return config.distributions[0]!.origins[0] as CustomOriginConfig;
}

function problems(settings: Record<string, unknown>): string[] {
  try {
    origin(settings);
  } catch (err) {
    assert.ok(isOpenFrontError(err) && err.code === 'CONFIG_INVALID', String(err));
    return (err.details.problems as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('the config was accepted');
}

describe('config: origin connection attempts and timeouts', () => {
  it("defaults to CloudFront's: 3 attempts, 10 s connect, 30 s read, 5 s keep-alive", () => {
    const o = origin({});
    assert.deepEqual([o.connectionAttempts, o.connectTimeoutMs, o.readTimeoutMs, o.keepaliveTimeoutMs], [3, 10_000, 30_000, 5_000]);
  });

  it('takes CloudFront-named settings in seconds and the …Ms settings in milliseconds', () => {
    const o = origin({ connectionAttempts: 1, connectionTimeout: 2, readTimeout: 120, keepaliveTimeout: 60 });
    assert.deepEqual([o.connectionAttempts, o.connectTimeoutMs, o.readTimeoutMs, o.keepaliveTimeoutMs], [1, 2_000, 120_000, 60_000]);
    const ms = origin({ connectTimeoutMs: 250, readTimeoutMs: 1_500, keepaliveTimeoutMs: 100 });
    assert.deepEqual([ms.connectTimeoutMs, ms.readTimeoutMs, ms.keepaliveTimeoutMs], [250, 1_500, 100]);
  });

  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ connectionAttempts: 0 }, /origins\[0\]\.connectionAttempts: connectionAttempts must be 1, 2 or 3/],
    [{ connectionAttempts: 4 }, /connectionAttempts must be 1, 2 or 3/],
    [{ connectionAttempts: 1.5 }, /connectionAttempts is a whole number/],
    [{ connectionTimeout: 11 }, /connectionTimeout must be between 1 and 10 seconds/],
    [{ connectionTimeout: 0 }, /connectionTimeout must be between 1 and 10 seconds/],
    [{ readTimeout: 121 }, /readTimeout must be between 1 and 120 seconds/],
    [{ keepaliveTimeout: 0 }, /keepaliveTimeout must be between 1 and 120 seconds/],
    [{ connectTimeoutMs: 10_001 }, /connectTimeoutMs must be between 1 and 10000 ms/],
    [{ readTimeoutMs: 120_001 }, /readTimeoutMs must be between 1 and 120000 ms/],
    [{ readTimeout: 5, readTimeoutMs: 5_000 }, /origins\[0\]\.readTimeoutMs: give readTimeout \(seconds\) or readTimeoutMs, not both/],
  ];
  for (const [settings, message] of refused) {
    it(`refuses ${JSON.stringify(settings)} with a message naming the field and the range`, () => {
      const found = problems(settings);
      assert.ok(
        found.some((p) => message.test(p)),
        found.join('\n'),
      );
    });
  }
});
