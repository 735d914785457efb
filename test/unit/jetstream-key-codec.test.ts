/** Store keys as NATS KV keys: every key a store accepts becomes a valid NATS key and comes back unchanged. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeKey, encodeKey, isEncodedKey, journalSubject, keySubject, natsKeyOfSubject, storeBucket } from '../../src/state/jetstream/key-codec.js';
import { openFrontErrorFrom } from '../helpers/errors.js';

/** The NATS KV key rule (nats.js `validateKey`): these characters, no leading/trailing dot, no empty token. */
function isValidNatsKey(k: string): boolean {
  return /^[-/_=.a-zA-Z0-9]+$/.test(k) && !k.startsWith('.') && !k.endsWith('.') && !k.includes('..');
}

/** A 512-byte key made of the characters NATS refuses in keys, repeated. */
function hostileKey(): string {
  const parts = ['ü', 'é', '*', '>', '.', ' ', '\0', '/'];
  let key = '';
  for (let i = 0; Buffer.byteLength(key + parts[i % parts.length]!) <= 512; i++) key += parts[i % parts.length]!;
  return key;
}

describe('jetstream key codec', () => {
  it('round-trips a 512-byte key of ü é * > . space \\0 / into a valid NATS key of 683 characters', () => {
    const key = hostileKey();
    assert.equal(Buffer.byteLength(key), 512);
    const encoded = encodeKey(key);
    assert.ok(isValidNatsKey(encoded), encoded);
    assert.equal(encoded.length, 'k.'.length + 683);
    assert.equal(encoded.split('.').length, 2, 'exactly one dot: the prefix separator');
    assert.equal(decodeKey(encoded), key);
  });

  it('encodes as k. + unpadded base64url of the UTF-8 bytes', () => {
    assert.equal(encodeKey('café'), `k.${Buffer.from('café').toString('base64url')}`);
    assert.equal(encodeKey('a'), 'k.YQ');
    assert.equal(encodeKey('??>'), 'k.Pz8-', 'base64url, never + or /');
    assert.equal(encodeKey(''), 'k.=');
    assert.equal(decodeKey('k.='), '');
  });

  it('round-trips any string of valid UTF-16 and always gives a valid NATS key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (key) => {
        const encoded = encodeKey(key);
        assert.ok(isValidNatsKey(encoded), encoded);
        assert.equal(decodeKey(encoded), key);
      }),
      { numRuns: 500, seed: 13 },
    );
  });

  it('refuses NATS keys that no store key encodes to', () => {
    for (const bad of ['_tx', 'YQ', 'k.', 'k.a+b', 'k.Y Q', 'k.YR', 'k./w', 'k.gA']) {
      assert.equal(openFrontErrorFrom(() => decodeKey(bad)).code, 'KVS_VALIDATION', bad);
    }
    assert.equal(isEncodedKey('_tx'), false);
    assert.equal(isEncodedKey(encodeKey('x')), true);
  });

  it('names buckets, key subjects and the journal subject', () => {
    const id = '0b6f8a52-6c0e-4a7e-9d3a-0f5a2c1e9b77';
    assert.equal(storeBucket(id), `ofkv_${id}`);
    assert.equal(keySubject(id, 'a'), `$KV.ofkv_${id}.k.YQ`);
    assert.equal(journalSubject(id), `$KV.ofkv_${id}._tx`);
    assert.equal(natsKeyOfSubject(id, keySubject(id, 'a')), 'k.YQ');
    assert.equal(natsKeyOfSubject(id, '$KV.other.k.YQ'), undefined);
  });
});
