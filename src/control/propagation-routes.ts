/**
 * The native propagation API (docs/fleet.md), signed with SigV4 (signing name "openfront") like the other native
 * routes:
 *
 * - `GET /openfront/v1/key-value-stores/{name}/propagation` — the store's current data version and, for each edge
 *   that serves it, the version it serves, its lag, when it last reported and whether it is live.
 * - `GET /openfront/v1/functions/{name}/propagation` — the same for the function's LIVE version.
 * - `GET /openfront/v1/edges` — every edge with every store and function it serves (what `openfront status` prints).
 *
 * The view (one local edge, or a fleet's reports through NATS) is given by the composition root; the current
 * versions come from the node's state (either backend), or from `sources`.
 */
import { OpenFrontError } from '../errors.js';
import { isLive, type EdgeReport, type PropagationResource, type PropagationView } from '../observe/propagation.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import type { NodeState } from '../state/types.js';
import type { RouteGroup } from './http/router.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';

/** A store as the propagation API needs it: the version it is at and when that version was written. */
export interface CurrentStore {
  id: string;
  name: string;
  version: number;
  lastModified: Date;
}

/** A function's LIVE pointer (`version: null` when it was never published). */
export interface CurrentFunction {
  name: string;
  version: number | null;
  lastModified?: Date;
}

/** Where the current versions come from (the state backend). */
export interface PropagationSources {
  store(name: string): Promise<CurrentStore | undefined>;
  stores(): Promise<CurrentStore[]>;
  /** undefined when there is no such function. */
  liveFunction(name: string): Promise<CurrentFunction | undefined>;
  /** Published functions only. */
  liveFunctions(): Promise<Array<CurrentFunction & { version: number }>>;
}

/** One resource in an edge's line of `GET /openfront/v1/edges`. */
export interface EdgeResourceJson {
  name: string;
  /** The store id (stores only). */
  id?: string;
  version: number;
  current: number | null;
  lagMs: number;
}

export interface EdgeJson {
  name: string;
  startedAt: string;
  lastSeen: string;
  live: boolean;
  stores: EdgeResourceJson[];
  functions: EdgeResourceJson[];
}

const STORES_PATH = `${NATIVE_API_PREFIX}/key-value-stores`;
const FUNCTIONS_PATH = `${NATIVE_API_PREFIX}/functions`;
export const EDGES_PATH = `${NATIVE_API_PREFIX}/edges`;

async function edgeLines(view: PropagationView, sources: PropagationSources, now: number): Promise<EdgeJson[]> {
  const [reports, stores, functions] = await Promise.all([view.edges(), sources.stores(), sources.liveFunctions()]);
  const storeById = new Map(stores.map((s) => [s.id, s]));
  const functionByName = new Map(functions.map((f) => [f.name, f]));
  for (const s of stores) view.noteVersion({ kind: 'store', id: s.id }, s.version, s.lastModified.getTime());
  for (const f of functions) if (f.lastModified) view.noteVersion({ kind: 'function', name: f.name }, f.version, f.lastModified.getTime());
  const line = async (report: EdgeReport, resource: PropagationResource, name: string, current: number | undefined): Promise<EdgeResourceJson> => {
    const applied = resource.kind === 'store' ? report.stores[resource.id]! : report.functions[resource.name]!;
    if (current === undefined) return { name, version: applied.version, current: null, lagMs: 0 };
    const viewed = (await view.status(resource, current)).edges.find((e) => e.name === report.name);
    return { name, version: applied.version, current, lagMs: viewed?.lagMs ?? 0 };
  };
  const lines: EdgeJson[] = [];
  for (const report of [...reports].sort((a, b) => a.name.localeCompare(b.name))) {
    const storeLines = await Promise.all(
      Object.keys(report.stores).map((id) => {
        const store = storeById.get(id);
        return line(report, { kind: 'store', id }, store?.name ?? id, store?.version).then((l) => ({ ...l, id }));
      }),
    );
    const functionLines = await Promise.all(
      Object.keys(report.functions).map((name) => line(report, { kind: 'function', name }, name, functionByName.get(name)?.version)),
    );
    lines.push({
      name: report.name,
      startedAt: report.startedAt,
      lastSeen: report.lastSeen,
      live: isLive(report, now),
      stores: storeLines.sort((a, b) => a.name.localeCompare(b.name)),
      functions: functionLines.sort((a, b) => a.name.localeCompare(b.name)),
    });
  }
  return lines;
}

