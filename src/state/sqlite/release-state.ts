/**
 * Releases on the embedded SQLite database (docs/safe-changes.md#releases). Applying one is a single transaction —
 * every If-Match check, every store write, every LIVE move, the release's new status and its audit record — run
 * through the node database's `atomically` (`node-database.ts`), which holds the change notifications until the commit and then delivers them in
 * one synchronous step: this process's edge (replicas and LIVE functions follow those notifications) serves either
 * everything before the release or everything after it, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { isOpenFrontError, openFrontError } from '../../errors.js';
import type { ChangeSet, StoreChange } from '../../kvs/change-set.js';
import type { Actor } from '../../kvs/types.js';
import { quoteKey } from '../../kvs/validate.js';
import type { RuntimeVersion } from '../../runtime/event.js';
import type { FunctionConfigInput } from '../functions.js';
import {
  releaseFromJson,
  releaseToJson,
  storeParts,
  type NewRelease,
  type ReleaseFunctionResult,
  type ReleaseJson,
  type ReleaseOutcome,
  type ReleaseRecord,
  type ReleaseStoreResult,
} from '../releases.js';
import type { ReleaseState } from '../types.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { FunctionRegistry, FunctionRegistryParts } from './function-registry.js';
import type { SqliteNodeDatabase } from './node-database.js';
import type { SqliteStores } from './stores.js';

const MIGRATIONS: readonly string[] = [
  // 1: one row per release; the record itself is JSON (it is read whole, never queried by its parts).
  `
  CREATE TABLE releases (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    status     TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    record     TEXT NOT NULL
  );
  `,
];

const DEFAULT_LIST = 100;
const MAX_LIST = 1000;

function conflict(message: string, details: Record<string, unknown> = {}): never {
  throw openFrontError('RELEASE_CONFLICT', message, details);
}

/**
 * What the release state needs from the edge of the same process: to load functions before a LIVE move commits
 * (`node/live-functions.ts`), or a reason the edge cannot take a release atomically (edge workers in other processes).
 */
export interface ReleaseEdgeHooks {
  preload?(name: string, code: string, runtime: RuntimeVersion): void;
  discardPreloaded?(name: string): void;
  unavailable?: string;
}

export class SqliteReleaseState implements ReleaseState {
  readonly #database: SqliteNodeDatabase;
  readonly #stores: SqliteStores;
  readonly #audit: SqliteAuditLog;
  readonly #registry: FunctionRegistry;
  readonly #now: () => Date;
  readonly #sql: ReturnType<typeof prepare>;
  #edge: ReleaseEdgeHooks = {};

  constructor({ database, stores, audit }: FunctionRegistryParts, registry: FunctionRegistry, options: { now?: () => Date } = {}) {
    this.#database = database;
    this.#stores = stores;
    this.#audit = audit;
    this.#registry = registry;
    this.#now = options.now ?? (() => new Date());
    database.migrateTables({ setting: 'release_schema', label: 'The release schema', migrations: MIGRATIONS });
    this.#sql = prepare(database);
  }

  /** Set by the composition root once the edge exists. */
  setEdgeHooks(hooks: ReleaseEdgeHooks): void {
    this.#edge = hooks;
  }

