/** The value-schema document: its bounds, its shape, how values meet it, and what a violation says. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isOpenFrontError, type ErrorCode } from '../../src/errors.js';
import {
  assertValuesMatchSchema,
  globMatches,
  parseValueSchema,
  schemaViolations,
  VALUE_SCHEMA_LIMITS,
  type SchemaViolation,
} from '../../src/kvs/value-schema.js';

function throwsCode(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isOpenFrontError(err), String(err));
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function violations(doc: unknown, items: Array<[string, string]>): SchemaViolation[] {
  return schemaViolations(
    'store-1',
    parseValueSchema(doc),
    items.map(([key, value]) => ({ key, value })),
    10,
  ).violations;
}

describe('value schema document bounds', () => {
  it('refuses a document over 64 KiB, as text and as a value', () => {
    const huge = { default: { description: 'x'.repeat(VALUE_SCHEMA_LIMITS.maxDocumentBytes) } };
    throwsCode(() => parseValueSchema(JSON.stringify(huge)), 'KVS_SCHEMA_INVALID', /bytes; the limit is 65536/);
    throwsCode(() => parseValueSchema(huge), 'KVS_SCHEMA_INVALID', /the limit is 65536/);
  });

  it('refuses nesting deeper than 32 levels without overflowing the stack', () => {
    let deep: unknown = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { properties: { a: deep } };
    throwsCode(() => parseValueSchema({ default: deep }), 'KVS_SCHEMA_INVALID', /deeper than 32/);
    // 100k levels of arrays in text: JSON.parse copes; the iterative depth check must too.
    const text = `{"default":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    throwsCode(() => parseValueSchema(text), 'KVS_SCHEMA_INVALID', /deeper than 32/);
  });

  it('refuses a $ref outside the document (no network), and other drafts', () => {
    throwsCode(() => parseValueSchema({ default: { $ref: 'https://example.com/schema.json' } }), 'KVS_SCHEMA_INVALID', /only references inside the schema/);
    throwsCode(() => parseValueSchema({ default: { properties: { a: { $ref: 'other.json#/x' } } } }), 'KVS_SCHEMA_INVALID', /#\/default\/properties\/a\/\$ref/);
    throwsCode(() => parseValueSchema({ default: { $dynamicRef: 'http://x/y' } }), 'KVS_SCHEMA_INVALID');
    throwsCode(() => parseValueSchema({ default: { $schema: 'http://json-schema.org/draft-07/schema#' } }), 'KVS_SCHEMA_INVALID', /2020-12/);
    // A local reference is fine.
    const local = parseValueSchema({ default: { $defs: { url: { type: 'string', pattern: '^/' } }, $ref: '#/$defs/url' } });
    assert.deepEqual(
      schemaViolations('s', local, [{ key: 'k', value: '"x"' }], 5).violations.map((v) => v.schemaPath),
      ['#/default/$defs/url/pattern'],
    );
  });

  it('refuses schemas ajv cannot compile, unknown keywords and formats, and bad document shapes', () => {
    throwsCode(() => parseValueSchema({ default: { type: 'strnig' } }), 'KVS_SCHEMA_INVALID', /#\/default/);
    throwsCode(() => parseValueSchema({ default: { typo: 1 } }), 'KVS_SCHEMA_INVALID', /unknown keyword/);
    throwsCode(() => parseValueSchema({ default: { type: 'string', format: 'not-a-format' } }), 'KVS_SCHEMA_INVALID', /unknown format/);
    throwsCode(() => parseValueSchema({ type: 'object' }), 'KVS_SCHEMA_INVALID', /wrap it as \{"default": <schema>\}/);
    throwsCode(() => parseValueSchema('[1,2]'), 'KVS_SCHEMA_INVALID', /must be a JSON object/);
    throwsCode(() => parseValueSchema('{nope'), 'KVS_SCHEMA_INVALID', /not JSON/);
    throwsCode(() => parseValueSchema({ patterns: [{ keys: '', schema: true }] }), 'KVS_SCHEMA_INVALID', /patterns\[0\]\.keys/);
    throwsCode(() => parseValueSchema({ patterns: [{ keys: 'a', schema: 3 }] }), 'KVS_SCHEMA_INVALID', /patterns\[0\]\.schema/);
    const many = Array.from({ length: VALUE_SCHEMA_LIMITS.maxPatterns + 1 }, (_, i) => ({ keys: `k${i}`, schema: true }));
    throwsCode(() => parseValueSchema({ patterns: many }), 'KVS_SCHEMA_INVALID', /at most 100 patterns/);
  });

  it('gives equal documents the same ETag and different ones different ETags', () => {
    const a = parseValueSchema('{"default":{"type":"string"}}');
    assert.equal(a.etag, parseValueSchema({ default: { type: 'string' } }).etag);
    assert.notEqual(a.etag, parseValueSchema({ default: { type: 'number' } }).etag);
    assert.match(a.etag, /^VS[0-9A-F]{20}$/);
  });
});

describe('value schema matching', () => {
  it('globs: * spans any characters including /, ? is one character, the rest is literal', () => {
    assert.ok(globMatches('redirects/*', 'redirects/a/b'));
    assert.ok(globMatches('*', ''));
    assert.ok(globMatches('a?c', 'abc'));
    assert.ok(!globMatches('a?c', 'ac'));
    assert.ok(globMatches('*.json', 'x.y.json'));
    assert.ok(!globMatches('redirects/*', 'redirect/a'));
    assert.ok(globMatches('a*b*c', 'aXbYbZc'));
    assert.ok(!globMatches('a.c', 'abc'), 'a dot is a dot');
    // Pathological pattern against a long key stays fast (no regex backtracking).
    assert.ok(!globMatches('*a*a*a*a*a*a*a*b', 'a'.repeat(1024)));
  });

  it('takes the first matching pattern, then default, else accepts anything', () => {
    const doc = {
      default: { type: 'integer' },
      patterns: [
        { keys: 'flags/beta', schema: { type: 'string', const: 'special' } },
        { keys: 'flags/*', schema: { type: 'string', enum: ['on', 'off'] } },
      ],
    };
    assert.deepEqual(
      violations(doc, [
        ['flags/beta', 'special'],
        ['flags/x', 'on'],
        ['n', '42'],
      ]),
      [],
    );
    const found = violations(doc, [
      ['flags/beta', 'on'],
      ['n', '"42"'],
    ]);
    assert.deepEqual(
      found.map((v) => [v.key, v.keyPattern, v.schemaPath]),
      [
        ['flags/beta', 'flags/beta', '#/patterns/0/schema/const'],
        ['n', 'default', '#/default/type'],
      ],
    );
    assert.deepEqual(violations({ patterns: [{ keys: 'x/*', schema: false }] }, [['y', 'anything']]), []);
  });

  it('validates text for a top-level "string" schema and the parsed JSON for any other', () => {
    const text = { default: { type: 'string', pattern: '^/' } };
    assert.deepEqual(violations(text, [['k', '/plain/text']]), []);
    assert.equal(violations(text, [['k', '"/quoted"']]).length, 1, 'text is not parsed: the quote fails the pattern');
    assert.deepEqual(violations({ default: { type: 'string' } }, [['k', '123']]), [], 'digits are text for a string schema');
    const json = { default: { type: ['string', 'number'] } };
    assert.deepEqual(violations(json, [['k', '123']]), []);
    assert.deepEqual(violations(json, [['k', '"quoted"']]), []);
    const notJson = violations(json, [['k', 'plain']]);
    assert.equal(notJson[0]?.problem.startsWith('is not JSON'), true);
    assert.ok(violations({ default: { type: 'object' } }, [['k', '{"a":1']]).length === 1);
  });

  it('knows formats (ajv-formats)', () => {
    const doc = { default: { type: 'string', format: 'uri' } };
    assert.deepEqual(violations(doc, [['k', 'https://example.com/x']]), []);
    assert.equal(violations(doc, [['k', 'not a uri']]).length, 1);
  });

  it('names the key, the schema path and the problem; reports at most 10 of a batch, the count of all', () => {
    const schema = parseValueSchema({ default: { type: 'object', properties: { status: { type: 'integer' } } } });
    const items = Array.from({ length: 30 }, (_, i) => ({ key: `k${i}`, value: i % 2 === 0 ? '{"status":"x"}' : '{"status":1}' }));
    assert.throws(
      () => assertValuesMatchSchema('s', 'redirects', schema, items),
      (err: unknown) => {
        assert.ok(isOpenFrontError(err));
        assert.equal(err.code, 'KVS_SCHEMA_VIOLATION');
        assert.equal(err.status, 400);
        assert.equal(err.awsType, 'ValidationException');
        assert.equal(
          err.message,
          'Key "k0": value at /status must be integer (schema #/default/properties/status/type) (15 values fail the schema; nothing was written)',
        );
        assert.equal(err.details.count, 15);
        assert.equal((err.details.violations as unknown[]).length, 10);
        return true;
      },
    );
    assert.doesNotThrow(() => assertValuesMatchSchema('s', 'redirects', undefined, items));
  });
});

describe('value schema false subschemas', () => {
  it('names the path of the false schema itself', () => {
    const found = violations({ default: { type: 'object', properties: { legacy: false } } }, [['k', '{"legacy":1}']]);
    assert.deepEqual(
      found.map((v) => [v.schemaPath, v.instancePath, v.problem]),
      [['#/default/properties/legacy', '/legacy', 'is not allowed (the schema is false)']],
    );
  });
});
