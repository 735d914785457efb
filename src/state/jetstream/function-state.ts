/**
 * Functions in JetStream (docs/fleet.md): the KV bucket `of_functions` holds one JSON record per function — its
 * stages and the metadata of every version — and `of_function_versions` the code and config of each version under
 * `<name>.v<version>`. Edges watch `of_functions` for LIVE moves and fetch the code of the version LIVE points at.
 *
 * Every write is a conditional update of the function's record at the KV revision it was read at, so of several
 * control processes writing with the same ETag exactly one wins; the others get the ETag error (412), as a second
 * SQLite writer would. A version's code is written once its record committed (only the winner writes it) and is
 * checked against the sha256 in the record when read, so a leftover of a deleted function of the same name is
 * never served.
 */
import { createHash, randomUUID } from 'node:crypto';
import { openFrontError } from '../../errors.js';
import type { Actor } from '../../kvs/types.js';
import type { RuntimeVersion } from '../../runtime/event.js';
import { DEFAULT_RUNTIME_LIMITS } from '../../runtime/limits.js';
import {
  assertFunctionName,
  assertIfMatchPresent,
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
  type LiveVersion,
} from '../functions.js';
import type { AuditState, FunctionState, StoreState } from '../types.js';
import { applyOwnershipChange, type Ownership, type OwnershipChange } from '../ownership.js';
import {
  FUNCTION_VERSIONS_BUCKET,
  FUNCTIONS_BUCKET,
  listKeys,
  natsCall,
  readJson,
  writeJson,
  deleteIfAt,
  type Buckets,
  type JetStreamContext,
} from './buckets.js';

interface StagePointer {
  version: number;
  /** Moves of the pointer; feeds the stage ETag. */
  generation: number;
  etag: string;
  updated: string;
}

interface VersionMeta {
  version: number;
  sha256: string;
  size: number;
  runtime: RuntimeVersion;
  comment: string;
  kvsArns: string[];
  createdBy: string;
  created: string;
}

/** The value of `of_functions/<name>`. */
export interface FunctionRecordJson {
  name: string;
  /** Random per creation: ETags of a function re-created under the same name never repeat the old ones. */
  id: string;
  created: string;
  lastModified: string;
  development: StagePointer;
  live?: StagePointer & { publishedAt: string };
  versions: VersionMeta[];
  /** perms (issue 15): owner (the creating key by default) and labels; not part of any ETag. */
  owner?: string;
  labels?: Record<string, string>;
}

/** The value of `of_function_versions/<name>.v<version>`. */
export interface FunctionVersionJson {
  code: string;
  config: FunctionConfig;
  sha256: string;
}

type Loaded = { value: FunctionRecordJson; revision: number };

/** Attempts of an ownership change racing other writes of the same function. */
const MAX_OWNERSHIP_ATTEMPTS = 5;

export function functionVersionKey(name: string, version: number): string {
  return `${name}.v${version}`;
}

export class JetStreamFunctionState implements FunctionState {
  readonly #ctx: JetStreamContext;
  readonly #buckets: Buckets;
  readonly #stores: StoreState;
  readonly #audit: AuditState;
  readonly #maxFunctions: number;
  readonly #maxCodeBytes: number;
  #inUse: (name: string) => boolean;

  constructor(ctx: JetStreamContext, buckets: Buckets, stores: StoreState, audit: AuditState, options: FunctionRegistryOptions = {}) {
    this.#ctx = ctx;
    this.#buckets = buckets;
    this.#stores = stores;
    this.#audit = audit;
    this.#maxFunctions = options.maxFunctions ?? DEFAULT_MAX_FUNCTIONS;
    this.#maxCodeBytes = options.maxCodeBytes ?? DEFAULT_RUNTIME_LIMITS.maxCodeBytes;
    this.#inUse = options.isFunctionInUse ?? (() => false);
  }

  get accountId(): string {
    return this.#stores.accountId;
  }

