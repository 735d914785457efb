/**
 * Issue 12, finding 2: TestFunction runs code an access-key holder chose. It used to load and run that code on the
 * thread that serves viewers, so a looping DEVELOPMENT version held the edge up until each kill. Now it runs on
 * isolated-vm's own thread, a few at a time: viewers keep being answered while the calls spin, and callers beyond
 * the queue get a Throttling error at once.
 *
 * The kill limit is raised to 500 ms so that the order of events says it all: the edge answers many viewers
 * while a single TestFunction call is still spinning (it used to answer none until the call was killed).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloudFrontClient, CreateFunctionCommand, DescribeFunctionCommand, TestFunctionCommand } from '@aws-sdk/client-cloudfront';
import { parseConfig } from '../../src/config/load.js';
import { startOpenFrontNode, type OpenFrontNode, type OpenFrontNodeOptions } from '../../src/node/index.js';
import { randomBytes } from 'node:crypto';
import { startControlRole, type ControlRole } from '../../src/node/control-role.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { loopbackAgent } from './fixtures/kvs-api-harness.js';

const SPIN = 'function handler(event) {\n  while (true) {}\n}\n';
const EVENT = Buffer.from(
  JSON.stringify({
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '203.0.113.9' },
    request: { method: 'GET', uri: '/', querystring: {}, headers: {}, cookies: {} },
  }),
);

function viewer(base: string, path = '/hello'): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

interface Answer {
  kind: 'result' | 'error';
  /** FunctionErrorMessage, or the error's name (Throttling, …). */
  detail: string;
}

