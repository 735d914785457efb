/**
 * `openfront control --nats <url>`: the API of a fleet, stateless, on NATS JetStream (docs/fleet.md). The role and
 * the NATS client are imported only when the command runs, so other commands never load them.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { SECRET_KEY_ENV } from '../../kvs/secret-box.js';
import { HISTORY_RETENTION_ENV, retentionFromCli } from '../../kvs/history.js';
import { fleetSecretKey, parseReplicas, type FleetOptions } from '../fleet-options.js';
import { parsePort, resolveConfigPath } from './start.js';

interface ControlOptions extends FleetOptions {
  config?: string;
  apiPort?: string;
  host?: string;
  insecureNoAuth?: boolean;
  importDir?: string;
  historyRetention?: string;
}

export function register(program: Command): void {
  program
    .command('control')
    .description('Serve the API of a fleet on NATS JetStream, with no local state (several may run at once; see docs/fleet.md)')
    .requiredOption('--nats <url[,url…]>', 'NATS server url(s) of the fleet')
    .option('--config <file>', 'config file or folder whose stores and functions are made to exist (as `start` does)')
    .option('--api-port <port>', 'API port (default 8787; 0 = any free port)')
    .option('--host <address>', 'interface for the API (default 127.0.0.1)')
    .option('--nats-replicas <n>', 'stream replicas of the buckets this control creates (default 1; 3 on an R3 cluster)')
    .option('--secret-key-file <file>', `the fleet's 32-byte secret key sealing access-key secrets (default: ${SECRET_KEY_ENV})`)
    .option('--insecure-no-auth', 'accept unsigned API requests (refused unless listening on loopback)')
    .option('--import-dir <dir>', "the only directory CreateKeyValueStore's ImportSource may read")
    .option(
      '--history-retention <days>d,<versions>',
      `keep store history this long, and at least this many versions (default: kvs.history, else ${HISTORY_RETENTION_ENV}, else 30d,1000)`,
    )
    .action(async (options: ControlOptions) => {
      const secretKey = fleetSecretKey(options, 'openfront control');
      const natsReplicas = parseReplicas(options.natsReplicas);
      const port = parsePort(options.apiPort, '--api-port') ?? 8787;
      const config = options.config === undefined ? undefined : await loadConfig(resolveConfigPath(options.config).path);
      const { startControlRole, describeControl } = await import('../../node/control-role.js');
      const role = await startControlRole({
        nats: options.nats,
        secretKey,
        natsReplicas,
        config,
        historyRetention: retentionFromCli(options.historyRetention),
        api: {
          host: options.host,
          port,
          insecureNoAuth: options.insecureNoAuth,
          importDir: options.importDir === undefined ? undefined : resolve(options.importDir),
        },
      });
      process.stdout.write(`${describeControl(role)}\n`);
      const stop = (signal: NodeJS.Signals) => {
        process.stdout.write(`openfront: ${signal}, stopping\n`);
        role.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
}
