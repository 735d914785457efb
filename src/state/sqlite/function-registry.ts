/**
 * The durable function registry: CloudFront Functions with immutable versions and two stages.
 *
 * Every Create/Update writes a new version (code + the FunctionConfig it came with) and points DEVELOPMENT at it;
 * publish points LIVE at DEVELOPMENT's version; rollback points LIVE at any existing version. Versions are never
 * modified. A function's current config is its DEVELOPMENT version's; its Status is derived (UNPUBLISHED while
 * DEVELOPMENT differs from LIVE, then UNASSOCIATED, or DEPLOYED while the edge config uses it).
 *
 * Each write checks If-Match, commits and appends its audit record in one SQLite transaction, so ten concurrent
 * updates with the same ETag have exactly one winner. LIVE moves are announced to `onLiveChange` listeners after
 * the commit, in commit order.
 */
import { createHash, randomUUID } from 'node:crypto';
import { openFrontError } from '../../errors.js';
import type { Actor } from '../../kvs/types.js';
import type { RuntimeVersion } from '../../runtime/event.js';
import { DEFAULT_RUNTIME_LIMITS } from '../../runtime/limits.js';
import {
  assertFunctionName,
  checkFunctionCode,
  DEFAULT_MAX_FUNCTIONS,
  stageEtag,
  validateFunctionConfig,
  type FunctionConfig,
  type FunctionConfigInput,
  type FunctionRegistryOptions,
  type FunctionStage,
  type FunctionStageView,
  type FunctionStatus,
  type FunctionVersion,
  type LiveChangeListener,
  type LiveVersion,
} from '../functions.js';
import type { SqliteAuditLog } from './audit-log.js';
import { migrateFunctionTables } from './function-schema.js';
import type { SqliteNodeDatabase } from './node-database.js';
import type { SqliteStores } from './stores.js';

/** What the registry works with: its own tables in the node database, the stores functions associate, the audit log. */
export interface FunctionRegistryParts {
  database: SqliteNodeDatabase;
  stores: SqliteStores;
  audit: SqliteAuditLog;
}

interface FunctionRow {
  id: string;
  name: string;
  created_ms: number;
  last_modified_ms: number;
}

interface VersionRow {
  function_id: string;
  version: number;
  code: string;
  sha256: string;
  runtime: string;
  comment: string;
  kvs_arn: string | null;
  created_by: string;
  created_ms: number;
}

interface StageRow {
  function_id: string;
  stage: FunctionStage;
  version: number;
  generation: number;
  updated_ms: number;
}

/** What a write transaction hands back for notification after commit. */
interface LiveMove {
  name: string;
  version: number | undefined;
}

export class FunctionRegistry {
  readonly #database: SqliteNodeDatabase;
  readonly #stores: SqliteStores;
  readonly #audit: SqliteAuditLog;
  readonly #now: () => Date;
  readonly #maxFunctions: number;
  readonly #maxCodeBytes: number;
  #inUse: (name: string) => boolean;
  readonly #listeners = new Set<LiveChangeListener>();
  readonly #pending: LiveMove[] = [];
  #dispatching = false;
  readonly #sql: ReturnType<typeof prepareStatements>;

