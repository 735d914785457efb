/**
 * KeyValueStore history (docs/safe-changes.md, "History and rollback"): every data write of a store is kept as a
 * history entry — the version it made, the version it was made on, who, when, the operation, and each key's value
 * before and after — under a retention policy of its own, independent of the audit log and of the edge's change
 * feed. Both state backends keep entries (SQLite: `kvs_history*` tables; JetStream: the `OF_HISTORY` stream) and
 * share what is computed from them here: reading a store as of a version, diffs, and history pages.
 *
 * Versions are the store's data versions as they are (docs/architecture.md): dense on SQLite, stream sequences on
 * JetStream. Nothing here assumes that version N-1 exists.
 */
import { openFrontError } from '../errors.js';
import type { KeyValue } from './types.js';

/** Who may be dropped: an entry goes only when it is older than `maxAgeDays` AND not among the newest `minVersions`. */
export interface HistoryRetention {
  maxAgeDays: number;
  minVersions: number;
}

export const DEFAULT_HISTORY_RETENTION: HistoryRetention = { maxAgeDays: 30, minVersions: 1000 };

/** One key's change in a write; `null` is "absent". */
export interface HistoryChange {
  key: string;
  before: string | null;
  after: string | null;
}

/** One write of a store. `prevVersion` is the version it was applied on: the `before` values are that version's. */
export interface HistoryEntry {
  version: number;
  prevVersion: number;
  at: Date;
  accessKeyId: string;
  operation: string;
  changes: HistoryChange[];
}

/** One line of a history page: one key of one write. */
export interface HistoryRow extends HistoryChange {
  version: number;
  at: Date;
  accessKeyId: string;
  operation: string;
}

/** A validated history query: versions inclusive, newest first, at most `limit` rows after `marker`. */
export interface HistoryQuery {
  key?: string;
  from?: number;
  to?: number;
  limit?: number;
  marker?: string;
}

export interface HistoryPage {
  items: HistoryRow[];
  /** Pass as `marker` for the next (older) page; absent on the last page. */
  nextMarker?: string;
}

/** A store as of one version. */
export interface ItemsAt {
  /** The version asked for. */
  version: number;
  /** The store's current version when it was read (the If-Match base of a rollback). */
  currentVersion: number;
  items: KeyValue[];
}

export interface StoreDiff {
  from: number;
  to: number;
  added: KeyValue[];
  removed: KeyValue[];
  changed: Array<{ key: string; before: string; after: string }>;
}

export const DEFAULT_HISTORY_PAGE = 100;
export const MAX_HISTORY_PAGE = 1000;
/** Key filters longer than the longest key a store accepts cannot match; refused before any read. */
export const MAX_HISTORY_KEY_BYTES = 1024;
const MAX_RETENTION_DAYS = 36_500;
const MAX_RETENTION_VERSIONS = 1_000_000_000;

/** Checks a retention policy from config, CLI or env (`source` names where it came from, for the message). */
export function assertRetention(retention: HistoryRetention, source = 'history retention'): HistoryRetention {
  const { maxAgeDays, minVersions } = retention;
  if (!Number.isFinite(maxAgeDays) || maxAgeDays < 0 || maxAgeDays > MAX_RETENTION_DAYS) {
    throw openFrontError('CONFIG_INVALID', `${source}: maxAgeDays must be a number from 0 to ${MAX_RETENTION_DAYS}, got ${maxAgeDays}`);
  }
  if (!Number.isInteger(minVersions) || minVersions < 0 || minVersions > MAX_RETENTION_VERSIONS) {
    throw openFrontError('CONFIG_INVALID', `${source}: minVersions must be an integer from 0 to ${MAX_RETENTION_VERSIONS}, got ${minVersions}`);
  }
  return { maxAgeDays, minVersions };
}

/** Parses `<days>d,<versions>` (e.g. `30d,1000`): the form of `--history-retention` and `OPENFRONT_HISTORY_RETENTION`. */
export function parseRetention(text: string, source: string): HistoryRetention {
  const m = /^\s*(\d+(?:\.\d+)?)d\s*,\s*(\d+)\s*$/.exec(text);
  if (!m) throw openFrontError('CONFIG_INVALID', `${source} must look like 30d,1000 (days, then versions kept at least), got ${JSON.stringify(text)}`);
  return assertRetention({ maxAgeDays: Number(m[1]), minVersions: Number(m[2]) }, source);
}

/** Entries written before this instant may be dropped (if not among the newest `minVersions`). */
export function retentionCutoff(retention: HistoryRetention, now: Date): number {
  return now.getTime() - retention.maxAgeDays * 86_400_000;
}

