/**
 * The edge's streaming path alone — an undici Pool to an origin, the body pump (src/edge/body-stream.ts), a
 * node:http viewer response — with the RSS growth of one 1 GiB download, for Node versions the whole edge cannot
 * load on (its native addons are built for the Node that ran `npm ci`). It imports no native code:
 *
 *   npm run build && node --expose-gc dist/scripts/stream-memory.js            # any Node ≥ 20
 *
 * This process is the edge; a forked copy of it (`peer`) is the origin and the downloading viewer, so only the
 * edge's memory is measured (VmHWM after resetting the mark, beside the highest sampled heap and buffer figures).
 * The bound the test `edge-memory.test.ts` holds the whole edge to is 64 MiB (docs/edge.md, "Streaming").
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { declaredLength, sendStream } from '../src/edge/body-stream.js';

const TOTAL = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

async function peer(): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const origin = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
    void (async () => {
      for (let left = TOTAL; left > 0 && !res.destroyed; left -= chunk.length) if (!res.write(chunk)) await once(res, 'drain');
      res.end();
    })();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  process.send!({ originPort: (origin.address() as AddressInfo).port });
  process.on('message', (message: { download?: number }) => {
    if (message.download === undefined) process.exit(0);
    request({ host: '127.0.0.1', port: message.download, path: '/', agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (data: Buffer) => (bytes += data.length));
      res.on('end', () => process.send!({ bytes }));
    }).end();
  });
}

async function edge(): Promise<void> {
  const child = fork(fileURLToPath(import.meta.url), ['peer'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [{ originPort }] = (await once(child, 'message')) as [{ originPort: number }];
  const pool = new Pool(`http://127.0.0.1:${originPort}`, { connections: 4 });
  const server = createServer((_req, res) => {
    void pool.request({ method: 'GET', path: '/' }).then(async (answer) => {
      const headers: Array<[string, string]> = [];
      for (const [name, value] of Object.entries(answer.headers)) if (typeof value === 'string') headers.push([name, value]);
      const length = declaredLength(headers);
      res.writeHead(answer.statusCode, length === undefined ? {} : { 'content-length': String(length) });
      await sendStream(answer.body, res, length);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (globalThis as { gc?: () => void }).gc?.();
  writeFileSync('/proc/self/clear_refs', '5');
  const before = process.memoryUsage.rss();
  const highest = { heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    for (const key of ['heapUsed', 'external', 'arrayBuffers'] as const) highest[key] = Math.max(highest[key], usage[key]);
  }, 5);
  const started = Date.now();
  child.send({ download: (server.address() as AddressInfo).port });
  const [{ bytes }] = (await once(child, 'message')) as [{ bytes: number }];
  clearInterval(sampler);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) * 1024;
  const mib = (n: number) => (n / MiB).toFixed(1);
  console.log(
    `Node ${process.version}: ${mib(bytes)} MiB in ${((Date.now() - started) / 1000).toFixed(1)} s; edge RSS ${mib(before)} MiB before, ` +
      `+${mib(hwm - before)} MiB at its peak (VmHWM); highest heap used ${mib(highest.heapUsed)} MiB, external ${mib(highest.external)} MiB, ` +
      `of which buffers ${mib(highest.arrayBuffers)} MiB`,
  );
  child.send({});
  await Promise.all([pool.close(), new Promise((resolve) => server.close(resolve))]);
  process.exitCode = bytes === TOTAL ? 0 : 1;
}

await (process.argv[2] === 'peer' ? peer() : edge());
