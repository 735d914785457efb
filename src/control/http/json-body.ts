/** Parsing a JSON request body into a plain object, with every failure reported as a client error. */
import { OpenFrontError, type ErrorCode } from '../../errors.js';
import { decodeUtf8 } from './body.js';

/**
 * The body as a JSON object. Invalid UTF-8, malformed JSON and non-object documents throw `errorCode` (a 4xx),
 * never a generic error that would become a 500.
 */
export function parseJsonObject(body: Buffer, errorCode: ErrorCode, options: { allowEmpty?: boolean } = {}): Record<string, unknown> {
  if (body.length === 0 && options.allowEmpty) return {};
  const text = decodeUtf8(body);
  if (text === undefined) throw new OpenFrontError(errorCode, 'The request body is not valid UTF-8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new OpenFrontError(errorCode, 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OpenFrontError(errorCode, 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}
