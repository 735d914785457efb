/**
 * Observability of a node serving the demo (docs/observability.md), driven as a user would: `openfront tail --json`
 * and `openfront explain` as child processes, curl-like requests to the edge and the metrics listener, signed calls
 * to the decisions API.
 */
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { nativeRequest, resolveClientConfig } from '../../src/cli/client.js';
import { loadConfig, parseConfig } from '../../src/config/index.js';
import { DEBUG_DATE_HEADER, DEBUG_HEADER, signDebugHeaders } from '../../src/control/auth/debug-header.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { EXPLAIN_CONTENT_TYPE } from '../../src/edge/debug.js';
import { edgeRequestChannel } from '../../src/edge/trace.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import type { DecisionRecord } from '../../src/observe/decision.js';
import { DecisionFilter } from '../../src/observe/filter.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers, method, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Resolves once `openfront tail` says its stream is open (other stderr lines, such as warnings, are skipped). */
async function connected(stderr: NodeJS.ReadableStream): Promise<void> {
  for await (const line of createInterface({ input: stderr })) if (/^openfront tail: connected/.test(line)) return;
  throw new Error('openfront tail ended before it connected');
}

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

async function startDemo(dataDir: string): Promise<OpenFrontNode> {
  return startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 }, observability: { metricsPort: 0 } });
}

