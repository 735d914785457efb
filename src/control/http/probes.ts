/**
 * `/healthz` and `/readyz` on the API listener, answered before authentication: a load balancer, systemd or a
 * container HEALTHCHECK probes them without credentials. They live on the API port, never on the edge, so no
 * viewer path of a distribution can be shadowed by them (docs/deploy.md). They say whether the node is up and
 * ready, and which check failed — nothing about stores' or functions' contents.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** One probe's answer: `ok` picks 200 or 503; `checks` names each condition and its state. */
export interface ProbeAnswer {
  ok: boolean;
  checks: Record<string, string>;
}

export interface Probes {
  /** Liveness: the process answers. */
  healthz(): ProbeAnswer;
  /** Readiness: stores loaded, functions live, edge listening, not draining. */
  readyz(): ProbeAnswer;
}

export const PROBE_PATHS = ['/healthz', '/readyz'] as const;

/** Answers a probe request and returns true, or returns false for any other request (the router takes it). */
export function answerProbe(probes: Probes, req: IncomingMessage, res: ServerResponse): boolean {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  if (path !== '/healthz' && path !== '/readyz') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"status":"method not allowed"}\n');
    return true;
  }
  const answer = path === '/healthz' ? probes.healthz() : probes.readyz();
  const body = `${JSON.stringify({ status: answer.ok ? 'ok' : 'unavailable', checks: answer.checks })}\n`;
  res.writeHead(answer.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
  return true;
}