  constructor({ database, stores, audit }: FunctionRegistryParts, options: FunctionRegistryOptions = {}) {
    this.#database = database;
    this.#stores = stores;
    this.#audit = audit;
    this.#now = options.now ?? (() => new Date());
    this.#maxFunctions = options.maxFunctions ?? DEFAULT_MAX_FUNCTIONS;
    this.#maxCodeBytes = options.maxCodeBytes ?? DEFAULT_RUNTIME_LIMITS.maxCodeBytes;
    this.#inUse = options.isFunctionInUse ?? (() => false);
    migrateFunctionTables(database.connection);
    this.#sql = prepareStatements(database);
    stores.setStoreInUseCheck((storeId) => this.#functionsUsingStore(storeId, undefined) > 0);
  }

  /** Account id of the function ARNs. */
  get accountId(): string {
    return this.#database.accountId;
  }

  /** Replaces the "is this function used by the edge config?" hook (the edge may start after the registry). */
  setFunctionInUseCheck(check: (name: string) => boolean): void {
    this.#inUse = check;
  }

  /** `listener` runs synchronously after each commit that moves LIVE, in commit order; returns an unsubscribe. */
  onLiveChange(listener: LiveChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  functionArn(name: string): string {
    return `arn:aws:cloudfront::${this.#database.accountId}:function/${name}`;
  }

  // ---------------------------------------------------------------- writes

  create(input: { name: string; config: FunctionConfigInput; code: string }, actor: Actor): FunctionStageView {
    assertFunctionName(input.name);
    const config = this.#validateConfig(input.config);
    this.#checkCode(input.name, input.code, config.runtime);
    const at = this.#now().getTime();
    const id = randomUUID();
    this.#database.write(() => {
      if (this.#sql.functionByName.get(input.name) !== undefined) {
        throw openFrontError('CF_FUNCTION_ALREADY_EXISTS', `A function named ${input.name} already exists`, { name: input.name });
      }
      const count = this.#sql.functionCount.get() as number;
      if (count >= this.#maxFunctions) {
        throw openFrontError('CF_TOO_MANY_FUNCTIONS', `The account already has ${count} functions; the limit is ${this.#maxFunctions}`);
      }
      this.#assertStoreAssociable(config, undefined);
      this.#sql.insertFunction.run(id, input.name, at, at);
      const sha256 = this.#insertVersion(id, 1, input.code, config, actor, at);
      this.#sql.insertStage.run(id, 'DEVELOPMENT', 1, 1, at);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'CreateFunction',
        functionName: input.name,
        keys: [],
        changes: [],
        etagTo: stageEtag(id, 'DEVELOPMENT', 1),
        detail: { version: 1, sha256, config },
      });
    });
    return this.describe(input.name, 'DEVELOPMENT');
  }

  /** Writes a new version from `code` and `config` (the whole config: an omitted association is removed). */
  update(name: string, input: { config: FunctionConfigInput; code: string }, ifMatch: string | undefined, actor: Actor): FunctionStageView {
    const config = this.#validateConfig(input.config);
    this.#checkCode(name, input.code, config.runtime);
    const at = this.#now().getTime();
    this.#database.write(() => {
      const { fn, stage } = this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
      this.#assertStoreAssociable(config, fn.id);
      const version = (this.#sql.maxVersion.get(fn.id) as number) + 1;
      const sha256 = this.#insertVersion(fn.id, version, input.code, config, actor, at);
      this.#sql.moveStage.run(version, at, fn.id, 'DEVELOPMENT');
      this.#sql.touchFunction.run(at, fn.id);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'UpdateFunction',
        functionName: name,
        keys: [],
        changes: [],
        etagFrom: stageEtag(fn.id, 'DEVELOPMENT', stage.generation),
        etagTo: stageEtag(fn.id, 'DEVELOPMENT', stage.generation + 1),
        detail: { version, previousVersion: stage.version, sha256, config },
      });
    });
    return this.describe(name, 'DEVELOPMENT');
  }

  /** Points LIVE at DEVELOPMENT's version. `ifMatch` is the DEVELOPMENT ETag. */
  publish(name: string, ifMatch: string | undefined, actor: Actor): FunctionStageView {
    const move = this.#database.write((): LiveMove | undefined => {
      const { fn, stage: dev } = this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
      return this.#moveLive(fn, dev.version, actor, 'PublishFunction');
    });
    this.#announce(move);
    return this.describe(name, 'LIVE');
  }

  /** Points LIVE at an existing `version`. `ifMatch` is the LIVE ETag; the function must have been published. */
  rollback(name: string, version: number, ifMatch: string | undefined, actor: Actor): FunctionStageView {
    const move = this.#database.write((): LiveMove | undefined => {
      const { fn } = this.#requireStageMatch(name, 'LIVE', ifMatch);
      const target = this.#sql.version.get(fn.id, version) as VersionRow | undefined;
      if (target === undefined) {
        throw openFrontError('FUNCTION_VERSION_NOT_FOUND', `Function ${name} has no version ${version}`, { name, version });
      }
      this.#assertStoreAssociable(versionConfig(target), fn.id);
      return this.#moveLive(fn, version, actor, 'RollbackFunction');
    });
    this.#announce(move);
    return this.describe(name, 'LIVE');
  }

  /** Deletes the function with all its versions. `ifMatch` is the DEVELOPMENT ETag. */
  delete(name: string, ifMatch: string | undefined, actor: Actor): void {
    const move = this.#database.write((): LiveMove | undefined => {
      const { fn, stage } = this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
      if (this.#inUse(name)) throw openFrontError('CF_FUNCTION_IN_USE', `Function ${name} is used by the edge configuration`, { name });
      const live = this.#sql.stage.get(fn.id, 'LIVE') as StageRow | undefined;
      this.#sql.deleteFunction.run(fn.id);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'DeleteFunction',
        functionName: name,
        keys: [],
        changes: [],
        etagFrom: stageEtag(fn.id, 'DEVELOPMENT', stage.generation),
        detail: { developmentVersion: stage.version, liveVersion: live?.version ?? null },
      });
      return live === undefined ? undefined : { name, version: undefined };
    });
    this.#announce(move);
  }

  // ---------------------------------------------------------------- reads

  /** The function through `stage`; NoSuchFunctionExists when it (or that stage) does not exist. */
  describe(name: string, stage: FunctionStage = 'DEVELOPMENT'): FunctionStageView {
    const { fn, stage: row } = this.#requireStage(name, stage);
    return this.#view(fn, row, this.#sql.version.get(fn.id, row.version) as VersionRow);
  }

  /** Like {@link describe}, but undefined when the function exists without that stage (LIVE before a publish). */
  findStage(name: string, stage: FunctionStage): FunctionStageView | undefined {
    const fn = this.#requireFunction(name);
    const row = this.#sql.stage.get(fn.id, stage) as StageRow | undefined;
    return row && this.#view(fn, row, this.#sql.version.get(fn.id, row.version) as VersionRow);
  }

  /** The code of the version `stage` points at, with the stage's view (ETag, version). */
  getCode(name: string, stage: FunctionStage = 'DEVELOPMENT'): { code: string; view: FunctionStageView } {
    const { fn, stage: row } = this.#requireStage(name, stage);
    const version = this.#sql.version.get(fn.id, row.version) as VersionRow;
    return { code: version.code, view: this.#view(fn, row, version) };
  }

  /** Like {@link getCode}, after checking `ifMatch` against the stage's ETag (TestFunction's precondition). */
  getCodeIfMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): { code: string; view: FunctionStageView } {
    const { fn, stage: row } = this.#requireStageMatch(name, stage, ifMatch);
    const version = this.#sql.version.get(fn.id, row.version) as VersionRow;
    return { code: version.code, view: this.#view(fn, row, version) };
  }

  /**
   * Function stages by name, `maxItems` per page after `marker`. Without `stage` every function appears once per
   * stage it has (DEVELOPMENT, then LIVE once published), as CloudFront's ListFunctions does; the marker then names
   * the last entry as `name:STAGE` (a bare name means "after every stage of that name"). With `stage`, only that
   * stage is listed and the marker is the last name.
   */
  list(options: { marker?: string; maxItems?: number; stage?: FunctionStage } = {}): { items: FunctionStageView[]; nextMarker?: string } {
    const maxItems = options.maxItems ?? DEFAULT_MAX_FUNCTIONS;
    if (!Number.isInteger(maxItems) || maxItems < 1) throw openFrontError('CF_INVALID_ARGUMENT', `MaxItems must be a positive integer, got ${maxItems}`);
    const marker = options.marker ?? '';
    if (options.stage !== undefined) {
      const rows = this.#sql.listStages.all({ marker, stage: options.stage, limit: maxItems + 1 }) as Array<FunctionRow & StageRow & VersionRow>;
      const items = rows.slice(0, maxItems).map((row) => this.#view(row, row, row));
      return rows.length > maxItems ? { items, nextMarker: items[items.length - 1].name } : { items };
    }
    const separator = marker.lastIndexOf(':');
    // '~' sorts after both stage names: a bare name skips every stage of that function.
    const after =
      separator < 0 ? { markerName: marker, markerStage: '~' } : { markerName: marker.slice(0, separator), markerStage: marker.slice(separator + 1) };
    const rows = this.#sql.listAllStages.all({ ...after, limit: maxItems + 1 }) as Array<FunctionRow & StageRow & VersionRow>;
    const items = rows.slice(0, maxItems).map((row) => this.#view(row, row, row));
    if (rows.length <= maxItems) return { items };
    const last = items[items.length - 1];
    return { items, nextMarker: `${last.name}:${last.stage}` };
  }

  /** Every version, oldest first. */
  versions(name: string): FunctionVersion[] {
    const fn = this.#requireFunction(name);
    const stages = this.#stagesByVersion(fn.id);
    return (this.#sql.versions.all(fn.id) as VersionRow[]).map((row) => toVersion(row, stages.get(row.version) ?? []));
  }

  /** One version with its code. */
  version(name: string, version: number): FunctionVersion & { code: string } {
    const fn = this.#requireFunction(name);
    const row = this.#sql.version.get(fn.id, version) as VersionRow | undefined;
    if (row === undefined) throw openFrontError('FUNCTION_VERSION_NOT_FOUND', `Function ${name} has no version ${version}`, { name, version });
    return { ...toVersion(row, this.#stagesByVersion(fn.id).get(version) ?? []), code: row.code };
  }

  /** What LIVE serves now; undefined when the function does not exist or was never published. */
  live(name: string): LiveVersion | undefined {
    const row = this.#sql.liveByName.get(name) as VersionRow | undefined;
    if (row === undefined) return undefined;
    const live: LiveVersion = { version: row.version, code: row.code, runtime: row.runtime as RuntimeVersion };
    if (row.kvs_arn !== null) {
      const store = this.#stores.getStore({ arn: row.kvs_arn });
      if (store !== undefined) live.kvsStoreId = store.id;
    }
    return live;
  }

  /** The id of the function `name` (ids are random per creation); undefined when it does not exist. */
  functionId(name: string): string | undefined {
    return (this.#sql.functionByName.get(name) as FunctionRow | undefined)?.id;
  }

  /** Every function's id, by name. */
  functionIds(): Map<string, string> {
    return new Map((this.#sql.functionIds.all() as Array<{ name: string; id: string }>).map((row) => [row.name, row.id]));
  }

  /** Names of every function with a LIVE stage. */
  liveNames(): string[] {
    return this.#sql.liveNames.all() as string[];
  }

  // ---------------------------------------------------------------- internals

  #validateConfig(input: FunctionConfigInput): FunctionConfig {
    return validateFunctionConfig(input);
  }

  /** Throws what `create`/`update` would throw for this code, without writing anything (a config reload's pre-flight). */
  checkCode(name: string, code: string, runtime: RuntimeVersion): void {
    this.#checkCode(name, code, runtime);
  }

  #checkCode(name: string, code: string, runtime: RuntimeVersion): void {
    checkFunctionCode(name, code, runtime, this.#maxCodeBytes);
  }

  /** The store must exist, and may serve at most `maxFunctionsPerStore` functions (this one included). */
  #assertStoreAssociable(config: FunctionConfig, functionId: string | undefined): void {
    if (config.keyValueStoreArn === undefined) return;
    const store = this.#stores.getStore({ arn: config.keyValueStoreArn });
    if (store === undefined) {
      throw openFrontError('CF_INVALID_ARGUMENT', `KeyValueStore ${config.keyValueStoreArn} does not exist`, { keyValueStoreArn: config.keyValueStoreArn });
    }
    const others = this.#functionsUsingStore(store.id, functionId);
    const max = this.#stores.limits.maxFunctionsPerStore;
    if (others >= max) {
      throw openFrontError('CF_ENTITY_LIMIT_EXCEEDED', `KeyValueStore ${store.name} is already associated with ${others} functions; the limit is ${max}`, {
        store: store.name,
      });
    }
  }

  /** Functions (other than `exceptFunctionId`) whose DEVELOPMENT or LIVE version associates the store. */
  #functionsUsingStore(storeId: string, exceptFunctionId: string | undefined): number {
    const arn = `arn:aws:cloudfront::${this.#database.accountId}:key-value-store/${storeId}`;
    return this.#sql.functionsUsingStore.get(arn.toLowerCase(), exceptFunctionId ?? '') as number;
  }

  #insertVersion(functionId: string, version: number, code: string, config: FunctionConfig, actor: Actor, at: number): string {
    const sha256 = createHash('sha256').update(code).digest('hex');
    this.#sql.insertVersion.run(functionId, version, code, sha256, config.runtime, config.comment, config.keyValueStoreArn ?? null, actor.accessKeyId, at);
    return sha256;
  }

  #moveLive(fn: FunctionRow, version: number, actor: Actor, operation: string): LiveMove | undefined {
    const at = this.#now().getTime();
    const live = this.#sql.stage.get(fn.id, 'LIVE') as StageRow | undefined;
    const generation = (live?.generation ?? 0) + 1;
    if (live === undefined) this.#sql.insertStage.run(fn.id, 'LIVE', version, generation, at);
    else this.#sql.moveStage.run(version, at, fn.id, 'LIVE');
    this.#sql.touchFunction.run(at, fn.id);
    const target = this.#sql.version.get(fn.id, version) as VersionRow;
    this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation,
      functionName: fn.name,
      keys: [],
      changes: [],
      ...(live ? { etagFrom: stageEtag(fn.id, 'LIVE', live.generation) } : {}),
      etagTo: stageEtag(fn.id, 'LIVE', generation),
      detail: { version, previousVersion: live?.version ?? null, sha256: target.sha256 },
    });
    return live?.version === version ? undefined : { name: fn.name, version };
  }

  /** Delivers LIVE moves in commit order, even when a listener's own work commits another move. */
  #announce(move: LiveMove | undefined): void {
    if (move === undefined) return;
    // Inside the database's atomically() block (a release), the move is announced with that block's other changes.
    this.#database.afterCommit(() => this.#dispatch(move));
  }

  #dispatch(move: LiveMove): void {
    this.#pending.push(move);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
        for (const listener of [...this.#listeners]) {
          try {
            listener(next.name, next.version);
          } catch (err) {
            // The move is committed; a failing follower must not turn it into an error for the writer.
            process.emitWarning(err instanceof Error ? err : String(err), 'OpenFrontLiveChangeListenerWarning');
          }
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }

  #requireFunction(name: string): FunctionRow {
    const fn = this.#sql.functionByName.get(name) as FunctionRow | undefined;
    if (fn === undefined) throw openFrontError('CF_NO_SUCH_FUNCTION', `The function ${name} does not exist`, { name });
    return fn;
  }

  #requireStage(name: string, stage: FunctionStage): { fn: FunctionRow; stage: StageRow } {
    const fn = this.#requireFunction(name);
    const row = this.#sql.stage.get(fn.id, stage) as StageRow | undefined;
    if (row === undefined) throw openFrontError('CF_NO_SUCH_FUNCTION', `The function ${name} has no ${stage} stage: publish it first`, { name, stage });
    return { fn, stage: row };
  }

  /** CloudFront's precondition order: If-Match present (400), function exists (404), If-Match current (412). */
  #requireStageMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): { fn: FunctionRow; stage: StageRow } {
    if (ifMatch === undefined || ifMatch === '') {
      throw openFrontError('CF_INVALID_IF_MATCH', `The If-Match header is required: send the ${stage} ETag from DescribeFunction`);
    }
    const found = this.#requireStage(name, stage);
    if (ifMatch !== stageEtag(found.fn.id, stage, found.stage.generation)) {
      throw openFrontError('CF_PRECONDITION_FAILED', `The If-Match version ${ifMatch} is not the current ${stage} version of function ${name}`, {
        name,
        stage,
      });
    }
    return found;
  }

  #stagesByVersion(functionId: string): Map<number, FunctionStage[]> {
    const map = new Map<number, FunctionStage[]>();
    for (const row of this.#sql.stages.all(functionId) as StageRow[]) map.set(row.version, [...(map.get(row.version) ?? []), row.stage]);
    return map;
  }

  #view(fn: FunctionRow, stage: StageRow, version: VersionRow): FunctionStageView {
    return {
      name: fn.name,
      arn: this.functionArn(fn.name),
      stage: stage.stage,
      status: this.#status(fn),
      version: stage.version,
      etag: stageEtag(fn.id, stage.stage, stage.generation),
      config: versionConfig(version),
      sha256: version.sha256,
      created: new Date(fn.created_ms),
      lastModified: new Date(stage.updated_ms),
    };
  }

  #status(fn: FunctionRow): FunctionStatus {
    const [dev, live] = [this.#sql.stage.get(fn.id, 'DEVELOPMENT') as StageRow, this.#sql.stage.get(fn.id, 'LIVE') as StageRow | undefined];
    if (live === undefined || live.version !== dev.version) return 'UNPUBLISHED';
    return this.#inUse(fn.name) ? 'DEPLOYED' : 'UNASSOCIATED';
  }
}

