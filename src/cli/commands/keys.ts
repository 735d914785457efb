/**
 * `openfront keys create|list|revoke`: access keys for the API, managed directly in the database file
 * (`<data>/openfront.db`), so the first key can be made before any server runs.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openFrontError } from '../../errors.js';
import { openSqliteParts, SqliteAccessKeyState } from '../../state/sqlite/index.js';
import type { AccessKeyState } from '../../state/types.js';
import { fleetSecretKey } from '../fleet-options.js';
import { parsePolicy } from '../../control/auth/policy.js';

/** How long `keys … --nats` waits for a NATS server before it gives up. */
const CONNECT_TIMEOUT_MS = 5000;

/** Default data directory, relative to the working directory. */
export const DEFAULT_DATA_DIR = '.openfront';

interface DataOptions {
  data: string;
  json?: boolean;
  /** Work on a fleet's keys in NATS instead of the data directory. */
  nats?: string;
  secretKeyFile?: string;
}

function databaseFile(options: DataOptions): string {
  return join(resolve(options.data), 'openfront.db');
}

/** Opens the database; only `create` may make a new one (listing an absent database is a mistake worth reporting). */
async function withAccessKeys<T>(options: DataOptions, create: boolean, use: (keys: AccessKeyState) => Promise<T>): Promise<T> {
  if (options.nats !== undefined) {
    const secretKey = fleetSecretKey({ nats: options.nats, secretKeyFile: options.secretKeyFile }, 'openfront keys');
    // Lazily: the NATS client is loaded only for a fleet.
    const { openFleetState } = await import('../../node/control-role.js');
    const state = await openFleetState({ nats: options.nats, secretKey, name: 'openfront-keys', connectTimeoutMs: CONNECT_TIMEOUT_MS }).catch(
      (err: unknown) => {
        // The NATS client keeps trying to connect in the background: a one-shot command stops here instead.
        process.stderr.write(`openfront: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
    try {
      return await use(state.accessKeys);
    } finally {
      await state.close();
    }
  }
  const file = databaseFile(options);
  if (!create && !existsSync(file)) throw openFrontError('CLI_USAGE', `no OpenFront database at ${file} (use --data <dir> to point at the data directory)`);
  const { database, keys, audit } = openSqliteParts(file);
  try {
    return await use(new SqliteAccessKeyState(database, keys, audit));
  } finally {
    database.close();
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function register(program: Command): void {
  const keys = program.command('keys').description("Manage API access keys (directly on the database file, or a fleet's NATS with --nats)");
  const dataOption = ['--data <dir>', 'data directory holding openfront.db', DEFAULT_DATA_DIR] as const;
  const natsOption = ['--nats <url>', "a fleet's NATS url: the keys of the fleet instead of the data directory's"] as const;
  const secretKeyOption = ['--secret-key-file <file>', "with --nats: the fleet's secret key (default: OPENFRONT_SECRET_KEY)"] as const;

  keys
    .command('create')
    .description('Create an access key; the secret is shown once')
    .option('--description <text>', 'what the key is for')
    .option(
      '--allow <permission>',
      'limit the key to this permission, e.g. kvs:write:redirects-* or function:read:* (repeatable; without it the key is admin)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(...dataOption)
    .option(...natsOption)
    .option(...secretKeyOption)
    .option('--json', 'print {"accessKeyId", "secretAccessKey"}')
    .option('--env', 'print shell export lines, for eval "$(openfront keys create --env)"')
    .action(async (options: DataOptions & { description?: string; env?: boolean; allow: string[] }) => {
      // Checked before the database or NATS is touched: an unknown action creates nothing.
      const policy = options.allow.length === 0 ? undefined : parsePolicy(options.allow);
      const key = await withAccessKeys(options, true, (keys) => keys.create(options.description, undefined, policy));
      if (options.env) {
        print(`export OPENFRONT_ACCESS_KEY_ID=${key.accessKeyId}`);
        print(`export OPENFRONT_SECRET_ACCESS_KEY=${key.secretAccessKey}`);
        return;
      }
      if (options.json) {
        // The documented shape, spacing included: scripts and docs quote it verbatim.
        const policyField = policy === undefined ? '' : `, "policy": ${JSON.stringify(policy)}`;
        print(`{"accessKeyId": ${JSON.stringify(key.accessKeyId)}, "secretAccessKey": ${JSON.stringify(key.secretAccessKey)}${policyField}}`);
        return;
      }
      print(`Access key created. Keep the secret now: it is not shown again.`);
      print(`  access key id:     ${key.accessKeyId}`);
      print(`  secret access key: ${key.secretAccessKey}`);
      print(`  allowed:           ${policy === undefined ? 'admin (everything)' : policy.join(' ')}`);
      print('Use it with:');
      print(`  export OPENFRONT_ACCESS_KEY_ID=${key.accessKeyId}`);
      print(`  export OPENFRONT_SECRET_ACCESS_KEY=<the secret above>`);
    });

  keys
    .command('list')
    .description('List access keys (never their secrets)')
    .option(...dataOption)
    .option(...natsOption)
    .option(...secretKeyOption)
    .option('--json', 'print JSON')
    .action(async (options: DataOptions) => {
      const records = await withAccessKeys(options, false, (keys) => keys.list());
      if (options.json) {
        print(
          JSON.stringify(
            records.map((r) => ({
              accessKeyId: r.accessKeyId,
              created: r.created.toISOString(),
              revoked: r.revoked?.toISOString(),
              description: r.description,
              policy: r.policy ?? ['admin'],
            })),
          ),
        );
        return;
      }
      if (records.length === 0) print('No access keys. Create one with `openfront keys create`.');
      for (const r of records) {
        const state = r.revoked ? `revoked ${r.revoked.toISOString()}` : 'active';
        const allowed = r.policy === undefined ? 'admin' : r.policy.join(' ');
        print(`${r.accessKeyId}  ${state.padEnd(32)}  created ${r.created.toISOString()}  allow ${allowed}${r.description ? `  ${r.description}` : ''}`);
      }
    });

  keys
    .command('revoke')
    .description('Revoke an access key; requests signed with it are refused at once')
    .argument('<accessKeyId>')
    .option(...dataOption)
    .option(...natsOption)
    .option(...secretKeyOption)
    .option('--json', 'print JSON')
    .action(async (accessKeyId: string, options: DataOptions) => {
      await withAccessKeys(options, false, (keys) => keys.revoke(accessKeyId));
      print(options.json ? JSON.stringify({ accessKeyId, revoked: true }) : `Revoked ${accessKeyId}`);
    });
}
