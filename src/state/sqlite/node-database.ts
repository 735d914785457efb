/**
 * The SQLite file of one OpenFront node and nothing else: opening it, the store schema's migrations, the one
 * connection, transactions and the announcements that wait for their commit. The parts of the node's state are
 * separate classes that share this connection, each on its own tables: the stores (`stores.ts`), the audit log
 * (`audit-log.ts`), the access keys (`access-keys.ts`), the function registry, perms and releases.
 *
 * Durability: WAL journal with `synchronous=FULL`, so an acknowledged write survives a SIGKILL or power loss.
 * Concurrency: better-sqlite3 is synchronous, so one process serialises its own writes; `BEGIN IMMEDIATE` and
 * `busy_timeout` make a second process (a CLI next to a running server) wait instead of failing.
 */
import { randomInt } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Connection } from 'better-sqlite3';
import { migrate } from '../../kvs/schema.js';
import { migrateTables, type TableMigrations } from './table-migrations.js';

export interface NodeDatabaseOptions {
  /** Clock for the timestamps every part records (tests pass a fake one). */
  now?: () => Date;
}

export class SqliteNodeDatabase {
  /** The file, or ':memory:'. */
  readonly file: string;
  /**
   * The one connection. The modules of this backend prepare statements on their own tables with it; nothing else
   * runs SQL on another module's tables.
   */
  readonly connection: Connection;
  readonly now: () => Date;
  /** The 12-digit account of the node's ARNs, made on first open. */
  readonly accountId: string;
  /** While an {@link atomically} block runs: what its commit will announce, in order (undefined outside one). */
  #held: Array<() => void> | undefined;

  private constructor(file: string, connection: Connection, options: NodeDatabaseOptions) {
    this.file = file;
    this.connection = connection;
    this.now = options.now ?? (() => new Date());
    this.accountId = this.#loadOrCreateAccountId();
  }

  /**
   * Opens (creating if needed) the database at `file`, or an in-memory one for ':memory:', and brings the store
   * schema up to date. A new file is created with mode 0600 in a directory created with mode 0700: it holds
   * access-key secrets.
   */
  static open(file: string, options: NodeDatabaseOptions = {}): SqliteNodeDatabase {
    if (file !== ':memory:' && !existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // SQLite gives its -wal and -shm files the permissions of the database file.
      closeSync(openSync(file, constants.O_CREAT | constants.O_WRONLY, 0o600));
    }
    const connection = new Database(file);
    try {
      // busy_timeout first: switching to WAL needs a lock another process may hold.
      connection.pragma('busy_timeout = 5000');
      connection.pragma('journal_mode = WAL');
      connection.pragma('synchronous = FULL');
      connection.pragma('foreign_keys = ON');
      migrate(connection);
      return new SqliteNodeDatabase(file, connection, options);
    } catch (err) {
      connection.close();
      throw err;
    }
  }

  /** Brings a module's own tables to their newest schema (see `table-migrations.ts`). */
  migrateTables(migrations: TableMigrations): void {
    migrateTables(this.connection, migrations);
  }

  /** Runs `fn` in one write transaction (`BEGIN IMMEDIATE`); nested calls join the transaction already open. */
  write<T>(fn: () => T): T {
    return this.connection.transaction(fn).immediate();
  }

  /**
   * Runs `fn` in one deferred transaction: all of it commits or none, and every read inside sees the same database
   * state, even with another process writing.
   */
  transaction<T>(fn: () => T): T {
    return this.connection.transaction(fn)();
  }

  /**
   * Runs `fn` in ONE transaction and holds every announcement made through {@link afterCommit} while it runs (store
   * changes, LIVE moves of the function registry) until the commit; then delivers them all in one synchronous step,
   * so the same process's edge never serves a state between two of them (a release's data and its LIVE move).
   * If `fn` throws, nothing is committed and nothing is announced.
   */
  atomically<T>(fn: () => T): T {
    if (this.#held !== undefined) return fn();
    const held: Array<() => void> = [];
    this.#held = held;
    let result: T;
    try {
      result = this.connection.transaction(fn).immediate();
    } finally {
      this.#held = undefined;
    }
    for (const announce of held) announce();
    return result;
  }

  /** Runs `announce` now, or at the commit of the {@link atomically} block running. */
  afterCommit(announce: () => void): void {
    if (this.#held !== undefined) this.#held.push(announce);
    else announce();
  }

  /** A database-wide setting (`settings` table); undefined when never set. */
  setting(name: string): string | undefined {
    return this.connection.prepare('SELECT value FROM settings WHERE name = ?').pluck().get(name) as string | undefined;
  }

  /** Sets `name` unless it is set already (the first process to set it wins); returns the value in force. */
  settingOnce(name: string, value: string): string {
    this.connection.prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)').run(name, value);
    return this.setting(name)!;
  }

  close(): void {
    this.connection.close();
  }

  #loadOrCreateAccountId(): string {
    // INSERT OR IGNORE: a second process opening a new file at the same moment keeps the first id.
    return this.setting('account_id') ?? this.settingOnce('account_id', String(randomInt(0, 1e12)).padStart(12, '0'));
  }
}
