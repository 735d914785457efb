/**
 * Function lifecycle benchmark (issue 5), beside a baseline measured in the same run:
 *   - TestFunction latency through the API with the official `@aws-sdk/client-cloudfront` client (SigV4, REST-XML,
 *     the store read through the replica) against a direct in-process engine call of the same code and event;
 *   - time from PublishFunction to the edge serving the new version (the publish call plus the first edge request
 *     that shows it) against loading and running the same code directly in process.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFrontClient, DescribeFunctionCommand, PublishFunctionCommand, TestFunctionCommand, UpdateFunctionCommand } from '@aws-sdk/client-cloudfront';
import { parseConfig } from '../src/config/load.js';
import { loopbackAgent } from '../src/devtools/sdk-agent.js';
import { startOpenFrontNode } from '../src/node/index.js';
import { loadFunction, loadFunctionSync } from '../src/runtime/function.js';
import { MapSnapshot } from '../src/kvs/snapshot.js';
import { fmt, printTable, sampleAsync, summarize, type BenchRow } from './stats.js';

const TEST_SAMPLES = 300;
const PUBLISHES = 30;

const CODE = (version: number) => `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const target = await kvs.exists(event.request.uri) ? await kvs.get(event.request.uri) : null;
  if (target) return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: target }, 'x-version': { value: '${version}' } } };
  return { statusCode: 200, statusDescription: 'OK', headers: { 'x-version': { value: '${version}' } }, body: 'v${version}' };
}`;

const EVENT = {
  version: '1.0' as const,
  context: { eventType: 'viewer-request' as const },
  viewer: { ip: '203.0.113.9' },
  request: { method: 'GET', uri: '/old', querystring: {}, headers: { host: { value: 'bench.example' } }, cookies: {} },
};

function edgeVersion(edgeUrl: string): Promise<string | undefined> {
  const { hostname, port } = new URL(edgeUrl);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: '/page', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.headers['x-version'] as string | undefined));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function runFunctionsBench(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-functions-'));
  writeFileSync(join(dir, 'router.js'), CODE(0));
  writeFileSync(join(dir, 'table.json'), JSON.stringify({ data: [{ key: '/old', value: '/new' }] }));
  const config = parseConfig(
    {
      server: { port: 0, cacheBytes: 0 },
      stores: [{ name: 'table', seed: 'table.json' }],
      functions: [{ name: 'router', code: 'router.js', store: 'table' }],
      distributions: [
        {
          id: 'EBENCH',
          hostnames: ['*'],
          origins: [{ id: 'site', static: '.' }],
          defaultBehavior: { origin: 'site', functionAssociations: { 'viewer-request': 'router' } },
        },
      ],
    },
    dir,
  );
  const node = await startOpenFrontNode({ dataDir: join(dir, 'data'), config, api: { port: 0 }, edge: { port: 0 } });
  const agent = loopbackAgent();
  const client = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: node.api.url,
    credentials: node.state.keys.createAccessKey('bench'),
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
  try {
    // TestFunction through the API vs the engine called directly.
    const eventBlob = Buffer.from(JSON.stringify(EVENT));
    const { ETag } = await client.send(new DescribeFunctionCommand({ Name: 'router', Stage: 'DEVELOPMENT' }));
    const viaApi = await sampleAsync(
      () => client.send(new TestFunctionCommand({ Name: 'router', IfMatch: ETag, Stage: 'DEVELOPMENT', EventObject: eventBlob })),
      TEST_SAMPLES,
      30,
    );
    const direct = await loadFunction(CODE(0));
    const snapshot = new MapSnapshot({ '/old': '/new' });
    const inProcess = await sampleAsync(() => direct.run(EVENT, { kvs: snapshot }), TEST_SAMPLES, 30);
    direct.dispose();
    // TestFunction loads the stage's code into a fresh isolate each time (no state leaks between tests): the
    // in-process equivalent is a cold load plus one run.
    const coldInProcess = await sampleAsync(
      async () => {
        const fn = await loadFunction(CODE(0));
        await fn.run(EVENT, { kvs: snapshot });
        fn.dispose();
      },
      TEST_SAMPLES,
      30,
    );

    // Publish → the edge serves the new version, vs loading + running the new code in process.
    const publishToEdge: number[] = [];
    const loadAndRun: number[] = [];
    for (let version = 1; version <= PUBLISHES; version++) {
      const dev = await client.send(new DescribeFunctionCommand({ Name: 'router', Stage: 'DEVELOPMENT' }));
      const updated = await client.send(
        new UpdateFunctionCommand({
          Name: 'router',
          IfMatch: dev.ETag,
          FunctionConfig: {
            Comment: 'bench',
            Runtime: 'cloudfront-js-2.0',
            KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: node.state.kvs.getStore({ name: 'table' })?.arn }] },
          },
          FunctionCode: Buffer.from(CODE(version)),
        }),
      );
      const started = process.hrtime.bigint();
      await client.send(new PublishFunctionCommand({ Name: 'router', IfMatch: updated.ETag }));
      let seen = await edgeVersion(node.edge.url);
      while (seen !== String(version)) seen = await edgeVersion(node.edge.url);
      publishToEdge.push(Number(process.hrtime.bigint() - started) / 1e6);

      const t0 = process.hrtime.bigint();
      const fn = loadFunctionSync(CODE(version));
      fn.runSync(EVENT, { kvs: snapshot });
      loadAndRun.push(Number(process.hrtime.bigint() - t0) / 1e6);
      fn.dispose();
    }

    const api = summarize(viaApi.map((us) => us / 1000));
    const base = summarize(inProcess.map((us) => us / 1000));
    const cold = summarize(coldInProcess.map((us) => us / 1000));
    const publish = summarize(publishToEdge);
    const load = summarize(loadAndRun);
    return [
      {
        name: 'TestFunction via SDK p50 (ms) vs warm engine call',
        value: fmt(api.p50, 2),
        baseline: fmt(base.p50, 3),
        ratio: `${fmt(api.p50 / base.p50, 0)}x`,
      },
      {
        name: 'TestFunction via SDK p99 (ms) vs warm engine call',
        value: fmt(api.p99, 2),
        baseline: fmt(base.p99, 3),
        ratio: `${fmt(api.p99 / base.p99, 0)}x`,
      },
      { name: 'TestFunction via SDK p50 (ms) vs cold load + run', value: fmt(api.p50, 2), baseline: fmt(cold.p50, 2), ratio: `${fmt(api.p50 / cold.p50, 1)}x` },
      { name: 'TestFunction via SDK p99 (ms) vs cold load + run', value: fmt(api.p99, 2), baseline: fmt(cold.p99, 2), ratio: `${fmt(api.p99 / cold.p99, 1)}x` },
      { name: 'publish → edge serves it, p50 (ms)', value: fmt(publish.p50, 2), baseline: fmt(load.p50, 2), ratio: `${fmt(publish.p50 / load.p50, 1)}x` },
      { name: 'publish → edge serves it, max (ms)', value: fmt(Math.max(...publishToEdge), 2), baseline: fmt(Math.max(...loadAndRun), 2) },
    ];
  } finally {
    client.destroy();
    agent.destroy();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function main(): Promise<void> {
  printTable('Functions: TestFunction through the API, publish to edge (baseline: the engine called in process)', await runFunctionsBench());
}
