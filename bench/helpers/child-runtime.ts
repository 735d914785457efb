/**
 * Child side of a bench server process: announces its port, reports its memory on request, and exits when the
 * parent says stop or goes away (so a crashed bench never leaves servers behind).
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server started inside a bench child. */
export interface ChildServer {
  port: number;
  close(): Promise<void>;
}

const RSS_SAMPLE_MS = 100;

/** Listens on 127.0.0.1 on a free port; `close` also ends keep-alive connections. */
export async function listenLoopback(server: Server): Promise<ChildServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Runs `start`, then serves the parent's messages: `memory` → `{ rss, rssPeak, heapUsed, arrayBuffers }`, `cpu` →
 * `{ micros }` (user + system CPU time of every thread of the process so far), `reset-peak`, `stop`.
 */
export async function serveInChild(start: () => Promise<ChildServer>): Promise<void> {
  if (process.send === undefined) throw new Error('this file is a bench child process: run it through `npm run bench`');
  const server = await start();
  let rssPeak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, RSS_SAMPLE_MS);
  sampler.unref();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(sampler);
    await server.close();
    process.exit(0);
  };
  process.on('message', (message: { type?: string; gc?: boolean }) => {
    if (message.type === 'memory') {
      // `gc: true` collects first (needs --expose-gc): what stays is live data, not garbage awaiting collection.
      const gc = (globalThis as { gc?: () => void }).gc;
      if (message.gc && gc) gc();
      const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
      rssPeak = Math.max(rssPeak, rss);
      process.send?.({ type: 'memory', rss, rssPeak, heapUsed, arrayBuffers });
    } else if (message.type === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ type: 'cpu', micros: user + system });
    } else if (message.type === 'reset-peak') {
      rssPeak = process.memoryUsage.rss();
    } else if (message.type === 'stop') {
      void stop();
    }
  });
  process.on('disconnect', () => void stop());
  process.send({ type: 'ready', port: server.port });
}

/** `--name value` pairs from argv. */
export function childArgs(argv: string[] = process.argv.slice(2)): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < argv.length; i += 2) out.set((argv[i] as string).replace(/^--/, ''), argv[i + 1] as string);
  return out;
}

/** A required `--name value` argument. */
export function requiredArg(args: Map<string, string>, name: string): string {
  const value = args.get(name);
  if (value === undefined) throw new Error(`missing --${name}`);
  return value;
}
