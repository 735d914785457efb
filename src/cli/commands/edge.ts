/**
 * `openfront edge --nats <url> --config <file>`: one edge of a fleet (docs/fleet-edge.md). The NATS client is loaded only
 * when this command runs, so `openfront start` and the other commands never load it.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { openFrontError } from '../../errors.js';
import { describeReload } from '../operations.js';
import { DEFAULT_DRAIN_SECONDS, parsePort, parseSeconds, resolveConfigPath } from '../serve-options.js';

interface EdgeCommandOptions {
  nats?: string;
  config?: string;
  edgePort?: string;
  host?: string;
  name?: string;
  stateDir?: string;
  drainTimeout?: string;
  healthPort?: string;
}

/** The default edge name: the host name, reduced to the characters an edge name may hold. */
export function defaultEdgeName(): string {
  return (
    hostname()
      .replace(/[^a-zA-Z0-9_-]/g, '-')
      .slice(0, 64) || 'edge'
  );
}

function line(message: string, detail?: Record<string, unknown>): void {
  process.stdout.write(`openfront edge: ${message}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}\n`);
}

export function register(program: Command): void {
  program
    .command('edge')
    .description("Serve the config's distributions as one edge of a fleet: LIVE functions and stores from NATS JetStream (docs/fleet-edge.md)")
    .option('--nats <url>', 'NATS server url(s), comma-separated for a cluster (required)')
    .option('--config <file>', 'config file or folder: the distributions this edge serves (required)')
    .option('--edge-port <port>', "edge port (default: the config's server.port, 8080; 0 = any free port)")
    .option('--host <address>', 'interface to listen on (default: the config, 127.0.0.1)')
    .option('--name <name>', 'this edge in fleet reports: 1-64 of [a-zA-Z0-9_-] (default: the host name)')
    .option('--state-dir <dir>', 'where the snapshot of stores and functions is kept (default: ./.openfront-edge/<name>)')
    .option('--health-port <port>', 'serve /healthz and /readyz on this port (on --host; 0 = any free port; default: none)')
    .option('--drain-timeout <seconds>', `on SIGTERM/SIGINT, how long requests in flight may finish (default ${DEFAULT_DRAIN_SECONDS})`)
    .action(async (options: EdgeCommandOptions) => {
      if (options.nats === undefined || options.nats.trim() === '') throw openFrontError('CLI_USAGE', 'openfront edge needs --nats <url>');
      if (options.config === undefined) throw openFrontError('CLI_USAGE', 'openfront edge needs --config <file>');
      const graceMs = parseSeconds(options.drainTimeout, '--drain-timeout', DEFAULT_DRAIN_SECONDS) * 1000;
      const port = parsePort(options.edgePort, '--edge-port');
      const name = options.name ?? defaultEdgeName();
      const { path } = resolveConfigPath(options.config);
      const config = await loadConfig(path);
      const { startEdgeRole } = await import('../../node/edge-role.js');
      const role = await startEdgeRole({
        nats: options.nats,
        config,
        name,
        stateDir: resolve(options.stateDir ?? `.openfront-edge/${name}`),
        host: options.host,
        port,
        log: line,
      });
      line(`${name} serving on ${role.edge.url}`, { nats: options.nats });
      const { edgeProbes, reloadEdgeRole, startProbeServer } = await import('../../node/edge-role-operations.js');
      const healthPort = parsePort(options.healthPort, '--health-port');
      const probeServer = healthPort === undefined ? undefined : await startProbeServer(edgeProbes(role), { host: options.host, port: healthPort });
      if (probeServer !== undefined) line(`health probes on ${probeServer.url}/healthz and /readyz`);
      // SIGHUP re-reads the config file, as `openfront start` does (docs/fleet.md).
      let reloading = false;
      process.on('SIGHUP', () => {
        if (reloading) {
          process.stderr.write('openfront edge: a reload is already running; SIGHUP ignored\n');
          return;
        }
        reloading = true;
        reloadEdgeRole(role, () => loadConfig(path))
          .then(
            (outcome) => process.stdout.write(`${describeReload(outcome)}\n`),
            (err: unknown) => {
              const problems = (err as { details?: { problems?: Array<{ path: string; message: string }> } }).details?.problems ?? [];
              const message = err instanceof Error ? err.message : String(err);
              process.stderr.write(`openfront edge: reload refused, the previous config keeps serving: ${message}\n`);
              for (const p of problems) if (!message.includes(p.message)) process.stderr.write(`  ${p.path}: ${p.message}\n`);
            },
          )
          .finally(() => (reloading = false));
      });
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(1);
        stopping = true;
        line(`${signal}, draining`);
        // The probes answer "draining" while the edge drains, then close with it.
        role
          .drain(graceMs)
          .then(async () => probeServer?.close())
          .then(
            () => process.exit(0),
            (err: unknown) => {
              process.stderr.write(`openfront edge: failed while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
              process.exit(1);
            },
          );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
