/**
 * Option parsing shared by the serving commands (`start`, `dev`, `control`, `edge`). Kept apart from `start` so that a
 * fleet role's command does not load the single-node composition root just to parse its flags.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIG_FILE_NAMES } from '../config/index.js';
import { openFrontError } from '../errors.js';

export const DEMO_CONFIG = fileURLToPath(new URL('../../../examples/demo/openfront.config.yaml', import.meta.url));

/** How long SIGTERM/SIGINT lets requests in flight finish, like nginx's and Envoy's common 30 s (docs/deploy.md). */
export const DEFAULT_DRAIN_SECONDS = 30;

export function parseSeconds(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(text)) throw openFrontError('CLI_USAGE', `${flag} must be a number of seconds (e.g. 30 or 0.5), got "${text}"`);
  return Number(text);
}

/** The config to serve: the flag (a file, or a folder holding one), else a config file here, else the demo. */
export function resolveConfigPath(flag: string | undefined): { path: string; demo: boolean } {
  if (flag !== undefined) {
    const path = resolve(flag);
    if (existsSync(path) && statSync(path).isDirectory()) {
      const name = CONFIG_FILE_NAMES.find((n) => existsSync(join(path, n)));
      if (name === undefined) throw openFrontError('CLI_USAGE', `${flag} is a folder without ${CONFIG_FILE_NAMES.join(', ')}`);
      return { path: join(path, name), demo: false };
    }
    return { path, demo: false };
  }
  const local = CONFIG_FILE_NAMES.find((n) => existsSync(n));
  return local ? { path: resolve(local), demo: false } : { path: DEMO_CONFIG, demo: true };
}

export function parsePort(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw openFrontError('CLI_USAGE', `${flag} must be a port number from 0 to 65535, got "${text}"`);
  return Number(text);
}