describe('TestFunction runs off the edge event loop, bounded (issue 12, finding 2)', () => {
  let dir: string;
  let node: OpenFrontNode;
  let cf: CloudFrontClient;
  let etag: string;
  const agent = loopbackAgent();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-testfn-'));
    writeFileSync(join(dir, 'hello.js'), 'function handler(event) { return { statusCode: 200, body: "hello" }; }\n');
    const config = parseConfig(
      {
        functions: [{ name: 'hello', code: 'hello.js' }],
        distributions: [
          {
            id: 'd',
            hostnames: ['*'],
            origins: [{ id: 'o', url: 'http://127.0.0.1:9' }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'hello' } },
          },
        ],
      },
      dir,
    );
    // Built as a variable: the test runs unchanged against code that predates the `testRuns` option.
    const options = {
      dataDir: join(dir, 'data'),
      config,
      api: { port: 0 },
      edge: { port: 0 },
      runtimeLimits: { killAfterMicros: 500_000 },
      testRuns: { concurrency: 1, queue: 2 },
    };
    node = await startOpenFrontNode(options as OpenFrontNodeOptions);
    const key = node.state.keys.createAccessKey('finding 2');
    cf = new CloudFrontClient({
      region: 'us-east-1',
      endpoint: `http://localhost:${node.api.port}`,
      credentials: key,
      maxAttempts: 1,
      requestHandler: { httpAgent: agent },
    });
    await cf.send(new CreateFunctionCommand({ Name: 'spin', FunctionConfig: { Runtime: 'cloudfront-js-2.0', Comment: '' }, FunctionCode: Buffer.from(SPIN) }));
    etag = (await cf.send(new DescribeFunctionCommand({ Name: 'spin', Stage: 'DEVELOPMENT' }))).ETag!;
  });

  after(async () => {
    cf.destroy();
    agent.destroy();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function testSpin(): Promise<Answer> {
    return cf.send(new TestFunctionCommand({ Name: 'spin', Stage: 'DEVELOPMENT', IfMatch: etag, EventObject: EVENT })).then(
      (out) => ({ kind: 'result', detail: out.TestResult?.FunctionErrorMessage ?? '' }),
      (err: Error) => ({ kind: 'error', detail: err.name }),
    );
  }

  it('keeps answering viewers while a TestFunction call spins until its kill', async () => {
    assert.equal(await viewer(node.edge.url), 200);
    let done = false;
    const call = testSpin().finally(() => {
      done = true;
    });
    const statuses: number[] = [];
    while (!done) statuses.push(await viewer(node.edge.url));
    const answer = await call;
    assert.equal(answer.kind, 'result');
    assert.match(answer.detail, /CPU|time/i, 'the call was killed, not refused');
    assert.ok(statuses.length >= 5, `only ${statuses.length} viewer requests were answered while the TestFunction call ran`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
  });

  it('with several clients at once: viewers are answered while the calls spin one after the other, and callers past the queue get Throttling', async () => {
    let finished = 0;
    let pending = 4;
    const calls = Array.from({ length: 4 }, () =>
      testSpin().then((answer) => {
        if (answer.kind === 'result') finished++;
        pending--;
        return answer;
      }),
    );
    const statuses: number[] = [];
    let answeredBeforeAnyCall = 0;
    while (pending > 0) {
      statuses.push(await viewer(node.edge.url));
      if (finished === 0) answeredBeforeAnyCall++;
    }
    const answers = await Promise.all(calls);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    // Three calls spin 500 ms each, one after the other; the event loop kept serving throughout.
    assert.ok(answeredBeforeAnyCall >= 5, `only ${answeredBeforeAnyCall} viewers were answered before the first call returned`);
    assert.ok(statuses.length >= 3 * 5, `only ${statuses.length} viewers were answered while the calls ran`);
    // concurrency 1 + queue 2: the fourth concurrent caller is refused at once.
    assert.deepEqual(answers.map((a) => (a.kind === 'error' ? a.detail : 'ran')).sort(), ['Throttling', 'ran', 'ran', 'ran']);
  });
});

describe('TestFunction on openfront control --nats runs off the API event loop, bounded', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let control: ControlRole;
  let cf: CloudFrontClient;
  let etag: string;
  const agent = loopbackAgent();

  before(async () => {
    server = await startNatsServer();
    control = await startControlRole({
      nats: server.url,
      secretKey: randomBytes(32),
      api: { port: 0 },
      runtimeLimits: { killAfterMicros: 500_000 },
      testRuns: { concurrency: 1, queue: 2 },
    });
    const key = await control.state.accessKeys.create('finding 2 on control');
    cf = new CloudFrontClient({
      region: 'us-east-1',
      endpoint: `http://localhost:${control.api.port}`,
      credentials: key,
      maxAttempts: 1,
      requestHandler: { httpAgent: agent },
    });
    await cf.send(new CreateFunctionCommand({ Name: 'spin', FunctionConfig: { Runtime: 'cloudfront-js-2.0', Comment: '' }, FunctionCode: Buffer.from(SPIN) }));
    etag = (await cf.send(new DescribeFunctionCommand({ Name: 'spin', Stage: 'DEVELOPMENT' }))).ETag!;
  });

  after(async () => {
    cf.destroy();
    agent.destroy();
    await control.close();
    await server.dispose();
  });

  it('keeps answering API requests while the calls spin one after the other, and callers past the queue get Throttling', async () => {
    const testSpin = (): Promise<Answer> =>
      cf.send(new TestFunctionCommand({ Name: 'spin', Stage: 'DEVELOPMENT', IfMatch: etag, EventObject: EVENT })).then(
        (out) => ({ kind: 'result', detail: out.TestResult?.FunctionErrorMessage ?? '' }),
        (err: Error) => ({ kind: 'error', detail: err.name }),
      );
    let pending = 4;
    const calls = Array.from({ length: 4 }, () => testSpin().finally(() => pending--));
    const statuses: number[] = [];
    while (pending > 0) statuses.push(await viewer(`${control.api.url.replace(/\/$/, '')}`, '/healthz'));
    const answers = await Promise.all(calls);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
    );
    assert.ok(statuses.length >= 3 * 5, `only ${statuses.length} API requests were answered while the calls ran`);
    for (const a of answers) if (a.kind === 'result') assert.match(a.detail, /CPU|time/i, 'the call was killed, not refused');
    assert.deepEqual(answers.map((a) => (a.kind === 'error' ? a.detail : 'ran')).sort(), ['Throttling', 'ran', 'ran', 'ran']);
  });
});
