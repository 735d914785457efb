/**
 * Edge benchmark (issue 4): requests per second and latency of an HTTP edge making the bench's decision (10,000-key
 * tenant + redirect table, ~30% answered with a 301, the rest proxied to the origin with `x-tenant` added), for
 *   (1) the baseline: a plain node:http + undici proxy deciding in plain JS (bench/edge-baseline/node-proxy.ts),
 *   (2) nginx + njs deciding the same way, when installed (bench/edge-baseline/nginx.conf, decision.js), and nginx
 *       deciding with `map` blocks and no JavaScript (decision-map.conf), as the reference for nginx itself,
 *   (3) OpenFront's edge running the function from a real store, caching disabled, and (4) with caching.
 * Every server, the origin and the load generator (autocannon) run in separate processes on 127.0.0.1; each target
 * gets the same connections, warmup and duration. The Node targets also report their CPU time per request over all
 * their threads: OpenFront runs functions on isolated-vm's threads, so req/s alone would hide that it uses more
 * than one core's worth of work when the machine has it. Then the edge's RSS under a cacheable many-URL workload
 * with a 100 MB cache budget, beside the baseline proxy's RSS under the same load, and the peak RSS of one 1 GiB
 * streamed download through the edge and through the baseline proxy.
 * Over HTTPS (issue 16): the same decision workload through OpenFront's HTTPS listener with HTTP/1.1 (autocannon)
 * and with HTTP/2 (a node:http2 loop, helpers/load-generator.ts), beside the plain proxy terminating TLS the same way
 * (`http2.createSecureServer({ allowHTTP1: true })`, same self-signed ECDSA certificate, TLS 1.3), and nginx
 * terminating TLS with the same certificate (HTTP/2 and HTTP/1.1 by ALPN, the `map` decision, one worker), when
 * installed.
 *
 * One part alone (a measurement in under a minute): `npm run bench -- edge --only no-cache` (or `BENCH_ONLY=no-cache`);
 * parts: see ONLY_PARTS. `BENCH_ROUNDS` and `BENCH_SECONDS` change the rounds and the measured seconds per target;
 * `BENCH_OPENFRONT=<path of another build's dist/bench/helpers/openfront-edge.js>` loads that build's edge instead of
 * this one, against this build's baseline, origin and load generator (how revisions are compared, docs/benchmarks.md).
 * `BENCH_PREVIOUS=<path of an earlier build's dist/bench/helpers/openfront-edge.js>` adds that build's uncached edge to
 * the `no-cache` part, in the same rounds, and reports whether this build's no-cache ratio to the proxy fell below it
 * (issue 16: "the no-cache ratio over plain HTTP must not fall") — a comparison a drifting machine cannot blur, since
 * both builds meet the same proxy under the same load.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { generate } from 'selfsigned';
import { loadavg, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { expectedDecision, writeEdgeWorkload, type EdgeWorkload } from './helpers/edge-workload.js';
import { ASSET_BYTES, runLoad, statusShare, type LoadResult, type LoadSpec } from './helpers/load.js';
import { findNginx, njsMissing, startNginx, type NginxDecision } from './helpers/nginx.js';
import { benchEntry, startChild, type BenchChild, type ChildMessage } from './helpers/processes.js';
import { fmt, printTable, type BenchRow } from './stats.js';

const CONNECTIONS = 50;
const WARMUP_SECONDS = 1;
const DURATION_SECONDS = positiveEnv('BENCH_SECONDS', 5);
const MEMORY_SECONDS = 10;
const ROUNDS = positiveEnv('BENCH_ROUNDS', 3);

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1, got ${JSON.stringify(raw)}`);
  return value;
}

/** Target keys (of `names` in main) each `--only` part measures; every ratio needs its baseline in the same run. */
const ONLY_PARTS: Record<string, string[]> = {
  'no-cache': ['baseline', 'uncached', 'previous'],
  cached: ['baseline', 'cached'],
  metrics: ['baseline', 'uncached', 'metrics'],
  tail: ['baseline', 'uncached', 'tail'],
  nginx: ['baseline', 'njs', 'map', 'uncached'],
  https: ['baselineTls', 'uncachedTls', 'nginxTls'],
  h2: ['baselineH2', 'uncachedH2', 'nginxH2'],
  memory: [],
  download: [],
};

