/**
 * The embedded backend of `openfront start`: one SQLite file holds stores, their change log, functions, access keys
 * and the audit log, so that a write and its audit record commit together. The database stays synchronous inside
 * (better-sqlite3); the state interfaces answer with settled promises. The same process's edge follows it through
 * the in-process feeds: `db.onChange` for replicas and `registry` (a {@link LiveFunctionFeed}) for LIVE functions.
 */
import { KvsDatabase, type KvsDatabaseOptions } from '../../kvs/database.js';
import type { FunctionRegistryOptions } from '../functions.js';
import type { LiveFunctionFeed, NodeState } from '../types.js';
import { SqliteAccessKeyState } from './access-key-state.js';
import { SqliteAuditState } from './audit-state.js';
import { FunctionRegistry } from './function-registry.js';
import { SqliteFunctionState } from './function-state.js';
import { SqliteReleaseState } from './release-state.js';
import { SqliteStoreState } from './store-state.js';

export { FunctionRegistry } from './function-registry.js';
export { SqliteAccessKeyState, SqliteAuditState, SqliteFunctionState, SqliteReleaseState, SqliteStoreState };

export interface SqliteState extends NodeState {
  /** The synchronous database the edge's replicas of this process follow. */
  readonly db: KvsDatabase;
  /** The synchronous registry; also the LIVE feed of this process's edge. */
  readonly registry: FunctionRegistry & LiveFunctionFeed;
  readonly releases: SqliteReleaseState;
}

/**
 * The state interfaces over an open database. Pass the `registry` when one was already built on `db` (its LIVE
 * listeners must see the API's writes); otherwise one is made. `close()` closes the database.
 */
export function sqliteState(db: KvsDatabase, registry: FunctionRegistry = new FunctionRegistry(db)): SqliteState {
  return {
    backend: 'sqlite',
    db,
    registry,
    stores: new SqliteStoreState(db),
    functions: new SqliteFunctionState(registry, db),
    accessKeys: new SqliteAccessKeyState(db),
    audit: new SqliteAuditState(db),
    releases: new SqliteReleaseState(db, registry),
    close: async () => db.close(),
  };
}

/** Opens (creating if needed) the database file and builds the state over it. */
export function openSqliteState(file: string, options: KvsDatabaseOptions & { functions?: FunctionRegistryOptions } = {}): SqliteState {
  const db = KvsDatabase.open(file, options);
  return sqliteState(db, new FunctionRegistry(db, options.functions));
}
