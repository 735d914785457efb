/**
 * Load runs with autocannon in a child process of its own, so that the load generator never shares a thread with
 * the server under test (`load-generator.ts` is the child).
 */
import { benchEntry, startChild, type ChildMessage } from './processes.js';

/** Size of an origin's `/asset/…` body: a few thousand distinct URLs exceed a 100 MB cache budget. */
export const ASSET_BYTES = 16 * 1024;

/** Concurrent requests per HTTP/2 connection in `http2` runs (50 in flight → 5 connections). */
export const STREAMS_PER_HTTP2_CONNECTION = 10;

export interface LoadSpec {
  url: string;
  connections: number;
  /** Untimed run before the measured one (connections opened, JIT warm, pools filled). */
  warmupSeconds: number;
  durationSeconds: number;
  /** JSON file of `{ method, path, headers }` requests, cycled through in order by every connection. */
  requestsFile?: string;
  /**
   * Over HTTP/2 (`https://` url): autocannon speaks only HTTP/1.1, so a small node:http2 loop keeps `connections`
   * requests in flight, multiplexed over one HTTP/2 connection per STREAMS_PER_HTTP2_CONNECTION of them.
   */
  http2?: boolean;
  /** Instead: every request a new URL `/asset/<n>` on host `site<n mod hosts>.example.com` (cache-memory workload). */
  distinctAssets?: { hosts: number };
}

export interface LoadResult {
  /** Mean requests per second over the measured run. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  errors: number;
  timeouts: number;
  /** Responses per HTTP status code. */
  statusCounts: Record<string, number>;
  /** CPU time the target spent per request during the measured run (all its threads), when it can tell. */
  cpuMicrosPerRequest?: number;
}

/**
 * Runs one warmup plus one measured autocannon run against `spec.url` from a fresh child process. With
 * `targetCpuMicros` (the target's CPU time so far), also reports the target's CPU time per measured request.
 */
export async function runLoad(spec: LoadSpec, targetCpuMicros?: () => Promise<number>): Promise<LoadResult> {
  const generator = await startChild(benchEntry('./load-generator.js'));
  let cpuAtStart: Promise<number> | undefined;
  generator.process.on('message', (message: ChildMessage) => {
    if (message.type === 'measuring' && targetCpuMicros !== undefined) cpuAtStart = targetCpuMicros();
  });
  try {
    // Generous: on a loaded machine forking the generator and loading autocannon alone took over 30 s.
    const timeoutMs = (spec.warmupSeconds + spec.durationSeconds + 180) * 1000;
    const reply = await generator.ask<ChildMessage & { result?: LoadResult; error?: string }>({ type: 'run', spec }, 'result', timeoutMs);
    if (reply.result === undefined) throw new Error(`load generator failed: ${reply.error}`);
    const result = reply.result;
    if (targetCpuMicros !== undefined && cpuAtStart !== undefined && result.total > 0) {
      result.cpuMicrosPerRequest = ((await targetCpuMicros()) - (await cpuAtStart)) / result.total;
    }
    return result;
  } finally {
    await generator.stop();
  }
}

/** Share of `result`'s responses that had `status` (0–1). */
export function statusShare(result: LoadResult, status: number): number {
  const total = Object.values(result.statusCounts).reduce((s, n) => s + n, 0);
  return total === 0 ? 0 : (result.statusCounts[String(status)] ?? 0) / total;
}