/** Checks a query's bounds (the API validates its text form first; this guards every backend the same). */
export function assertHistoryQuery(query: HistoryQuery): Required<Pick<HistoryQuery, 'limit'>> & HistoryQuery {
  const limit = query.limit ?? DEFAULT_HISTORY_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
    throw openFrontError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}, got ${limit}`);
  }
  if (query.key !== undefined && (query.key === '' || Buffer.byteLength(query.key, 'utf8') > MAX_HISTORY_KEY_BYTES)) {
    throw openFrontError('BAD_REQUEST', `key must be 1 to ${MAX_HISTORY_KEY_BYTES} bytes`);
  }
  for (const [name, value] of [
    ['from', query.from],
    ['to', query.to],
  ] as const) {
    if (value !== undefined) assertVersionNumber(value, name);
  }
  if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
    throw openFrontError('BAD_REQUEST', `from (${query.from}) must not be greater than to (${query.to})`);
  }
  if (query.marker !== undefined) decodeHistoryMarker(query.marker);
  return { ...query, limit };
}

export function assertVersionNumber(value: number, name = 'version'): number {
  if (!Number.isSafeInteger(value) || value < 0) throw openFrontError('BAD_REQUEST', `${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** A marker names the last row returned: its version and its place among the write's changes. */
export function encodeHistoryMarker(version: number, index: number): string {
  return Buffer.from(`${version}:${index}`, 'utf8').toString('base64url');
}

export function decodeHistoryMarker(marker: string): { version: number; index: number } {
  const m = /^(\d{1,16}):(\d{1,9})$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
  if (!m || encodeHistoryMarker(Number(m[1]), Number(m[2])) !== marker) throw openFrontError('BAD_REQUEST', 'marker is not valid');
  return { version: Number(m[1]), index: Number(m[2]) };
}

/**
 * A history page from entries in any order (the JetStream backend reads them whole; SQLite pages in SQL): rows
 * newest version first, a write's keys in the order it changed them.
 */
export function pageOfEntries(entries: readonly HistoryEntry[], query: HistoryQuery): HistoryPage {
  const { limit, key, from, to, marker } = assertHistoryQuery(query);
  const after = marker === undefined ? undefined : decodeHistoryMarker(marker);
  const rows: Array<HistoryRow & { index: number }> = [];
  const sorted = [...entries].sort((a, b) => b.version - a.version);
  outer: for (const entry of sorted) {
    if (to !== undefined && entry.version > to) continue;
    if (from !== undefined && entry.version < from) break;
    if (after !== undefined && entry.version > after.version) continue;
    for (const [index, change] of entry.changes.entries()) {
      if (after !== undefined && entry.version === after.version && index <= after.index) continue;
      if (key !== undefined && change.key !== key) continue;
      rows.push({ version: entry.version, at: entry.at, accessKeyId: entry.accessKeyId, operation: entry.operation, ...change, index });
      if (rows.length > limit) break outer;
    }
  }
  const page = rows.slice(0, limit);
  const items = page.map(({ index: _index, ...row }) => row);
  if (rows.length <= limit) return { items };
  const last = page[page.length - 1]!;
  return { items, nextMarker: encodeHistoryMarker(last.version, last.index) };
}

/**
 * The oldest version the entries can rebuild from a store at `currentVersion`: walking back from the newest entry
 * while each one was made on the version of the one before it. A gap (a write whose entry is missing) stops the walk.
 */
export function oldestReadableVersion(currentVersion: number, entriesNewestFirst: readonly HistoryEntry[]): number {
  let oldest = currentVersion;
  for (const entry of entriesNewestFirst) {
    if (entry.version !== oldest) break;
    oldest = entry.prevVersion;
  }
  return oldest;
}

/**
 * The store as of `version`: the current items with every write after `version` undone, newest first. `entries`
 * are those with a version greater than `version`, newest first. Refuses a version the entries cannot reach
 * (`KVS_VERSION_EXPIRED`, naming the oldest version kept) or one newer than the store (`KVS_VERSION_NOT_FOUND`).
 */
export function itemsAtVersion(
  storeId: string,
  current: { version: number; items: readonly KeyValue[] },
  version: number,
  entriesNewestFirst: readonly HistoryEntry[],
): ItemsAt {
  assertVersionNumber(version);
  if (version > current.version) {
    throw openFrontError('KVS_VERSION_NOT_FOUND', `Version ${version} of the store does not exist yet: its current version is ${current.version}`, {
      storeId,
      version,
      currentVersion: current.version,
    });
  }
  const items = new Map(current.items.map((item) => [item.key, item.value]));
  let at = current.version;
  for (const entry of entriesNewestFirst) {
    if (at <= version) break;
    if (entry.version !== at) break;
    for (let i = entry.changes.length - 1; i >= 0; i--) {
      const { key, before } = entry.changes[i]!;
      if (before === null) items.delete(key);
      else items.set(key, before);
    }
    at = entry.prevVersion;
  }
  if (at > version) {
    const oldest = oldestReadableVersion(current.version, entriesNewestFirst);
    throw openFrontError('KVS_VERSION_EXPIRED', `Version ${version} of the store is no longer kept in its history: the oldest version kept is ${oldest}`, {
      storeId,
      version,
      oldestVersion: oldest,
    });
  }
  const sorted = [...items].map(([key, value]) => ({ key, value })).sort((a, b) => compareKeys(a.key, b.key));
  return { version, currentVersion: current.version, items: sorted };
}

/** Keys added, removed and changed from `a` (version `from`) to `b` (version `to`), in key order. */
export function diffItems(from: number, a: readonly KeyValue[], to: number, b: readonly KeyValue[]): StoreDiff {
  const before = new Map(a.map((item) => [item.key, item.value]));
  const diff: StoreDiff = { from, to, added: [], removed: [], changed: [] };
  for (const { key, value } of b) {
    const old = before.get(key);
    if (old === undefined) diff.added.push({ key, value });
    else if (old !== value) diff.changed.push({ key, before: old, after: value });
    before.delete(key);
  }
  for (const [key, value] of before) diff.removed.push({ key, value });
  diff.removed.sort((x, y) => compareKeys(x.key, y.key));
  return diff;
}

/** UTF-8 byte order, as stores list their keys. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export const HISTORY_RETENTION_ENV = 'OPENFRONT_HISTORY_RETENTION';

/** `--history-retention`, else `OPENFRONT_HISTORY_RETENTION`, else undefined (the config's, else the default). */
export function retentionFromCli(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): HistoryRetention | undefined {
  if (flag !== undefined) return parseRetention(flag, '--history-retention');
  const text = env[HISTORY_RETENTION_ENV];
  return text === undefined || text === '' ? undefined : parseRetention(text, HISTORY_RETENTION_ENV);
}
