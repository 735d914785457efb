import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNotModified, ifRangeMatches } from '../../src/edge/cache/conditional.js';
import { MAX_RANGES, multipartLayout, parseRange } from '../../src/edge/cache/ranges.js';

describe('parseRange (CloudFront rules against an object of known size)', () => {
  it('reads first-last, open-ended and suffix ranges, clamping the end to the object', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'ranges', ranges: [[0, 9]] });
    assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'ranges', ranges: [[90, 99]] });
    assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'ranges', ranges: [[90, 99]] });
    assert.deepEqual(parseRange('bytes=-1000', 100), { kind: 'ranges', ranges: [[0, 99]] });
    assert.deepEqual(parseRange('bytes=50-1000', 100), { kind: 'ranges', ranges: [[50, 99]] });
  });

  it('is unsatisfiable (416) when the only range starts past the end', () => {
    assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
    assert.deepEqual(parseRange('bytes=-0', 100), { kind: 'unsatisfiable' });
  });

  it('ignores what is not a valid bytes range: the whole object (200)', () => {
    for (const header of ['items=0-1', 'bytes=', 'bytes=a-b', 'bytes=5-1', 'bytes=-', 'bytes=1-2-3', `bytes=${'9'.repeat(20)}-`]) {
      assert.deepEqual(parseRange(header, 100), { kind: 'whole' }, header);
    }
  });

  it('several ranges only when ascending, disjoint and each valid; otherwise the whole object', () => {
    assert.deepEqual(parseRange('bytes=0-1, 5-6', 100), {
      kind: 'ranges',
      ranges: [
        [0, 1],
        [5, 6],
      ],
    });
    assert.deepEqual(parseRange('bytes=5-6,0-1', 100), { kind: 'whole' });
    assert.deepEqual(parseRange('bytes=0-5,5-6', 100), { kind: 'whole' });
    assert.deepEqual(parseRange('bytes=0-5,200-300', 100), { kind: 'whole' });
  });

  it('bounds the work a request can ask for: more than MAX_RANGES ranges, or an overlapping swarm, get the whole object', () => {
    const many = `bytes=${Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;
    assert.deepEqual(parseRange(many, 1_000_000), { kind: 'whole' });
    const atLimit = `bytes=${Array.from({ length: MAX_RANGES }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(',')}`;
    assert.equal((parseRange(atLimit, 1_000_000) as { ranges: unknown[] }).ranges.length, MAX_RANGES);
    // The classic amplification: the same large range many times over.
    const overlapping = `bytes=${Array.from({ length: 10_000 }, () => '0-').join(',')}`;
    assert.deepEqual(parseRange(overlapping, 1_000_000), { kind: 'whole' });
  });

  it('lays out multipart/byteranges with a length that matches the parts', () => {
    const layout = multipartLayout(
      [
        [0, 1],
        [5, 6],
      ],
      10,
      'text/plain',
      'b0undary',
    );
    const body = Buffer.concat([layout.heads[0], Buffer.from('ab'), layout.heads[1], Buffer.from('fg'), layout.tail]);
    assert.equal(layout.length, body.length);
    assert.equal(
      body.toString(),
      '--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\nab\r\n--b0undary\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/10\r\n\r\nfg\r\n--b0undary--\r\n',
    );
  });
});

describe('conditional requests against a stored copy', () => {
  const stored: Array<[string, string]> = [
    ['etag', '"v1"'],
    ['last-modified', 'Fri, 02 Jan 2026 03:04:05 GMT'],
  ];
  it('If-None-Match wins over If-Modified-Since and compares weakly', () => {
    assert.equal(isNotModified([['if-none-match', 'W/"v1"']], stored), true);
    assert.equal(isNotModified([['if-none-match', '*']], stored), true);
    assert.equal(
      isNotModified(
        [
          ['if-none-match', '"v0"'],
          ['if-modified-since', 'Sat, 03 Jan 2026 00:00:00 GMT'],
        ],
        stored,
      ),
      false,
    );
    assert.equal(isNotModified([['if-modified-since', 'Sat, 03 Jan 2026 00:00:00 GMT']], stored), true);
    assert.equal(isNotModified([['if-modified-since', 'Thu, 01 Jan 2026 00:00:00 GMT']], stored), false);
    assert.equal(isNotModified([['if-modified-since', 'not a date']], stored), false);
  });
  it('If-Range needs a strong ETag match or the exact Last-Modified', () => {
    assert.equal(ifRangeMatches([['if-range', '"v1"']], stored), true);
    assert.equal(ifRangeMatches([['if-range', 'W/"v1"']], stored), false);
    assert.equal(ifRangeMatches([['if-range', 'Fri, 02 Jan 2026 03:04:05 GMT']], stored), true);
    assert.equal(ifRangeMatches([['if-range', 'Fri, 02 Jan 2026 03:04:06 GMT']], stored), false);
  });
});
