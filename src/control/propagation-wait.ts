/**
 * Versions on writes and `?wait=all` (docs/fleet.md), for every write route at once: a handler says what it made
 * current (`ApiResponse.written`); this answers it as the `x-openfront-version` header and, when the caller asked
 * with `?wait=all[&timeout=5s]`, holds the answer until every live edge serves that version — or fails with
 * PROPAGATION_TIMEOUT naming the edges that lag. The write itself is committed either way.
 */
import { OpenFrontError, type ErrorCode } from '../errors.js';
import type { EdgePropagation, PropagationView } from '../observe/propagation.js';
import type { AroundHandler } from './http/router.js';
import type { ApiRequest } from './http/types.js';

export const VERSION_HEADER = 'x-openfront-version';
export const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
/**
 * A longer wait would hold an API connection (and the caller) for longer than any edge should lag. The server may
 * lower it: a wait must end before the connection's idle timeout would cut it.
 */
export const MAX_WAIT_TIMEOUT_MS = 60_000;

const READ_METHODS = new Set(['GET', 'HEAD']);

/** `5s`, `500ms` or `5` (seconds) → ms; undefined when the text is none of these. */
function parseTimeout(text: string): number | undefined {
  const m = /^(\d{1,6})(ms|s)?$/.exec(text);
  if (!m) return undefined;
  return m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * 1000;
}

/** The wait a write asks for: undefined without `?wait`; a bad `wait` or `timeout` is refused before anything is written. */
export function parseWait(req: ApiRequest, badRequest: ErrorCode, maxTimeoutMs: number = MAX_WAIT_TIMEOUT_MS): { timeoutMs: number } | undefined {
  const wait = req.queryParam('wait');
  const timeout = req.queryParam('timeout');
  if (wait === undefined) {
    if (timeout !== undefined) throw new OpenFrontError(badRequest, 'timeout is only meaningful with wait=all');
    return undefined;
  }
  if (wait !== 'all') throw new OpenFrontError(badRequest, `wait must be "all" (wait until every live edge serves the write), got "${wait.slice(0, 32)}"`);
  if (timeout === undefined) return { timeoutMs: Math.min(DEFAULT_WAIT_TIMEOUT_MS, maxTimeoutMs) };
  const timeoutMs = parseTimeout(timeout);
  if (timeoutMs === undefined || timeoutMs < 1 || timeoutMs > maxTimeoutMs) {
    throw new OpenFrontError(badRequest, `timeout must be a duration from 1ms to ${maxTimeoutMs}ms, like 5s or 500ms`);
  }
  return { timeoutMs };
}

function describeLagging(edges: readonly EdgePropagation[]): string {
  const shown = edges.slice(0, 10).map((e) => `${e.name} (serves ${e.version ?? 'nothing yet'}, ${e.lagMs} ms behind)`);
  return `${shown.join(', ')}${edges.length > shown.length ? ` and ${edges.length - shown.length} more` : ''}`;
}

/**
 * The router's `around` handler for versions and waits. Without a view (an API with no edge to ask), writes still
 * carry their version but `?wait=all` is refused.
 */
export function propagationAround(view: PropagationView | undefined, options: { now?: () => number; maxTimeoutMs?: number } = {}): AroundHandler {
  const now = options.now ?? Date.now;
  const maxTimeoutMs = Math.max(1, Math.min(MAX_WAIT_TIMEOUT_MS, options.maxTimeoutMs ?? MAX_WAIT_TIMEOUT_MS));
  return async (req, route, next) => {
    const wait = READ_METHODS.has(req.method) ? undefined : parseWait(req, route.badRequest, maxTimeoutMs);
    if (wait !== undefined && view === undefined) throw new OpenFrontError(route.badRequest, 'wait=all is not available: this API has no edges to wait for');
    const started = now();
    const response = await next();
    const written = response.written;
    if (written === undefined || response.status >= 300 || READ_METHODS.has(req.method)) return response;
    response.headers = { ...response.headers, [VERSION_HEADER]: String(written.version) };
    if (written.served === false) return response;
    view?.noteVersion(written.resource, written.version, now());
    if (wait === undefined || view === undefined) return response;
    const outcome = await view.waitFor(written.resource, written.version, started + wait.timeoutMs);
    if (outcome.ok) return response;
    const etag = response.headers.etag ?? response.headers.ettag;
    throw new OpenFrontError(
      'PROPAGATION_TIMEOUT',
      `The write was committed as version ${written.version}${etag ? ` (ETag ${etag})` : ''}, but within ${wait.timeoutMs} ms these live edges did not serve it: ${describeLagging(outcome.lagging)}`,
      { version: written.version, ...(etag ? { etag } : {}), lagging: outcome.lagging },
    );
  };
}
