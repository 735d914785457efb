/**
 * `openfront start`: one node on the embedded store — the edge and the API. With no `--config` it uses
 * `openfront.config.{yaml,yml,json}` from the working directory, else the bundled demo.
 */
import { existsSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CONFIG_FILE_NAMES, loadConfig } from '../../config/index.js';
import { isOpenFrontError, openFrontError } from '../../errors.js';
import { HISTORY_RETENTION_ENV, retentionFromCli } from '../../kvs/history.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../node/index.js';
import { EDGE_NAME_PATTERN } from '../../observe/propagation.js';
import { DEFAULT_RECORDING } from '../../observe/recording.js';
import type { EdgeConfig } from '../../config/types.js';
import { DEFAULT_DATA_DIR } from './keys.js';
import { serveUntilStopped } from '../operations.js';

export const DEMO_CONFIG = fileURLToPath(new URL('../../../../examples/demo/openfront.config.yaml', import.meta.url));

export const DEMO_HTTPS_PORT = 8443;

export interface StartOptions {
  config?: string;
  data: string;
  host?: string;
  apiPort?: string;
  edgePort?: string;
  httpsPort?: string;
  insecureNoAuth?: boolean;
  accessLog?: string;
  metricsPort?: string;
  importDir?: string;
  drainTimeout?: string;
  workers?: string;
  workerHeader?: boolean;
  name?: string;
  historyRetention?: string;
  /** `--record [rate]`: true without a rate. */
  record?: string | boolean;
}

/** More edge processes than this on one machine is a typo, not a plan. */
export const MAX_WORKERS = 64;

export function parseWorkers(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > MAX_WORKERS)
    throw openFrontError('CLI_USAGE', `--workers must be a whole number from 1 to ${MAX_WORKERS}, got "${text}"`);
  return Number(text);
}

export function parseEdgeName(text: string | undefined): string | undefined {
  if (text !== undefined && !EDGE_NAME_PATTERN.test(text))
    throw openFrontError('CLI_USAGE', `--name must be 1 to 64 letters, digits, "-" or "_", got "${text.slice(0, 80)}"`);
  return text;
}

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

/** `--record [rate]`: the sample rate to record every distribution at, or undefined without the flag. */
export function parseRecordRate(value: string | boolean | undefined): number | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return 1;
  const rate = Number(value);
  if (!/^\d(\.\d{1,6})?$/.test(value) || !(rate > 0 && rate <= 1))
    throw openFrontError('CLI_USAGE', `--record takes a sample rate above 0 and at most 1, got "${value}"`);
  return rate;
}

/** Every distribution without a `recording` section records at `sampleRate` with the default bounds. */
function withRecording(config: EdgeConfig, sampleRate: number | undefined): EdgeConfig {
  if (sampleRate === undefined) return config;
  const recording = { ...DEFAULT_RECORDING, sampleRate, redactHeaders: [], keepHeaders: [], keepCookies: [] };
  return { ...config, distributions: config.distributions.map((d) => (d.recording === undefined ? { ...d, recording } : d)) };
}

/** Starts a node from command-line options; shared by `start` and `dev`. */
export async function startFromOptions(options: StartOptions): Promise<{ node: OpenFrontNode; configPath: string; demo: boolean }> {
  const { path, demo } = resolveConfigPath(options.config);
  parseSeconds(options.drainTimeout, '--drain-timeout', DEFAULT_DRAIN_SECONDS);
  const workers = parseWorkers(options.workers);
  if (options.workerHeader && workers === undefined) throw openFrontError('CLI_USAGE', '--worker-header needs --workers');
  const sampleRate = parseRecordRate(options.record);
  const load = async (): Promise<EdgeConfig> => withRecording(await loadConfig(path), sampleRate);
  const config = await load();
  const host = options.host;
  const node = await startOpenFrontNode({
    dataDir: resolve(options.data),
    config,
    api: {
      host,
      port: parsePort(options.apiPort, '--api-port') ?? 8787,
      insecureNoAuth: options.insecureNoAuth,
      importDir: options.importDir === undefined ? undefined : resolve(options.importDir),
    },
    // The demo serves HTTPS on 8443 unless told otherwise (a self-signed certificate for localhost is made for it).
    edge: {
      host,
      port: parsePort(options.edgePort, '--edge-port'),
      httpsPort: parsePort(options.httpsPort, '--https-port') ?? (demo ? DEMO_HTTPS_PORT : undefined),
    },
    observability: { accessLog: options.accessLog, metricsPort: parsePort(options.metricsPort, '--metrics-port') },
    configSource: load,
    workers: workers === undefined ? undefined : { count: workers, workerHeader: options.workerHeader },
    edgeName: parseEdgeName(options.name),
    historyRetention: retentionFromCli(options.historyRetention),
  });
  return { node, configPath: path, demo };
}

