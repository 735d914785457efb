/** Functions on the embedded SQLite database: the synchronous {@link FunctionRegistry} behind the async interface. */
import { openFrontError } from '../../errors.js';
import type { Actor } from '../../kvs/types.js';
import { applyOwnershipChange, auditOwnershipFields, type Ownership, type OwnershipChange } from '../ownership.js';
import { migratePermsTables, OwnershipTable } from './perms-tables.js';
import type { RuntimeVersion } from '../../runtime/event.js';
import type { FunctionConfigInput, FunctionStage, FunctionStageView, FunctionVersion, LiveVersion } from '../functions.js';
import type { FunctionState } from '../types.js';
import type { SqliteAuditLog } from './audit-log.js';
import type { FunctionRegistry } from './function-registry.js';
import type { SqliteNodeDatabase } from './node-database.js';

export class SqliteFunctionState implements FunctionState {
  readonly #registry: FunctionRegistry;
  readonly #database: SqliteNodeDatabase;
  readonly #audit: SqliteAuditLog;
  readonly #ownership: OwnershipTable;

  constructor(registry: FunctionRegistry, database: SqliteNodeDatabase, audit: SqliteAuditLog) {
    this.#registry = registry;
    this.#database = database;
    this.#audit = audit;
    migratePermsTables(database.connection);
    this.#ownership = new OwnershipTable(database.connection, 'function');
    audit.addEnricher((record) =>
      record.functionName === undefined || record.storeId !== undefined
        ? undefined
        : auditOwnershipFields(record.operation, this.#ownershipOf(record.functionName)),
    );
  }

  /** The view with its owner and labels. */
  #owned(view: FunctionStageView, ownership: Ownership = this.#ownershipOf(view.name)): FunctionStageView {
    return { ...view, ...ownership };
  }

  #ownershipOf(name: string): Ownership {
    const id = this.#idOf(name);
    return id === undefined ? {} : this.#ownership.get(id);
  }

  #idOf(name: string): string | undefined {
    return this.#registry.functionId(name);
  }

  async setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<Ownership> {
    return this.#database.write(() => {
      const id = this.#idOf(name);
      if (id === undefined) throw openFrontError('CF_NO_SUCH_FUNCTION', `The function ${name} does not exist`, { name });
      const before = this.#ownership.get(id);
      const after = applyOwnershipChange(before, change);
      this.#ownership.put(id, after);
      this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'SetOwnership',
        functionName: name,
        keys: [],
        changes: [],
        detail: { ownerBefore: before.owner ?? null, ownerAfter: after.owner ?? null, labelsBefore: before.labels ?? {}, labelsAfter: after.labels ?? {} },
      });
      return after;
    });
  }

  get accountId(): string {
    return this.#registry.accountId;
  }

  functionArn(name: string): string {
    return this.#registry.functionArn(name);
  }

  setFunctionInUseCheck(check: (name: string) => boolean): void {
    this.#registry.setFunctionInUseCheck(check);
  }

  checkCode(name: string, code: string, runtime: RuntimeVersion): void {
    this.#registry.checkCode(name, code, runtime);
  }

  async create(input: { name: string; config: FunctionConfigInput; code: string }, actor: Actor): Promise<FunctionStageView> {
    // One transaction: the function never exists without its owner, the key that created it.
    return this.#database.transaction(() => {
      const view = this.#registry.create(input, actor);
      const id = this.#idOf(view.name)!;
      this.#ownership.put(id, { owner: actor.accessKeyId });
      return this.#owned(view, { owner: actor.accessKeyId });
    });
  }

  async update(name: string, input: { config: FunctionConfigInput; code: string }, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#owned(this.#registry.update(name, input, ifMatch, actor));
  }

  async publish(name: string, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#owned(this.#registry.publish(name, ifMatch, actor));
  }

  async rollback(name: string, version: number, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    return this.#owned(this.#registry.rollback(name, version, ifMatch, actor));
  }

  async delete(name: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    this.#registry.delete(name, ifMatch, actor);
  }

  async describe(name: string, stage?: FunctionStage): Promise<FunctionStageView> {
    return this.#owned(this.#registry.describe(name, stage));
  }

  async findStage(name: string, stage: FunctionStage): Promise<FunctionStageView | undefined> {
    const view = this.#registry.findStage(name, stage);
    return view && this.#owned(view);
  }

  async getCode(name: string, stage?: FunctionStage): Promise<{ code: string; view: FunctionStageView }> {
    const found = this.#registry.getCode(name, stage);
    return { ...found, view: this.#owned(found.view) };
  }

  async getCodeIfMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): Promise<{ code: string; view: FunctionStageView }> {
    const found = this.#registry.getCodeIfMatch(name, stage, ifMatch);
    return { ...found, view: this.#owned(found.view) };
  }

  async list(options?: { marker?: string; maxItems?: number; stage?: FunctionStage }): Promise<{ items: FunctionStageView[]; nextMarker?: string }> {
    const page = this.#registry.list(options);
    const ids = this.#registry.functionIds();
    const owned = this.#ownership.all();
    return { ...page, items: page.items.map((view) => this.#owned(view, owned.get(ids.get(view.name) ?? '') ?? {})) };
  }

  async versions(name: string): Promise<FunctionVersion[]> {
    return this.#registry.versions(name);
  }

  async version(name: string, version: number): Promise<FunctionVersion & { code: string }> {
    return this.#registry.version(name, version);
  }

  async live(name: string): Promise<LiveVersion | undefined> {
    return this.#registry.live(name);
  }

  async liveNames(): Promise<string[]> {
    return this.#registry.liveNames();
  }
}
