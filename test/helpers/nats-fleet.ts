/**
 * Fleet fixtures on top of the nats-server harness: an edge config on disk, LIVE functions written to the
 * `of_functions` / `of_function_versions` buckets the way the contract of docs/fleet.md lays them out, and
 * `openfront edge` child processes that a test can SIGKILL and restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NatsConnectionHandle } from '../../src/state/jetstream/connection.js';

export const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * A function that answers every request with the JSON of the store keys named in `?keys=a,b,c` (absent keys as
 * null), plus the function's own `tag`: what the fault tests read from each edge.
 */
export function readerCode(tag: string): string {
  return `import cf from 'cloudfront';
async function handler(event) {
  const kvs = cf.kvs();
  const wanted = event.request.querystring.keys ? event.request.querystring.keys.value.split(',') : [];
  const values = {};
  for (let i = 0; i < wanted.length; i++) {
    const k = wanted[i];
    values[k] = (await kvs.exists(k)) ? await kvs.get(k) : null;
  }
  return { statusCode: 200, statusDescription: 'OK', headers: { 'content-type': { value: 'application/json' } },
    body: { encoding: 'text', data: JSON.stringify({ tag: ${JSON.stringify(tag)}, values: values }) } };
}
`;
}

/** A config directory whose one distribution runs the function `reader` on every request. */
export function writeEdgeConfig(): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-fleet-config-'));
  mkdirSync(join(dir, 'site'));
  mkdirSync(join(dir, 'functions'));
  writeFileSync(join(dir, 'site', 'index.html'), 'origin\n');
  // The config names the function; in fleet mode its code comes from NATS (this file only seeds a control role).
  writeFileSync(join(dir, 'functions', 'reader.js'), readerCode('config'));
  const configPath = join(dir, 'openfront.config.yaml');
  writeFileSync(
    configPath,
    [
      'server:',
      '  host: 127.0.0.1',
      '  port: 0',
      'functions:',
      '  - name: reader',
      '    code: functions/reader.js',
      '    runtime: cloudfront-js-2.0',
      'distributions:',
      '  - id: EFLEET000000001',
      '    hostnames: ["*"]',
      '    origins:',
      '      - id: site',
      '        static: ./site',
      '    defaultBehavior:',
      '      origin: site',
      '      cachePolicy: CachingDisabled',
      '      functionAssociations:',
      '        viewer-request: reader',
      '',
    ].join('\n'),
  );
  return { dir, configPath };
}

/**
 * Publishes `code` as version `version` of function `name` and points LIVE at it, as the control role's registry
 * does: the code in `of_function_versions` first, then the record in `of_functions`.
 */
export async function publishLiveFunction(
  conn: NatsConnectionHandle,
  name: string,
  version: number,
  code: string,
  options: { storeId?: string; replicas?: number } = {},
): Promise<void> {
  const arn = options.storeId === undefined ? undefined : `arn:aws:cloudfront::123456789012:key-value-store/${options.storeId}`;
  const versions = await conn.kvm.create('of_function_versions', { history: 1, replicas: options.replicas ?? 1 });
  const functions = await conn.kvm.create('of_functions', { history: 1, replicas: options.replicas ?? 1 });
  const config = { comment: '', runtime: 'cloudfront-js-2.0', ...(arn === undefined ? {} : { keyValueStoreArn: arn }) };
  await versions.put(`${name}.v${version}`, JSON.stringify({ code, config }));
  const now = new Date().toISOString();
  await functions.put(
    name,
    JSON.stringify({
      name,
      development: { version, etag: `E${version}` },
      live: { version, etag: `E${version}`, publishedAt: now },
      versions: Array.from({ length: version }, (_, i) => ({
        version: i + 1,
        created: now,
        runtime: 'cloudfront-js-2.0',
        comment: '',
        kvsArns: arn ? [arn] : [],
      })),
    }),
  );
}

/** What the reader function answered. */
export interface ReaderAnswer {
  tag: string;
  values: Record<string, string | null>;
}

/** GET the edge with `?keys=a,b` (plain key names: the function reads the query string undecoded); the answer. */
export async function readKeys(edgeUrl: string, keys: string[]): Promise<ReaderAnswer> {
  const res = await fetch(`${edgeUrl}/?keys=${keys.join(',')}`);
  const text = await res.text();
  assert.equal(res.status, 200, `edge answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as ReaderAnswer;
}

/** Polls `check` until it returns true (event-driven waits are not available across processes); fails after `timeoutMs`. */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return Date.now() - started;
    } catch (err) {
      last = err;
    }
    if (Date.now() - started > timeoutMs) assert.fail(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface EdgeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Sends `signal` (default SIGKILL) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `openfront edge` as a child process; resolves once it serves (its "serving on" line). */
export async function startEdgeProcess(options: { nats: string; configPath: string; name: string; stateDir: string }): Promise<EdgeProcess> {
  const child = spawn(
    process.execPath,
    [CLI, 'edge', '--nats', options.nats, '--config', options.configPath, '--name', options.name, '--state-dir', options.stateDir, '--edge-port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`openfront edge ${options.name} did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-100_000);
      const m = / serving on (http:\/\/[^\s]+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`openfront edge ${options.name} exited (${code ?? signal}) before serving:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
