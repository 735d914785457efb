import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenFrontError } from '../../src/errors.js';
import { dataEtag, metadataEtag } from '../../src/kvs/etag.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../../src/kvs/limits.js';
import { KeyValueBatch, assertValidKey, itemBytes, validateUpdate } from '../../src/kvs/validate.js';

describe('KVS limits', () => {
  it('default to CloudFront quotas', () => {
    assert.deepEqual(DEFAULT_KVS_LIMITS, {
      maxKeyBytes: 512,
      maxValueBytes: 1024,
      maxStoreBytes: 5 * 1024 * 1024,
      maxKeysPerUpdate: 50,
      maxUpdatePayloadBytes: 3 * 1024 * 1024,
      maxListResults: 50,
      defaultListResults: 10,
      maxStoresPerAccount: 50,
      maxFunctionsPerStore: 10,
      maxImportFileBytes: 5 * 1024 * 1024,
    });
    assert.ok(Object.isFrozen(DEFAULT_KVS_LIMITS));
  });

  it('relax every limit in the unlimited profile, keeping keys within the API model', () => {
    for (const name of Object.keys(DEFAULT_KVS_LIMITS) as Array<keyof typeof DEFAULT_KVS_LIMITS>) {
      if (name !== 'defaultListResults') assert.ok(UNLIMITED_KVS_LIMITS[name] > DEFAULT_KVS_LIMITS[name], name);
    }
    assert.equal(UNLIMITED_KVS_LIMITS.maxKeyBytes, 1024);
    assert.equal(UNLIMITED_KVS_LIMITS.defaultListResults, 10);
  });
});

describe('KVS validation', () => {
  it('counts UTF-8 bytes and rejects lone surrogates', () => {
    assert.equal(itemBytes('key1', 'value1'), 10);
    assert.equal(itemBytes('€', '😀'), 7);
    assertValidKey('😀'.repeat(128), DEFAULT_KVS_LIMITS);
    assert.throws(() => assertValidKey(`${'😀'.repeat(128)}a`, DEFAULT_KVS_LIMITS), /513 bytes/);
    assert.throws(() => assertValidKey('\uDE00x', DEFAULT_KVS_LIMITS), /lone surrogate/);
    assert.throws(() => assertValidKey(42, DEFAULT_KVS_LIMITS), /string/);
  });

  it('shortens very long keys in messages but keeps the whole key in details', () => {
    const key = 'x'.repeat(600);
    assert.throws(
      () => assertValidKey(key, DEFAULT_KVS_LIMITS),
      (err) => isOpenFrontError(err) && err.message.length < 300 && err.details.key === key,
    );
  });

  it('raises the code the caller asks for', () => {
    const batch = new KeyValueBatch(DEFAULT_KVS_LIMITS, { code: 'CF_INVALID_ARGUMENT', label: 'import item' });
    batch.add({ key: 'a', value: '' });
    assert.throws(
      () => batch.add({ key: 'a', value: 'again' }),
      (err) => isOpenFrontError(err) && err.code === 'CF_INVALID_ARGUMENT' && /first seen at import item 0/.test(err.message),
    );
    assert.equal(batch.totalBytes, 1);
  });

  it('validates UpdateKeys shape and counts deletes against the key limit', () => {
    const deletes = Array.from({ length: 50 }, (_, i) => `d${i}`);
    assert.equal(validateUpdate({ deletes }, DEFAULT_KVS_LIMITS).deletes.length, 50);
    assert.throws(() => validateUpdate({ deletes: [...deletes, 'x'] }, DEFAULT_KVS_LIMITS), /51 keys/);
    assert.throws(() => validateUpdate({ puts: {} }, DEFAULT_KVS_LIMITS), /Puts must be a list/);
    assert.throws(() => validateUpdate({ deletes: [''] }, DEFAULT_KVS_LIMITS), /Deletes 0/);
  });
});

describe('KVS ETags', () => {
  it('are deterministic, distinct per version and store, and shaped like AWS ETags', () => {
    const id = '37435e19-c205-4271-9e5c-0123456789ab';
    assert.match(dataEtag(id, 0), /^KV[0-9A-Z]{13}$/);
    assert.match(metadataEtag(id, 1), /^ETV[0-9A-Z]{10}$/);
    assert.equal(dataEtag(id, 7), dataEtag(id, 7));
    const seen = new Set(Array.from({ length: 1000 }, (_, v) => dataEtag(id, v)));
    assert.equal(seen.size, 1000);
    assert.notEqual(dataEtag(id, 1), dataEtag('37435e19-c205-4271-9e5c-0123456789ac', 1));
  });
});
