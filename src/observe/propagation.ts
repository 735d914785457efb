/**
 * Propagation you can see (docs/fleet.md): which edge serves which version of each store and LIVE function, and a
 * way to wait until every live edge serves a version.
 *
 * Every edge publishes an {@link EdgeReport} (the shape of the `of_edges` bucket in fleet mode); a
 * {@link PropagationView} reads them — the one local edge of `openfront start`, or every edge of a fleet through
 * NATS. The status of one resource across the edges is computed here, the same way for both.
 */
import { openFrontError } from '../errors.js';

/** An edge is live while its last report is at most this old (it reports at least every second). */
export const EDGE_LIVE_WINDOW_MS = 5000;

/** Edge names are NATS KV keys and CLI table cells: short and plain. */
export const EDGE_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** A version an edge serves, and when it started serving it. */
export interface AppliedVersion {
  version: number;
  /** ISO-8601. */
  appliedAt: string;
}

/** What one edge serves, as it reports it (JSON; dates are ISO-8601 strings). */
export interface EdgeReport {
  name: string;
  startedAt: string;
  lastSeen: string;
  /** By store id: the data version the edge's replica serves. */
  stores: Record<string, AppliedVersion>;
  /** By function name: the LIVE version the edge runs. */
  functions: Record<string, AppliedVersion>;
}

/** What an edge serves now, without the report's envelope: the callback an edge gives its reporter. */
export type EdgeVersions = Pick<EdgeReport, 'stores' | 'functions'>;

/** A store (by id: edges know stores by id) or a function (by name). */
export type PropagationResource = { kind: 'store'; id: string } | { kind: 'function'; name: string };

/** One edge's line in a propagation answer. */
export interface EdgePropagation {
  name: string;
  /** The version the edge serves (null: it reports the resource but serves nothing yet). */
  version: number | null;
  /** How long the edge has been behind the current version; 0 when it serves it. */
  lagMs: number;
  lastSeen: string;
  live: boolean;
}

/** The answer of `GET …/{name}/propagation`. */
export interface ResourcePropagation {
  version: number;
  /** Every live edge that serves the resource serves `version`. */
  converged: boolean;
  edges: EdgePropagation[];
}

/** Result of {@link PropagationView.waitFor}: done, or the live edges still behind at the deadline. */
export type WaitOutcome = { ok: true } | { ok: false; lagging: EdgePropagation[] };

/**
 * Where the edges' reports are read from. `edges()` is every edge known (live or not); `waitFor` resolves once
 * every live edge that serves `resource` serves `version` (or, for a function, exactly that LIVE version), or at
 * `deadline` (epoch ms) with those that do not. An edge that stops reporting stops being waited for once it is no
 * longer live.
 */
export interface PropagationView {
  edges(): Promise<EdgeReport[]>;
  /** `resource` across the edges that serve it, against its current `version`. */
  status(resource: PropagationResource, version: number): Promise<ResourcePropagation>;
  waitFor(resource: PropagationResource, version: number, deadline: number): Promise<WaitOutcome>;
  /** Remembers when `version` of `resource` was written, so lag can be measured from it. */
  noteVersion(resource: PropagationResource, version: number, at?: number): void;
  close(): Promise<void> | void;
}

export function isLive(report: Pick<EdgeReport, 'lastSeen'>, now: number): boolean {
  const seen = Date.parse(report.lastSeen);
  return Number.isFinite(seen) && now - seen <= EDGE_LIVE_WINDOW_MS;
}

function appliedOf(report: EdgeReport, resource: PropagationResource): AppliedVersion | undefined {
  const table = resource.kind === 'store' ? report.stores : report.functions;
  const key = resource.kind === 'store' ? resource.id : resource.name;
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}

/**
 * Whether `served` counts as serving `version`: a store's versions only grow, so a later one includes it; a
 * function's LIVE may move back (rollback), so only that exact version does.
 */
export function serves(resource: PropagationResource, served: number | null | undefined, version: number): boolean {
  if (served === null || served === undefined) return false;
  return resource.kind === 'store' ? served >= version : served === version;
}

/** `resource` → its display key in a report (store id or function name). */
export function resourceKey(resource: PropagationResource): string {
  return resource.kind === 'store' ? `store:${resource.id}` : `function:${resource.name}`;
}

/**
 * Remembers when versions of each resource were first known (written here, or first asked about), so that an
 * edge's lag can be measured as the time since the first version it lacks appeared. Bounded per resource and in
 * resources.
 */
export class VersionClock {
  readonly #seen = new Map<string, Array<{ version: number; at: number }>>();
  readonly #maxPerResource: number;
  readonly #maxResources: number;

  constructor(options: { maxPerResource?: number; maxResources?: number } = {}) {
    this.#maxPerResource = options.maxPerResource ?? 64;
    this.#maxResources = options.maxResources ?? 10_000;
  }

