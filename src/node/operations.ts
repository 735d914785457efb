/** What reload and readiness need to know about a node's config and state (docs/deploy.md). */
import type { EdgeConfig } from '../config/types.js';
import type { SqliteStores } from '../state/sqlite/stores.js';
import type { LiveFunctions } from './live-functions.js';
import { functionsUsedByConfig } from './seed-functions.js';

/** Node-level settings a reload cannot apply: they shaped listeners or limits made at start. */
export function nodeSettingsChanged(before: EdgeConfig, after: EdgeConfig): string[] {
  const changed: string[] = [];
  const differs = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  if (differs(before.apiLimits, after.apiLimits)) changed.push('api');
  if (differs(before.observability, after.observability)) changed.push('observability');
  if (before.kvsLimits !== after.kvsLimits) changed.push('kvs.limits');
  if (before.kvsImportDir !== after.kvsImportDir) changed.push('kvs.importDir');
  return changed;
}

/**
 * Readiness, one entry per condition ("ok" or what is wrong): every store the config declares exists, every
 * function its behaviors use is loaded LIVE, and the node is not draining.
 */
export function readinessChecks(config: EdgeConfig, db: SqliteStores, live: Pick<LiveFunctions, 'get'>, state: { draining: boolean }): Record<string, string> {
  const missingStores = config.stores.filter((s) => db.getStore({ name: s.name }) === undefined).map((s) => s.name);
  const missingFunctions = [...functionsUsedByConfig(config)].filter((name) => live.get(name) === undefined);
  return {
    stores: missingStores.length === 0 ? 'ok' : `missing ${missingStores.join(', ')}`,
    functions: missingFunctions.length === 0 ? 'ok' : `not live ${missingFunctions.join(', ')}`,
    edge: state.draining ? 'draining' : 'ok',
  };
}
