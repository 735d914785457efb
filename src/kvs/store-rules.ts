/**
 * What a KeyValueStore's name, comment, id and ARN may be, and the list-keys page token: the rules every state
 * backend applies, so that SQLite and JetStream refuse the same input with the same error.
 */
import { openFrontError, type OpenFrontError } from '../errors.js';

const STORE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_COMMENT_LENGTH = 128;
const ARN = /^arn:aws:cloudfront::(\d{12}):key-value-store\/([0-9a-fA-F-]{36})$/;

/** A store id as CloudFront's ARN pattern allows it (`[0-9a-fA-F-]{36}`), in the UUID layout AWS hands out. */
export const STORE_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function assertStoreId(id: string): void {
  if (!STORE_ID.test(id))
    throw openFrontError('CF_INVALID_ARGUMENT', `A KeyValueStore id must be a UUID like a1b2c3d4-5678-90ab-cdef-0123456789ab, got ${JSON.stringify(id)}`, {
      id,
    });
}

/** The account and (lower-case) store id of a store ARN; undefined for anything else. */
export function parseStoreArn(arn: string): { accountId: string; id: string } | undefined {
  const match = ARN.exec(arn);
  return match === null ? undefined : { accountId: match[1], id: match[2].toLowerCase() };
}

export function storeArn(accountId: string, id: string): string {
  return `arn:aws:cloudfront::${accountId}:key-value-store/${id}`;
}

export function assertStoreName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !STORE_NAME.test(name)) {
    throw openFrontError('CF_INVALID_ARGUMENT', `KeyValueStore name must be 1-64 characters of [a-zA-Z0-9-_], got ${JSON.stringify(name)}`);
  }
}

export function assertComment(comment: unknown): asserts comment is string {
  if (typeof comment !== 'string' || comment.length > MAX_COMMENT_LENGTH) {
    throw openFrontError('CF_INVALID_ARGUMENT', `Comment must be a string of at most ${MAX_COMMENT_LENGTH} characters`);
  }
}

export function encodeNextToken(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

export function decodeNextToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  // base64url decoding never throws; a token that does not round-trip was not made here.
  if (key === '' || encodeNextToken(key) !== token) throw openFrontError('KVS_VALIDATION', 'NextToken is not valid', { nextToken: token });
  return key;
}

/**
 * The data-plane write's refusal when If-Match does not name the store's current version (or is missing where it is
 * required): one wording for both backends, as AWS answers it.
 */
export function ifMatchConflict(storeId: string, ifMatch: string | undefined): OpenFrontError {
  return openFrontError(
    'KVS_CONFLICT',
    ifMatch === undefined
      ? 'Resource is not in expected state: If-Match is required'
      : `Resource is not in expected state: ETag ${ifMatch} is not the current version of the store`,
    { storeId },
  );
}
