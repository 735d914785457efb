/**
 * Value schemas (docs/safe-changes.md, "Value schemas"): a store may carry a JSON Schema (draft 2020-12, checked by
 * ajv) for its values, optionally one per key pattern. Both state backends call this one module inside every data
 * write, before anything is written, so a batch with one bad value stores nothing.
 *
 * The document:
 * ```json
 * { "default": { "type": "string" }, "patterns": [{ "keys": "redirects/*", "schema": { "type": "object" } }] }
 * ```
 * A key takes the schema of the first pattern whose glob matches it (`*` = any run of characters, `/` included;
 * `?` = one character), else `default`; with neither, any value is accepted.
 *
 * How a string value meets a schema: when the schema's top-level `type` is exactly `"string"`, the value's text is
 * validated as a JSON string (plain text such as `/new-path` passes `{"type":"string","pattern":"^/"}`). Any other
 * schema validates the value parsed as JSON; a value that is not JSON fails. (`true` and `false` need no parsing.)
 *
 * Bounds: a document is at most 64 KiB of JSON, 32 levels deep, with at most 100 patterns; a `$ref` may only point
 * inside the document (`#…`): nothing is ever fetched.
 */
import { createHash } from 'node:crypto';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import * as ajvFormats from 'ajv-formats';
import { LRUCache } from 'lru-cache';
import { openFrontError, OpenFrontError } from '../errors.js';
import type { KeyValue } from './types.js';
import { quoteKey } from './validate.js';

export const VALUE_SCHEMA_LIMITS = {
  /** Bytes of the document's JSON text. */
  maxDocumentBytes: 64 * 1024,
  /** Nesting of objects and arrays in the document. */
  maxDepth: 32,
  maxPatterns: 100,
  /** Characters of one key glob. */
  maxGlobLength: 512,
  /** Violations a rejected write reports (the first one is in the message). */
  maxReportedViolations: 10,
  /** Offending keys a refused schema change lists. */
  maxReportedKeys: 20,
} as const;

/** A JSON Schema: an object or a boolean (`true` accepts everything, `false` nothing). */
export type JsonSchema = boolean | Record<string, unknown>;

export interface ValueSchemaDocument {
  /** The schema of keys no pattern matches; absent: those keys take any value. */
  default?: JsonSchema;
  /** Checked in order; the first glob matching the key decides. */
  patterns?: Array<{ keys: string; schema: JsonSchema }>;
  description?: string;
}

/** A document that passed {@link parseValueSchema}: bounded, compiled once, identified by its hash. */
export interface ParsedValueSchema {
  readonly document: ValueSchemaDocument;
  /** The canonical JSON text stored by the backends. */
  readonly text: string;
  /** `VS` + 20 hex digits of the text's SHA-256: the If-Match value of `kvs schema set`. */
  readonly etag: string;
}

/** A store's schema as the state answers it. */
export interface StoredValueSchema extends ParsedValueSchema {
  updated: Date;
  updatedBy: string;
}

/** One value that fails its schema. */
export interface SchemaViolation {
  key: string;
  /** The glob that chose the schema, or "default". */
  keyPattern: string;
  /** Where in the document the failing keyword is, e.g. `#/patterns/0/schema/properties/status/type`. */
  schemaPath: string;
  /** Where in the value, e.g. `/status` ("" for the whole value). */
  instancePath: string;
  problem: string;
}

const DOCUMENT_KEYS = new Set(['default', 'patterns', 'description']);
const REF_KEYWORDS = new Set(['$ref', '$dynamicRef', '$recursiveRef']);
const DRAFT_2020 = 'https://json-schema.org/draft/2020-12/schema';

function invalid(message: string, details: Record<string, unknown> = {}): OpenFrontError {
  return openFrontError('KVS_SCHEMA_INVALID', `Invalid value schema: ${message}`, details);
}

/**
 * Checks a document (its JSON text or the parsed value) against the bounds and the document shape, compiles every
 * schema in it, and returns it with its canonical text and ETag. Throws KVS_SCHEMA_INVALID naming the problem.
 */
