/** `customErrorResponses` in the config: CloudFront's codes, page and code together, one entry per code. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { isOpenFrontError } from '../../src/errors.js';

function parse(customErrorResponses: unknown[]) {
  return parseConfig(
    {
      distributions: [
        { id: 'd', hostnames: ['*'], origins: [{ id: 'app', url: 'http://127.0.0.1:8080' }], defaultBehavior: { origin: 'app' }, customErrorResponses },
      ],
    },
    '/tmp',
  );
}

function problems(customErrorResponses: unknown[]): string[] {
  try {
    parse(customErrorResponses);
  } catch (err) {
    assert.ok(isOpenFrontError(err) && err.code === 'CONFIG_INVALID', String(err));
    return (err.details.problems as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail('the config was accepted');
}

describe('config: custom error responses', () => {
  it('resolves entries with ErrorCachingMinTTL defaulting to 10 s, and none when the field is absent', () => {
    const config = parse([
      { errorCode: 404, responsePagePath: '/404.html', responseCode: 200 },
      { errorCode: 503, errorCachingMinTtl: 0 },
    ]);
    assert.deepEqual(config.distributions[0]!.customErrorResponses, [
      { errorCode: 404, responsePagePath: '/404.html', responseCode: 200, errorCachingMinTtl: 10 },
      { errorCode: 503, errorCachingMinTtl: 0 },
    ]);
    assert.deepEqual(parse([]).distributions[0]!.customErrorResponses, []);
  });

  const refused: Array<[unknown[], RegExp]> = [
    [[{ errorCode: 418 }], /customErrorResponses\[0\]\.errorCode: errorCode must be one of 400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504/],
    [[{ errorCode: 404, responsePagePath: '/x.html', responseCode: 302 }], /responseCode must be one of 200, 400/],
    [[{ errorCode: 404, responsePagePath: '/x.html' }], /customErrorResponses\[0\]: responsePagePath and responseCode go together/],
    [[{ errorCode: 404, responseCode: 200 }], /responsePagePath and responseCode go together/],
    [[{ errorCode: 404, responsePagePath: 'x.html', responseCode: 200 }], /a path starting with "\/"/],
    [[{ errorCode: 404, responsePagePath: '/x.html?y=1', responseCode: 200 }], /without a query string/],
    [[{ errorCode: 404, errorCachingMinTtl: -1 }], /errorCachingMinTtl/],
    [[{ errorCode: 404 }, { errorCode: 404, errorCachingMinTtl: 5 }], /customErrorResponses\[1\]\.errorCode: errorCode 404 has more than one entry/],
    [[{ errorCode: 404, unknown: true }], /unknown/i],
  ];
  for (const [entries, message] of refused) {
    it(`refuses ${JSON.stringify(entries)}`, () => {
      const found = problems(entries);
      assert.ok(
        found.some((p) => message.test(p)),
        found.join('\n'),
      );
    });
  }
});
