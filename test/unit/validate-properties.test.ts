/**
 * Property-based tests (fast-check) of result validation: whatever a function returns, validation either accepts
 * it or throws the catalog's FunctionValidationError, never anything else; valid results are accepted as they
 * are; a header name outside RFC 9110's token or a value outside its field-value grammar is always refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isOpenFrontError } from '../../src/errors.js';
import type { CFEvent } from '../../src/runtime/event.js';
import { isDisallowedHeader, isReadOnlyHeader } from '../../src/runtime/headers.js';
import { validateResult } from '../../src/runtime/validate.js';
import { testEvent } from '../helpers/events.js';

/** The reason validation refused `returned`, or 'accepted'; anything but the catalog error fails the property. */
function verdict(returned: unknown, event: CFEvent): string {
  try {
    validateResult(returned, event);
    return 'accepted';
  } catch (err) {
    assert.ok(isOpenFrontError(err), `validation threw ${String(err)}`);
    assert.equal(err.code, 'FUNCTION_VALIDATION_ERROR');
    return String(err.details.reason);
  }
}

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz".split('');
const headerName = fc
  .array(fc.constantFrom(...TOKEN_CHARS), { minLength: 1, maxLength: 16 })
  .map((cs) => cs.join(''))
  .filter(
    (name) =>
      !isDisallowedHeader(name) &&
      !isReadOnlyHeader(name, 'viewer-request') &&
      !isReadOnlyHeader(name, 'viewer-response') &&
      name !== 'cookie' &&
      name !== 'set-cookie',
  );
/** RFC 9110 field-value characters: HTAB, SP, VCHAR, obs-text. */
const fieldValue = fc
  .array(fc.oneof(fc.constant(0x09), fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff })), { maxLength: 20 })
  .map((cs) => String.fromCharCode(...cs));
/** A character no field value may hold: controls but HTAB, DEL, anything above U+00FF. */
const badChar = fc
  .oneof(
    fc.integer({ min: 0, max: 0x08 }),
    fc.integer({ min: 0x0a, max: 0x1f }),
    fc.constant(0x7f),
    fc.integer({ min: 0x100, max: 0xffff }).filter((c) => c < 0xd800 || c > 0xdfff),
  )
  .map((c) => String.fromCharCode(c));
const headerMap = fc
  .dictionary(
    headerName,
    fieldValue.map((value) => ({ value })),
    { maxKeys: 6 },
  )
  .map((map) => ({ ...map }));
const eventType = fc.constantFrom('viewer-request' as const, 'viewer-response' as const);

describe('result validation properties', () => {
  it('never throws anything but FunctionValidationError, whatever the function returns', () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), eventType, (returned, type) => void verdict(returned, testEvent('/', type))),
      { numRuns: 300 },
    );
  });

  it('never throws anything but FunctionValidationError for result-shaped values with arbitrary fields', () => {
    const loose = fc.record(
      {
        statusCode: fc.oneof(fc.integer({ min: -10, max: 1000 }), fc.string(), fc.constant(undefined)),
        statusDescription: fc.oneof(fc.string(), fc.integer()),
        headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.record({ value: fc.oneof(fc.string(), fc.integer()) }), fc.anything({ maxDepth: 2 }))),
        cookies: fc.anything({ maxDepth: 3 }),
        body: fc.oneof(fc.string(), fc.record({ data: fc.string(), encoding: fc.constantFrom('text', 'base64', 'hex') }), fc.anything({ maxDepth: 2 })),
        method: fc.constantFrom('GET', 'POST'),
        uri: fc.oneof(fc.constant('/'), fc.string()),
        querystring: fc.oneof(fc.string(), fc.anything({ maxDepth: 3 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(loose, eventType, (returned, type) => void verdict(returned, testEvent('/', type))),
      { numRuns: 300 },
    );
  });

  it('accepts the event request returned unchanged, and any valid generated response', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 200, max: 599 }),
        headerMap,
        fc.option(
          fieldValue.map((s) => s.trim()),
          { nil: undefined },
        ),
        fc.string({ maxLength: 100 }),
        (status, headers, description, body) => {
          const event = testEvent('/');
          assert.equal(verdict(structuredClone(event.request), event), 'accepted');
          const response = { statusCode: status, headers, body, ...(description === undefined ? {} : { statusDescription: description }) };
          assert.equal(verdict(response, event), 'accepted');
          const validated = validateResult(response, event);
          assert.equal(validated.kind, 'response');
          assert.deepEqual(validated.kind === 'response' ? validated.response.headers : undefined, headers);
        },
      ),
    );
  });

  it('refuses a header value with a character outside field-value, wherever it sits, added or changed', () => {
    fc.assert(
      fc.property(headerName, fieldValue, badChar, fieldValue, fc.boolean(), eventType, (name, before, bad, after, asMulti, type) => {
        const value = `${before}${bad}${after}`;
        const entry = asMulti ? { value: 'ok', multiValue: [{ value: 'ok' }, { value }] } : { value };
        const event = testEvent('/', type);
        const returned =
          type === 'viewer-request'
            ? { ...structuredClone(event.request), headers: { ...event.request.headers, [name]: entry } }
            : { statusCode: 200, headers: { [name]: entry } };
        assert.equal(verdict(returned, event), 'header-value');
      }),
    );
  });

  it('refuses a header name outside the token grammar and a status text outside reason-phrase', () => {
    const notToken = fc.oneof(
      fc.constantFrom(' ', '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '\u00e9', '\u0000'),
      badChar,
    );
    fc.assert(
      fc.property(headerName, notToken, badChar, (name, bad, badText) => {
        const event = testEvent('/');
        assert.equal(verdict({ statusCode: 200, headers: { [`${name}${bad}`]: { value: 'v' } } }, event), 'header-name');
        assert.equal(verdict({ statusCode: 200, statusDescription: `OK${badText}` }, event), 'status-description');
      }),
    );
  });
});