export function parseValueSchema(input: unknown): ParsedValueSchema {
  let value: unknown = input;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > VALUE_SCHEMA_LIMITS.maxDocumentBytes) throw tooLarge(bytes);
    try {
      value = JSON.parse(input);
    } catch (err) {
      throw invalid(`not JSON: ${(err as Error).message}`);
    }
  }
  assertBoundedDepth(value);
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > VALUE_SCHEMA_LIMITS.maxDocumentBytes) throw tooLarge(bytes);
  const document = assertDocumentShape(value);
  assertLocalRefs(document);
  const parsed: ParsedValueSchema = { document, text, etag: schemaEtag(text) };
  compile(parsed);
  return parsed;
}

/** The parsed form of a document a backend stored (already checked when it was set). */
export function storedValueSchema(text: string, updated: Date, updatedBy: string): StoredValueSchema {
  return { document: JSON.parse(text) as ValueSchemaDocument, text, etag: schemaEtag(text), updated, updatedBy };
}

export function schemaEtag(text: string): string {
  return `VS${createHash('sha256').update(text).digest('hex').slice(0, 20).toUpperCase()}`;
}

/**
 * The values of `puts` that fail `schema`, at most `limit` of them (in the order given). `storeId` scopes the
 * compiled-schema cache.
 */
export function schemaViolations(
  storeId: string,
  schema: ParsedValueSchema,
  puts: Iterable<KeyValue>,
  limit: number,
): { violations: SchemaViolation[]; count: number } {
  const compiled = compiledFor(storeId, schema);
  const violations: SchemaViolation[] = [];
  let count = 0;
  for (const { key, value } of puts) {
    const violation = compiled.check(key, value);
    if (violation === undefined) continue;
    count += 1;
    if (violations.length < limit) violations.push(violation);
  }
  return { violations, count };
}

/** Throws KVS_SCHEMA_VIOLATION when any value of `puts` fails the store's schema; the message names the first. */
export function assertValuesMatchSchema(storeId: string, storeName: string, schema: ParsedValueSchema | undefined, puts: readonly KeyValue[]): void {
  if (schema === undefined || puts.length === 0) return;
  const { violations, count } = schemaViolations(storeId, schema, puts, VALUE_SCHEMA_LIMITS.maxReportedViolations);
  if (count === 0) return;
  const first = violations[0];
  const more = count > 1 ? ` (${count} values fail the schema; nothing was written)` : ' (nothing was written)';
  throw openFrontError('KVS_SCHEMA_VIOLATION', `${describeViolation(first)}${more}`, { store: storeName, count, violations });
}

/** Throws KVS_SCHEMA_NONCONFORMING listing (some of) the stored keys a new schema would reject. */
export function assertStoreConforms(storeId: string, storeName: string, schema: ParsedValueSchema, items: Iterable<KeyValue>): void {
  const { violations, count } = schemaViolations(storeId, schema, items, VALUE_SCHEMA_LIMITS.maxReportedKeys);
  if (count === 0) return;
  const keys = violations.map((v) => v.key);
  const listed = keys.map(quoteKey).join(', ') + (count > keys.length ? ` and ${count - keys.length} more` : '');
  throw openFrontError(
    'KVS_SCHEMA_NONCONFORMING',
    `${count} value${count === 1 ? '' : 's'} of store ${storeName} would fail the new schema: ${listed}. First: ${describeViolation(violations[0])}. ` +
      'Fix those values first, or set the schema with force (they stay as they are; later writes must conform)',
    { store: storeName, count, keys, violations },
  );
}

export function describeViolation(v: SchemaViolation): string {
  const where = v.instancePath === '' ? 'value' : `value at ${v.instancePath}`;
  return `Key ${quoteKey(v.key)}: ${where} ${v.problem} (schema ${v.schemaPath})`;
}

