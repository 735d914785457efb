import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenFrontError } from '../../src/errors.js';
import { MAX_CHANGE_SET_BYTES, parseChangeSet, parseChangeSetText } from '../../src/kvs/change-set.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../../src/kvs/limits.js';

function refused(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isOpenFrontError(err) && err.code === code && pattern.test(err.message));
}

describe('change sets', () => {
  it('accepts several stores and fills in missing lists', () => {
    const set = parseChangeSet({ stores: { a: { puts: [{ key: 'k', value: 'v' }] }, b: { deletes: ['x'] } } }, DEFAULT_KVS_LIMITS);
    assert.deepEqual(set, { stores: { a: { puts: [{ key: 'k', value: 'v' }], deletes: [] }, b: { puts: [], deletes: ['x'] } } });
  });

  it('is not capped at 50 keys per store', () => {
    const puts = Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    assert.equal(parseChangeSet({ stores: { a: { puts } } }, DEFAULT_KVS_LIMITS).stores.a!.puts.length, 500);
  });

  it('refuses unknown fields, bad names and empty sets', () => {
    refused(() => parseChangeSet({ stores: {}, extra: 1 }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /extra|Unrecognized/);
    refused(() => parseChangeSet({ stores: { 'bad name': { deletes: ['k'] } } }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /store names/);
    refused(() => parseChangeSet({ stores: {} }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /names no store/);
    refused(() => parseChangeSet({ stores: { a: {} } }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /no put or delete for store a/);
    refused(() => parseChangeSetText('{', DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /not JSON/);
  });

  it('applies the store limits and names the store and item', () => {
    const big = 'x'.repeat(DEFAULT_KVS_LIMITS.maxValueBytes + 1);
    refused(() => parseChangeSet({ stores: { a: { puts: [{ key: 'k', value: big }] } } }, DEFAULT_KVS_LIMITS), 'KVS_VALIDATION', /stores\.a\.puts 0/);
    assert.ok(parseChangeSet({ stores: { a: { puts: [{ key: 'k', value: big }] } } }, UNLIMITED_KVS_LIMITS));
    refused(
      () => parseChangeSet({ stores: { a: { puts: [{ key: 'k', value: '1' }], deletes: ['k'] } } }, DEFAULT_KVS_LIMITS),
      'INPUT_INVALID',
      /both put and deleted in store a/,
    );
    refused(() => parseChangeSet({ stores: { a: { deletes: ['k', 'k'] } } }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /Duplicate key "k"/);
  });

  it('bounds the total size (abuse: a set far beyond 5 MB)', () => {
    const value = 'v'.repeat(1000);
    const puts = Array.from({ length: Math.ceil(MAX_CHANGE_SET_BYTES / 1000) + 10 }, (_, i) => ({ key: `k${i}`, value }));
    refused(() => parseChangeSet({ stores: { a: { puts } } }, DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /larger than/);
    refused(() => parseChangeSetText(' '.repeat(2 * MAX_CHANGE_SET_BYTES + 1), DEFAULT_KVS_LIMITS), 'INPUT_INVALID', /file is larger/);
  });
});
