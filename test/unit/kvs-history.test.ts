/**
 * The backend-independent part of store history (src/kvs/history.ts): reads as of a version over non-dense versions
 * (JetStream), gaps refused rather than guessed, pages and markers, diffs, and the retention option's forms.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isOpenFrontError } from '../../src/errors.js';
import {
  decodeHistoryMarker,
  diffItems,
  itemsAtVersion,
  oldestReadableVersion,
  pageOfEntries,
  parseRetention,
  retentionFromCli,
  type HistoryEntry,
} from '../../src/kvs/history.js';
import type { KeyValue } from '../../src/kvs/types.js';

const AT = new Date('2026-01-01T00:00:00Z');

function entry(version: number, prevVersion: number, changes: HistoryEntry['changes'], operation = 'PutKey'): HistoryEntry {
  return { version, prevVersion, at: AT, accessKeyId: 'AKIATEST', operation, changes };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isOpenFrontError(err) ? err.code : String(err);
  }
}

describe('store history model', () => {
  // A store whose versions jump (a JetStream batch of 3 ops takes 4 sequences).
  const entries = [
    entry(9, 5, [{ key: 'a', before: '2', after: null }]),
    entry(5, 1, [
      { key: 'a', before: '1', after: '2' },
      { key: 'b', before: null, after: 'x' },
    ]),
    entry(1, 0, [{ key: 'a', before: null, after: '1' }]),
  ];
  const current = { version: 9, items: [{ key: 'b', value: 'x' }] };

  it('rebuilds any version, including versions between two writes', () => {
    assert.deepEqual(itemsAtVersion('s', current, 9, entries).items, [{ key: 'b', value: 'x' }]);
    assert.deepEqual(itemsAtVersion('s', current, 7, entries).items, [
      { key: 'a', value: '2' },
      { key: 'b', value: 'x' },
    ]);
    assert.deepEqual(itemsAtVersion('s', current, 5, entries).items, itemsAtVersion('s', current, 6, entries).items);
    assert.deepEqual(itemsAtVersion('s', current, 3, entries).items, [{ key: 'a', value: '1' }]);
    assert.deepEqual(itemsAtVersion('s', current, 0, entries).items, []);
    assert.equal(
      codeOf(() => itemsAtVersion('s', current, 10, entries)),
      'KVS_VERSION_NOT_FOUND',
    );
  });

  it('refuses to read across a gap, naming the oldest version it can reach', () => {
    const gapped = [entries[0]!, entries[2]!]; // the entry of version 5 is missing
    assert.equal(oldestReadableVersion(9, gapped), 5);
    assert.deepEqual(itemsAtVersion('s', current, 5, gapped).items, [
      { key: 'a', value: '2' },
      { key: 'b', value: 'x' },
    ]);
    assert.throws(
      () => itemsAtVersion('s', current, 4, gapped),
      (err: unknown) => isOpenFrontError(err) && err.code === 'KVS_VERSION_EXPIRED' && /oldest version kept is 5$/.test(err.message),
    );
    // The newest write's entry missing: only the current version is readable.
    assert.equal(oldestReadableVersion(12, entries), 12);
    assert.equal(
      codeOf(() => itemsAtVersion('s', { version: 12, items: [] }, 9, entries)),
      'KVS_VERSION_EXPIRED',
    );
  });

  it('undoing random histories gives back every snapshot (property)', () => {
    const op = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.option(fc.constantFrom('1', '2', '3'), { nil: null }) });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.array(op, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 3 })), { maxLength: 12 }), (writes) => {
        const state = new Map<string, string>();
        const snapshots = new Map<number, KeyValue[]>([[0, []]]);
        const log: HistoryEntry[] = [];
        let version = 0;
        for (const [ops, step] of writes) {
          const changes = ops.map(({ key, value }) => {
            const before = state.get(key) ?? null;
            if (value === null) state.delete(key);
            else state.set(key, value);
            return { key, before, after: value };
          });
          log.unshift(entry(version + step, version, changes));
          version += step;
          snapshots.set(
            version,
            [...state].map(([key, value]) => ({ key, value })).sort((x, y) => (x.key < y.key ? -1 : 1)),
          );
        }
        const now = { version, items: snapshots.get(version)! };
        for (const [v, items] of snapshots) assert.deepEqual(itemsAtVersion('s', now, v, log).items, items);
      }),
      { numRuns: 200 },
    );
  });

  it('pages newest first with markers, filtered by key and version range', () => {
    const all = pageOfEntries(entries, {});
    assert.deepEqual(
      all.items.map((r) => `${r.version}:${r.key}`),
      ['9:a', '5:a', '5:b', '1:a'],
    );
    const first = pageOfEntries(entries, { limit: 2 });
    assert.equal(first.items.length, 2);
    const second = pageOfEntries(entries, { limit: 2, marker: first.nextMarker! });
    assert.deepEqual(
      second.items.map((r) => `${r.version}:${r.key}`),
      ['5:b', '1:a'],
    );
    assert.equal(second.nextMarker, undefined);
    assert.deepEqual(
      pageOfEntries(entries, { key: 'b' }).items.map((r) => r.version),
      [5],
    );
    assert.deepEqual(
      pageOfEntries(entries, { from: 2, to: 8 }).items.map((r) => r.version),
      [5, 5],
    );
    for (const bad of [{ limit: 0 }, { limit: 1001 }, { from: 3, to: 2 }, { key: '' }, { marker: 'AAAA' }, { to: -1 }]) {
      assert.equal(
        codeOf(() => pageOfEntries(entries, bad)),
        'BAD_REQUEST',
        JSON.stringify(bad),
      );
    }
    assert.equal(
      codeOf(() => decodeHistoryMarker(Buffer.from('1:2:3').toString('base64url'))),
      'BAD_REQUEST',
    );
  });

  it('diffs two item lists', () => {
    assert.deepEqual(
      diffItems(
        1,
        [
          { key: 'a', value: '1' },
          { key: 'b', value: '2' },
        ],
        2,
        [
          { key: 'b', value: '3' },
          { key: 'c', value: '4' },
        ],
      ),
      { from: 1, to: 2, added: [{ key: 'c', value: '4' }], removed: [{ key: 'a', value: '1' }], changed: [{ key: 'b', before: '2', after: '3' }] },
    );
  });

  it('parses the retention option and refuses anything else', () => {
    assert.deepEqual(parseRetention('30d,1000', 'x'), { maxAgeDays: 30, minVersions: 1000 });
    assert.deepEqual(parseRetention(' 0.5d , 0 ', 'x'), { maxAgeDays: 0.5, minVersions: 0 });
    for (const bad of ['30', '30d', 'd,10', '30d,-1', '30d,1.5', '99999d,1', '30d,10000000000', 'forever']) {
      assert.equal(
        codeOf(() => parseRetention(bad, '--history-retention')),
        'CONFIG_INVALID',
        bad,
      );
    }
    assert.equal(retentionFromCli(undefined, {}), undefined);
    assert.deepEqual(retentionFromCli(undefined, { OPENFRONT_HISTORY_RETENTION: '7d,100' }), { maxAgeDays: 7, minVersions: 100 });
    assert.deepEqual(retentionFromCli('1d,1', { OPENFRONT_HISTORY_RETENTION: '7d,100' }), { maxAgeDays: 1, minVersions: 1 });
  });
});
