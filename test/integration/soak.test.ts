/**
 * Short soak (issue 12): a real node in a child process takes mixed edge traffic — well-behaved requests through
 * the origin, the cache and a store-reading function, plus functions that spin, bomb their memory and throw — while
 * signed API calls write the store (PutKey, UpdateKeys) and publish new versions of the function the edge runs.
 * Every answer must be one the route expects (0 unexpected errors), and the child's RSS after the run may not
 * exceed its RSS after the warmup by more than 64 MB (both sampled after a full GC), plus whatever V8 added to the
 * capacity of its young generation meanwhile. That is V8's own sizing, bounded by V8: on Node 20 the young generation
 * reaches its maximum, 32 MB, within the warmup; on Node 24 V8 doubles it, to 64 MB and at times to 128 MB, 20–40 s
 * into the run. Beyond that, on Node 24 the bound used to fail because every replaced version's isolate stayed alive
 * for a 5 s grace period (docs/node-versions.md, "Memory under churn").
 *
 * OPENFRONT_SOAK_SECONDS sets the length: 10 s by default, 60 s in CI.
 */
import '@aws-sdk/signature-v4a';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CloudFrontClient, DescribeFunctionCommand, PublishFunctionCommand, UpdateFunctionCommand } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, PutKeyCommand, UpdateKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { loopbackAgent } from './fixtures/kvs-api-harness.js';

const SECONDS = Number(process.env.OPENFRONT_SOAK_SECONDS ?? 10);
const WARMUP_MS = Math.max(2_000, SECONDS * 200);
const MAX_RSS_GROWTH = 64 * 1024 * 1024;

interface Memory {
  rss: number;
  /** Capacity of V8's young generation (new space), bytes. */
  youngGeneration: number;
}

interface Ready {
  type: 'ready';
  edge: number;
  api: number;
  key: { accessKeyId: string; secretAccessKey: string };
  storeArn: string;
}