  note(resource: PropagationResource, version: number, at: number): void {
    const key = resourceKey(resource);
    let list = this.#seen.get(key);
    if (list === undefined) {
      if (this.#seen.size >= this.#maxResources) this.#seen.delete(this.#seen.keys().next().value!);
      list = [];
      this.#seen.set(key, list);
    }
    if (list.some((entry) => entry.version === version)) return;
    list.push({ version, at });
    list.sort((a, b) => a.version - b.version);
    if (list.length > this.#maxPerResource) list.shift();
  }

  /**
   * When the edge serving `served` fell behind `current`: the time the first version after `served` was known (for
   * a function, when `current` was). Unknown versions count from `fallback`.
   */
  behindSince(resource: PropagationResource, served: number | null, current: number, fallback: number): number {
    const list = this.#seen.get(resourceKey(resource)) ?? [];
    const candidates =
      resource.kind === 'store' ? list.filter((e) => e.version > (served ?? 0) && e.version <= current) : list.filter((e) => e.version === current);
    return candidates.length === 0 ? fallback : Math.min(...candidates.map((e) => e.at));
  }
}

/**
 * The status of `resource` at `version` across `reports`: edges that report it (an edge that does not serve the
 * resource is not listed), each with its lag, and whether every live one serves `version`.
 */
export function resourcePropagation(
  reports: readonly EdgeReport[],
  resource: PropagationResource,
  version: number,
  now: number,
  clock?: VersionClock,
): ResourcePropagation {
  const edges: EdgePropagation[] = [];
  for (const report of reports) {
    const applied = appliedOf(report, resource);
    if (applied === undefined) continue;
    const served = applied.version;
    const upToDate = serves(resource, served, version);
    const since = upToDate ? now : (clock?.behindSince(resource, served, version, now) ?? now);
    edges.push({ name: report.name, version: served, lagMs: Math.max(0, now - since), lastSeen: report.lastSeen, live: isLive(report, now) });
  }
  edges.sort((a, b) => a.name.localeCompare(b.name));
  return { version, converged: edges.every((e) => !e.live || serves(resource, e.version, version)), edges };
}

/** The live edges of `status` that do not serve its version yet. */
export function laggingEdges(resource: PropagationResource, status: ResourcePropagation): EdgePropagation[] {
  return status.edges.filter((e) => e.live && !serves(resource, e.version, status.version));
}

/**
 * Waits until `check` finds no lagging edge, re-checking whenever `subscribe`'s callback fires and at least every
 * `recheckMs` (liveness changes with time alone), until `deadline`.
 */
export function waitForConvergence(options: {
  check: () => Promise<EdgePropagation[]>;
  subscribe: (onChange: () => void) => () => void;
  deadline: number;
  now?: () => number;
  recheckMs?: number;
}): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const recheckMs = options.recheckMs ?? 250;
  return new Promise<WaitOutcome>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: WaitOutcome | Error): void => {
      if (done) return;
      done = true;
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const run = async (): Promise<void> => {
      if (done) return;
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const lagging = await options.check();
          if (lagging.length === 0) return finish({ ok: true });
          if (now() >= options.deadline) return finish({ ok: false, lagging });
        } while (again);
      } catch (err) {
        return finish(err instanceof Error ? err : openFrontError('INTERNAL', String(err)));
      } finally {
        checking = false;
      }
      schedule();
    };
    const schedule = (): void => {
      if (done) return;
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => void run(), Math.max(0, Math.min(recheckMs, options.deadline - now())));
    };
    const unsubscribe = options.subscribe(() => void run());
    void run();
  });
}

/**
 * What every view shares: it answers from a list of edge reports (the one local edge, or the fleet's `of_edges`
 * bucket) and re-checks waiting writes whenever a report changes. A subclass says where the reports come from and
 * calls `reportsChanged()` when they change.
 */
export abstract class ReportedPropagationView implements PropagationView {
  protected readonly now: () => number;
  readonly #listeners = new Set<() => void>();
  readonly #clock = new VersionClock();

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** The reports the view answers from, as of now. */
  protected abstract reports(): EdgeReport[];

  /** Re-checks every waiting write. */
  protected reportsChanged(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  edges(): Promise<EdgeReport[]> {
    return Promise.resolve(this.reports());
  }

  status(resource: PropagationResource, version: number): Promise<ResourcePropagation> {
    return Promise.resolve(resourcePropagation(this.reports(), resource, version, this.now(), this.#clock));
  }

  noteVersion(resource: PropagationResource, version: number, at: number = this.now()): void {
    this.#clock.note(resource, version, at);
  }

  waitFor(resource: PropagationResource, version: number, deadline: number): Promise<WaitOutcome> {
    return waitForConvergence({
      check: async () => laggingEdges(resource, await this.status(resource, version)),
      subscribe: (onChange) => {
        this.#listeners.add(onChange);
        return () => this.#listeners.delete(onChange);
      },
      deadline,
      now: this.now,
    });
  }

  close(): void {
    this.#listeners.clear();
  }
}
