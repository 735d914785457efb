/**
 * What the primary of `openfront start --workers 2` sees of requests its workers serve (docs/deploy.md, "What the
 * primary sees"): /metrics summed over the workers, decisions (the decisions API, `openfront explain`, `openfront
 * tail`, the access log) from either worker, and a disk cache tier per worker. Which worker answered is read from
 * `x-openfront-worker` (`--worker-header`); a request id starts with its process's own prefix.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nativeRequest, resolveClientConfig, type ApiClientConfig } from '../../src/cli/client.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import type { DecisionRecord } from '../../src/observe/decision.js';
import type { Credentials } from './fixtures/kvs-api-harness.js';
import { CLI, get, runCli, startCli, type StartedChild } from './fixtures/ops-harness.js';

const MiB = 1024 * 1024;
/** Request ids are a per-process prefix and a counter (src/edge/request-id.ts): the prefix names the process. */
const processOf = (requestId: string) => requestId.slice(0, 28);

function writeProject(dir: string): string {
  writeFileSync(
    join(dir, 'greet.js'),
    `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const value = await kvs.get('greeting');
  return { statusCode: 200, statusDescription: 'OK', body: value };
}
`,
  );
  writeFileSync(join(dir, 'greetings.json'), JSON.stringify({ data: [{ key: 'greeting', value: 'hello' }] }));
  mkdirSync(join(dir, 'site', 'files'), { recursive: true });
  const big = Buffer.alloc(MiB);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  writeFileSync(join(dir, 'site', 'files', 'big.bin'), big);
  const file = join(dir, 'openfront.config.yaml');
  writeFileSync(
    file,
    [
      'server:',
      '  cache:',
      '    memoryObjectBytes: 65536',
      '    diskBytes: 8388608',
      '    maxObjectBytes: 4194304',
      'stores:',
      '  - name: greetings',
      '    seed: greetings.json',
      'functions:',
      '  - name: greet',
      '    code: greet.js',
      '    store: greetings',
      'distributions:',
      '  - id: EWORKERSOBS0001',
      '    hostnames: ["*"]',
      '    origins:',
      '      - id: site',
      '        static: ./site',
      '    defaultBehavior:',
      '      origin: site',
      '      cachePolicy: CachingDisabled',
      '      functionAssociations:',
      '        viewer-request: greet',
      '    behaviors:',
      '      - pathPattern: /files/*',
      '        origin: site',
      '        cachePolicy: CachingOptimized',
      '',
    ].join('\n'),
  );
  return file;
}