/** Glob match: `*` = any run of characters (possibly empty), `?` = one character, anything else itself. */
export function globMatches(glob: string, key: string): boolean {
  // Greedy with one backtrack point: O(glob × key) at worst, no regular expression to blow up.
  let g = 0;
  let k = 0;
  let star = -1;
  let resume = 0;
  while (k < key.length) {
    if (g < glob.length && (glob[g] === '?' || (glob[g] !== '*' && glob[g] === key[k]))) {
      g += 1;
      k += 1;
    } else if (g < glob.length && glob[g] === '*') {
      star = g;
      resume = k;
      g += 1;
    } else if (star !== -1) {
      g = star + 1;
      resume += 1;
      k = resume;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g += 1;
  return g === glob.length;
}

// ------------------------------------------------------------------ internals

function tooLarge(bytes: number): OpenFrontError {
  return invalid(`the document is ${bytes} bytes; the limit is ${VALUE_SCHEMA_LIMITS.maxDocumentBytes} bytes`, { bytes });
}

/** Iterative, so a hostile nesting depth cannot overflow the stack while it is measured. */
function assertBoundedDepth(value: unknown): void {
  const stack: Array<{ node: unknown; depth: number }> = [{ node: value, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > VALUE_SCHEMA_LIMITS.maxDepth) throw invalid(`the document nests deeper than ${VALUE_SCHEMA_LIMITS.maxDepth} levels`);
    for (const child of Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'boolean' || (typeof value === 'object' && value !== null && !Array.isArray(value));
}

function assertDocumentShape(value: unknown): ValueSchemaDocument {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('the document must be a JSON object');
  const doc = value as Record<string, unknown>;
  const unknown = Object.keys(doc).filter((k) => !DOCUMENT_KEYS.has(k));
  if (unknown.length > 0) {
    throw invalid(
      `unknown field${unknown.length === 1 ? '' : 's'} ${unknown.map((k) => JSON.stringify(k)).join(', ')}: a document has "default" and/or "patterns" ` +
        '(to use one JSON Schema for every value, wrap it as {"default": <schema>})',
    );
  }
  if (doc.default !== undefined && !isSchema(doc.default)) throw invalid('"default" must be a JSON Schema (an object or a boolean)');
  if (doc.description !== undefined && typeof doc.description !== 'string') throw invalid('"description" must be a string');
  if (doc.patterns !== undefined) {
    if (!Array.isArray(doc.patterns)) throw invalid('"patterns" must be a list of {"keys": "<glob>", "schema": {…}}');
    if (doc.patterns.length > VALUE_SCHEMA_LIMITS.maxPatterns) throw invalid(`at most ${VALUE_SCHEMA_LIMITS.maxPatterns} patterns, got ${doc.patterns.length}`);
    doc.patterns.forEach((entry: unknown, i) => {
      const e = entry as Record<string, unknown>;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(`patterns[${i}] must be {"keys": "<glob>", "schema": {…}}`);
      const extra = Object.keys(e).filter((k) => k !== 'keys' && k !== 'schema');
      if (extra.length > 0) throw invalid(`patterns[${i}] has unknown field ${JSON.stringify(extra[0])} (it takes "keys" and "schema")`);
      if (typeof e.keys !== 'string' || e.keys.length === 0 || e.keys.length > VALUE_SCHEMA_LIMITS.maxGlobLength) {
        throw invalid(`patterns[${i}].keys must be a glob of 1 to ${VALUE_SCHEMA_LIMITS.maxGlobLength} characters`);
      }
      if (!isSchema(e.schema)) throw invalid(`patterns[${i}].schema must be a JSON Schema (an object or a boolean)`);
    });
  }
  return doc as ValueSchemaDocument;
}

/** Only references inside the document: ajv would try to resolve anything else, and we never fetch. */
function assertLocalRefs(document: ValueSchemaDocument): void {
  const stack: Array<{ node: unknown; path: string }> = [{ node: document, path: '#' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    for (const [key, child] of Object.entries(node)) {
      const at = `${path}/${key}`;
      if (REF_KEYWORDS.has(key) && typeof child === 'string' && !child.startsWith('#')) {
        throw invalid(`${at} refers to ${JSON.stringify(child)}: only references inside the schema ("#/…") are allowed; nothing is fetched`, { at });
      }
      if (key === '$schema' && typeof child === 'string' && child.replace(/#$/, '') !== DRAFT_2020) {
        throw invalid(`${at}: only JSON Schema draft 2020-12 (${DRAFT_2020}) is supported, got ${JSON.stringify(child)}`, { at });
      }
      stack.push({ node: child, path: at });
    }
  }
}

interface CompiledEntry {
  keyPattern: string;
  schemaPath: string;
  /** The top-level type is "string": the value's text is validated as it is, not parsed. */
  text: boolean;
  validate: ValidateFunction;
}

class CompiledValueSchema {
  readonly #patterns: Array<CompiledEntry & { glob: string }>;
  readonly #fallback: CompiledEntry | undefined;

  constructor(patterns: Array<CompiledEntry & { glob: string }>, fallback: CompiledEntry | undefined) {
    this.#patterns = patterns;
    this.#fallback = fallback;
  }

  check(key: string, value: string): SchemaViolation | undefined {
    const entry = this.#patterns.find((p) => globMatches(p.glob, key)) ?? this.#fallback;
    if (entry === undefined) return undefined;
    let instance: unknown = value;
    if (!entry.text) {
      try {
        instance = JSON.parse(value);
      } catch {
        return {
          key,
          keyPattern: entry.keyPattern,
          schemaPath: entry.schemaPath,
          instancePath: '',
          problem: 'is not JSON (values are parsed as JSON unless the schema\'s top-level type is "string")',
        };
      }
    }
    if (entry.validate(instance)) return undefined;
    const error = entry.validate.errors?.[0];
    return {
      key,
      keyPattern: entry.keyPattern,
      // ajv names a `false` subschema's failure "<path>/false schema"; the path of that `false` is what users look up.
      schemaPath: error ? `${entry.schemaPath}${error.schemaPath.slice(1).replace(/\/false schema$/, '')}` : entry.schemaPath,
      instancePath: error?.instancePath ?? '',
      problem: error ? problemOf(error) : 'does not match the schema',
    };
  }
}

function problemOf(error: ErrorObject): string {
  if (error.keyword === 'false schema') return 'is not allowed (the schema is false)';
  const base = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === 'enum') return `${base}: ${JSON.stringify((error.params as { allowedValues: unknown[] }).allowedValues)}`;
  if (error.keyword === 'additionalProperties') return `${base} (${JSON.stringify((error.params as { additionalProperty: string }).additionalProperty)})`;
  return base;
}

const addFormats = ((ajvFormats as unknown as { default: { default?: unknown } }).default.default ??
  (ajvFormats as unknown as { default: unknown }).default) as (ajv: Ajv2020) => Ajv2020;

function newAjv(): Ajv2020 {
  // strict: an unknown keyword or format is a typo the schema author wants to hear about, not something to ignore.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictTuples: false, strictRequired: false, allowUnionTypes: true, logger: false });
  addFormats(ajv);
  return ajv;
}

function compileEntry(ajv: Ajv2020, schema: JsonSchema, keyPattern: string, schemaPath: string): CompiledEntry {
  try {
    const validate = ajv.compile(schema);
    // A boolean schema decides without looking at the value, so it need not be JSON.
    return { keyPattern, schemaPath, text: typeof schema === 'boolean' || schema.type === 'string', validate };
  } catch (err) {
    throw invalid(`${schemaPath}: ${(err as Error).message}`, { at: schemaPath });
  }
}

function compile(schema: ParsedValueSchema): CompiledValueSchema {
  // One ajv instance per document: `$id`s of different stores' schemas never collide, and a dropped document frees all.
  const ajv = newAjv();
  const doc = schema.document;
  const patterns = (doc.patterns ?? []).map((p, i) => ({ glob: p.keys, ...compileEntry(ajv, p.schema, p.keys, `#/patterns/${i}/schema`) }));
  const fallback = doc.default === undefined ? undefined : compileEntry(ajv, doc.default, 'default', '#/default');
  return new CompiledValueSchema(patterns, fallback);
}

/** Compiled once per store and schema; bounded, so stores coming and going cannot grow it. */
const COMPILED = new LRUCache<string, CompiledValueSchema>({ max: 256 });

function compiledFor(storeId: string, schema: ParsedValueSchema): CompiledValueSchema {
  const cacheKey = `${storeId}\u0000${schema.etag}`;
  let compiled = COMPILED.get(cacheKey);
  if (compiled === undefined) {
    compiled = compile(schema);
    COMPILED.set(cacheKey, compiled);
  }
  return compiled;
}
