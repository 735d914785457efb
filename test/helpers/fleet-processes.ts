/**
 * Fleet roles as real processes for tests and the fleet bench: `openfront control` / `openfront edge` spawned from
 * the built CLI, ready once they accept connections on the port they were given, stopped by their own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RoleProcess {
  readonly label: string;
  readonly port: number;
  readonly process: ChildProcess;
  /** The last 20 KB of its stdout and stderr. */
  log(): string;
  /** SIGTERM (SIGKILL after 5 s); resolves when it has exited. */
  stop(): Promise<void>;
}

export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Spawns `openfront <args>` and resolves once it accepts connections on `port` (rejects with its output if it exits). */
export async function startRoleProcess(label: string, args: string[], port: number, options: { timeoutMs?: number } = {}): Promise<RoleProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const role: RoleProcess = {
    label,
    port,
    process: child,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  while (!(await acceptsConnections(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await role.stop();
      throw new Error(`${label} did not start (openfront ${args.join(' ')}):\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return role;
}

/** Runs `openfront <args>` to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A function that answers the value of the key named by the request path (`/k` → key `k`), or `-`. */
export const READ_KEY_FUNCTION = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  let value = '-';
  try {
    value = await kvs.get(event.request.uri.slice(1));
  } catch (e) {
    value = '-';
  }
  return { statusCode: 200, statusDescription: 'OK', headers: { 'cache-control': { value: 'no-store' } }, body: value };
}
`;

/** A config (JSON, which the YAML loader reads) with store `storeName` read by {@link READ_KEY_FUNCTION} on every path. */
export function readKeyConfig(storeName: string): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', port: 8080 },
    kvs: { limits: 'unlimited' },
    stores: [{ name: storeName }],
    functions: [{ name: 'read-key', code: 'read-key.js', store: storeName }],
    distributions: [
      {
        id: 'EFLEET000000001',
        hostnames: ['*'],
        origins: [{ id: 'site', static: './site' }],
        defaultBehavior: { origin: 'site', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'read-key' } },
      },
    ],
  };
}
