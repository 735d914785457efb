/**
 * Real nats-server processes for the fleet tests (docs/fleet.md): one server or a 3-node JetStream cluster on free
 * loopback ports, each with its own store dir, stopped by PID; and a TCP proxy whose link a test can cut.
 *
 * `nats-server` comes from the Debian package (`.ci/run` installs it). Without it the fleet tests skip with a
 * clear message, except in CI (`CI` set), where they fail.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const READY_TIMEOUT_MS = 15_000;

/** The nats-server binary on PATH (or in the sbin dirs a non-root PATH may lack), or undefined. */
export function natsServerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin', '/usr/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const MISSING = 'nats-server is not installed (Debian: apt-get install nats-server); the fleet tests need a real server';

/**
 * For `describe(name, { skip: natsSkipReason() }, …)`: false when nats-server is there, the reason to skip when it is
 * not; throws in CI, where a missing server is a broken CI setup, not a reason to skip.
 */
export function natsSkipReason(): string | false {
  if (natsServerBinary() !== undefined) return false;
  if (process.env.CI) assert.fail(`${MISSING} (CI is set: .ci/run must install it)`);
  return MISSING;
}

/** Skips the test `t` when nats-server is missing (fails in CI); returns whether the test may go on. */
export function requireNatsServer(t: { skip(message?: string): void }): boolean {
  const reason = natsSkipReason();
  if (reason === false) return true;
  t.skip(reason);
  return false;
}

/** A port nobody listens on now, from the kernel. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface NatsServer {
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** The server name (`-n`), as JetStream reports it (stream leader, peers). */
  readonly name: string;
  readonly storeDir: string;
  /** The process id while it runs. */
  readonly pid: number | undefined;
  /** The server's log so far (stderr), for failure messages. */
  log(): string;
  /** SIGTERM, then waits for the exit (the store dir is kept for restart()). */
  stop(): Promise<void>;
  /** Sends `signal` (SIGKILL by default) and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same store dir; resolves when it accepts clients. */
  restart(): Promise<void>;
  /** Stops it if running and removes its store dir (when the helper created it). */
  dispose(): Promise<void>;
}

interface ServerSpec {
  name: string;
  port: number;
  storeDir: string;
  /** Extra config text (cluster block). */
  extra?: string;
  ownsStoreDir: boolean;
}

class NatsProcess implements NatsServer {
  readonly url: string;
  readonly port: number;
  readonly name: string;
  readonly storeDir: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';
  readonly #configFile: string;
  readonly #spec: ServerSpec;

  constructor(spec: ServerSpec) {
    this.#spec = spec;
    this.port = spec.port;
    this.name = spec.name;
    this.storeDir = spec.storeDir;
    this.url = `nats://127.0.0.1:${spec.port}`;
    mkdirSync(spec.storeDir, { recursive: true });
    this.#configFile = join(spec.storeDir, 'nats.conf');
    writeFileSync(
      this.#configFile,
      [
        `server_name: ${JSON.stringify(spec.name)}`,
        `host: 127.0.0.1`,
        `port: ${spec.port}`,
        `jetstream { store_dir: ${JSON.stringify(join(spec.storeDir, 'js'))} }`,
        spec.extra ?? '',
      ].join('\n'),
    );
  }

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  log(): string {
    return this.#log;
  }

  async start(): Promise<void> {
    const bin = natsServerBinary();
    assert.ok(bin, MISSING);
    const child = spawn(bin, ['-c', this.#configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`nats-server ${this.name} did not start within ${READY_TIMEOUT_MS} ms:\n${this.#log}`)),
        READY_TIMEOUT_MS,
      );
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        // Bounded: a chatty server (a long election) must not grow the test process without limit.
        this.#log = (this.#log + chunk).slice(-200_000);
        if (this.#log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server ${this.name} exited (${code ?? signal}) before it was ready:\n${this.#log}`));
      });
    });
    await ready;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
    await this.#exited;
  }

  stop(): Promise<void> {
    return this.kill('SIGTERM');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    if (this.#spec.ownsStoreDir) rmSync(this.#spec.storeDir, { recursive: true, force: true });
  }
}

