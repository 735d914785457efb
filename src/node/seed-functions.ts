/**
 * Makes the functions a config declares exist in the function registry with their code LIVE: a new function is
 * created and published; a function whose code, runtime or store differs gets a new version, published. A function
 * already matching the config is left alone, so restarts do not pile up versions and API-made publishes of other
 * functions are untouched. Several control processes of a fleet may sync the same config at once: a write that
 * loses the race to an identical one (already exists, stale ETag) is re-planned from what the winner left.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { EdgeConfig, FunctionConfig } from '../config/types.js';
import { isOpenFrontError, OpenFrontError } from '../errors.js';
import type { Actor } from '../kvs/types.js';
import type { FunctionStageView } from '../state/functions.js';
import type { FunctionState, StoreState } from '../state/types.js';

const CONFIG_ACTOR: Actor = { accessKeyId: 'config' };

export interface ConfigFunctionChange {
  name: string;
  action: 'created' | 'updated';
  version: number;
}

/** Attempts at one function when racing writers keep moving it; the third loss is reported. */
const SYNC_ATTEMPTS = 3;

async function storeArns(fn: FunctionConfig, stores: StoreState): Promise<string[]> {
  if (fn.store === undefined) return [];
  const store = await stores.getStore({ name: fn.store });
  if (store === undefined) throw new OpenFrontError('CONFIG_INVALID', `function ${fn.name}: store ${fn.store} does not exist (declare it under stores:)`);
  return [store.arn];
}

async function developmentStage(registry: FunctionState, name: string): Promise<FunctionStageView | undefined> {
  try {
    return await registry.describe(name, 'DEVELOPMENT');
  } catch (err) {
    if (isOpenFrontError(err) && err.code === 'CF_NO_SUCH_FUNCTION') return undefined;
    throw err;
  }
}

/** Brings the registry in line with the config; returns what it changed. Throws (naming the code file) on bad code. */
export async function syncConfigFunctions(config: EdgeConfig, registry: FunctionState, stores: StoreState): Promise<ConfigFunctionChange[]> {
  const changes: ConfigFunctionChange[] = [];
  for (const fn of config.functions) {
    try {
      const change = await syncConfigFunctionRacing(fn, registry, stores);
      if (change !== undefined) changes.push(change);
    } catch (err) {
      throw inCodeFile(err, fn);
    }
  }
  return changes;
}

/**
 * Checks, without writing, that `syncConfigFunctions` would succeed: every code file reads and passes the checker, and
 * every store a function names is declared. A reload runs this first so that a bad file changes nothing at all.
 */
export async function checkConfigFunctions(config: EdgeConfig, registry: FunctionState, stores: StoreState): Promise<void> {
  const declared = new Set(config.stores.map((s) => s.name));
  for (const fn of config.functions) {
    try {
      if (fn.store !== undefined && !declared.has(fn.store) && (await stores.getStore({ name: fn.store })) === undefined) await storeArns(fn, stores);
      let code: string;
      try {
        code = await readFile(fn.codePath, 'utf8');
      } catch (err) {
        throw new OpenFrontError('CONFIG_INVALID', `function ${fn.name}: cannot read ${fn.codePath}: ${(err as Error).message}`, { function: fn.name });
      }
      registry.checkCode(fn.name, code, fn.runtime);
    } catch (err) {
      throw inCodeFile(err, fn);
    }
  }
}

/**
 * Restates a registry error about `fn` in terms of its code file: checker problems become `file:line:col message`
 * lines (what editors and terminals link to), and `details.file` names the file.
 */
function inCodeFile(err: unknown, fn: FunctionConfig): unknown {
  // A config problem (a store the config does not declare) already says what is wrong; it is not about the code.
  if (!isOpenFrontError(err) || err.code === 'CONFIG_INVALID') return err;
  const problems = err.details.problems as Array<{ line: number; column: number; message: string }> | undefined;
  const message = Array.isArray(problems)
    ? problems.map((p) => `${fn.codePath}:${p.line}:${p.column} ${p.message}`).join('\n')
    : `function ${fn.name} (${fn.codePath}): ${err.message}`;
  return new OpenFrontError(err.code, message, { ...err.details, function: fn.name, file: fn.codePath }, { cause: err });
}

async function syncConfigFunctionRacing(fn: FunctionConfig, registry: FunctionState, stores: StoreState): Promise<ConfigFunctionChange | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await syncConfigFunction(fn, registry, stores);
    } catch (err) {
      const lostRace = isOpenFrontError(err) && (err.code === 'CF_FUNCTION_ALREADY_EXISTS' || err.code === 'CF_PRECONDITION_FAILED');
      if (!lostRace || attempt >= SYNC_ATTEMPTS) throw err;
    }
  }
}

async function syncConfigFunction(fn: FunctionConfig, registry: FunctionState, stores: StoreState): Promise<ConfigFunctionChange | undefined> {
  const code = await readFile(fn.codePath, 'utf8');
  const wanted = { comment: `from ${fn.codePath}`, runtime: fn.runtime, keyValueStoreArns: await storeArns(fn, stores) };
  const dev = await developmentStage(registry, fn.name);
  if (dev === undefined) {
    const created = await registry.create({ name: fn.name, config: wanted, code }, CONFIG_ACTOR);
    const published = await registry.publish(fn.name, created.etag, CONFIG_ACTOR);
    return { name: fn.name, action: 'created', version: published.version };
  }
  const live = await registry.findStage(fn.name, 'LIVE');
  const sha256 = createHash('sha256').update(code).digest('hex');
  const upToDate =
    live !== undefined &&
    live.sha256 === sha256 &&
    live.config.runtime === wanted.runtime &&
    (live.config.keyValueStoreArn ?? '') === (wanted.keyValueStoreArns[0] ?? '');
  if (upToDate) return undefined;
  const updated = await registry.update(fn.name, { config: wanted, code }, dev.etag, CONFIG_ACTOR);
  const published = await registry.publish(fn.name, updated.etag, CONFIG_ACTOR);
  return { name: fn.name, action: 'updated', version: published.version };
}

/** Function names the config's behaviors use: DeleteFunction refuses them (FunctionInUse). */
export function functionsUsedByConfig(config: EdgeConfig): Set<string> {
  const used = new Set<string>();
  for (const distribution of config.distributions) {
    for (const behavior of [distribution.defaultBehavior, ...distribution.behaviors]) {
      for (const name of Object.values(behavior.functions)) if (name) used.add(name);
    }
  }
  return used;
}
