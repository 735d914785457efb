/**
 * nginx + njs as an edge target, when the machine has them (Debian: `nginx` and `libnginx-mod-http-js`). The bench
 * never installs anything: `findNginx()` says why it is missing and the edge bench skips the target.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const NGINX_BINARIES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];
const NJS_MODULES = [
  '/usr/lib/nginx/modules/ngx_http_js_module.so',
  '/usr/share/nginx/modules/ngx_http_js_module.so',
  '/usr/local/nginx/modules/ngx_http_js_module.so',
];
/** Source-tree files (tsc copies no .conf/.js): resolved from dist/bench/helpers/. */
const BASELINE_DIR = fileURLToPath(new URL('../../../bench/edge-baseline/', import.meta.url));

/**
 * nginx's binary, its njs module when installed (without it only the `map` variant runs), and whether it takes
 * `http2 on;` (1.25.1 and later) or the older `listen … http2` parameter.
 */
export type NginxInstall = { found: true; binary: string; jsModule?: string; http2Directive: boolean } | { found: false; reason: string };

export function findNginx(): NginxInstall {
  const onPath = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).stdout.trim();
  const binary = [onPath, ...NGINX_BINARIES].find((path) => path !== '' && existsSync(path));
  if (binary === undefined) return { found: false, reason: 'nginx is not installed (Debian: apt-get install nginx libnginx-mod-http-js)' };
  return { found: true, binary, jsModule: NJS_MODULES.find((path) => existsSync(path)), http2Directive: takesHttp2Directive(binary) };
}

/** `nginx -v` prints `nginx version: nginx/1.22.1` (on stderr); `http2 on;` exists from 1.25.1. */
function takesHttp2Directive(binary: string): boolean {
  const printed = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  const version = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${printed.stderr}${printed.stdout}`);
  if (version === null) return false;
  const [major, minor, patch] = version.slice(1).map(Number) as [number, number, number];
  return major > 1 || (major === 1 && (minor > 25 || (minor === 25 && patch >= 1)));
}

/** A certificate and key (PEM files) for nginx to terminate TLS with: TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1 by ALPN. */
export interface NginxTls {
  certificate: string;
  privateKey: string;
}

/** The server block's listen lines: plain HTTP, or TLS with HTTP/2 in the syntax this nginx takes. */
function listenLines(port: number, tls: NginxTls | undefined, http2Directive: boolean): string {
  if (tls === undefined) return `    listen 127.0.0.1:${port};`;
  return [
    http2Directive ? `    listen 127.0.0.1:${port} ssl;\n    http2 on;` : `    listen 127.0.0.1:${port} ssl http2;`,
    `    ssl_certificate ${tls.certificate};`,
    `    ssl_certificate_key ${tls.privateKey};`,
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    // As many concurrent streams per connection as the load generator opens (STREAMS_PER_HTTP2_CONNECTION and more).
    '    http2_max_concurrent_streams 128;',
  ].join('\n');
}

/** Why the njs variant cannot run, or undefined when it can. */
export function njsMissing(install: NginxInstall): string | undefined {
  if (!install.found) return install.reason;
  return install.jsModule === undefined ? 'the njs module is not installed (Debian: apt-get install libnginx-mod-http-js)' : undefined;
}

/**
 * How nginx makes the decision: `njs` runs bench/edge-baseline/decision.js with the table as a JS module;
 * `map` looks both tables up in nginx `map` blocks (C hash tables, no JavaScript).
 */
export type NginxDecision = 'njs' | 'map';

export interface NginxTarget {
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, nginx: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (nginx.exitCode !== null || nginx.pid === undefined) throw new Error(`nginx did not start (exit code ${nginx.exitCode})`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function mapLine(key: string, value: string): string {
  return `${JSON.stringify(key)} ${JSON.stringify(value)};\n`;
}

/** Writes the table where the decision variant reads it; returns the `@@…@@` values of the config template. */
function writeDecision(prefix: string, decision: NginxDecision, install: { jsModule?: string }, table: Record<string, string>): Record<string, string> {
  if (decision === 'njs') {
    if (install.jsModule === undefined) throw new Error('the njs module is not installed');
    writeFileSync(join(prefix, 'bench-table.js'), `export default ${JSON.stringify(table)};\n`);
    return { LOAD_MODULE: `load_module ${install.jsModule};`, SCRIPT: join(BASELINE_DIR, 'decision.js') };
  }
  let tenants = '';
  let redirects = '';
  for (const [key, value] of Object.entries(table)) {
    if (key.startsWith('tenant:')) tenants += mapLine(key.slice('tenant:'.length), value);
    else if (key.startsWith('redirect:')) redirects += mapLine(key.slice('redirect:'.length), value);
  }
  writeFileSync(join(prefix, 'tenants.map'), tenants);
  writeFileSync(join(prefix, 'redirects.map'), redirects);
  return { LOAD_MODULE: '' };
}

function fillTemplate(file: string, values: Record<string, string>): string {
  return readFileSync(join(BASELINE_DIR, file), 'utf8').replace(/@@([A-Z_]+)@@/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${file}: no value for @@${name}@@`);
    return value;
  });
}

/**
 * Starts nginx (master + one worker) in the foreground with the bench's config, on a free 127.0.0.1 port; with
 * `tls`, that port speaks TLS (HTTP/2 and HTTP/1.1 by ALPN).
 */
export async function startNginx(
  install: { binary: string; jsModule?: string; http2Directive: boolean },
  options: { decision: NginxDecision; originPort: number; table: Record<string, string>; tls?: NginxTls },
): Promise<NginxTarget> {
  const prefix = mkdtempSync(join(tmpdir(), 'openfront-bench-nginx-'));
  let port: number;
  try {
    // A root master runs its worker as `nobody`, which must reach the files in here.
    chmodSync(prefix, 0o755);
    port = await freePort();
    const values = {
      PREFIX: prefix,
      ORIGIN_PORT: String(options.originPort),
      PORT: String(port),
      LISTEN: listenLines(port, options.tls, install.http2Directive),
      ...writeDecision(prefix, options.decision, install, options.table),
    };
    writeFileSync(join(prefix, 'decision.conf'), fillTemplate(`decision-${options.decision}.conf`, values));
    writeFileSync(join(prefix, 'nginx.conf'), fillTemplate('nginx.conf', { ...values, DECISION: join(prefix, 'decision.conf') }));
  } catch (err) {
    rmSync(prefix, { recursive: true, force: true });
    throw err;
  }
  const nginx = spawn(install.binary, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  // 'close' also follows a failed spawn ('error' without 'exit').
  const exited = new Promise<void>((resolve) => nginx.once('close', () => resolve()));
  let spawnError: Error | undefined;
  nginx.once('error', (err) => (spawnError = err));
  const stop = async () => {
    if (spawnError === undefined && nginx.exitCode === null && nginx.signalCode === null) nginx.kill('SIGTERM');
    const timer = setTimeout(() => nginx.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(prefix, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, nginx, 10_000);
  } catch (err) {
    const log = existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8').trim() : '';
    await stop();
    throw new Error(`${(err as Error).message}${log ? `\n${log}` : ''}`, { cause: err });
  }
  return { port, stop };
}