function versionConfig(row: VersionRow): FunctionConfig {
  const config: FunctionConfig = { comment: row.comment, runtime: row.runtime as RuntimeVersion };
  if (row.kvs_arn !== null) config.keyValueStoreArn = row.kvs_arn;
  return config;
}

function toVersion(row: VersionRow, stages: FunctionStage[]): FunctionVersion {
  return {
    version: row.version,
    sha256: row.sha256,
    size: Buffer.byteLength(row.code, 'utf8'),
    config: versionConfig(row),
    createdBy: row.created_by,
    created: new Date(row.created_ms),
    stages,
  };
}

function prepareStatements(database: SqliteNodeDatabase) {
  const c = database.connection;
  return {
    functionByName: c.prepare('SELECT * FROM fn_functions WHERE name = ?'),
    functionIds: c.prepare('SELECT name, id FROM fn_functions'),
    functionCount: c.prepare('SELECT count(*) FROM fn_functions').pluck(),
    insertFunction: c.prepare('INSERT INTO fn_functions (id, name, created_ms, last_modified_ms) VALUES (?, ?, ?, ?)'),
    touchFunction: c.prepare('UPDATE fn_functions SET last_modified_ms = ? WHERE id = ?'),
    deleteFunction: c.prepare('DELETE FROM fn_functions WHERE id = ?'),
    insertVersion: c.prepare(
      'INSERT INTO fn_versions (function_id, version, code, sha256, runtime, comment, kvs_arn, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    maxVersion: c.prepare('SELECT max(version) FROM fn_versions WHERE function_id = ?').pluck(),
    version: c.prepare('SELECT * FROM fn_versions WHERE function_id = ? AND version = ?'),
    versions: c.prepare('SELECT * FROM fn_versions WHERE function_id = ? ORDER BY version'),
    stage: c.prepare('SELECT * FROM fn_stages WHERE function_id = ? AND stage = ?'),
    stages: c.prepare('SELECT * FROM fn_stages WHERE function_id = ?'),
    insertStage: c.prepare('INSERT INTO fn_stages (function_id, stage, version, generation, updated_ms) VALUES (?, ?, ?, ?, ?)'),
    moveStage: c.prepare('UPDATE fn_stages SET version = ?, generation = generation + 1, updated_ms = ? WHERE function_id = ? AND stage = ?'),
    // f.* comes last so that created_ms is the function's (fn_versions has its own created_ms).
    listStages: c.prepare(
      `SELECT s.*, v.*, f.* FROM fn_functions f
       JOIN fn_stages s ON s.function_id = f.id AND s.stage = @stage
       JOIN fn_versions v ON v.function_id = f.id AND v.version = s.version
       WHERE f.name > @marker ORDER BY f.name LIMIT @limit`,
    ),
    listAllStages: c.prepare(
      `SELECT s.*, v.*, f.* FROM fn_functions f
       JOIN fn_stages s ON s.function_id = f.id
       JOIN fn_versions v ON v.function_id = f.id AND v.version = s.version
       WHERE (f.name, s.stage) > (@markerName, @markerStage) ORDER BY f.name, s.stage LIMIT @limit`,
    ),
    liveByName: c.prepare(
      `SELECT v.* FROM fn_functions f
       JOIN fn_stages s ON s.function_id = f.id AND s.stage = 'LIVE'
       JOIN fn_versions v ON v.function_id = f.id AND v.version = s.version
       WHERE f.name = ?`,
    ),
    liveNames: c.prepare(`SELECT f.name FROM fn_functions f JOIN fn_stages s ON s.function_id = f.id AND s.stage = 'LIVE' ORDER BY f.name`).pluck(),
    // ARNs compare case-insensitively: the id part is hex, and CloudFront's ARN pattern accepts either case.
    functionsUsingStore: c
      .prepare(
        `SELECT count(DISTINCT s.function_id) FROM fn_stages s
       JOIN fn_versions v ON v.function_id = s.function_id AND v.version = s.version
       WHERE lower(v.kvs_arn) = ? AND s.function_id <> ?`,
      )
      .pluck(),
  };
}
