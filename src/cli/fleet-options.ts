/** The options every fleet command shares (`control`, `keys … --nats`): where NATS is and the fleet's secret key. */
import { resolve } from 'node:path';
import { openFrontError } from '../errors.js';
import { loadGivenSecretKey, SECRET_KEY_ENV } from '../kvs/secret-box.js';

export interface FleetOptions {
  nats: string;
  secretKeyFile?: string;
  natsReplicas?: string;
}

/** The fleet's secret key: refused with a clear message when none is given (no control may invent its own). */
export function fleetSecretKey(options: FleetOptions, command: string): Buffer {
  let given;
  try {
    given = loadGivenSecretKey(options.secretKeyFile === undefined ? undefined : resolve(options.secretKeyFile));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw openFrontError('CLI_USAGE', `--secret-key-file ${options.secretKeyFile} does not exist`);
    throw err;
  }
  if (given === undefined) {
    throw openFrontError(
      'CLI_USAGE',
      `${command} --nats needs the fleet's secret key, which seals access-key secrets in NATS: pass --secret-key-file <file> or set ${SECRET_KEY_ENV} (32 bytes as hex or base64, e.g. \`openssl rand -hex 32\`; the same for every control process)`,
    );
  }
  return given.key;
}

export function parseReplicas(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^[1-5]$/.test(text)) throw openFrontError('CLI_USAGE', `--nats-replicas must be 1 to 5, got "${text}"`);
  return Number(text);
}
