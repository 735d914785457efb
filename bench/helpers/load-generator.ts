/** Bench child: runs autocannon when the parent sends `{ type: 'run', spec }` and answers `{ type: 'result' }`. */
import { readFileSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { performance } from 'node:perf_hooks';
import autocannon, { type AutocannonOptions, type AutocannonRequest } from 'autocannon';
import { serveInChild } from './child-runtime.js';
import { STREAMS_PER_HTTP2_CONNECTION, type LoadResult, type LoadSpec } from './load.js';

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

/** One request on an HTTP/2 connection; resolves with the status once the body is read. */
function h2Request(session: ClientHttp2Session, request: AutocannonRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const { host, ...rest } = request.headers ?? {};
    const stream = session.request({ ':method': request.method ?? 'GET', ':path': request.path ?? '/', ':authority': host ?? 'localhost', ...rest });
    let status = 0;
    stream.on('response', (headers) => (status = Number(headers[':status'])));
    stream.on('error', reject);
    stream.on('end', () => resolve(status));
    stream.resume();
  });
}

async function runHttp2(spec: LoadSpec, seconds: number): Promise<LoadResult> {
  if (spec.requestsFile === undefined) throw new Error('HTTP/2 load needs a requests file');
  const requests = JSON.parse(readFileSync(spec.requestsFile, 'utf8')) as AutocannonRequest[];
  const sessionCount = Math.max(1, Math.ceil(spec.connections / STREAMS_PER_HTTP2_CONNECTION));
  const sessions = await Promise.all(
    Array.from(
      { length: sessionCount },
      () =>
        new Promise<ClientHttp2Session>((resolve, reject) => {
          const session = http2Connect(spec.url, { rejectUnauthorized: false });
          session.once('connect', () => resolve(session));
          session.once('error', reject);
        }),
    ),
  );
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async (session: ClientHttp2Session) => {
    while (performance.now() < deadline) {
      const request = requests[next++ % requests.length] as AutocannonRequest;
      const t = performance.now();
      try {
        const status = await h2Request(session, request);
        latencies.push(performance.now() - t);
        statusCounts[status] = (statusCounts[status] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, (_, i) => worker(sessions[i % sessionCount] as ClientHttp2Session)));
  const elapsed = (performance.now() - started) / 1000;
  for (const session of sessions) session.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0);
  return { rps: latencies.length / elapsed, p50Ms: at(0.5), p99Ms: at(0.99), total: latencies.length, errors, timeouts: 0, statusCounts };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  if (spec.http2 === true) {
    if (spec.warmupSeconds > 0) await runHttp2(spec, spec.warmupSeconds);
    process.send?.({ type: 'measuring' });
    return runHttp2(spec, spec.durationSeconds);
  }
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