/** The parts `--only` / BENCH_ONLY name (comma-separated), or undefined for the whole bench. */
function onlyParts(): Set<string> | undefined {
  const flag = process.argv.indexOf('--only');
  const raw = flag === -1 ? process.env.BENCH_ONLY : process.argv[flag + 1];
  if (raw === undefined || raw === '') return undefined;
  const parts = new Set(raw.split(',').map((part) => part.trim()));
  for (const part of parts) {
    if (!(part in ONLY_PARTS)) throw new Error(`unknown edge bench part ${JSON.stringify(part)}; parts: ${Object.keys(ONLY_PARTS).join(', ')}`);
  }
  return parts;
}
const CACHE_BUDGET_BYTES = 100 * 1024 * 1024;
const MiB = 1024 * 1024;

interface Target {
  port: number;
  stop(): Promise<void>;
  /** Bench children answer `cpu`; nginx does not. */
  ask?: BenchChild['ask'];
}

interface Measured {
  name: string;
  result: LoadResult;
}

/** `http`: plain HTTP/1.1; `https`: HTTP/1.1 over TLS; `h2`: HTTP/2 over TLS. */
type Protocol = 'http' | 'https' | 'h2';

function get(port: number, path: string, host: string, tls = false): Promise<{ status: number; location?: string; tenant?: string }> {
  return new Promise((resolve, reject) => {
    const send = tls ? httpsRequest : request;
    const req = send({ host: '127.0.0.1', port, path, headers: { host }, agent: false, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const tenant = res.headers['x-origin-saw-tenant'];
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, tenant: typeof tenant === 'string' ? tenant : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Fails the bench when a target does not make the bench's decision: the numbers would compare different work. */
async function checkDecisions(name: string, port: number, work: EdgeWorkload, tls: boolean): Promise<void> {
  for (const { path, headers } of work.requests.slice(0, 20)) {
    const expected = expectedDecision(work.items, headers.host, path);
    const got = await get(port, path, headers.host, tls);
    const ok =
      expected.location !== undefined ? got.status === 301 && got.location === expected.location : got.status === 200 && got.tenant === expected.tenant;
    if (!ok) throw new Error(`${name} answered ${headers.host}${path} with ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
  }
}

async function measure(name: string, start: () => Promise<Target>, work: EdgeWorkload, protocol: Protocol = 'http'): Promise<Measured> {
  const target = await start();
  try {
    await checkDecisions(name, target.port, work, protocol !== 'http');
    const spec: LoadSpec = {
      url: `${protocol === 'http' ? 'http' : 'https'}://127.0.0.1:${target.port}`,
      http2: protocol === 'h2',
      connections: CONNECTIONS,
      warmupSeconds: WARMUP_SECONDS,
      durationSeconds: DURATION_SECONDS,
      requestsFile: work.requestsFile,
    };
    const ask = target.ask;
    const cpu = ask === undefined ? undefined : async () => (await ask<ChildMessage & { micros: number }>({ type: 'cpu' }, 'cpu')).micros;
    const result = await runLoad(spec, cpu);
    const cpuText = result.cpuMicrosPerRequest === undefined ? '' : `, CPU ${fmt(result.cpuMicrosPerRequest, 1)} µs/req`;
    console.log(
      `  ${name}: ${fmt(result.rps, 0)} req/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${cpuText}, 301s ${fmt(statusShare(result, 301) * 100, 0)}%, errors ${result.errors + result.timeouts}`,
    );
    return { name, result };
  } finally {
    await target.stop();
  }
}

interface MemoryReport extends ChildMessage {
  rss: number;
  rssPeak: number;
  heapUsed: number;
  arrayBuffers: number;
}

interface MemoryResult {
  rssBefore: number;
  rssPeak: number;
  /** After the load, once a full GC ran: live memory only. */
  settled: MemoryReport;
  load: LoadResult;
}

/** Peak RSS of a Node target (started with --expose-gc) while it serves the many-URL cacheable workload. */
async function measureMemory(child: BenchChild): Promise<MemoryResult> {
  try {
    const before = await child.ask<MemoryReport>({ type: 'memory', gc: true }, 'memory');
    child.process.send({ type: 'reset-peak' });
    const load = await runLoad({
      url: `http://127.0.0.1:${child.port}`,
      connections: CONNECTIONS,
      warmupSeconds: 0,
      durationSeconds: MEMORY_SECONDS,
      distinctAssets: { hosts: 5_000 },
    });
    const peak = await child.ask<MemoryReport>({ type: 'memory' }, 'memory');
    const settled = await child.ask<MemoryReport>({ type: 'memory', gc: true }, 'memory');
    return { rssBefore: before.rss, rssPeak: peak.rssPeak, settled, load };
  } finally {
    await child.stop();
  }
}

const STREAM_BYTES = 1024 * MiB;

interface DownloadResult {
  rssBefore: number;
  rssPeak: number;
  seconds: number;
}

/** One streamed download of STREAM_BYTES through a Node target (started with --expose-gc), with its peak RSS. */
async function measureDownload(child: BenchChild, host: string): Promise<DownloadResult> {
  try {
    const before = await child.ask<MemoryReport>({ type: 'memory', gc: true }, 'memory');
    child.process.send({ type: 'reset-peak' });
    const started = performance.now();
    const bytes = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: child.port, path: `/stream/${STREAM_BYTES}`, headers: { host }, agent: false }, (res) => {
        let n = 0;
        res.on('data', (chunk: Buffer) => (n += chunk.length));
        res.on('end', () => resolve(n));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    const seconds = (performance.now() - started) / 1000;
    if (bytes !== STREAM_BYTES) throw new Error(`the streamed download brought ${bytes} bytes, not ${STREAM_BYTES}`);
    const peak = await child.ask<MemoryReport>({ type: 'memory' }, 'memory');
    return { rssBefore: before.rss, rssPeak: peak.rssPeak, seconds };
  } finally {
    await child.stop();
  }
}

/**
 * Measures every target ROUNDS times, alternating the order (forward, then backward) so slow phases of a shared
 * machine hit all targets alike, and keeps each target's best run: interference only ever slows a run down.
 */
/** Each target's best round, and every round's measurements (for ratios taken within a round). */
interface Rounds {
  best: Map<string, Measured>;
  rounds: Array<Map<string, Measured>>;
}

async function measureRounds(targets: Array<{ name: string; start: () => Promise<Target>; protocol?: Protocol }>, work: EdgeWorkload): Promise<Rounds> {
  const best = new Map<string, Measured>();
  const rounds: Array<Map<string, Measured>> = [];
  for (let round = 0; round < ROUNDS; round++) {
    console.log(`  round ${round + 1} of ${ROUNDS}`);
    const thisRound = new Map<string, Measured>();
    rounds.push(thisRound);
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const measured = await measure(target.name, target.start, work, target.protocol);
      thisRound.set(target.name, measured);
      const previous = best.get(target.name);
      if (previous === undefined || measured.result.rps > previous.result.rps) best.set(target.name, measured);
    }
  }
  return { best, rounds };
}

/**
 * The median over rounds of `a`'s req/s over `b`'s, both measured in the same round (minutes apart at most): the
 * machine's speed drifts between rounds (the proxy alone has read 8,400 then 5,500 req/s in one run), so ratios of
 * two targets' best rounds can pair a fast phase with a slow one.
 */
function pairedRatio(rounds: Array<Map<string, Measured>>, a: string, b: string): { median: number; each: number[] } {
  const each = rounds.flatMap((round) => {
    const x = round.get(a);
    const y = round.get(b);
    return x !== undefined && y !== undefined ? [x.result.rps / y.result.rps] : [];
  });
  const sorted = [...each].sort((p, q) => p - q);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, each };
}

function ratio(a: number, b: number): string {
  return `${fmt(a / b, 2)}x`;
}

export async function main(): Promise<void> {
  const only = onlyParts();
  const [load1] = loadavg();
  console.log(
    `\nEdge bench: ${CONNECTIONS} connections, ${WARMUP_SECONDS} s warmup + ${DURATION_SECONDS} s per target, best of ${ROUNDS} rounds; load average before start ${fmt(load1 ?? 0, 2)}${only === undefined ? '' : `; only ${[...only].join(', ')}`}`,
  );
  const wantedKeys = only === undefined ? undefined : new Set([...only].flatMap((part) => ONLY_PARTS[part] ?? []));
  const wants = (key: string) => wantedKeys === undefined || wantedKeys.has(key);
  const wantsPart = (part: string) => only === undefined || only.has(part);
  const openFrontEntry = process.env.BENCH_OPENFRONT ?? benchEntry('./openfront-edge.js');
  if (process.env.BENCH_OPENFRONT !== undefined) console.log(`  OpenFront edge from ${openFrontEntry}`);
  const previousEntry = process.env.BENCH_PREVIOUS;
  if (previousEntry !== undefined) console.log(`  previous build's edge from ${previousEntry}`);
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-'));
  const work = writeEdgeWorkload(dir);
  const origin = await startChild(benchEntry('./origin-server.js'));
  const originUrl = `http://127.0.0.1:${origin.port}`;
  const pems = await generate([{ name: 'commonName', value: 'bench.example.com' }], { keyType: 'ec', algorithm: 'sha256' });
  const tlsCert = join(dir, 'tls.crt');
  const tlsKey = join(dir, 'tls.key');
  writeFileSync(tlsCert, pems.cert);
  writeFileSync(tlsKey, pems.private);
  const tlsArgs = ['--tls-cert', tlsCert, '--tls-key', tlsKey];
  // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of every Node target (OpenFront and the baseline proxy) there.
  const profileDir = process.env.BENCH_CPU_PROF;
  // --expose-gc: a profiled process that used isolates collects once at exit (src/runtime/sandbox/exit-guard.ts);
  // without gc() that is a heap snapshot, slow enough that the child was killed before its profile was written.
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--expose-gc'] : [];
  const nodeProxy = (execArgv: string[] = [], extra: string[] = []) =>
    startChild(benchEntry('../edge-baseline/node-proxy.js'), ['--origin', originUrl, '--table', work.tableFile, ...extra], {
      execArgv: [...execArgv, ...profile],
    });
  const openFront =
    (cache: 'on' | 'off', execArgv: string[] = [], observe: 'off' | 'metrics' | 'tail' = 'off', extra: string[] = [], entry = openFrontEntry) =>
    () =>
      startChild(
        entry,
        ['--origin', originUrl, '--table', work.tableFile, '--cache', cache, '--cache-bytes', String(CACHE_BUDGET_BYTES), '--observe', observe, ...extra],
        {
          execArgv: [...execArgv, ...profile],
        },
      );
  const nginxInstall = findNginx();
  const nginxTarget =
    (decision: NginxDecision, tls = false) =>
    () => {
      if (!nginxInstall.found) throw new Error(nginxInstall.reason);
      return startNginx(nginxInstall, {
        decision,
        originPort: origin.port,
        table: Object.fromEntries(work.items),
        ...(tls ? { tls: { certificate: tlsCert, privateKey: tlsKey } } : {}),
      });
    };
  if (!nginxInstall.found) console.log(`  nginx (plain and TLS): skipped — ${nginxInstall.reason}`);
  const njsReason = njsMissing(nginxInstall);
  if (njsReason !== undefined) console.log(`  nginx + njs: skipped — ${njsReason}`);
  const names = {
    baseline: 'plain node:http + undici proxy',
    njs: 'nginx + njs (1 worker)',
    map: 'nginx map blocks, no njs (1 worker)',
    uncached: 'OpenFront edge, CachingDisabled',
    previous: 'previous build of the edge, CachingDisabled',
    cached: 'OpenFront edge, cached per tenant',
    metrics: 'OpenFront edge, CachingDisabled, metrics + decision ring on',
    tail: 'OpenFront edge, CachingDisabled, metrics + tail at full sampling',
    baselineTls: 'plain node proxy, HTTPS HTTP/1.1',
    baselineH2: 'plain node proxy, HTTPS HTTP/2',
    uncachedTls: 'OpenFront edge, CachingDisabled, HTTPS HTTP/1.1',
    uncachedH2: 'OpenFront edge, CachingDisabled, HTTPS HTTP/2',
    nginxTls: 'nginx map blocks, HTTPS HTTP/1.1 (1 worker)',
    nginxH2: 'nginx map blocks, HTTPS HTTP/2 (1 worker)',
  };
  const allTargets: Array<{ key: keyof typeof names; name: string; start: () => Promise<Target>; protocol?: Protocol }> = [
    { key: 'baseline', name: names.baseline, start: () => nodeProxy() },
    ...(njsReason === undefined ? [{ key: 'njs' as const, name: names.njs, start: nginxTarget('njs') }] : []),
    ...(nginxInstall.found ? [{ key: 'map' as const, name: names.map, start: nginxTarget('map') }] : []),
    { key: 'uncached', name: names.uncached, start: openFront('off') },
    ...(previousEntry === undefined ? [] : [{ key: 'previous' as const, name: names.previous, start: openFront('off', [], 'off', [], previousEntry) }]),
    { key: 'cached', name: names.cached, start: openFront('on') },
    { key: 'metrics', name: names.metrics, start: openFront('off', [], 'metrics') },
    { key: 'tail', name: names.tail, start: openFront('off', [], 'tail') },
    { key: 'baselineTls', name: names.baselineTls, start: () => nodeProxy([], tlsArgs), protocol: 'https' },
    { key: 'baselineH2', name: names.baselineH2, start: () => nodeProxy([], tlsArgs), protocol: 'h2' },
    { key: 'uncachedTls', name: names.uncachedTls, start: openFront('off', [], 'off', tlsArgs), protocol: 'https' },
    { key: 'uncachedH2', name: names.uncachedH2, start: openFront('off', [], 'off', tlsArgs), protocol: 'h2' },
    ...(nginxInstall.found
      ? [
          { key: 'nginxTls' as const, name: names.nginxTls, start: nginxTarget('map', true), protocol: 'https' as const },
          { key: 'nginxH2' as const, name: names.nginxH2, start: nginxTarget('map', true), protocol: 'h2' as const },
        ]
      : []),
  ];
  const targets = allTargets.filter((target) => wants(target.key));
  try {
    const { best, rounds } = await measureRounds(targets, work);
    const baseline = best.get(names.baseline);
    const nginx = best.get(names.njs);
    const nginxMap = best.get(names.map);
    const uncached = best.get(names.uncached);
    const cached = best.get(names.cached);
    const withMetrics = best.get(names.metrics);
    const withTail = best.get(names.tail);

    const rows: BenchRow[] = [];
    const compare = (label: string, ours: Measured, base: Measured, target?: number) => {
      const r = ours.result.rps / base.result.rps;
      rows.push({
        name: `${label}: req/s`,
        value: fmt(ours.result.rps, 0),
        baseline: fmt(base.result.rps, 0),
        ratio: `${fmt(r, 2)}x`,
        ...(target === undefined ? {} : { target: `≥ ${target}x`, ok: r >= target }),
      });
      rows.push({
        name: `${label}: p50 latency (ms)`,
        value: String(ours.result.p50Ms),
        baseline: String(base.result.p50Ms),
        ratio: ratio(ours.result.p50Ms, base.result.p50Ms),
      });
      rows.push({
        name: `${label}: p99 latency (ms)`,
        value: String(ours.result.p99Ms),
        baseline: String(base.result.p99Ms),
        ratio: ratio(ours.result.p99Ms, base.result.p99Ms),
      });
      const ourCpu = ours.result.cpuMicrosPerRequest;
      const baseCpu = base.result.cpuMicrosPerRequest;
      if (ourCpu !== undefined && baseCpu !== undefined) {
        rows.push({ name: `${label}: CPU per request, all threads (µs)`, value: fmt(ourCpu, 1), baseline: fmt(baseCpu, 1), ratio: ratio(ourCpu, baseCpu) });
      }
    };
    if (uncached !== undefined && baseline !== undefined) compare('no cache vs node proxy', uncached, baseline, 0.95);
    const previous = best.get(names.previous);
    if (previous !== undefined && baseline !== undefined && uncached !== undefined) {
      compare('previous build, no cache vs node proxy', previous, baseline);
      const kept = pairedRatio(rounds, names.uncached, names.previous);
      rows.push({
        name: `no-cache req/s: this build / the previous build, median of the rounds (${kept.each.map((r) => fmt(r, 2)).join(', ')})`,
        value: fmt(uncached.result.rps, 0),
        baseline: `${fmt(previous.result.rps, 0)} (previous)`,
        ratio: `${fmt(kept.median, 3)}x`,
        target: '≥ 0.97x',
        ok: kept.median >= 0.97,
      });
    }
    if (uncached !== undefined && nginx !== undefined) compare('no cache vs nginx+njs', uncached, nginx);
    if (uncached !== undefined && nginxMap !== undefined) compare('no cache vs nginx map', uncached, nginxMap);
    if (cached !== undefined && baseline !== undefined) compare('cached vs node proxy', cached, baseline);
    const baselineTls = best.get(names.baselineTls);
    const baselineH2 = best.get(names.baselineH2);
    const uncachedTls = best.get(names.uncachedTls);
    const uncachedH2 = best.get(names.uncachedH2);
    if (uncachedTls !== undefined && baselineTls !== undefined) compare('HTTPS HTTP/1.1, no cache vs node proxy (TLS)', uncachedTls, baselineTls);
    if (uncachedH2 !== undefined && baselineH2 !== undefined) compare('HTTPS HTTP/2, no cache vs node proxy (TLS, h2)', uncachedH2, baselineH2);
    const nginxTls = best.get(names.nginxTls);
    const nginxH2 = best.get(names.nginxH2);
    if (uncachedTls !== undefined && nginxTls !== undefined) compare('HTTPS HTTP/1.1, no cache vs nginx map (TLS)', uncachedTls, nginxTls);
    if (uncachedH2 !== undefined && nginxH2 !== undefined) compare('HTTPS HTTP/2, no cache vs nginx map (TLS, h2)', uncachedH2, nginxH2);
    // Observability (issue 14): the same edge with metrics and the decision ring on, nobody tailing, must stay within
    // 3% of the plain edge's ratio to the baseline; the tail row reports what a full-sampling stream costs.
    if (baseline !== undefined && uncached !== undefined) {
      const share = (m: Measured) => m.result.rps / baseline.result.rps;
      if (withMetrics !== undefined) {
        const metricsRatio = pairedRatio(rounds, names.metrics, names.uncached);
        rows.push({
          name: `metrics on, nobody tailing: req/s vs off, median of the rounds (${metricsRatio.each.map((r) => fmt(r, 2)).join(', ')})`,
          value: `${fmt(share(withMetrics), 2)}x`,
          baseline: `${fmt(share(uncached), 2)}x (off)`,
          ratio: `${fmt(metricsRatio.median, 3)}x`,
          target: '≥ 0.97x',
          ok: metricsRatio.median >= 0.97,
        });
      }
      if (withTail !== undefined) {
        rows.push({
          name: 'tail attached at full sampling: ratio vs node proxy',
          value: `${fmt(share(withTail), 2)}x`,
          baseline: `${fmt(share(uncached), 2)}x (off)`,
          ratio: `${fmt(share(withTail) / share(uncached), 3)}x`,
        });
      }
      for (const m of [withMetrics, withTail]) {
        const cpu = m?.result.cpuMicrosPerRequest;
        const base = uncached.result.cpuMicrosPerRequest;
        if (m !== undefined && cpu !== undefined && base !== undefined)
          rows.push({ name: `CPU per request: ${m.name} (µs)`, value: fmt(cpu, 1), baseline: fmt(base, 1), ratio: ratio(cpu, base) });
      }
    }
    for (const m of [
      baseline,
      nginx,
      nginxMap,
      uncached,
      previous,
      cached,
      withMetrics,
      withTail,
      baselineTls,
      baselineH2,
      uncachedTls,
      uncachedH2,
      nginxTls,
      nginxH2,
    ]) {
      if (m !== undefined)
        rows.push({ name: `301 share / errors: ${m.name}`, value: `${fmt(statusShare(m.result, 301) * 100, 0)}% / ${m.result.errors + m.result.timeouts}` });
    }
    if (targets.length > 0)
      printTable(`Edge: decision workload, 10,000-key table, ~30% redirects (baseline: plain Node proxy${nginxInstall.found ? '; and nginx' : ''})`, rows);

    if (wantsPart('memory')) await memoryPart();
    if (wantsPart('download')) await downloadPart();
  } finally {
    await origin.stop();
    rmSync(dir, { recursive: true, force: true });
  }

  async function memoryPart(): Promise<void> {
    console.log(`\n  memory: ${MEMORY_SECONDS} s of distinct ${ASSET_BYTES / 1024} KiB URLs, cache budget ${CACHE_BUDGET_BYTES / MiB} MiB`);
    const baseMemory = await measureMemory(await nodeProxy(['--expose-gc']));
    const ourMemory = await measureMemory(await openFront('on', ['--expose-gc'])());
    const requestedMiB = ((ourMemory.load.statusCounts['200'] ?? 0) * ASSET_BYTES) / MiB;
    const mib = (bytes: number) => fmt(bytes / MiB, 0);
    printTable(`Edge memory under a cacheable many-URL load, ${CACHE_BUDGET_BYTES / MiB} MiB cache budget (baseline: plain Node proxy, no cache)`, [
      { name: 'idle RSS before the load (MiB)', value: mib(ourMemory.rssBefore), baseline: mib(baseMemory.rssBefore) },
      {
        name: 'peak RSS under load (MiB)',
        value: mib(ourMemory.rssPeak),
        baseline: mib(baseMemory.rssPeak),
        ratio: ratio(ourMemory.rssPeak, baseMemory.rssPeak),
      },
      {
        name: 'peak RSS − idle RSS (MiB)',
        value: mib(ourMemory.rssPeak - ourMemory.rssBefore),
        baseline: mib(baseMemory.rssPeak - baseMemory.rssBefore),
        target: `budget ${CACHE_BUDGET_BYTES / MiB} + proxy's growth`,
      },
      {
        name: 'after load + full GC: RSS / heap / buffers (MiB)',
        value: `${mib(ourMemory.settled.rss)} / ${mib(ourMemory.settled.heapUsed)} / ${mib(ourMemory.settled.arrayBuffers)}`,
        baseline: `${mib(baseMemory.settled.rss)} / ${mib(baseMemory.settled.heapUsed)} / ${mib(baseMemory.settled.arrayBuffers)}`,
      },
      {
        name: 'distinct bytes fetched from the origin (MiB)',
        value: fmt(requestedMiB, 0),
        target: `> ${CACHE_BUDGET_BYTES / MiB}`,
        ok: requestedMiB > CACHE_BUDGET_BYTES / MiB,
      },
      {
        name: 'req/s during the memory run',
        value: fmt(ourMemory.load.rps, 0),
        baseline: fmt(baseMemory.load.rps, 0),
        ratio: ratio(ourMemory.load.rps, baseMemory.load.rps),
      },
    ]);
  }

  async function downloadPart(): Promise<void> {
    // Streaming (issue 16): one 1 GiB download through each Node target; memory must not follow the body's size.
    const proxied = work.requests.find(({ path, headers }) => expectedDecision(work.items, headers.host, path).location === undefined)!;
    console.log(`\n  streamed download: ${STREAM_BYTES / MiB} MiB, uncacheable, one viewer`);
    const baseDownload = await measureDownload(await nodeProxy(['--expose-gc']), proxied.headers.host);
    const ourDownload = await measureDownload(await openFront('off', ['--expose-gc'])(), proxied.headers.host);
    const mibs = (d: DownloadResult) => STREAM_BYTES / MiB / d.seconds;
    printTable(`Edge: a ${STREAM_BYTES / MiB} MiB streamed download (baseline: plain Node proxy piping undici's body)`, [
      {
        name: 'peak RSS − idle RSS (MiB)',
        value: fmt((ourDownload.rssPeak - ourDownload.rssBefore) / MiB, 0),
        baseline: fmt((baseDownload.rssPeak - baseDownload.rssBefore) / MiB, 0),
        target: '< 64',
        ok: ourDownload.rssPeak - ourDownload.rssBefore < 64 * MiB,
      },
      {
        name: 'peak RSS (MiB)',
        value: fmt(ourDownload.rssPeak / MiB, 0),
        baseline: fmt(baseDownload.rssPeak / MiB, 0),
        ratio: ratio(ourDownload.rssPeak, baseDownload.rssPeak),
      },
      {
        name: 'throughput (MiB/s)',
        value: fmt(mibs(ourDownload), 0),
        baseline: fmt(mibs(baseDownload), 0),
        ratio: ratio(mibs(ourDownload), mibs(baseDownload)),
      },
    ]);
  }
}
