/**
 * Propagation for one process (`openfront start`): the node's own edge is the only edge. Its store versions are
 * the committed ones — in-process replicas apply each commit before the write returns — and its functions are the
 * LIVE versions `LiveFunctions` has loaded (a LIVE version that failed to load shows as lag). See docs/fleet.md.
 */
import type { FunctionRegistry } from '../control/functions/index.js';
import type { SqliteStores } from '../state/sqlite/stores.js';
import type { StoreRecord } from '../kvs/types.js';
import type { AppliedVersion, EdgeVersions } from '../observe/propagation.js';
import { LocalPropagationView } from '../observe/propagation-local.js';
import type { LiveFunctions } from './live-functions.js';

function allStores(db: SqliteStores): StoreRecord[] {
  const stores: StoreRecord[] = [];
  let marker: string | undefined;
  do {
    const page = db.listStores({ marker, maxItems: 1000 });
    stores.push(...page.items);
    marker = page.nextMarker;
  } while (marker !== undefined);
  return stores;
}

export interface LocalPropagation {
  view: LocalPropagationView;
  close(): void;
}

export function startLocalPropagation(db: SqliteStores, registry: FunctionRegistry, live: LiveFunctions, options: { name?: string } = {}): LocalPropagation {
  // When each LIVE version was first seen loaded, for `appliedAt`.
  const loadedAt = new Map<string, AppliedVersion>();
  const versions = (): EdgeVersions => {
    const stores: Record<string, AppliedVersion> = {};
    for (const store of allStores(db)) stores[store.id] = { version: store.version, appliedAt: store.lastModified.toISOString() };
    const functions: Record<string, AppliedVersion> = {};
    for (const name of live.names()) {
      const entry = live.get(name);
      if (entry === undefined) continue;
      let applied = loadedAt.get(name);
      if (applied?.version !== entry.version) {
        applied = { version: entry.version, appliedAt: new Date().toISOString() };
        loadedAt.set(name, applied);
      }
      functions[name] = applied;
    }
    return { stores, functions };
  };
  const view = new LocalPropagationView({ name: options.name, versions });
  // LiveFunctions subscribed first, so by the time this runs a published version is loaded (or failed to load).
  const unsubscribe = [db.onChange(() => view.changed()), registry.onLiveChange(() => view.changed())];
  return {
    view,
    close: () => {
      for (const u of unsubscribe) u();
      view.close();
    },
  };
}
