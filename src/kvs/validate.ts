/**
 * Validation of keys, values and batches against {@link KvsLimits}. Every failure names the offending key (and the
 * item index inside a batch) in its message and in `details`, so a user can find it in a 5 MB import file.
 */
import { OpenFrontError, type ErrorCode } from '../errors.js';
import type { KeyValue, KvsLimits } from './types.js';

/** Where a problem was found: which error code to raise and which item of a batch it was. */
export interface ProblemContext {
  /** Defaults to KVS_VALIDATION (data plane); the control plane passes CF_INVALID_ARGUMENT. */
  code?: ErrorCode;
  /** Position of the item in its batch or file (0-based). */
  index?: number;
  /** Name of the batch in messages, e.g. "Puts" or "import item". */
  label?: string;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The stored size of one item, the unit of TotalSizeInBytes (docs/kvs-storage.md). */
export function itemBytes(key: string, value: string): number {
  return utf8Bytes(key) + utf8Bytes(value);
}

/** A key quoted for an error message; very long keys are shortened so messages stay readable. */
export function quoteKey(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
}

function where(ctx: ProblemContext): string {
  return ctx.index === undefined ? '' : ` (${ctx.label ?? 'item'} ${ctx.index})`;
}

function fail(ctx: ProblemContext, reason: string, message: string, key?: string): never {
  const details: Record<string, unknown> = { reason };
  if (key !== undefined) details.key = key;
  if (ctx.index !== undefined) details.index = ctx.index;
  throw new OpenFrontError(ctx.code ?? 'KVS_VALIDATION', message + where(ctx), details);
}

export function assertValidKey(key: unknown, limits: KvsLimits, ctx: ProblemContext = {}): asserts key is string {
  if (typeof key !== 'string') fail(ctx, 'key-type', 'Key must be a string');
  if (key.length === 0) fail(ctx, 'key-empty', 'Key must not be empty', key);
  // A lone surrogate cannot be encoded as UTF-8: it would be stored as U+FFFD and never be found again.
  if (LONE_SURROGATE.test(key)) fail(ctx, 'key-malformed', `Key ${quoteKey(key)} is not valid UTF-8 (lone surrogate)`, key);
  const bytes = utf8Bytes(key);
  if (bytes > limits.maxKeyBytes) {
    fail(ctx, 'key-too-long', `Key ${quoteKey(key)} is ${bytes} bytes; the limit is ${limits.maxKeyBytes} bytes`, key);
  }
}

export function assertValidValue(key: string, value: unknown, limits: KvsLimits, ctx: ProblemContext = {}): asserts value is string {
  if (typeof value !== 'string') fail(ctx, 'value-type', `Value of key ${quoteKey(key)} must be a string`, key);
  if (LONE_SURROGATE.test(value)) fail(ctx, 'value-malformed', `Value of key ${quoteKey(key)} is not valid UTF-8 (lone surrogate)`, key);
  const bytes = utf8Bytes(value);
  if (bytes > limits.maxValueBytes) {
    fail(ctx, 'value-too-long', `Value of key ${quoteKey(key)} is ${bytes} bytes; the limit is ${limits.maxValueBytes} bytes`, key);
  }
}

/**
 * Collects key/value items one at a time (from an array, a parsed file or a stream), validating each as it arrives:
 * shape, key, value, and duplicates (reported with both positions).
 */
export class KeyValueBatch {
  readonly items: KeyValue[] = [];
  /** Sum of item sizes, in the unit of TotalSizeInBytes. */
  totalBytes = 0;
  readonly #firstIndex = new Map<string, number>();
  readonly #limits: KvsLimits;
  readonly #ctx: ProblemContext;

  constructor(limits: KvsLimits, ctx: Omit<ProblemContext, 'index'> = {}) {
    this.#limits = limits;
    this.#ctx = ctx;
  }

  get size(): number {
    return this.items.length;
  }

  /** Validates `raw` as item number `index` and keeps it. Throws on the first problem. */
  add(raw: unknown, index: number = this.items.length): KeyValue {
    const ctx = { ...this.#ctx, index };
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      fail(ctx, 'item-shape', 'Each item must be an object with string "key" and "value"');
    }
    const { key, value } = raw as Record<string, unknown>;
    assertValidKey(key, this.#limits, ctx);
    assertValidValue(key, value, this.#limits, ctx);
    const first = this.#firstIndex.get(key);
    if (first !== undefined) {
      fail(ctx, 'duplicate-key', `Duplicate key ${quoteKey(key)}, first seen at ${ctx.label ?? 'item'} ${first}`, key);
    }
    this.#firstIndex.set(key, index);
    const item = { key, value };
    this.items.push(item);
    this.totalBytes += itemBytes(key, value);
    return item;
  }
}

/** A validated UpdateKeys request. */
export interface ValidatedUpdate {
  puts: KeyValue[];
  deletes: string[];
  payloadBytes: number;
}

/**
 * Validates an UpdateKeys request. Per-request limits (key count, payload size), item limits, a key repeated in one
 * list or present in both lists are all ValidationException: the request itself is malformed and retrying it can
 * never succeed, which is what ValidationException means in the API model.
 */
export function validateUpdate(change: { puts?: unknown; deletes?: unknown }, limits: KvsLimits): ValidatedUpdate {
  const rawPuts = change.puts ?? [];
  const rawDeletes = change.deletes ?? [];
  if (!Array.isArray(rawPuts)) fail({}, 'puts-shape', 'Puts must be a list');
  if (!Array.isArray(rawDeletes)) fail({}, 'deletes-shape', 'Deletes must be a list');
  const count = rawPuts.length + rawDeletes.length;
  if (count === 0) fail({}, 'empty-update', 'UpdateKeys needs at least one Put or Delete');
  if (count > limits.maxKeysPerUpdate) {
    fail({}, 'too-many-keys', `UpdateKeys has ${count} keys; the limit is ${limits.maxKeysPerUpdate} per request`);
  }
  const batch = new KeyValueBatch(limits, { label: 'Puts' });
  rawPuts.forEach((item, index) => batch.add(item, index));
  const putKeys = new Set(batch.items.map((item) => item.key));
  const deletes: string[] = [];
  const deleteIndex = new Map<string, number>();
  rawDeletes.forEach((key: unknown, index) => {
    const ctx = { label: 'Deletes', index };
    assertValidKey(key, limits, ctx);
    const first = deleteIndex.get(key);
    if (first !== undefined) fail(ctx, 'duplicate-key', `Duplicate key ${quoteKey(key)}, first seen at Deletes ${first}`, key);
    if (putKeys.has(key)) fail(ctx, 'put-and-delete', `Key ${quoteKey(key)} is in both Puts and Deletes`, key);
    deleteIndex.set(key, index);
    deletes.push(key);
  });
  const payloadBytes = batch.totalBytes + deletes.reduce((sum, key) => sum + utf8Bytes(key), 0);
  if (payloadBytes > limits.maxUpdatePayloadBytes) {
    fail({}, 'payload-too-large', `UpdateKeys payload is ${payloadBytes} bytes; the limit is ${limits.maxUpdatePayloadBytes} bytes`);
  }
  return { puts: batch.items, deletes, payloadBytes };
}