/** The current versions as the node's state holds them. */
export function stateSources(state: NodeState): PropagationSources {
  const stores = async (): Promise<CurrentStore[]> => {
    const all: CurrentStore[] = [];
    let marker: string | undefined;
    do {
      const page = await state.stores.listStores({ marker, maxItems: 1000 });
      all.push(...page.items);
      marker = page.nextMarker;
    } while (marker !== undefined);
    return all;
  };
  return {
    store: (name) => state.stores.getStore({ name }),
    stores,
    // findStage throws the catalog's no-such-function error for an unknown name.
    liveFunction: async (name) => {
      const stage = await state.functions.findStage(name, 'LIVE');
      return { name, version: stage?.version ?? null, ...(stage ? { lastModified: stage.lastModified } : {}) };
    },
    liveFunctions: async () => {
      const names = await state.functions.liveNames();
      const stages = await Promise.all(names.map(async (name) => ({ name, stage: await state.functions.findStage(name, 'LIVE') })));
      return stages.flatMap(({ name, stage }) => (stage === undefined ? [] : [{ name, version: stage.version, lastModified: stage.lastModified }]));
    },
  };
}

/** Registers the propagation routes (`startApiServer` does, when it is given a view). */
export function propagationRouteGroup(view: PropagationView, options: { sources?: PropagationSources; now?: () => number } = {}): RouteGroup {
  const now = options.now ?? Date.now;
  const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
  return (router, ctx) => {
    const sources = options.sources ?? stateSources(ctx.state);
    router.group({ protocol: 'native-json', prefix: STORES_PATH, signing, maxBodyBytes: 0 }).get(
      `${STORES_PATH}/{Name}/propagation`,
      async (_req, { Name }) => {
        const store = await sources.store(Name);
        if (store === undefined) throw new OpenFrontError('KVS_NOT_FOUND', `The key value store ${Name} was not found`);
        const resource: PropagationResource = { kind: 'store', id: store.id };
        view.noteVersion(resource, store.version, store.lastModified.getTime());
        return json(200, { name: store.name, id: store.id, ...(await view.status(resource, store.version)) });
      },
      { access: access.store('kvs:read') },
    );
    router.group({ protocol: 'native-json', prefix: FUNCTIONS_PATH, signing, maxBodyBytes: 0 }).get(
      `${FUNCTIONS_PATH}/{Name}/propagation`,
      async (_req, { Name }) => {
        const fn = await sources.liveFunction(Name);
        if (fn === undefined) throw new OpenFrontError('CF_NO_SUCH_FUNCTION', `The function ${Name} does not exist`);
        const resource: PropagationResource = { kind: 'function', name: Name };
        if (fn.version === null) {
          // Never published: no edge runs it, so there is nothing to converge on.
          const edges = (await view.status(resource, 0)).edges;
          return json(200, { name: Name, version: null, converged: edges.length === 0, edges });
        }
        if (fn.lastModified) view.noteVersion(resource, fn.version, fn.lastModified.getTime());
        return json(200, { name: Name, ...(await view.status(resource, fn.version)) });
      },
      { access: access.function('function:read') },
    );
    router
      .group({ protocol: 'native-json', prefix: EDGES_PATH, signing, maxBodyBytes: 0 })
      // Every edge with the versions of every store and function it serves: an operator's view.
      .get(EDGES_PATH, async () => json(200, { edges: await edgeLines(view, sources, now()) }), { access: access.all('audit:read') });
  };
}
