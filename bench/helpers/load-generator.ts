/** Bench child: runs autocannon when the parent sends `{ type: 'run', spec }` and answers `{ type: 'result' }`. */
import { readFileSync } from 'node:fs';
import autocannon, { type AutocannonOptions, type AutocannonRequest } from 'autocannon';
import { serveInChild } from './child-runtime.js';
import type { LoadResult, LoadSpec } from './load.js';

function requestsOf(spec: LoadSpec): AutocannonRequest[] {
  if (spec.requestsFile !== undefined) return JSON.parse(readFileSync(spec.requestsFile, 'utf8')) as AutocannonRequest[];
  const hosts = spec.distinctAssets?.hosts ?? 1;
  let next = 0;
  return [
    {
      method: 'GET',
      setupRequest: (request) => {
        const n = next++;
        return { ...request, path: `/asset/${n}`, headers: { ...request.headers, host: `site${n % hosts}.example.com` } };
      },
    },
  ];
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const options: AutocannonOptions = { url: spec.url, connections: spec.connections, timeout: 10, requests: requestsOf(spec) };
  if (spec.warmupSeconds > 0) await autocannon({ ...options, duration: spec.warmupSeconds });
  // The parent samples the target's CPU time from here to the result.
  process.send?.({ type: 'measuring' });
  const r = await autocannon({ ...options, duration: spec.durationSeconds });
  const statusCounts: Record<string, number> = {};
  for (const [code, stats] of Object.entries(r.statusCodeStats ?? {})) statusCounts[code] = stats.count;
  return { rps: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, total: r.requests.total, errors: r.errors, timeouts: r.timeouts, statusCounts };
}

await serveInChild(async () => {
  process.on('message', (message: { type?: string; spec?: LoadSpec }) => {
    if (message.type !== 'run' || message.spec === undefined) return;
    run(message.spec).then(
      (result) => process.send?.({ type: 'result', result }),
      (err: Error) => process.send?.({ type: 'result', error: err.message }),
    );
  });
  return { port: 0, close: async () => {} };
});
