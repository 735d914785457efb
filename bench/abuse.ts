/**
 * `npm run bench -- abuse` (issue 12, findings 2 and 3): how much abuse of one function slows everyone else.
 *   - baseline: viewers on the fast path of the edge's function, alone;
 *   - testfn: the same while 4 clients loop TestFunction on a DEVELOPMENT version that spins until its kill;
 *   - slowpath: the same while 4 connections hammer `/slow`, a path on which the same function spins until its
 *     kill (what the throttle and the quarantine isolate are for).
 * The node runs in a child process, each load generator in another.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad, type LoadResult } from './helpers/load.js';
import { benchEntry, startChild } from './helpers/processes.js';
import { fmt } from './stats.js';

const WARMUP_S = 1;
const DURATION_S = Number(process.env.OPENFRONT_BENCH_SECONDS ?? 5);
const EVENT = Buffer.from(
  JSON.stringify({
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '203.0.113.9' },
    request: { method: 'GET', uri: '/', querystring: {}, headers: {}, cookies: {} },
  }),
).toString('base64');

function testFunction(apiPort: number, etag: string): Promise<number> {
  const body = `<TestFunctionRequest xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Stage>DEVELOPMENT</Stage><EventObject>${EVENT}</EventObject></TestFunctionRequest>`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: apiPort,
        method: 'POST',
        path: '/2020-05-31/function/spin/test',
        headers: { 'if-match': etag, 'content-type': 'application/xml' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function line(name: string, r: LoadResult, extra = ''): string {
  const statuses = Object.entries(r.statusCounts)
    .map(([s, n]) => `${s}:${n}`)
    .join(' ');
  return `${name.padEnd(34)} ${fmt(r.rps, 0).padStart(8)} req/s  p50 ${fmt(r.p50Ms, 1).padStart(6)} ms  p99 ${fmt(r.p99Ms, 1).padStart(6)} ms  [${statuses}]${extra}`;
}

export async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-abuse-'));
  const fastFile = join(dir, 'fast.json');
  const slowFile = join(dir, 'slow.json');
  writeFileSync(fastFile, JSON.stringify([{ method: 'GET', path: '/' }]));
  writeFileSync(slowFile, JSON.stringify([{ method: 'GET', path: '/slow' }]));
  const node = await startChild(benchEntry('./abuse-node.js'));
  try {
    const info = await node.ask<{ type: string; api: number; etag: string }>({ type: 'info' }, 'info');
    const url = `http://127.0.0.1:${node.port}`;
    const fast = () => runLoad({ url, connections: 10, warmupSeconds: WARMUP_S, durationSeconds: DURATION_S, requestsFile: fastFile });
    console.log(`\nabuse: one function's fast path under abuse (${DURATION_S} s per run, 10 connections)`);
    console.log(line('baseline (fast path alone)', await fast()));

    let looping = true;
    const calls: Record<string, number> = {};
    const loopers = Array.from({ length: 4 }, async () => {
      while (looping) {
        const status = await testFunction(info.api, info.etag);
        calls[status] = (calls[status] ?? 0) + 1;
      }
    });
    const withTests = await fast();
    looping = false;
    await Promise.all(loopers);
    console.log(line('+ 4 clients looping TestFunction', withTests, `  TestFunction answers ${JSON.stringify(calls)}`));

    const [fastResult, slowResult] = await Promise.all([
      fast(),
      runLoad({ url, connections: 4, warmupSeconds: WARMUP_S, durationSeconds: DURATION_S, requestsFile: slowFile }),
    ]);
    console.log(line('+ 4 connections on /slow (fast path)', fastResult));
    console.log(line('  the /slow requests themselves', slowResult));
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
