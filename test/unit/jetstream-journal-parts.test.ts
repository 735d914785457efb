/**
 * A batch journal spread over several messages (docs/fleet-edge.md): a store view applies it only with its last
 * part, drops parts that are not followed by the rest, and a saved copy never claims a version past parts still
 * being collected.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeKey } from '../../src/state/jetstream/key-codec.js';
import { encodeJournal, parsePart, splitJournal, type Journal } from '../../src/state/jetstream/kv-data/journal.js';
import { StoreView, type StreamEntry } from '../../src/state/jetstream/kv-data/store-view.js';

const journal: Journal = {
  txid: 'tx-1',
  puts: Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: `new-${i}` })),
  deletes: ['gone'],
  replace: false,
  at: '2026-01-01T00:00:00.000Z',
  actor: 'test',
};

function partEntries(j: Journal, firstSeq: number, partBytes: number): StreamEntry[] {
  const parts = splitJournal(encodeJournal(j), partBytes);
  return parts.map((data, index) => ({
    seq: firstSeq + index,
    natsKey: `_txp.${index}`,
    operation: 'PUT',
    data,
    time: new Date(),
    part: { txid: j.txid, index, count: parts.length },
  }));
}

function put(seq: number, key: string, value: string): StreamEntry {
  return { seq, natsKey: encodeKey(key), operation: 'PUT', data: Buffer.from(value), time: new Date() };
}

function viewWithOldData(): StoreView {
  const view = new StoreView('s');
  view.apply(put(1, 'k0', 'old'));
  view.apply(put(2, 'gone', 'old'));
  return view;
}

describe('journal parts', () => {
  it('splits a journal into pieces of at most the given size that join back to it', () => {
    const data = encodeJournal(journal);
    const parts = splitJournal(data, 100);
    assert.equal(parts.length, Math.ceil(data.byteLength / 100));
    assert.ok(parts.every((p) => p.byteLength <= 100));
    assert.deepEqual(Buffer.concat(parts), Buffer.from(data));
  });

  it('parses only well-formed part headers', () => {
    assert.deepEqual(parsePart('t', '2/5'), { txid: 't', index: 2, count: 5 });
    assert.equal(parsePart('t', '5/5'), undefined);
    assert.equal(parsePart('t', 'x/5'), undefined);
    assert.equal(parsePart(undefined, '0/1'), undefined);
  });

  it('applies the batch with its last part, in one step; the version moves over every part', () => {
    const view = viewWithOldData();
    const entries = partEntries(journal, 3, 64);
    assert.ok(entries.length > 3);
    for (const entry of entries.slice(0, -1)) {
      assert.equal(view.apply(entry), true);
      assert.equal(view.get('k0'), 'old', 'nothing of the batch before its last part');
      assert.equal(view.durableVersion, 2, 'a saved copy restarts before the parts');
    }
    view.apply(entries.at(-1)!);
    assert.equal(view.get('k0'), 'new-0');
    assert.equal(view.get('k19'), 'new-19');
    assert.equal(view.get('gone'), undefined);
    assert.equal(view.version, 2 + entries.length);
    assert.equal(view.durableVersion, view.version);
    assert.deepEqual(view.lastJournal, { seq: 2 + entries.length, ops: 21, parts: entries.length });
  });

  it('drops parts cut short by another message, and parts out of line', () => {
    const view = viewWithOldData();
    const entries = partEntries(journal, 3, 64);
    view.apply(entries[0]!);
    view.apply(entries[1]!);
    // The writer died: the next writer's message lands right after the orphan parts.
    view.apply(put(5, 'k1', 'other'));
    assert.equal(view.durableVersion, 5);
    // The rest of the parts (as if re-sent) can no longer complete the batch.
    for (const entry of partEntries(journal, 6, 64).slice(2)) view.apply(entry);
    assert.equal(view.get('k0'), 'old');
    assert.equal(view.get('k1'), 'other');

    // A part of another batch in the middle also ends the first one.
    const other = partEntries({ ...journal, txid: 'tx-2' }, 100, 64);
    const mixed = new StoreView('s');
    mixed.apply(entries[0]!);
    mixed.apply({ ...other[1]!, seq: 4 });
    for (const [i, entry] of entries.slice(2).entries()) mixed.apply({ ...entry, seq: 5 + i });
    assert.equal(mixed.get('k0'), undefined);
  });

  it('a copy taken while parts are collected reads them again', () => {
    const view = viewWithOldData();
    const entries = partEntries(journal, 3, 64);
    view.apply(entries[0]!);
    const copy = view.clone();
    assert.equal(copy.version, 2);
    for (const entry of entries) copy.apply(entry);
    assert.equal(copy.get('k5'), 'new-5');
  });

  it('materialisation ops that rewrite the journal’s values leave earlier snapshots alone', () => {
    const view = viewWithOldData();
    const entries = partEntries(journal, 3, 64);
    for (const entry of entries) view.apply(entry);
    const snap = view.snapshot();
    view.apply(put(3 + entries.length, 'k0', 'new-0'));
    view.apply(put(4 + entries.length, 'k1', 'changed'));
    assert.equal(snap.get('k1'), 'new-1', 'a snapshot handed out never changes');
    assert.equal(view.snapshot().get('k1'), 'changed');
    assert.equal(view.snapshot().version, 4 + entries.length);
  });
});