  functionArn(name: string): string {
    return `arn:aws:cloudfront::${this.accountId}:function/${name}`;
  }

  setFunctionInUseCheck(check: (name: string) => boolean): void {
    this.#inUse = check;
  }

  checkCode(name: string, code: string, runtime: RuntimeVersion): void {
    checkFunctionCode(name, code, runtime, this.#maxCodeBytes);
  }

  // ---------------------------------------------------------------- writes

  async create(input: { name: string; config: FunctionConfigInput; code: string }, actor: Actor): Promise<FunctionStageView> {
    assertFunctionName(input.name);
    const config = validateFunctionConfig(input.config);
    this.checkCode(input.name, input.code, config.runtime);
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    if ((await readJson(this.#ctx.conn, kv, input.name)) !== undefined) throw alreadyExists(input.name);
    const count = (await listKeys(this.#ctx.conn, kv)).length;
    if (count >= this.#maxFunctions)
      throw openFrontError('CF_TOO_MANY_FUNCTIONS', `The account already has ${count} functions; the limit is ${this.#maxFunctions}`);
    await this.#assertStoreAssociable(config, input.name);
    const at = this.#ctx.now().toISOString();
    const id = randomUUID();
    const meta = versionMeta(1, input.code, config, actor, at);
    const record: FunctionRecordJson = {
      name: input.name,
      id,
      created: at,
      lastModified: at,
      development: { version: 1, generation: 1, etag: stageEtag(id, 'DEVELOPMENT', 1), updated: at },
      versions: [meta],
      owner: actor.accessKeyId,
    };
    const revision = await writeJson(this.#ctx.conn, kv, input.name, record, undefined);
    if (revision === undefined) throw alreadyExists(input.name);
    await this.#writeCode(input.name, 1, { code: input.code, config, sha256: meta.sha256 });
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'CreateFunction',
      functionName: input.name,
      keys: [],
      changes: [],
      etagTo: record.development.etag,
      detail: { version: 1, sha256: meta.sha256, config },
    });
    return this.#view(record, 'DEVELOPMENT');
  }

  async update(name: string, input: { config: FunctionConfigInput; code: string }, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    const config = validateFunctionConfig(input.config);
    this.checkCode(name, input.code, config.runtime);
    const loaded = await this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
    await this.#assertStoreAssociable(config, name);
    const record = loaded.value;
    const at = this.#ctx.now().toISOString();
    const version = Math.max(...record.versions.map((v) => v.version)) + 1;
    const meta = versionMeta(version, input.code, config, actor, at);
    const before = record.development;
    const development = { version, generation: before.generation + 1, etag: stageEtag(record.id, 'DEVELOPMENT', before.generation + 1), updated: at };
    const next: FunctionRecordJson = { ...record, lastModified: at, development, versions: [...record.versions, meta] };
    await this.#commit(name, next, loaded.revision, 'DEVELOPMENT', ifMatch!);
    await this.#writeCode(name, version, { code: input.code, config, sha256: meta.sha256 });
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'UpdateFunction',
      functionName: name,
      keys: [],
      changes: [],
      etagFrom: before.etag,
      etagTo: development.etag,
      detail: { version, previousVersion: before.version, sha256: meta.sha256, config },
    });
    return this.#view(next, 'DEVELOPMENT');
  }

  async publish(name: string, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    const loaded = await this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
    const next = await this.#moveLive(loaded, loaded.value.development.version, actor, 'PublishFunction', 'DEVELOPMENT', ifMatch!);
    return this.#view(next, 'LIVE');
  }

  async rollback(name: string, version: number, ifMatch: string | undefined, actor: Actor): Promise<FunctionStageView> {
    const loaded = await this.#requireStageMatch(name, 'LIVE', ifMatch);
    const target = loaded.value.versions.find((v) => v.version === version);
    if (target === undefined) throw openFrontError('FUNCTION_VERSION_NOT_FOUND', `Function ${name} has no version ${version}`, { name, version });
    await this.#assertStoreAssociable(metaConfig(target), name);
    const next = await this.#moveLive(loaded, version, actor, 'RollbackFunction', 'LIVE', ifMatch!);
    return this.#view(next, 'LIVE');
  }

  /** Owner and labels of a function; undefined for no such function. For audit records. */
  async ownershipOf(name: string): Promise<Ownership | undefined> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    const found = FUNCTION_NAME_KEY.test(name) ? await readJson<FunctionRecordJson>(this.#ctx.conn, kv, name) : undefined;
    return found && { owner: found.value.owner, labels: found.value.labels };
  }

  async setOwnership(name: string, change: OwnershipChange, actor: Actor): Promise<Ownership> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    for (let attempt = 1; attempt <= MAX_OWNERSHIP_ATTEMPTS; attempt++) {
      const loaded = await this.#requireFunction(name);
      const before = loaded.value;
      const after = applyOwnershipChange({ owner: before.owner, labels: before.labels }, change);
      const { owner: _owner, labels: _labels, ...rest } = before;
      // Conditional on the revision read: a concurrent write makes this one read again (no ETag moves).
      if ((await writeJson(this.#ctx.conn, kv, name, { ...rest, ...after }, loaded.revision)) === undefined) continue;
      await this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'SetOwnership',
        functionName: name,
        keys: [],
        changes: [],
        detail: { ownerBefore: before.owner ?? null, ownerAfter: after.owner ?? null, labelsBefore: before.labels ?? {}, labelsAfter: after.labels ?? {} },
      });
      return after;
    }
    throw openFrontError('CF_PRECONDITION_FAILED', `Function ${name} kept changing while its ownership was being set; retry`, { name });
  }

  async delete(name: string, ifMatch: string | undefined, actor: Actor): Promise<void> {
    const loaded = await this.#requireStageMatch(name, 'DEVELOPMENT', ifMatch);
    if (this.#inUse(name)) throw openFrontError('CF_FUNCTION_IN_USE', `Function ${name} is used by the edge configuration`, { name });
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    if (!(await deleteIfAt(this.#ctx.conn, kv, name, loaded.revision))) throw stale(name, 'DEVELOPMENT', ifMatch!);
    const record = loaded.value;
    // The versions' code goes with the record; a leftover (a crash here) is never served: reads check its sha256.
    const versions = await this.#buckets.get(FUNCTION_VERSIONS_BUCKET);
    for (const v of record.versions) await natsCall(this.#ctx.conn, () => versions.delete(functionVersionKey(name, v.version)));
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'DeleteFunction',
      functionName: name,
      keys: [],
      changes: [],
      etagFrom: record.development.etag,
      detail: { developmentVersion: record.development.version, liveVersion: record.live?.version ?? null },
    });
  }

  // ---------------------------------------------------------------- reads

  async describe(name: string, stage: FunctionStage = 'DEVELOPMENT'): Promise<FunctionStageView> {
    const { value } = await this.#requireStage(name, stage);
    return this.#view(value, stage);
  }

  async findStage(name: string, stage: FunctionStage): Promise<FunctionStageView | undefined> {
    const { value } = await this.#requireFunction(name);
    return pointer(value, stage) === undefined ? undefined : this.#view(value, stage);
  }

  async getCode(name: string, stage: FunctionStage = 'DEVELOPMENT'): Promise<{ code: string; view: FunctionStageView }> {
    const { value } = await this.#requireStage(name, stage);
    const view = this.#view(value, stage);
    return { code: (await this.#readCode(value, view.version)).code, view };
  }

  async getCodeIfMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): Promise<{ code: string; view: FunctionStageView }> {
    const { value } = await this.#requireStageMatch(name, stage, ifMatch);
    const view = this.#view(value, stage);
    return { code: (await this.#readCode(value, view.version)).code, view };
  }

  async list(options: { marker?: string; maxItems?: number; stage?: FunctionStage } = {}): Promise<{ items: FunctionStageView[]; nextMarker?: string }> {
    const maxItems = options.maxItems ?? DEFAULT_MAX_FUNCTIONS;
    if (!Number.isInteger(maxItems) || maxItems < 1) throw openFrontError('CF_INVALID_ARGUMENT', `MaxItems must be a positive integer, got ${maxItems}`);
    const marker = options.marker ?? '';
    const records = await this.#allRecords();
    const entries: FunctionStageView[] = [];
    for (const record of records) {
      for (const stage of options.stage === undefined ? (['DEVELOPMENT', 'LIVE'] as const) : [options.stage]) {
        if (pointer(record, stage) !== undefined) entries.push(this.#view(record, stage));
      }
    }
    let after: (view: FunctionStageView) => boolean;
    if (options.stage !== undefined) after = (v) => v.name > marker;
    else {
      const separator = marker.lastIndexOf(':');
      // '~' sorts after both stage names: a bare name skips every stage of that function.
      const [markerName, markerStage] = separator < 0 ? [marker, '~'] : [marker.slice(0, separator), marker.slice(separator + 1)];
      after = (v) => v.name > markerName || (v.name === markerName && v.stage > markerStage);
    }
    const remaining = entries.filter(after);
    const items = remaining.slice(0, maxItems);
    if (remaining.length <= maxItems) return { items };
    const last = items[items.length - 1];
    return { items, nextMarker: options.stage !== undefined ? last.name : `${last.name}:${last.stage}` };
  }

  async versions(name: string): Promise<FunctionVersion[]> {
    const { value } = await this.#requireFunction(name);
    return value.versions.map((meta) => toVersion(meta, stagesOf(value, meta.version)));
  }

  async version(name: string, version: number): Promise<FunctionVersion & { code: string }> {
    const { value } = await this.#requireFunction(name);
    const meta = value.versions.find((v) => v.version === version);
    if (meta === undefined) throw openFrontError('FUNCTION_VERSION_NOT_FOUND', `Function ${name} has no version ${version}`, { name, version });
    return { ...toVersion(meta, stagesOf(value, version)), code: (await this.#readCode(value, version)).code };
  }

  async live(name: string): Promise<LiveVersion | undefined> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    const found = await readJson<FunctionRecordJson>(this.#ctx.conn, kv, name);
    const live = found?.value.live;
    if (found === undefined || live === undefined) return undefined;
    const stored = await this.#readCode(found.value, live.version);
    const result: LiveVersion = { version: live.version, code: stored.code, runtime: stored.config.runtime };
    if (stored.config.keyValueStoreArn !== undefined) {
      const store = await this.#stores.getStore({ arn: stored.config.keyValueStoreArn });
      if (store !== undefined) result.kvsStoreId = store.id;
    }
    return result;
  }

  async liveNames(): Promise<string[]> {
    return (await this.#allRecords()).filter((r) => r.live !== undefined).map((r) => r.name);
  }

  /** Functions other than `exceptName` whose DEVELOPMENT or LIVE version associates the store. */
  async functionsUsingStore(storeId: string, exceptName: string | undefined): Promise<number> {
    const arn = `arn:aws:cloudfront::${this.accountId}:key-value-store/${storeId}`.toLowerCase();
    let count = 0;
    for (const record of await this.#allRecords()) {
      if (record.name === exceptName) continue;
      const pointed = [record.development.version, record.live?.version].filter((v): v is number => v !== undefined);
      const uses = record.versions.some((v) => pointed.includes(v.version) && v.kvsArns.some((a) => a.toLowerCase() === arn));
      if (uses) count++;
    }
    return count;
  }

  // ---------------------------------------------------------------- internals

  async #moveLive(loaded: Loaded, version: number, actor: Actor, operation: string, matchedStage: FunctionStage, ifMatch: string): Promise<FunctionRecordJson> {
    const record = loaded.value;
    const at = this.#ctx.now().toISOString();
    const before = record.live;
    const generation = (before?.generation ?? 0) + 1;
    const live = { version, generation, etag: stageEtag(record.id, 'LIVE', generation), updated: at, publishedAt: at };
    const next: FunctionRecordJson = { ...record, lastModified: at, live };
    await this.#commit(record.name, next, loaded.revision, matchedStage, ifMatch);
    const target = record.versions.find((v) => v.version === version);
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation,
      functionName: record.name,
      keys: [],
      changes: [],
      ...(before ? { etagFrom: before.etag } : {}),
      etagTo: live.etag,
      detail: { version, previousVersion: before?.version ?? null, sha256: target?.sha256 },
    });
    return next;
  }

  /** The conditional write every change ends with: lost to another writer, it is the caller's stale ETag. */
  async #commit(name: string, next: FunctionRecordJson, revision: number, stage: FunctionStage, ifMatch: string): Promise<void> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    if ((await writeJson(this.#ctx.conn, kv, name, next, revision)) === undefined) throw stale(name, stage, ifMatch);
  }

  async #writeCode(name: string, version: number, value: FunctionVersionJson): Promise<void> {
    const kv = await this.#buckets.get(FUNCTION_VERSIONS_BUCKET);
    await natsCall(this.#ctx.conn, () => kv.put(functionVersionKey(name, version), JSON.stringify(value)));
  }

  async #readCode(record: FunctionRecordJson, version: number): Promise<FunctionVersionJson> {
    const kv = await this.#buckets.get(FUNCTION_VERSIONS_BUCKET);
    const meta = record.versions.find((v) => v.version === version);
    const found = await readJson<FunctionVersionJson>(this.#ctx.conn, kv, functionVersionKey(record.name, version));
    if (meta === undefined || found === undefined || found.value.sha256 !== meta.sha256) {
      throw openFrontError('STATE_UNAVAILABLE', `The code of version ${version} of function ${record.name} is not (yet) in NATS; retry`, {
        name: record.name,
        version,
      });
    }
    return found.value;
  }

  async #allRecords(): Promise<FunctionRecordJson[]> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    const records: FunctionRecordJson[] = [];
    for (const name of (await listKeys(this.#ctx.conn, kv)).sort()) {
      const found = await readJson<FunctionRecordJson>(this.#ctx.conn, kv, name);
      if (found !== undefined) records.push(found.value);
    }
    return records;
  }

  async #requireFunction(name: string): Promise<Loaded> {
    const kv = await this.#buckets.get(FUNCTIONS_BUCKET);
    const found = FUNCTION_NAME_KEY.test(name) ? await readJson<FunctionRecordJson>(this.#ctx.conn, kv, name) : undefined;
    if (found === undefined) throw openFrontError('CF_NO_SUCH_FUNCTION', `The function ${name} does not exist`, { name });
    return found;
  }

  async #requireStage(name: string, stage: FunctionStage): Promise<Loaded> {
    const loaded = await this.#requireFunction(name);
    if (pointer(loaded.value, stage) === undefined) {
      throw openFrontError('CF_NO_SUCH_FUNCTION', `The function ${name} has no ${stage} stage: publish it first`, { name, stage });
    }
    return loaded;
  }

  /** CloudFront's precondition order: If-Match present (400), function exists (404), If-Match current (412). */
  async #requireStageMatch(name: string, stage: FunctionStage, ifMatch: string | undefined): Promise<Loaded> {
    assertIfMatchPresent(ifMatch, stage);
    const loaded = await this.#requireStage(name, stage);
    if (ifMatch !== pointer(loaded.value, stage)!.etag) throw stale(name, stage, ifMatch);
    return loaded;
  }

  /** The store must exist, and may serve at most `maxFunctionsPerStore` functions (this one included). */
  async #assertStoreAssociable(config: FunctionConfig, name: string): Promise<void> {
    if (config.keyValueStoreArn === undefined) return;
    const store = await this.#stores.getStore({ arn: config.keyValueStoreArn });
    if (store === undefined) {
      throw openFrontError('CF_INVALID_ARGUMENT', `KeyValueStore ${config.keyValueStoreArn} does not exist`, { keyValueStoreArn: config.keyValueStoreArn });
    }
    const others = await this.functionsUsingStore(store.id, name);
    const max = this.#stores.limits.maxFunctionsPerStore;
    if (others >= max) {
      throw openFrontError('CF_ENTITY_LIMIT_EXCEEDED', `KeyValueStore ${store.name} is already associated with ${others} functions; the limit is ${max}`, {
        store: store.name,
      });
    }
  }

  #view(record: FunctionRecordJson, stage: FunctionStage): FunctionStageView {
    const at = pointer(record, stage)!;
    const meta = record.versions.find((v) => v.version === at.version)!;
    return {
      name: record.name,
      arn: this.functionArn(record.name),
      stage,
      status: this.#status(record),
      version: at.version,
      etag: at.etag,
      config: metaConfig(meta),
      sha256: meta.sha256,
      created: new Date(record.created),
      lastModified: new Date(at.updated),
      ...(record.owner === undefined ? {} : { owner: record.owner }),
      ...(record.labels === undefined ? {} : { labels: { ...record.labels } }),
    };
  }

  #status(record: FunctionRecordJson): FunctionStatus {
    if (record.live === undefined || record.live.version !== record.development.version) return 'UNPUBLISHED';
    return this.#inUse(record.name) ? 'DEPLOYED' : 'UNASSOCIATED';
  }
}

/** Names the API accepts are NATS keys as they are; anything else cannot exist. */
const FUNCTION_NAME_KEY = /^[a-zA-Z0-9_-]{1,64}$/;

function pointer(record: FunctionRecordJson, stage: FunctionStage): StagePointer | undefined {
  return stage === 'DEVELOPMENT' ? record.development : record.live;
}

function versionMeta(version: number, code: string, config: FunctionConfig, actor: Actor, at: string): VersionMeta {
  return {
    version,
    sha256: createHash('sha256').update(code).digest('hex'),
    size: Buffer.byteLength(code, 'utf8'),
    runtime: config.runtime,
    comment: config.comment,
    kvsArns: config.keyValueStoreArn === undefined ? [] : [config.keyValueStoreArn],
    createdBy: actor.accessKeyId,
    created: at,
  };
}

function metaConfig(meta: VersionMeta): FunctionConfig {
  const config: FunctionConfig = { comment: meta.comment, runtime: meta.runtime };
  if (meta.kvsArns.length > 0) config.keyValueStoreArn = meta.kvsArns[0];
  return config;
}

function stagesOf(record: FunctionRecordJson, version: number): FunctionStage[] {
  const stages: FunctionStage[] = [];
  if (record.development.version === version) stages.push('DEVELOPMENT');
  if (record.live?.version === version) stages.push('LIVE');
  return stages;
}

function toVersion(meta: VersionMeta, stages: FunctionStage[]): FunctionVersion {
  return {
    version: meta.version,
    sha256: meta.sha256,
    size: meta.size,
    config: metaConfig(meta),
    createdBy: meta.createdBy,
    created: new Date(meta.created),
    stages,
  };
}

function alreadyExists(name: string) {
  return openFrontError('CF_FUNCTION_ALREADY_EXISTS', `A function named ${name} already exists`, { name });
}

function stale(name: string, stage: FunctionStage, ifMatch: string) {
  return openFrontError('CF_PRECONDITION_FAILED', `The If-Match version ${ifMatch} is not the current ${stage} version of function ${name}`, { name, stage });
}
