/**
 * What an operator runs an `openfront edge` with, as for `openfront start` (docs/deploy.md): `/healthz` and `/readyz`
 * on a port of their own (an edge has no API listener, and its edge port belongs to the distributions, whose paths
 * must not be shadowed), and a config reload in place (SIGHUP).
 */
import { createServer, type Server } from 'node:http';
import type { EdgeConfig } from '../config/types.js';
import type { ReloadOutcome } from '../control/reload-api.js';
import { answerProbe, type Probes } from '../control/http/probes.js';
import type { EdgeRole } from './edge-role.js';
import { functionsUsedByConfig } from './seed-functions.js';

/**
 * Liveness: the process answers. Readiness: every function the config's behaviors use is loaded LIVE with the store
 * it reads, and the edge is not draining. NATS is reported but does not make the edge unready: an edge cut from NATS
 * serves its last data, which is what it is for (docs/fleet.md).
 */
export function edgeProbes(role: EdgeRole): Probes {
  return {
    healthz: () => ({ ok: true, checks: { process: 'up' } }),
    readyz: () => {
      const notLive = [...functionsUsedByConfig(role.config())].filter((name) => role.functions.live(name) === undefined);
      const notLoaded = role.functions.storeIds().filter((id) => !role.replica(id).loaded);
      const checks = {
        functions: notLive.length === 0 ? 'ok' : `not live ${notLive.join(', ')}`,
        stores: notLoaded.length === 0 ? 'ok' : `not loaded ${notLoaded.join(', ')}`,
        edge: role.edge.draining ? 'draining' : 'ok',
      };
      const ok = Object.values(checks).every((v) => v === 'ok');
      return { ok, checks: { ...checks, nats: role.natsConnected() ? 'ok' : 'not connected (serving the last data)' } };
    },
  };
}

export interface ProbeServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A listener that answers `/healthz` and `/readyz` only (404 for anything else). */
export async function startProbeServer(probes: Probes, options: { host?: string; port: number }): Promise<ProbeServer> {
  const server: Server = createServer((req, res) => {
    if (!answerProbe(probes, req, res)) res.writeHead(404, { 'content-type': 'application/json' }).end('{"status":"not found"}\n');
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 5000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Re-reads the config and serves it on the same sockets. The functions and stores still come from NATS: a reload
 * changes which distributions, behaviors and function associations the edge serves.
 */
export async function reloadEdgeRole(role: EdgeRole, load: () => Promise<EdgeConfig>): Promise<ReloadOutcome> {
  const config = await load();
  const { restartNeeded } = role.reconfigure(config);
  const functions = [...functionsUsedByConfig(config)];
  return {
    changes: [
      `serving ${config.distributions.length} distribution${config.distributions.length === 1 ? '' : 's'}`,
      ...(functions.length === 0 ? [] : [`functions ${functions.join(', ')} (LIVE versions from NATS)`]),
    ],
    restartNeeded,
  };
}