/** Retries `read` until `done` holds for what it returns (the workers hand decisions over within milliseconds). */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, attempts = 250): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < attempts; i++) {
    last = await read();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)?.slice(0, 300)}`);
}

/** The value of a metric line `name{labels} value` in an exposition, 0 when absent. */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Sum of every series of `name` (all label sets). */
function total(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('openfront start --workers 2: what the primary sees', () => {
  let dir: string;
  let key: Credentials;
  let node: StartedChild;
  let metricsPort: number;
  let pids: string[];
  let api: ApiClientConfig;
  let env: NodeJS.ProcessEnv;
  const accessLog = () => join(dir, 'access.log');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-workers-observe-'));
    mkdirSync(join(dir, 'data'));
    const db = openSqliteState(join(dir, 'data', 'openfront.db'));
    key = db.keys.createAccessKey('workers observe test');
    db.database.close();
    // What an earlier run left in the cache directory goes before the workers start.
    mkdirSync(join(dir, 'data', 'cache', 'w7'), { recursive: true });
    writeFileSync(join(dir, 'data', 'cache', 'stale'), 'left by a single-process run');
    node = await startCli([
      '--config',
      writeProject(dir),
      '--data',
      join(dir, 'data'),
      '--workers',
      '2',
      '--worker-header',
      '--metrics-port',
      '0',
      '--access-log',
      accessLog(),
      '--drain-timeout',
      '5',
    ]);
    pids = (await node.line(/^\s+edge workers /)).trim().split(/\s+/).slice(2);
    metricsPort = Number(new URL((await node.line(/^\s+metrics http:/)).trim().split(/\s+/)[1]).port);
    api = resolveClientConfig({ endpoint: `http://127.0.0.1:${node.apiPort}`, ...key });
    env = {
      OPENFRONT_ENDPOINT: `http://127.0.0.1:${node.apiPort}`,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
  });
  after(() => {
    node.child.kill('SIGKILL');
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('/metrics on the primary counts the requests of both workers, under the same names as one edge', async () => {
    const scrape = async () => (await get(metricsPort, '/metrics')).body;
    const before = await scrape();
    const served = new Map<string, number>();
    const n = 12;
    for (let i = 0; i < n; i++) {
      const reply = await get(node.edgePort, '/');
      assert.equal(reply.status, 200, reply.body);
      const pid = String(reply.headers['x-openfront-worker']);
      served.set(pid, (served.get(pid) ?? 0) + 1);
    }
    assert.deepEqual([...served.keys()].sort(), [...pids].sort(), 'round-robin spread the connections over both workers');
    const requests = (text: string) => sample(text, 'openfront_edge_requests_total', '{distribution="EWORKERSOBS0001",status_class="2xx"}');
    const after = await eventually(scrape, (text) => requests(text) - requests(before) === n, 'requests counted');
    const invocations = (text: string) => sample(text, 'openfront_function_invocations_total', '{function="greet",version="1"}');
    assert.equal(invocations(after) - invocations(before), n);
    const reads = (text: string) => sample(text, 'openfront_kvs_reads_total', '{store="greetings",result="hit"}');
    assert.equal(reads(after) - reads(before), n);
    // Histograms add up bucket by bucket.
    const utilization = (text: string) => sample(text, 'openfront_function_compute_utilization_count', '{function="greet",version="1"}');
    const inf = (text: string) => sample(text, 'openfront_function_compute_utilization_bucket', '{function="greet",version="1",le="+Inf"}');
    assert.equal(utilization(after) - utilization(before), n);
    assert.equal(inf(after) - inf(before), n);
    assert.equal(sample(after, 'openfront_edge_worker_scraped', '{worker="1"}'), 1);
    assert.equal(sample(after, 'openfront_edge_worker_scraped', '{worker="2"}'), 1);
    // The primary's own process metrics are there once, not summed with the workers'.
    assert.equal(after.split('\n').filter((l) => l.startsWith('# TYPE openfront_edge_requests_total ')).length, 1);
    assert.ok(total(after, 'process_cpu_user_seconds_total') > 0);
  });

  it('decisions of requests served by each worker reach the decisions API, openfront tail, explain and the access log', async () => {
    const byWorker = new Map<string, string>();
    for (let i = 0; i < 10 && byWorker.size < 2; i++) {
      const reply = await get(node.edgePort, '/');
      byWorker.set(String(reply.headers['x-openfront-worker']), String(reply.headers['x-openfront-request-id']));
    }
    assert.equal(byWorker.size, 2);
    for (const [pid, requestId] of byWorker) {
      const record = await eventually(
        () => nativeRequest(api, 'GET', `/openfront/v1/decisions/${requestId}`).catch(() => undefined) as Promise<DecisionRecord | undefined>,
        (r) => r !== undefined,
        `decision of ${requestId} (worker ${pid})`,
      );
      assert.equal(record!.requestId, requestId);
      assert.equal(record!.status, 200);
      assert.equal(record!.result, 'function-response');
      assert.equal(record!.functions[0].name, 'greet');
      assert.deepEqual(
        record!.functions[0].kvsReads.map((r) => [r.store, r.op, r.key, r.hit]),
        [['greetings', 'get', 'greeting', true]],
      );
    }
    const logged = await eventually(
      async () => readFileSync(accessLog(), 'utf8'),
      (text) => [...byWorker.values()].every((id) => text.includes(`"x-edge-request-id":"${id}"`)),
      'access log lines of both workers',
    );
    assert.ok(logged.includes('"distribution":"EWORKERSOBS0001"'));

    // openfront explain goes through whichever worker the connection lands on: run it until both answered.
    const explained = new Set<string>();
    const prefixes = new Map([...byWorker].map(([pid, id]) => [processOf(id), pid]));
    for (let i = 0; i < 8 && explained.size < 2; i++) {
      const run = await runCli(['explain', `http://127.0.0.1:${node.edgePort}/`, '--json'], env);
      assert.equal(run.status, 0, run.stderr);
      const answer = JSON.parse(run.stdout) as { decision: DecisionRecord; response: { status: number } };
      assert.equal(answer.response.status, 200);
      assert.equal(answer.decision.functions[0].name, 'greet');
      assert.equal(answer.decision.functions[0].kvsReads[0].key, 'greeting');
      const pid = prefixes.get(processOf(answer.decision.requestId));
      assert.ok(pid !== undefined, 'explain was answered by one of the workers');
      explained.add(pid);
    }
    assert.equal(explained.size, 2, 'explain answered from both workers');

    // A live tail sees the requests of both workers.
    const tail = spawn(process.execPath, [CLI, 'tail', '--json', '--count', '4'], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    tail.stdout.on('data', (c: Buffer) => (out += c.toString()));
    tail.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => tail.once('exit', resolve));
    await eventually(
      async () => err,
      (text) => text.includes('waiting for requests'),
      'tail connected',
    );
    const sent = new Set<string>();
    for (let i = 0; i < 4; i++) sent.add(String((await get(node.edgePort, '/')).headers['x-openfront-request-id']));
    assert.equal(await exited, 0, err);
    const tailed = out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as DecisionRecord).requestId);
    assert.deepEqual(new Set(tailed), sent);
    assert.equal(new Set(tailed.map(processOf)).size, 2, 'the tail had decisions from both workers');
  });

  it('each worker has its own disk tier in <data>/cache/w<index>: a large object is a hit from the same worker', async () => {
    const cache = join(dir, 'data', 'cache');
    assert.deepEqual(readdirSync(cache).sort(), ['w1', 'w2'], 'one directory per worker; what an earlier run left is gone');
    // One keep-alive connection stays with one worker.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(node.edgePort, '/files/big.bin', {}, agent);
      assert.equal(first.status, 200);
      assert.equal(first.headers['x-cache'], 'Miss from openfront');
      const second = await get(node.edgePort, '/files/big.bin', {}, agent);
      assert.equal(second.headers['x-openfront-worker'], first.headers['x-openfront-worker']);
      assert.equal(second.headers['x-cache'], 'Hit from openfront');
      assert.equal(second.headers['content-length'], String(MiB));
    } finally {
      agent.destroy();
    }
    // The object is on disk in exactly one worker's directory: the one that fetched it.
    const stored = (w: string) => readdirSync(join(cache, w)).filter((f) => statSync(join(cache, w, f)).size === MiB);
    assert.deepEqual([stored('w1').length, stored('w2').length].sort(), [0, 1]);
  });

  it('a stuck worker does not hang /metrics: the answer comes without it and says which one is missing', async () => {
    const [stuck] = pids;
    const mark = node.lines.length;
    process.kill(Number(stuck), 'SIGSTOP');
    try {
      const started = Date.now();
      const scraped = await get(metricsPort, '/metrics');
      assert.equal(scraped.status, 200);
      assert.ok(Date.now() - started < 10_000);
      const missing = ['1', '2'].filter((w) => sample(scraped.body, 'openfront_edge_worker_scraped', `{worker="${w}"}`) === 0);
      assert.equal(
        missing.length,
        1,
        scraped.body
          .split('\n')
          .filter((l) => l.includes('worker_scraped'))
          .join('\n'),
      );
      assert.ok(sample(scraped.body, 'openfront_edge_requests_total', '{distribution="EWORKERSOBS0001",status_class="2xx"}') > 0);
      await node.line(new RegExp(`edge worker ${stuck} \\(w${missing[0]}\\) did not send its metrics`), mark);
    } finally {
      process.kill(Number(stuck), 'SIGCONT');
    }
  });
  it("a replaced worker takes its predecessor's index: the same disk tier directory, the same metrics slot", async () => {
    const victim = pids[1];
    const mark = node.lines.length;
    process.kill(Number(victim), 'SIGKILL');
    const replaced = await node.line(new RegExp(`edge worker ${victim} replaced by \\d+`), mark);
    pids = [pids[0], replaced.split(/\s+/).at(-1)!];
    assert.deepEqual(readdirSync(join(dir, 'data', 'cache')).sort(), ['w1', 'w2']);
    const scraped = await eventually(
      async () => (await get(metricsPort, '/metrics')).body,
      (text) => ['1', '2'].every((w) => sample(text, 'openfront_edge_worker_scraped', `{worker="${w}"}`) === 1),
      'both worker slots answering after the replacement',
    );
    assert.equal(scraped.split('\n').filter((l) => l.startsWith('openfront_edge_worker_scraped{')).length, 2);
  });
});