function ask<T>(child: ChildProcess, message: object, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type?: string }) => {
      if (m.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`soak node exited (${signal ?? code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    if (Object.keys(message).length > 0) child.send(message);
  });
}

/** Each route the traffic uses, with the statuses it may answer. */
const ROUTES: Array<{ name: string; method: string; path: (i: number) => string; host?: string; body?: string; expect: number[] }> = [
  { name: 'origin', method: 'GET', path: (i) => `/page/${i}`, expect: [200] },
  { name: 'cached', method: 'GET', path: (i) => `/cached/${i % 20}`, expect: [200] },
  { name: 'generated', method: 'GET', path: () => '/generated', expect: [200] },
  { name: 'post', method: 'POST', path: (i) => `/form/${i}`, body: 'a=1&b=2', expect: [200] },
  { name: 'head', method: 'HEAD', path: (i) => `/page/${i}`, expect: [200] },
  { name: 'spin', method: 'GET', path: (i) => (i % 2 === 0 ? '/spin' : `/spin/${i % 7}`), expect: [503] },
  { name: 'bomb', method: 'GET', path: () => '/bomb', expect: [503] },
  { name: 'throw', method: 'GET', path: (i) => `/throw/${i % 3}`, expect: [503] },
  { name: 'unknown host', method: 'GET', path: () => '/', host: 'nobody.test', expect: [403] },
  { name: 'bad host', method: 'GET', path: () => '/', host: 'a b', expect: [400] },
];

describe(`soak: ${SECONDS} s of mixed edge traffic and API writes against a node in a child process`, () => {
  let child: ChildProcess;
  let ready: Ready;

  before(async () => {
    child = fork(fileURLToPath(new URL('./fixtures/soak-node.js', import.meta.url)), [], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    ready = await ask<Ready>(child, {}, 'ready');
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      await exited;
    }
  });

  it('answers every request with an expected status and keeps its memory flat', { timeout: (SECONDS + 60) * 1000 }, async (t) => {
    const edgeAgent = new Agent({ keepAlive: true, maxSockets: 8 });
    const apiAgent = loopbackAgent();
    const common = {
      region: 'us-east-1',
      endpoint: `http://localhost:${ready.api}`,
      credentials: ready.key,
      maxAttempts: 1,
      requestHandler: { httpAgent: apiAgent },
    };
    const cf = new CloudFrontClient(common);
    const kvs = new CloudFrontKeyValueStoreClient(common);
    const unexpected: string[] = [];
    const counts: Record<string, number> = {};
    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    let afterWarmup: Memory | undefined;

    const edgeLoop = async (worker: number) => {
      for (let i = worker; Date.now() < deadline; i += 8) {
        const route = ROUTES[i % ROUTES.length]!;
        let edgeError = '';
        const status = await new Promise<number>((resolve) => {
          const req = httpRequest(
            { host: '127.0.0.1', port: ready.edge, method: route.method, path: route.path(i), agent: edgeAgent, headers: { host: route.host ?? 'soak.test' } },
            (res) => {
              edgeError = String(res.headers['x-openfront-error'] ?? '');
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', (err) => {
            edgeError = err.message;
            resolve(0);
          });
          req.end(route.body);
        });
        counts[route.name] = (counts[route.name] ?? 0) + 1;
        if (!route.expect.includes(status)) unexpected.push(`${route.name} ${route.method} ${route.path(i)} → ${status} ${edgeError}`.trim());
      }
    };

    const apiLoop = async () => {
      for (let i = 0; Date.now() < deadline; i++) {
        try {
          const { ETag } = await kvs.send(new DescribeKeyValueStoreCommand({ KvsARN: ready.storeArn }));
          const put = await kvs.send(new PutKeyCommand({ KvsARN: ready.storeArn, Key: 'flag', Value: `v${i}`, IfMatch: ETag }));
          await kvs.send(
            new UpdateKeysCommand({
              KvsARN: ready.storeArn,
              IfMatch: put.ETag,
              Puts: [{ Key: `k${i % 50}`, Value: 'x'.repeat(i % 200) }],
              Deletes: i % 3 === 0 ? [{ Key: `k${(i + 25) % 50}` }] : [],
            }),
          );
          counts['api kvs'] = (counts['api kvs'] ?? 0) + 1;
          if (i % 5 === 0) {
            const dev = await cf.send(new DescribeFunctionCommand({ Name: 'good', Stage: 'DEVELOPMENT' }));
            const code = GOOD_VERSION(i);
            const updated = await cf.send(
              new UpdateFunctionCommand({
                Name: 'good',
                IfMatch: dev.ETag,
                FunctionConfig: {
                  Runtime: 'cloudfront-js-2.0',
                  Comment: `soak ${i}`,
                  KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: ready.storeArn }] },
                },
                FunctionCode: Buffer.from(code),
              }),
            );
            await cf.send(new PublishFunctionCommand({ Name: 'good', IfMatch: updated.ETag }));
            counts['api publish'] = (counts['api publish'] ?? 0) + 1;
          }
        } catch (err) {
          unexpected.push(`API write ${i}: ${(err as Error).name}: ${(err as Error).message}`);
        }
      }
    };

    const warmup = (async () => {
      await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
      afterWarmup = await ask<Memory>(child, { type: 'rss' }, 'rss');
    })();
    await Promise.all([...Array.from({ length: 8 }, (_, w) => edgeLoop(w)), apiLoop(), warmup]);
    const atEnd = await ask<Memory>(child, { type: 'rss' }, 'rss');
    edgeAgent.destroy();
    apiAgent.destroy();
    cf.destroy();
    kvs.destroy();

    assert.deepEqual(unexpected.slice(0, 20), [], `${unexpected.length} unexpected answers`);
    for (const route of ROUTES) assert.ok((counts[route.name] ?? 0) >= 5, `route ${route.name} ran only ${counts[route.name] ?? 0} times`);
    assert.ok((counts['api kvs'] ?? 0) >= 3 && (counts['api publish'] ?? 0) >= 1, JSON.stringify(counts));
    const warm = afterWarmup as Memory;
    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    const growth = atEnd.rss - warm.rss;
    // V8's own heap sizing, bounded by V8 (its maximum young generation), not memory the node keeps.
    const youngGrowth = Math.max(0, atEnd.youngGeneration - warm.youngGeneration);
    t.diagnostic(
      `answers per route: ${JSON.stringify(counts)}; RSS after warmup ${mb(warm.rss)} MB, at end ${mb(atEnd.rss)} MB; ` +
        `V8 young generation ${mb(warm.youngGeneration)} → ${mb(atEnd.youngGeneration)} MB`,
    );
    const grew = `RSS grew by ${mb(growth)} MB (from ${mb(warm.rss)} MB; allowed ${mb(MAX_RSS_GROWTH)} MB + ${mb(youngGrowth)} MB of young generation growth)`;
    assert.ok(growth < MAX_RSS_GROWTH + youngGrowth, grew);
  });
});

/** The edge's function, republished with a marker that changes its code hash each time. */
function GOOD_VERSION(i: number): string {
  return `import cf from 'cloudfront';
const kvs = cf.kvs();
// soak version ${i}
async function handler(event) {
  const flag = await kvs.exists('flag') ? await kvs.get('flag') : 'none';
  event.request.headers['x-flag'] = { value: flag };
  if (event.request.uri === '/generated') return { statusCode: 200, statusDescription: 'OK', body: 'generated ' + flag };
  return event.request;
}`;
}