describe('observability of a node serving the demo', () => {
  let dataDir: string;
  let node: OpenFrontNode;
  let key: { accessKeyId: string; secretAccessKey: string };
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-observe-'));
    node = await startDemo(dataDir);
    key = node.state.keys.createAccessKey('observe test');
    env = {
      PATH: process.env.PATH,
      OPENFRONT_ENDPOINT: node.api.url,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
  });

  after(async () => {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('openfront tail --json, attached after three requests, prints the next four with the demo stores and versions they read', async () => {
    for (const path of ['/go/docs', '/beta/', '/en/']) await get(node.edge.url, path);
    const tail = spawn(process.execPath, [MAIN, 'tail', '--json', '--count', '4'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await connected(tail.stderr!);
      const lines: string[] = [];
      createInterface({ input: tail.stdout! }).on('line', (line) => lines.push(line));
      const sent = [
        await get(node.edge.url, '/go/docs'),
        await get(node.edge.url, '/beta/', { cookie: 'beta-bucket=10' }),
        await get(node.edge.url, '/go/nowhere'),
        await get(node.edge.url, '/beta/', { cookie: 'beta-bucket=90' }),
      ];
      const [code] = (await once(tail, 'exit')) as [number];
      assert.equal(code, 0);
      assert.equal(lines.length, 4, lines.join('\n'));
      const records = lines.map((l) => JSON.parse(l) as DecisionRecord);
      assert.deepEqual(
        records.map((r) => r.requestId),
        sent.map((r) => r.headers['x-openfront-request-id']),
      );
      const versions = new Map(['demo-redirects', 'demo-flags'].map((name) => [name, node.state.kvs.getStore({ name })!.version]));
      const expectedStores = ['demo-redirects', 'demo-flags', 'demo-redirects', 'demo-flags'];
      records.forEach((record, i) => {
        const reads = record.functions.flatMap((f) => f.kvsReads);
        assert.ok(reads.length > 0, `request ${i} read nothing`);
        for (const read of reads) {
          assert.equal(read.store, expectedStores[i]);
          assert.equal(read.version, versions.get(read.store));
        }
      });
      assert.deepEqual(
        records[2].functions[0].kvsReads.map((r) => [r.key, r.hit]),
        [['/go/nowhere', false]],
      );
      assert.equal(records[1].headers.cookie, 'beta-bucket=[redacted]');
    } finally {
      if (tail.exitCode === null) tail.kill();
    }
  });

  it('the human-readable tail shows the keys read and the outcome', async () => {
    const tail = spawn(process.execPath, [MAIN, 'tail', '--count', '1', '--path', '/go/*'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await connected(tail.stderr!);
    const out = createInterface({ input: tail.stdout! });
    const line = once(out, 'line');
    await get(node.edge.url, '/en/');
    await get(node.edge.url, '/go/docs');
    const [text] = (await line) as string[];
    assert.match(text, /GET \S+\/go\/docs 301 function-response .*demo-redirects@1 generated-response reads demo-redirects:\/go\/docs=hit@v\d+/);
    await once(tail, 'exit');
  });

  it('curl /metrics after N demo requests shows the demo function invoked N times', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'openfront-observe-metrics-'));
    const other = await startDemo(fresh);
    try {
      const N = 7;
      for (let i = 0; i < N; i++) assert.equal((await get(other.edge.url, '/go/docs')).status, 301);
      assert.ok(other.observability.metricsUrl);
      const scraped = await get(other.observability.metricsUrl, '/metrics');
      assert.equal(scraped.status, 200);
      assert.match(String(scraped.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      assert.equal(sample(scraped.body, 'openfront_function_invocations_total{function="demo-redirects",version="1"}'), N);
      assert.equal(sample(scraped.body, 'openfront_kvs_reads_total{store="demo-redirects",result="hit"}'), 2 * N);
      assert.equal(sample(scraped.body, 'openfront_edge_requests_total{distribution="EDEMO0000000001",status_class="3xx"}'), N);
      assert.equal(sample(scraped.body, `openfront_kvs_store_version{store="demo-redirects"}`), other.state.kvs.getStore({ name: 'demo-redirects' })!.version);
      // The demo function's isolate has a heap: a real reading of isolated-vm's statistics, not a placeholder.
      const heap = sample(scraped.body, 'openfront_function_isolate_heap_bytes{function="demo-redirects",version="1"}');
      assert.ok(heap !== undefined && heap > 100_000 && heap < 128 * 1024 * 1024, `isolate heap ${heap}`);
      assert.equal((await get(other.observability.metricsUrl, '/other')).status, 404);
      // The API's /metrics is signed like every API call.
      assert.equal((await get(other.api.url, '/metrics')).status, 403);
      const k = other.state.keys.createAccessKey('metrics');
      const url = new URL('/metrics', other.api.url);
      const signed = await get(other.api.url, '/metrics', signRequestV4({ method: 'GET', url, ...k }));
      assert.equal(signed.status, 200);
      assert.equal(sample(signed.body, 'openfront_function_invocations_total{function="demo-redirects",version="1"}'), N);
    } finally {
      await other.close();
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('openfront explain prints the redirect decision with the key it read', async () => {
    const run = await cli(['explain', `${node.edge.url}/go/docs`], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /GET \S+\/go\/docs → 301 \(function-response\)/);
    assert.match(run.stdout, /behavior \/go\/\* \(path pattern matched \/go\/docs\)/);
    assert.match(run.stdout, /viewer-request function demo-redirects \(LIVE version 1\): generated a response/);
    assert.match(run.stdout, /kvs demo-redirects get "\/go\/docs" → hit \(store version \d+\)/);
    assert.match(run.stdout, /viewer response: 301/);
    assert.match(run.stdout, /Location: \/docs\//i);
  });

  it('explain follows a request through the origin, with -H headers and the cache key', async () => {
    const run = await cli(['explain', `${node.edge.url}/en/`, '-H', 'Accept-Language: de'], env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /behavior: default/);
    assert.match(run.stdout, /viewer-request function demo-locale/);
    assert.match(run.stdout, /cache (hit|miss)/);
    assert.match(run.stdout, /key "EDEMO0000000001\\n\/en\/index\.html"/, 'the rewritten URI is the cache key');
  });

  it('explain with a revoked or wrong key gets no decision and says why', async () => {
    const run = await cli(['explain', `${node.edge.url}/go/docs`], { ...env, OPENFRONT_SECRET_ACCESS_KEY: 'wrong' });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /did not accept the debug signature/);
  });

  it('an unsigned or badly signed debug header changes nothing', async () => {
    const plain = await get(node.edge.url, '/go/docs');
    const url = new URL('/go/docs', node.edge.url);
    const forged = [
      { [DEBUG_HEADER]: '1' },
      { [DEBUG_HEADER]: 'true', [DEBUG_DATE_HEADER]: '20261207T050000Z' },
      signDebugHeaders({ method: 'GET', url, accessKeyId: key.accessKeyId, secretAccessKey: 'not-the-secret' }),
      signDebugHeaders({ method: 'GET', url, accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: key.secretAccessKey }),
      signDebugHeaders({ method: 'GET', url: new URL('/go/other', node.edge.url), ...key }),
    ];
    for (const headers of forged) {
      const reply = await get(node.edge.url, '/go/docs', headers);
      assert.equal(reply.status, plain.status);
      assert.equal(reply.body, plain.body);
      assert.equal(reply.headers.location, plain.headers.location);
      assert.notEqual(reply.headers['content-type'], EXPLAIN_CONTENT_TYPE);
      const strip = (h: Reply['headers']) =>
        Object.keys(h)
          .filter((n) => n !== 'x-openfront-request-id' && n !== 'date')
          .sort();
      assert.deepEqual(strip(reply.headers), strip(plain.headers));
    }
    // A revoked key no longer works either.
    const revoked = node.state.keys.createAccessKey('to revoke');
    const good = signDebugHeaders({ method: 'GET', url, ...revoked });
    assert.equal((await get(node.edge.url, '/go/docs', good)).headers['content-type'], EXPLAIN_CONTENT_TYPE);
    node.state.keys.revokeAccessKey(revoked.accessKeyId);
    assert.equal((await get(node.edge.url, '/go/docs', good)).status, 301);
  });

  it('a signed debug header returns the decision inline; functions and the origin never see the debug headers', async () => {
    const url = new URL('/beta/', node.edge.url);
    const reply = await get(node.edge.url, '/beta/', { cookie: 'beta-bucket=10', ...signDebugHeaders({ method: 'GET', url, ...key }) });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], EXPLAIN_CONTENT_TYPE);
    const answer = JSON.parse(reply.body) as { decision: DecisionRecord; response: { status: number; bodyBytes: number } };
    assert.equal(answer.decision.requestId, reply.headers['x-openfront-request-id']);
    assert.equal(answer.response.status, 200);
    assert.ok(answer.response.bodyBytes > 0);
    assert.equal(answer.decision.headers[DEBUG_HEADER], undefined);
    assert.equal(answer.decision.functions[0].name, 'demo-feature-flag');
  });

  it('GET /openfront/v1/decisions lists recent decisions and finds one by request id; unsigned calls are refused', async () => {
    const reply = await get(node.edge.url, '/go/docs');
    const requestId = String(reply.headers['x-openfront-request-id']);
    const config = resolveClientConfig({ endpoint: node.api.url, ...key });
    const one = (await nativeRequest(config, 'GET', `/openfront/v1/decisions/${requestId}`)) as DecisionRecord;
    assert.equal(one.requestId, requestId);
    assert.equal(one.behavior, '/go/*');
    const list = (await nativeRequest(config, 'GET', '/openfront/v1/decisions?function=demo-redirects&status=3xx&limit=2')) as { items: DecisionRecord[] };
    assert.equal(list.items.length, 2);
    assert.equal(list.items[0].requestId, requestId);
    for (const item of list.items) assert.ok(item.functions.some((f) => f.name === 'demo-redirects') && item.status >= 300 && item.status < 400);
    await assert.rejects(nativeRequest(config, 'GET', '/openfront/v1/decisions/nope'), /NotFound/);
    await assert.rejects(nativeRequest(config, 'GET', '/openfront/v1/decisions?limit=5000'), /limit must be/);
    await assert.rejects(nativeRequest(config, 'GET', '/openfront/v1/decisions?status=abc'), /status must be/);
    assert.equal((await get(node.api.url, '/openfront/v1/decisions')).status, 403);
    assert.equal((await get(node.api.url, '/openfront/v1/decisions/stream')).status, 403);
  });
});

describe('bounds and logs of a configured node', () => {
  it('refuses a live stream beyond maxStreams with 429 TooManyStreams, and frees the slot when a stream closes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openfront-observe-bounds-'));
    const config = await loadConfig(DEMO_CONFIG);
    config.observability.tail.maxStreams = 1;
    const node = await startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0 } });
    try {
      const key = node.state.keys.createAccessKey('bounds');
      const open = (): Promise<import('node:http').IncomingMessage> => {
        const url = new URL('/openfront/v1/decisions/stream', node.api.url);
        return new Promise((resolve, reject) => {
          const req = httpRequest(url, { headers: signRequestV4({ method: 'GET', url, ...key }), agent: false }, resolve);
          req.on('error', reject);
          req.end();
        });
      };
      const first = await open();
      assert.equal(first.statusCode, 200);
      const second = await open();
      assert.equal(second.statusCode, 429);
      const chunks: Buffer[] = [];
      for await (const chunk of second) chunks.push(chunk as Buffer);
      assert.match(Buffer.concat(chunks).toString('utf8'), /TooManyStreams/);
      first.destroy();
      await once(first, 'close');
      // The server notices the closed socket on its side shortly after; wait for the slot rather than sleeping.
      while (node.observability.streams.stats().open > 0) await new Promise((resolve) => setImmediate(resolve));
      const third = await open();
      assert.equal(third.statusCode, 200);
      third.destroy();
    } finally {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('writes access logs with CloudFront field names to the file given at start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openfront-observe-log-'));
    const logFile = join(dataDir, 'logs', 'access.log');
    const node = await startOpenFrontNode({
      dataDir,
      config: await loadConfig(DEMO_CONFIG),
      api: { port: 0 },
      edge: { port: 0 },
      observability: { accessLog: logFile },
    });
    let closed = false;
    try {
      const sent = [
        await get(node.edge.url, '/go/docs?utm=1', { 'user-agent': 'observe-test', referer: 'https://ref.example/' }),
        await get(node.edge.url, '/en/'),
      ];
      await node.close();
      closed = true;
      const lines = readFileSync(logFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const access = lines.filter((l) => l.type === 'access');
      assert.equal(access.length, 2);
      assert.equal(access[0]['x-edge-request-id'], sent[0].headers['x-openfront-request-id']);
      assert.equal(access[0]['cs-uri-stem'], '/go/docs');
      assert.equal(access[0]['cs-uri-query'], 'utm=1');
      assert.equal(access[0]['sc-status'], 301);
      assert.equal(access[0]['cs(User-Agent)'], 'observe-test');
      assert.equal(access[0]['cs(Referer)'], 'https://ref.example/');
      assert.equal(access[0]['x-edge-result-type'], 'FunctionGeneratedResponse');
      assert.equal(access[0]['c-ip'], '127.0.0.1');
      assert.equal(access[1]['x-edge-result-type'], 'Miss');
      assert.equal(access[1]['sc-content-len'], Number(sent[1].headers['content-length']));
    } finally {
      if (!closed) await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the decision ring while nobody tails (docs/observability.md, "Cost")', () => {
  const FUNCTION = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const known = await kvs.exists(event.request.uri);
  if (event.request.uri.startsWith('/answer')) return { statusCode: 200, statusDescription: 'OK', body: known ? 'known' : 'unknown' };
  return event.request;
}`;

  /** /answer/… is answered by the function; anything else goes to an origin nobody listens on (502). */
  async function startNode(perSecond: number): Promise<{ node: OpenFrontNode; dataDir: string }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'openfront-observe-ring-'));
    writeFileSync(join(dataDir, 'paths.json'), JSON.stringify({ data: [{ key: '/answer/yes', value: '1' }] }));
    writeFileSync(join(dataDir, 'decide.js'), FUNCTION);
    const config = parseConfig(
      {
        server: { nodeId: 'ring-test' },
        stores: [{ name: 'paths', seed: 'paths.json' }],
        functions: [{ name: 'decide', code: 'decide.js', store: 'paths' }],
        observability: { decisions: { capacity: 50, perSecond } },
        distributions: [
          {
            id: 'ERING',
            hostnames: ['*'],
            origins: [{ id: 'gone', url: 'http://127.0.0.1:1' }],
            defaultBehavior: { origin: 'gone', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'decide' } },
          },
        ],
      },
      dataDir,
    );
    const node = await startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0 } });
    return { node, dataDir };
  }

  it('with perSecond 0 keeps no success, keeps each 5xx as a partial decision, and metrics still count every request', async () => {
    const { node, dataDir } = await startNode(0);
    try {
      const answered = [await get(node.edge.url, '/answer/yes'), await get(node.edge.url, '/answer/no'), await get(node.edge.url, '/answer/yes')];
      const failed = await get(node.edge.url, '/elsewhere', { authorization: 'Bearer secret-token' });
      assert.deepEqual(
        answered.map((r) => r.status),
        [200, 200, 200],
      );
      assert.equal(failed.status, 502);
      const kept = node.observability.decisions.recent(new DecisionFilter({}), 10);
      assert.deepEqual(
        kept.map((r) => r.requestId),
        [failed.headers['x-openfront-request-id']],
      );
      const [record] = kept;
      assert.equal(record.partial, true);
      assert.equal(record.status, 502);
      assert.equal(record.result, 'origin-error');
      assert.equal(record.path, '/elsewhere');
      assert.equal(record.headers.authorization, '[redacted]');
      assert.equal(record.origin?.id, 'gone');
      assert.deepEqual(record.origin?.attempts, [{ originId: 'gone', error: 'connect' }]);
      assert.deepEqual(
        record.functions.map((f) => [f.name, f.outcome, f.kvsReads.map((read) => [read.store, read.key, read.hit])]),
        [['decide', 'rewrite', [['paths', '/elsewhere', false]]]],
      );
      // The node follows its edge through the observer: nothing subscribes to the trace channel.
      assert.equal(edgeRequestChannel.hasSubscribers, false);
      const { body } = await node.observability.metrics!.scrape();
      assert.equal(sample(body, 'openfront_function_invocations_total{function="decide",version="1"}'), 4);
      assert.equal(sample(body, 'openfront_kvs_reads_total{store="paths",result="hit"}'), 2);
      assert.equal(sample(body, 'openfront_kvs_reads_total{store="paths",result="miss"}'), 2);
      assert.equal(sample(body, 'openfront_edge_requests_total{distribution="ERING",status_class="2xx"}'), 3);
      assert.equal(sample(body, 'openfront_edge_requests_total{distribution="ERING",status_class="5xx"}'), 1);
      assert.equal(sample(body, 'openfront_origin_errors_total{origin="gone",reason="connect"}'), 1);
    } finally {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves metrics and stores alone for a request that finishes after the node closed', async () => {
    const { node, dataDir } = await startNode(100);
    const { observer } = node.observability;
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
    assert.equal(observer.wantsTrace(), false);
    const late = {
      requestId: 'late',
      nodeId: 'ring-test',
      startedAt: Date.now(),
      method: 'GET',
      target: '/late',
      rawHeaders: ['Host', 'late.example'],
      remoteAddress: '127.0.0.1',
      functions: [
        {
          eventType: 'viewer-request' as const,
          name: 'decide',
          version: '1',
          codeHash: 'h',
          // A store this node never named: counting it would look its name up in the closed database.
          result: {
            kind: 'request' as const,
            computeUtilization: 1,
            elapsedMicros: 1,
            kvsReads: [{ storeId: 'unseen', op: 'get' as const, version: 1, hit: true }],
            logs: [],
          },
        },
      ],
      collapsed: false,
      status: 502,
      result: 'origin-error' as const,
    };
    assert.doesNotThrow(() => observer.requestDone(late, undefined));
  });

  it('by default keeps every request of a quiet edge in full', async () => {
    const { node, dataDir } = await startNode(100);
    try {
      const sent = [await get(node.edge.url, '/answer/yes'), await get(node.edge.url, '/elsewhere')];
      const kept = node.observability.decisions.recent(new DecisionFilter({}), 10);
      assert.deepEqual(
        kept.map((r) => r.requestId),
        sent.map((r) => r.headers['x-openfront-request-id']).reverse(),
      );
      assert.ok(kept.every((r) => r.partial === undefined && r.timings.total > 0));
    } finally {
      await node.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