function describeStart(node: OpenFrontNode, configPath: string, demo: boolean, dataDir: string): string {
  const lines = [
    `OpenFront is running${demo ? ' the demo' : ''} (config ${relative(process.cwd(), configPath) || configPath}, data ${dataDir})`,
    `  edge  ${node.edge.url}`,
    ...(node.edge.pids === undefined ? [] : [`  edge workers ${node.edge.pids().join(' ')}`]),
    `  api   ${node.api.url}`,
  ];
  if (node.edge.httpsUrl !== undefined) {
    const cert = node.selfSignedCertificate;
    lines.push(
      `  edge  ${node.edge.httpsUrl} (HTTP/2 and HTTP/1.1)` +
        (cert === undefined ? '' : `, self-signed certificate for localhost and 127.0.0.1 ${cert.created ? 'made' : 'reused'}: ${cert.certificatePath}`),
    );
  }
  if (node.observability.metricsUrl !== undefined) lines.push(`  metrics ${node.observability.metricsUrl}/metrics`);
  for (const store of node.seeded.stores) lines.push(`  created store ${store} from its seed file`);
  for (const fn of node.seeded.functions) lines.push(`  ${fn.action} function ${fn.name}, LIVE version ${fn.version}`);
  if (demo) {
    const edge = node.edge.url;
    lines.push(
      '',
      'Try it:',
      `  curl -i ${edge}/                                  # locale routing: 302 to /en/ (or /de/ with -H 'Accept-Language: de')`,
      `  curl -i ${edge}/en/                               # the static site, with security headers`,
      ...(node.edge.httpsUrl === undefined
        ? []
        : [`  curl -ik --http2 https://localhost:${node.edge.httpsPort}/en/   # the same over HTTPS and HTTP/2 (self-signed: -k)`]),
      `  curl -i ${edge}/go/docs                           # redirect table read from the demo-redirects KeyValueStore`,
      `  curl -i ${edge}/beta/ -H 'Cookie: beta-bucket=10' # feature flag from the demo-flags store (50% rollout)`,
      '',
      'Change a KeyValueStore key and watch the edge follow (no restart):',
      `  eval "$(npx openfront keys create --data ${dataDir} --env)"`,
      `  npx openfront kvs put demo-redirects /go/docs https://example.com/moved`,
      `  curl -i ${edge}/go/docs`,
      '',
      'Stop with Ctrl-C.',
    );
  }
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('start')
    .description('Serve the edge and the API on the embedded store (no config: the bundled demo)')
    .option('--config <file>', `config file or folder (default: ./${CONFIG_FILE_NAMES[0]}, else the demo)`)
    .option('--data <dir>', 'data directory (SQLite database)', DEFAULT_DATA_DIR)
    .option('--host <address>', 'interface for the edge and the API (default 127.0.0.1)')
    .option('--api-port <port>', 'API port (default 8787; 0 = any free port)')
    .option('--edge-port <port>', "edge port (default: the config's server.port, 8080)")
    .option('--https-port <port>', "HTTPS edge port, HTTP/2 and HTTP/1.1 (default: the config's server.httpsPort; the demo: 8443)")
    .option('--insecure-no-auth', 'accept unsigned API requests (refused unless listening on loopback)')
    .option('--access-log <file>', 'write access logs as JSON lines to this file ("-": stdout; default: the config, else off)')
    .option('--metrics-port <port>', 'serve unsigned Prometheus /metrics on this port (loopback by default; see docs/observability.md)')
    .option('--import-dir <dir>', "the only directory CreateKeyValueStore's ImportSource may read (default: kvs.importDir, else off)")
    .option('--drain-timeout <seconds>', `on SIGTERM/SIGINT, how long requests in flight may finish (default ${DEFAULT_DRAIN_SECONDS})`)
    .option('--workers <n>', 'serve the edge from n processes on one port (node:cluster; see docs/deploy.md)')
    .option('--name <edge-name>', "this node's edge name in propagation answers and `openfront status` (default: the host name)")
    .option(
      '--history-retention <days>d,<versions>',
      `keep store history this long, and at least this many versions (default: kvs.history, else ${HISTORY_RETENTION_ENV}, else 30d,1000)`,
    )
    .option('--worker-header', 'with --workers: add x-openfront-worker: <pid> to every edge response')
    .option(
      '--record [rate]',
      "record a sample of each distribution's requests for `openfront dry-run` (rate 0-1, default 1) unless its config has a recording section",
    )
    .action(async (options: StartOptions) => {
      let started: Awaited<ReturnType<typeof startFromOptions>>;
      try {
        started = await startFromOptions(options);
      } catch (err) {
        const problems = isOpenFrontError(err) ? (err.details.problems as Array<{ path: string; message: string }> | undefined) : undefined;
        process.stderr.write(`openfront start: ${err instanceof Error ? err.message : String(err)}\n`);
        if (problems && !(err instanceof Error && err.message.includes(problems[0]?.message ?? '\0'))) {
          for (const p of problems) process.stderr.write(`  ${p.path}: ${p.message}\n`);
        }
        process.exitCode = 1;
        return;
      }
      const { node, configPath, demo } = started;
      process.stdout.write(`${describeStart(node, configPath, demo, options.data)}\n`);
      serveUntilStopped(node, parseSeconds(options.drainTimeout, '--drain-timeout', DEFAULT_DRAIN_SECONDS) * 1000);
    });
}
