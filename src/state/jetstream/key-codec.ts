/**
 * KeyValueStore keys as NATS KV keys. A NATS key must match `[-/_=.a-zA-Z0-9]+` and `.` separates subject tokens,
 * while a store key is any UTF-8 string up to 512 bytes (spaces, `*`, `>`, `.`, `\0`, non-ASCII …). So a user key
 * becomes `k.` + base64url of its UTF-8 bytes, unpadded: only `[A-Za-z0-9_-]`, never a dot, and a 512-byte key is
 * 683 characters, well under the server's 4 KB control line. The client's own `Base64KeyCodec` is not usable: it
 * emits standard base64 (`+`, an invalid key character) and throws on non-Latin-1 text.
 *
 * The `k.` prefix keeps the rest of the bucket's subject space for internal subjects, such as the `_tx` batch
 * journal.
 */
import { openFrontError } from '../../errors.js';

/** The token before every encoded user key. */
export const KEY_PREFIX = 'k.';
/** The encoded form of the empty key (base64url of nothing is empty, and a NATS key token cannot be). */
const EMPTY_KEY_TOKEN = '=';
/** The batch journal's key inside a store's bucket (subject `$KV.<bucket>._tx`). */
export const JOURNAL_KEY = '_tx';
/** The keys of a journal too big for one message, one per part: `_txp.<index>` (distinct subjects, because a bucket with
 * `history: 1` keeps one message per subject). */
export const JOURNAL_PART_PREFIX = '_txp.';

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** The NATS KV key for a store key. */
export function encodeKey(key: string): string {
  if (key.length === 0) return KEY_PREFIX + EMPTY_KEY_TOKEN;
  return KEY_PREFIX + Buffer.from(key, 'utf8').toString('base64url');
}

/** The store key a NATS KV key encodes; throws `KVS_VALIDATION` for anything {@link encodeKey} cannot have made. */
export function decodeKey(natsKey: string): string {
  const token = natsKey.startsWith(KEY_PREFIX) ? natsKey.slice(KEY_PREFIX.length) : undefined;
  if (token === EMPTY_KEY_TOKEN) return '';
  if (token === undefined || !BASE64URL.test(token)) throw notAnEncodedKey(natsKey);
  const key = Buffer.from(token, 'base64url').toString('utf8');
  // Node's decoder is lenient (stray bits, invalid UTF-8 become U+FFFD): only the canonical encoding is accepted.
  if (encodeKey(key) !== natsKey) throw notAnEncodedKey(natsKey);
  return key;
}

/** True for NATS keys that hold a user key (as opposed to the journal and other internal keys). */
export function isEncodedKey(natsKey: string): boolean {
  return natsKey.startsWith(KEY_PREFIX);
}

/** The bucket holding one store's data. Store ids are lower-case UUIDs or `[a-z0-9-]` ids, valid bucket names. */
export function storeBucket(storeId: string): string {
  return `ofkv_${storeId}`;
}

/** The stream behind a store's bucket. */
export function storeStream(storeId: string): string {
  return `KV_${storeBucket(storeId)}`;
}

/** The subject a store key's messages are published on. */
export function keySubject(storeId: string, key: string): string {
  return `$KV.${storeBucket(storeId)}.${encodeKey(key)}`;
}

/** The subject of a store's batch journal. */
export function journalSubject(storeId: string): string {
  return `$KV.${storeBucket(storeId)}.${JOURNAL_KEY}`;
}

/** The subject of part `index` of a store's batch journal that spans several messages. */
export function journalPartSubject(storeId: string, index: number): string {
  return `$KV.${storeBucket(storeId)}.${JOURNAL_PART_PREFIX}${index}`;
}

/** The NATS KV key of a message subject of `storeId`'s bucket (what follows `$KV.<bucket>.`). */
export function natsKeyOfSubject(storeId: string, subject: string): string | undefined {
  const prefix = `$KV.${storeBucket(storeId)}.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : undefined;
}

function notAnEncodedKey(natsKey: string) {
  return openFrontError('KVS_VALIDATION', `Not an encoded store key: ${JSON.stringify(natsKey.slice(0, 80))}`, { natsKey: natsKey.slice(0, 80) });
}
