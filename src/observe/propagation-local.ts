/**
 * The propagation view of one process (`openfront start`): a single edge — this node's — whose versions are read
 * straight from the replicas and LIVE functions it serves. The node calls `changed()` when it applies a change, so
 * a write waiting for propagation is re-checked at once.
 */
import { hostname } from 'node:os';
import {
  laggingEdges,
  resourcePropagation,
  VersionClock,
  waitForConvergence,
  type EdgeReport,
  type EdgeVersions,
  type PropagationResource,
  type PropagationView,
  type ResourcePropagation,
  type WaitOutcome,
} from './propagation.js';

/** A host name as an edge name: only `[a-zA-Z0-9_-]`, at most 64 characters (a dotted host keeps its first label). */
export function edgeNameFromHost(host: string = hostname()): string {
  const name = (host.split('.')[0] ?? '').replace(/[^a-zA-Z0-9_-]/g, '-').slice(0, 64);
  return name === '' ? 'edge' : name;
}

export interface LocalPropagationViewOptions {
  /** The edge's name (default: the host name, see {@link edgeNameFromHost}). */
  name?: string;
  /** What the edge serves now. */
  versions: () => EdgeVersions;
  now?: () => number;
}

export class LocalPropagationView implements PropagationView {
  readonly name: string;
  readonly #versions: () => EdgeVersions;
  readonly #now: () => number;
  readonly #startedAt: string;
  readonly #listeners = new Set<() => void>();
  readonly #clock = new VersionClock();

  constructor(options: LocalPropagationViewOptions) {
    this.name = options.name ?? edgeNameFromHost();
    this.#versions = options.versions;
    this.#now = options.now ?? Date.now;
    this.#startedAt = new Date(this.#now()).toISOString();
  }

  /** Tells waiting writes that the edge applied something. */
  changed(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  edges(): Promise<EdgeReport[]> {
    return Promise.resolve([this.#report()]);
  }

  status(resource: PropagationResource, version: number): Promise<ResourcePropagation> {
    return Promise.resolve(resourcePropagation([this.#report()], resource, version, this.#now(), this.#clock));
  }

  noteVersion(resource: PropagationResource, version: number, at: number = this.#now()): void {
    this.#clock.note(resource, version, at);
  }

  waitFor(resource: PropagationResource, version: number, deadline: number): Promise<WaitOutcome> {
    return waitForConvergence({
      check: () => Promise.resolve(laggingEdges(resource, resourcePropagation([this.#report()], resource, version, this.#now(), this.#clock))),
      subscribe: (onChange) => {
        this.#listeners.add(onChange);
        return () => this.#listeners.delete(onChange);
      },
      deadline,
      now: this.#now,
    });
  }

  close(): void {
    this.#listeners.clear();
  }

  #report(): EdgeReport {
    // The edge is this process: it is seen whenever it is asked.
    return { name: this.name, startedAt: this.#startedAt, lastSeen: new Date(this.#now()).toISOString(), ...this.#versions() };
  }
}
