/**
 * Throttling of inputs that keep pushing a function to its kill (issue 12, finding 3).
 *
 * An invocation that spins until the kill holds its function's isolate for the whole kill limit, and every other
 * request to that function waits behind it. So, per function and per request path:
 *   - a path whose invocation was killed is a suspect: its next invocations run on the function's quarantine
 *     isolate (`lane: 'quarantine'`), where they can only delay other suspects;
 *   - a path killed `killsToThrottle` times within `windowMs` is throttled: for `cooldownMs` its requests are
 *     answered 503 FunctionThrottled at once, without running the function. A path that is killed again right
 *     after a cooldown is throttled again at the first kill, each time for twice as long (up to `maxCooldownMs`);
 *   - one successful run clears the path's record.
 * Paths are tracked per function in a bounded table (`maxTrackedPaths`, oldest forgotten first), reset when the
 * function's code changes. Counters per function are kept in `stats()` for the metrics to export.
 */

export interface ThrottleLimits {
  /** Kills of one path within `windowMs` that throttle it. */
  killsToThrottle: number;
  windowMs: number;
  /** First throttling period of a path; doubles while the path keeps being killed. */
  cooldownMs: number;
  maxCooldownMs: number;
  /** Paths remembered per function. */
  maxTrackedPaths: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  killsToThrottle: 2,
  windowMs: 10_000,
  cooldownMs: 5_000,
  maxCooldownMs: 60_000,
  maxTrackedPaths: 1024,
};

/** Per function, since the edge started. */
export interface FunctionThrottleStats {
  /** Requests answered 503 FunctionThrottled without running the function. */
  throttled: number;
  /** Invocations killed at the CPU or memory limit. */
  kills: number;
  /** Invocations run on the quarantine isolate. */
  quarantined: number;
}

export type Admission = 'run' | 'quarantine' | 'throttle';

interface PathRecord {
  /** Times of the kills within the window. */
  kills: number[];
  throttledUntil: number;
  /** The next throttling period; above `cooldownMs` once the path has been throttled. */
  cooldownMs: number;
}

interface FunctionRecord {
  codeHash: string;
  paths: Map<string, PathRecord>;
  stats: FunctionThrottleStats;
}

export class FunctionThrottle {
  readonly limits: ThrottleLimits;
  readonly #now: () => number;
  readonly #functions = new Map<string, FunctionRecord>();

  constructor(limits: Partial<ThrottleLimits> = {}, now: () => number = () => performance.now()) {
    this.limits = { ...DEFAULT_THROTTLE_LIMITS, ...limits };
    this.#now = now;
  }

  /** Whether a request for `path` runs `fn` normally, on its quarantine isolate, or not at all. */
  admit(fn: string, codeHash: string, path: string): Admission {
    const record = this.#functions.get(fn);
    if (record === undefined || record.paths.size === 0) return 'run';
    if (record.codeHash !== codeHash) {
      record.paths.clear();
      record.codeHash = codeHash;
      return 'run';
    }
    const state = record.paths.get(path);
    if (state === undefined) return 'run';
    const now = this.#now();
    if (state.throttledUntil > now) {
      record.stats.throttled++;
      return 'throttle';
    }
    record.stats.quarantined++;
    return 'quarantine';
  }

  /** What the run admitted for `path` ended with: killed at a limit, or anything else. */
  record(fn: string, codeHash: string, path: string, killed: boolean): void {
    let record = this.#functions.get(fn);
    if (!killed) {
      if (record !== undefined && record.codeHash === codeHash) record.paths.delete(path);
      return;
    }
    if (record === undefined) {
      record = { codeHash, paths: new Map(), stats: { throttled: 0, kills: 0, quarantined: 0 } };
      this.#functions.set(fn, record);
    } else if (record.codeHash !== codeHash) {
      record.paths.clear();
      record.codeHash = codeHash;
    }
    record.stats.kills++;
    const now = this.#now();
    let state = record.paths.get(path);
    if (state === undefined) {
      state = { kills: [], throttledUntil: 0, cooldownMs: this.limits.cooldownMs };
      if (record.paths.size >= this.limits.maxTrackedPaths) record.paths.delete(record.paths.keys().next().value as string);
    } else {
      record.paths.delete(path);
    }
    // Re-inserted: the table forgets the paths least recently killed first.
    record.paths.set(path, state);
    state.kills = state.kills.filter((at) => now - at < this.limits.windowMs);
    state.kills.push(now);
    const repeatOffender = state.cooldownMs > this.limits.cooldownMs;
    if (repeatOffender || state.kills.length >= this.limits.killsToThrottle) {
      state.throttledUntil = now + state.cooldownMs;
      state.cooldownMs = Math.min(state.cooldownMs * 2, this.limits.maxCooldownMs);
      state.kills = [];
    }
  }

  stats(fn: string): FunctionThrottleStats {
    return { ...(this.#functions.get(fn)?.stats ?? { throttled: 0, kills: 0, quarantined: 0 }) };
  }

  /** Every function that has had a kill, with its counters. */
  allStats(): Record<string, FunctionThrottleStats> {
    const out: Record<string, FunctionThrottleStats> = {};
    for (const [name, record] of this.#functions) out[name] = { ...record.stats };
    return out;
  }
}
