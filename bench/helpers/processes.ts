/**
 * Parent side of the bench's child processes: every server under test, the origin and the load generator run in
 * their own `node` process (one event loop each), spoken to over the IPC channel of `fork`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A message a bench child sends or receives: `type` names it, the rest is its payload. */
export interface ChildMessage {
  type: string;
  [field: string]: unknown;
}

export interface BenchChild {
  readonly process: ChildProcess;
  /** The port the child listens on (0 for children that serve nothing, like the load generator). */
  readonly port: number;
  /** Sends `message` and resolves with the next message of type `replyType`. */
  ask<T extends ChildMessage>(message: ChildMessage, replyType: string, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop, then kills it if it has not exited within 5 s. */
  stop(): Promise<void>;
}

/** Path of a compiled bench entry file, relative to dist/bench/helpers/ (e.g. `./origin-server.js`). */
export function benchEntry(relative: string): string {
  return fileURLToPath(new URL(relative, import.meta.url));
}

function nextMessage<T extends ChildMessage>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (message: ChildMessage) => {
      if (message?.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`bench child ${child.spawnargs.slice(1).join(' ')} exited (${signal ?? code}) before sending "${type}"`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`bench child did not send "${type}" within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Forks `entry` with `args` and waits for its `{ type: 'ready', port }` message. */
export async function startChild(entry: string, args: string[] = [], options: { execArgv?: string[] } = {}): Promise<BenchChild> {
  const child = fork(entry, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: options.execArgv ?? [] });
  let ready: { port: number };
  try {
    ready = await nextMessage<ChildMessage & { port: number }>(child, 'ready', 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    process: child,
    port: ready.port,
    ask<T extends ChildMessage>(message: ChildMessage, replyType: string, timeoutMs = 60_000) {
      const reply = nextMessage<T>(child, replyType, timeoutMs);
      child.send(message);
      return reply;
    },
    async stop() {
      if (child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
