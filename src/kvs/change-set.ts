/**
 * A change set: puts and deletes for one or more KeyValueStores, applied together. Releases (`openfront release`)
 * bundle one with a function version, `openfront dry-run --kvs-changes` replays traffic against it, and
 * `openfront plan` computes one from a project directory (docs/safe-changes.md).
 *
 * ```json
 * { "stores": { "redirects": { "puts": [{ "key": "/old", "value": "/new" }], "deletes": ["/gone"] } } }
 * ```
 *
 * Each store's part obeys the same rules as one UpdateKeys request (key and value sizes from the store limits, no
 * key twice, no key both put and deleted) except the 50-key cap: a change set may touch a whole table. The whole set
 * is bounded instead by {@link MAX_CHANGE_SET_BYTES} and {@link MAX_CHANGE_SET_STORES}.
 */
import { z } from 'zod';
import { openFrontError } from '../errors.js';
import type { KeyValue, KvsLimits } from './types.js';
import { assertValidKey, KeyValueBatch, quoteKey, utf8Bytes } from './validate.js';

/** Sum of key and value bytes over every store of a change set. */
export const MAX_CHANGE_SET_BYTES = 5 * 1024 * 1024;
/** Stores one change set may touch. */
export const MAX_CHANGE_SET_STORES = 50;
/** Items (puts + deletes) over every store; keeps validation time bounded before any byte is counted. */
export const MAX_CHANGE_SET_ITEMS = 100_000;

const STORE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const storeChangeSchema = z
  .object({
    puts: z
      .array(z.object({ key: z.string(), value: z.string() }).strict())
      .max(MAX_CHANGE_SET_ITEMS)
      .optional(),
    deletes: z.array(z.string()).max(MAX_CHANGE_SET_ITEMS).optional(),
  })
  .strict();

/** The wire shape (before per-store limits are checked by {@link parseChangeSet}). */
export const changeSetSchema = z
  .object({
    stores: z.record(z.string(), storeChangeSchema),
  })
  .strict();

export interface StoreChange {
  puts: KeyValue[];
  deletes: string[];
}

export interface ChangeSet {
  stores: Record<string, StoreChange>;
}

/**
 * Validates `raw` (parsed JSON) as a change set against `limits`: shape, store count, per-item limits, duplicates,
 * total size. Every failure is INPUT_INVALID (KVS_VALIDATION for a key or value beyond the store limits) naming the
 * store and the item. Returns the set with `puts` and `deletes` always present.
 */
export function parseChangeSet(raw: unknown, limits: KvsLimits): ChangeSet {
  const parsed = changeSetSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${['changeSet', ...issue.path.map(String)].join('.')}: ${issue.message}`);
    throw openFrontError('INPUT_INVALID', `The change set is invalid: ${problems.slice(0, 5).join('; ')}`, { problems });
  }
  const names = Object.keys(parsed.data.stores);
  if (names.length === 0) throw openFrontError('INPUT_INVALID', 'The change set names no store');
  if (names.length > MAX_CHANGE_SET_STORES) {
    throw openFrontError('INPUT_INVALID', `The change set touches ${names.length} stores; the limit is ${MAX_CHANGE_SET_STORES}`);
  }
  let items = 0;
  let bytes = 0;
  const stores: Record<string, StoreChange> = {};
  for (const name of names) {
    if (!STORE_NAME.test(name)) {
      throw openFrontError('INPUT_INVALID', `Store name ${JSON.stringify(name)}: store names are 1-64 characters of [a-zA-Z0-9-_]`, { store: name });
    }
    const change = parsed.data.stores[name]!;
    const batch = new KeyValueBatch(limits, { label: `stores.${name}.puts` });
    (change.puts ?? []).forEach((item, index) => batch.add(item, index));
    const putKeys = new Set(batch.items.map((item) => item.key));
    const deletes: string[] = [];
    const seen = new Set<string>();
    (change.deletes ?? []).forEach((key, index) => {
      assertValidKey(key, limits, { label: `stores.${name}.deletes`, index });
      if (seen.has(key)) throw openFrontError('INPUT_INVALID', `Duplicate key ${quoteKey(key)} in stores.${name}.deletes`, { store: name, key });
      if (putKeys.has(key)) throw openFrontError('INPUT_INVALID', `Key ${quoteKey(key)} is both put and deleted in store ${name}`, { store: name, key });
      seen.add(key);
      deletes.push(key);
    });
    if (batch.size + deletes.length === 0) throw openFrontError('INPUT_INVALID', `The change set has no put or delete for store ${name}`, { store: name });
    items += batch.size + deletes.length;
    bytes += batch.totalBytes + deletes.reduce((sum, key) => sum + utf8Bytes(key), 0);
    if (items > MAX_CHANGE_SET_ITEMS) throw openFrontError('INPUT_INVALID', `The change set has more than ${MAX_CHANGE_SET_ITEMS} items`);
    if (bytes > MAX_CHANGE_SET_BYTES) throw openFrontError('INPUT_INVALID', `The change set is larger than ${MAX_CHANGE_SET_BYTES} bytes`);
    stores[name] = { puts: batch.items, deletes };
  }
  return { stores };
}

/** Parses change-set JSON text (bounded by {@link MAX_CHANGE_SET_BYTES} twice over for JSON overhead). */
export function parseChangeSetText(text: string, limits: KvsLimits): ChangeSet {
  if (utf8Bytes(text) > 2 * MAX_CHANGE_SET_BYTES) {
    throw openFrontError('INPUT_INVALID', `The change set file is larger than ${2 * MAX_CHANGE_SET_BYTES} bytes`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw openFrontError('INPUT_INVALID', `The change set is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  return parseChangeSet(raw, limits);
}