/**
 * One nats-server with JetStream on a free loopback port, with its own store dir (a fresh temporary one by default);
 * `maxPayloadBytes` raises the server's 1 MB message limit; `port` (default: a free one) for a server a client already waits for.
 */
export async function startNatsServer(options: { storeDir?: string; name?: string; maxPayloadBytes?: number; port?: number } = {}): Promise<NatsServer> {
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), 'openfront-nats-'));
  const server = new NatsProcess({
    name: options.name ?? 'n1',
    port: options.port ?? (await freePort()),
    storeDir,
    ownsStoreDir: options.storeDir === undefined,
    // The server's default is 1 MB per message; a batch journal larger than that needs more (docs/fleet.md).
    extra: options.maxPayloadBytes === undefined ? undefined : `max_payload: ${options.maxPayloadBytes}`,
  });
  await server.start();
  return server;
}

export interface NatsCluster {
  readonly servers: NatsServer[];
  /** Every client url, comma-separated (what `--nats` takes). */
  readonly url: string;
  /** The server named `name`. */
  server(name: string): NatsServer;
  /** Stops every server and removes the store dirs. */
  dispose(): Promise<void>;
}

/**
 * A JetStream cluster of `size` servers (n1…nN) routed to each other on free loopback ports, one JetStream domain.
 * Resolves once a meta leader is elected (the cluster accepts stream creation); `waitForMetaLeader` does it again
 * after a restart.
 */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const root = mkdtempSync(join(tmpdir(), 'openfront-nats-cluster-'));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const servers = routePorts.map((routePort, i) => {
    const routes = routePorts.filter((_, j) => j !== i).map((p) => `nats-route://127.0.0.1:${p}`);
    return new NatsProcess({
      name: `n${i + 1}`,
      port: clientPorts[i]!,
      storeDir: join(root, `n${i + 1}`),
      ownsStoreDir: false,
      extra: `cluster { name: openfront; listen: 127.0.0.1:${routePort}; routes: ${JSON.stringify(routes)} }`,
    });
  });
  try {
    await Promise.all(servers.map((s) => s.start()));
    const url = servers.map((s) => s.url).join(',');
    await waitForMetaLeader(url, size);
    return {
      servers,
      url,
      server(name) {
        const found = servers.find((s) => s.name === name);
        assert.ok(found, `no server named ${name}`);
        return found;
      },
      async dispose() {
        await Promise.all(servers.map((s) => s.dispose()));
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(servers.map((s) => s.dispose()));
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Waits until the JetStream cluster behind `url` has a meta leader that knows `peers` servers: a probe stream with
 * that many replicas can be placed (account info alone answers before every peer has joined).
 */
export async function waitForMetaLeader(url: string, peers = 1, timeoutMs = 30_000): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url.split(','), maxReconnectAttempts: -1, waitOnFirstConnect: true, reconnectTimeWait: 100 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        const jsm = await jetstreamManager(nc, { timeout: 2000 });
        await jsm.getAccountInfo();
        if (peers > 1) {
          await jsm.streams.add({ name: 'openfront_probe', subjects: ['openfront.probe'], num_replicas: peers });
          await jsm.streams.delete('openfront_probe');
        }
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`no JetStream meta leader with ${peers} peers after ${timeoutMs} ms`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await nc.close();
  }
}

export interface TcpProxy {
  /** `nats://127.0.0.1:<port>`: what a client behind the proxy connects to. */
  readonly url: string;
  readonly port: number;
  /** Drops every open link and refuses new ones (accepted, then destroyed) until restore(). */
  cut(): void;
  restore(): void;
  readonly isCut: boolean;
  close(): Promise<void>;
}

/** A TCP proxy on a free loopback port to 127.0.0.1:`targetPort`, for link-cut tests. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    links.add(client);
    links.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      links.delete(client);
      links.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    cut() {
      cut = true;
      for (const s of links) s.destroy();
      links.clear();
    },
    restore() {
      cut = false;
    },
    get isCut() {
      return cut;
    },
    async close() {
      cut = true;
      for (const s of links) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
