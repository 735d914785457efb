/**
 * The propagation view of one process (`openfront start`): a single edge — this node's — whose versions are read
 * straight from the replicas and LIVE functions it serves. The node calls `changed()` when it applies a change, so
 * a write waiting for propagation is re-checked at once.
 */
import { hostname } from 'node:os';
import { ReportedPropagationView, type EdgeReport, type EdgeVersions } from './propagation.js';

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

export class LocalPropagationView extends ReportedPropagationView {
  readonly name: string;
  readonly #versions: () => EdgeVersions;
  readonly #startedAt: string;

  constructor(options: LocalPropagationViewOptions) {
    super(options.now);
    this.name = options.name ?? edgeNameFromHost();
    this.#versions = options.versions;
    this.#startedAt = new Date(this.now()).toISOString();
  }

  /** Tells waiting writes that the edge applied something. */
  changed(): void {
    this.reportsChanged();
  }

  protected reports(): EdgeReport[] {
    // The edge is this process: it is seen whenever it is asked.
    return [{ name: this.name, startedAt: this.#startedAt, lastSeen: new Date(this.now()).toISOString(), ...this.#versions() }];
  }
}