  /**
   * Loads, in this process's edge, the code each function will go LIVE with, before anything commits: a function
   * that cannot be loaded refuses the release instead of leaving the old code serving next to the new data.
   */
  #preload(targets: Array<{ name: string; code: string; runtime: RuntimeVersion }>): () => void {
    const loaded: string[] = [];
    const discard = () => {
      for (const name of loaded) this.#edge.discardPreloaded?.(name);
    };
    try {
      for (const target of targets) {
        this.#edge.preload?.(target.name, target.code, target.runtime);
        loaded.push(target.name);
      }
    } catch (err) {
      discard();
      throw err;
    }
    return discard;
  }

  #assertAvailable(): void {
    if (this.#edge.unavailable !== undefined) throw openFrontError('RELEASES_UNAVAILABLE', this.#edge.unavailable);
  }

  async create(release: NewRelease, actor: Actor): Promise<ReleaseRecord> {
    const record: ReleaseRecord = {
      id: `rel-${randomBytes(9).readBigUInt64BE(0).toString(36).padStart(12, '0').slice(-12)}`,
      status: 'created',
      ...release,
      createdBy: actor.accessKeyId,
      created: this.#now(),
    };
    this.#database.write(() => {
      this.#sql.insert.run(record.id, record.status, record.created.getTime(), JSON.stringify(releaseToJson(record)));
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'CreateRelease',
        keys: [],
        changes: [],
        detail: { release: record.id, functions: record.functions.map((fn) => fn.name), stores: Object.keys(record.changes.stores) },
      });
    });
    return record;
  }

  async get(id: string): Promise<ReleaseRecord | undefined> {
    return this.#find(id);
  }

  async list(options: { limit?: number } = {}): Promise<ReleaseRecord[]> {
    const limit = Math.min(MAX_LIST, Math.max(1, options.limit ?? DEFAULT_LIST));
    return (this.#sql.list.all(limit) as string[]).map((text) => releaseFromJson(JSON.parse(text) as ReleaseJson));
  }

  async apply(id: string, actor: Actor): Promise<ReleaseRecord> {
    this.#assertAvailable();
    const pending = this.#requireStatus(this.#require(id), 'created', 'applied');
    let discard = () => {};
    try {
      discard = this.#preload(
        pending.functions.map((fn) => {
          if (fn.code !== undefined) return { name: fn.name, code: fn.code, runtime: fn.runtime ?? this.#registry.describe(fn.name).config.runtime };
          const version = this.#registry.version(fn.name, fn.version!);
          return { name: fn.name, code: version.code, runtime: version.config.runtime };
        }),
      );
      return this.#database.atomically(() => {
        const release = this.#requireStatus(this.#require(id), 'created', 'applied');
        // Every check first: a refused release writes nothing (the transaction would undo it anyway, but the error
        // then names the first thing that moved, not a write that failed because of it).
        const stores = storeParts(release.changes).map(([name, change]) => {
          const store = this.#stores.getStore({ name }) ?? conflict(`Store ${name} no longer exists`, { store: name });
          const expected = release.expected.stores[name];
          if (store.etag !== expected) {
            conflict(`Store ${name} changed since the release was prepared (ETag ${expected} is now ${store.etag})`, {
              store: name,
              expected,
              actual: store.etag,
            });
          }
          return { name, store, change };
        });
        const functions = release.functions.map((fn) => {
          const expected = release.expected.functions[fn.name];
          const live = this.#registry.findStage(fn.name, 'LIVE');
          if (expected === undefined || live === undefined || live.etag !== expected.live) {
            conflict(`The LIVE stage of function ${fn.name} moved since the release was prepared`, { function: fn.name });
          }
          if (fn.code !== undefined) {
            const development = this.#registry.describe(fn.name, 'DEVELOPMENT');
            if (development.etag !== expected.development) {
              conflict(`Function ${fn.name} was updated since the release was prepared (DEVELOPMENT moved)`, { function: fn.name });
            }
          }
          return { fn, live };
        });
        const undo: ChangeSet = { stores: {} };
        const storeResults: Record<string, ReleaseStoreResult> = {};
        for (const { name, store, change } of stores) {
          undo.stores[name] = this.#undoOf(store.id, change);
          const written = this.#stores.writeChanges(store.id, change, store.etag, actor, { operation: 'ReleaseKeys', detail: { release: id } });
          storeResults[name] = { versionBefore: store.version, version: written.version, etag: written.etag };
        }
        const functionResults: ReleaseFunctionResult[] = [];
        for (const { fn, live } of functions) {
          let version: number;
          if (fn.code !== undefined) {
            const development = this.#registry.describe(fn.name, 'DEVELOPMENT');
            const config: FunctionConfigInput = { runtime: fn.runtime ?? development.config.runtime, comment: development.config.comment };
            const arn = fn.store === undefined ? development.config.keyValueStoreArn : fn.store === null ? undefined : this.#storeArn(fn.store);
            if (arn !== undefined) config.keyValueStoreArns = [arn];
            const updated = this.#registry.update(fn.name, { config, code: fn.code }, development.etag, actor);
            version = this.#registry.publish(fn.name, updated.etag, actor).version;
          } else {
            version = this.#registry.rollback(fn.name, fn.version!, live.etag, actor).version;
          }
          functionResults.push({ name: fn.name, previousVersion: live.version, version });
        }
        const applied: ReleaseOutcome = { at: this.#now(), by: actor.accessKeyId, functions: functionResults, stores: storeResults };
        const done: ReleaseRecord = { ...release, status: 'applied', applied, undo };
        this.#save(done);
        this.#audit.append({
          accessKeyId: actor.accessKeyId,
          operation: 'ApplyRelease',
          keys: [],
          changes: [],
          detail: { release: id, functions: functionResults, stores: storeResults },
        });
        return done;
      });
    } catch (err) {
      if (!(isOpenFrontError(err) && err.code === 'RELEASE_STATE_INVALID')) this.#markFailed(id, err, actor);
      throw err;
    } finally {
      discard();
    }
  }

  async rollback(id: string, actor: Actor): Promise<ReleaseRecord> {
    this.#assertAvailable();
    const applied = this.#requireStatus(this.#require(id), 'applied', 'rolled back').applied!;
    const discard = this.#preload(
      applied.functions.map((fn) => {
        const version = this.#registry.version(fn.name, fn.previousVersion);
        return { name: fn.name, code: version.code, runtime: version.config.runtime };
      }),
    );
    try {
      return this.#rollback(id, actor);
    } finally {
      discard();
    }
  }

  #rollback(id: string, actor: Actor): ReleaseRecord {
    return this.#database.atomically(() => {
      const release = this.#requireStatus(this.#require(id), 'applied', 'rolled back');
      const applied = release.applied!;
      const stores = storeParts(release.undo ?? { stores: {} }).map(([name, undo]) => {
        const store = this.#stores.getStore({ name }) ?? conflict(`Store ${name} no longer exists`, { store: name });
        // Only the keys the release wrote must still hold what it wrote: other keys may have moved meanwhile.
        const change = release.changes.stores[name]!;
        for (const { key, value } of change.puts) this.#expectValue(name, store.id, key, value);
        for (const key of change.deletes) this.#expectValue(name, store.id, key, null);
        return { name, store, undo };
      });
      for (const fn of applied.functions) {
        const live = this.#registry.findStage(fn.name, 'LIVE');
        if (live?.version !== fn.version) {
          conflict(`Function ${fn.name}: LIVE is version ${live?.version ?? 'none'}, not the release's version ${fn.version}`, { function: fn.name });
        }
      }
      const storeResults: Record<string, ReleaseStoreResult> = {};
      for (const { name, store, undo } of stores) {
        const written = this.#stores.writeChanges(store.id, undo, store.etag, actor, { operation: 'RollbackReleaseKeys', detail: { release: id } });
        storeResults[name] = { versionBefore: store.version, version: written.version, etag: written.etag };
      }
      const functionResults: ReleaseFunctionResult[] = [];
      for (const fn of applied.functions) {
        const live = this.#registry.findStage(fn.name, 'LIVE')!;
        const moved = this.#registry.rollback(fn.name, fn.previousVersion, live.etag, actor);
        functionResults.push({ name: fn.name, previousVersion: fn.version, version: moved.version });
      }
      const rolledBack: ReleaseOutcome = { at: this.#now(), by: actor.accessKeyId, functions: functionResults, stores: storeResults };
      const done: ReleaseRecord = { ...release, status: 'rolled-back', rolledBack };
      this.#save(done);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'RollbackRelease',
        keys: [],
        changes: [],
        detail: { release: id, functions: functionResults, stores: storeResults },
      });
      return done;
    });
  }

  /** The change that puts back what `change` overwrites: previous values, and deletes for keys it adds. */
  #undoOf(storeId: string, change: StoreChange): StoreChange {
    const undo: StoreChange = { puts: [], deletes: [] };
    for (const key of [...change.puts.map((item) => item.key), ...change.deletes]) {
      const before = this.#stores.valueOf(storeId, key);
      if (before === undefined) {
        if (!change.deletes.includes(key)) undo.deletes.push(key);
      } else {
        undo.puts.push({ key, value: before });
      }
    }
    return undo;
  }

  #expectValue(store: string, storeId: string, key: string, expected: string | null): void {
    const actual = this.#stores.valueOf(storeId, key) ?? null;
    if (actual !== expected) {
      conflict(`Key ${quoteKey(key)} of store ${store} changed since the release was applied: rolling back would overwrite that change`, { store, key });
    }
  }

  #storeArn(name: string): string {
    const store = this.#stores.getStore({ name });
    if (store === undefined) throw openFrontError('CF_INVALID_ARGUMENT', `KeyValueStore ${name} does not exist`, { store: name });
    return store.arn;
  }

  #markFailed(id: string, err: unknown, actor: Actor): void {
    this.#database.write(() => {
      const release = this.#find(id);
      if (release === undefined || release.status !== 'created') return;
      const error = isOpenFrontError(err)
        ? { code: err.code, message: err.message }
        : { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
      this.#save({ ...release, status: 'failed', error });
      this.#audit.append({ accessKeyId: actor.accessKeyId, operation: 'FailRelease', keys: [], changes: [], detail: { release: id, error } });
    });
  }

  #save(release: ReleaseRecord): void {
    this.#sql.update.run(release.status, JSON.stringify(releaseToJson(release)), release.id);
  }

  #find(id: string): ReleaseRecord | undefined {
    const text = this.#sql.get.get(id) as string | undefined;
    return text === undefined ? undefined : releaseFromJson(JSON.parse(text) as ReleaseJson);
  }

  #require(id: string): ReleaseRecord {
    return (
      this.#find(id) ??
      (() => {
        throw openFrontError('RELEASE_NOT_FOUND', `Release ${id} does not exist`, { release: id });
      })()
    );
  }

  #requireStatus(release: ReleaseRecord, status: ReleaseRecord['status'], verb: string): ReleaseRecord {
    if (release.status !== status) {
      throw openFrontError('RELEASE_STATE_INVALID', `Release ${release.id} is ${release.status}: only a ${status} release can be ${verb}`, {
        release: release.id,
        status: release.status,
      });
    }
    return release;
  }
}

function prepare(database: SqliteNodeDatabase) {
  const c = database.connection;
  return {
    insert: c.prepare('INSERT INTO releases (id, status, created_ms, record) VALUES (?, ?, ?, ?)'),
    update: c.prepare('UPDATE releases SET status = ?, record = ? WHERE id = ?'),
    get: c.prepare('SELECT record FROM releases WHERE id = ?').pluck(),
    list: c.prepare('SELECT record FROM releases ORDER BY seq DESC LIMIT ?').pluck(),
  };
}
