import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CloudFrontClient,
  CreateFunctionCommand,
  CreateKeyValueStoreCommand,
  DeleteFunctionCommand,
  DeleteKeyValueStoreCommand,
  DescribeFunctionCommand,
  DescribeKeyValueStoreCommand,
  GetFunctionCommand,
  ListFunctionsCommand,
  PublishFunctionCommand,
  TestFunctionCommand,
  UpdateFunctionCommand,
  type FunctionConfig,
} from '@aws-sdk/client-cloudfront';
import { startApiServer, type ApiServer } from '../../src/control/api-server.js';
import { functionRouteGroup, FunctionRegistry, type FunctionRegistryOptions } from '../../src/control/functions/index.js';
import { LiveFunctions } from '../../src/node/live-functions.js';
import { openSqliteParts, sqliteState } from '../../src/state/sqlite/index.js';
import { ReplicaSet } from '../../src/kvs/replica.js';
import { normalizeTestEvent } from '../../src/runtime/test-event.js';
import {
  HARNESS_TARGETS,
  loopbackAgent,
  rawRequest,
  sdkError,
  type Credentials,
  type HarnessTarget,
  type RawRequest,
  type RawResponse,
} from './fixtures/kvs-api-harness.js';
import { randomBytes } from 'node:crypto';
import { startControlRole } from '../../src/node/control-role.js';
import type { NodeState } from '../../src/state/types.js';
import { sharedNatsServer } from '../helpers/nats-shared.js';
import { requestOf } from '../helpers/results.js';

const nats = sharedNatsServer();
after(() => nats.dispose());

interface FunctionServer {
  /** The state behind the API, whichever the target. */
  state: NodeState;
  /** The edge's LIVE functions of the same process (target `start` only: a control process has no edge). */
  live?: LiveFunctions;
  server: ApiServer;
  key: Credentials;
  cf: CloudFrontClient;
  inUse: Set<string>;
  raw(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

async function startFunctionServer(options: FunctionRegistryOptions = {}, target: HarnessTarget = 'start'): Promise<FunctionServer> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-fn-api-'));
  const inUse = new Set<string>();
  let state: NodeState;
  let live: LiveFunctions | undefined;
  let server: ApiServer;
  let closeTarget: () => Promise<void>;
  if (target === 'start') {
    const parts = openSqliteParts(join(dir, 'openfront.db'));
    const registry = new FunctionRegistry(parts, { isFunctionInUse: (name) => inUse.has(name), ...options });
    const replicas = new ReplicaSet(parts.stores);
    const edgeLive = new LiveFunctions(registry, replicas);
    live = edgeLive;
    state = sqliteState(parts, registry);
    const started = await startApiServer({ state, port: 0, routes: [functionRouteGroup(state.functions, replicas)] });
    server = started;
    closeTarget = async () => {
      edgeLive.close();
      replicas.close();
      await started.close();
      parts.database.close();
    };
  } else {
    const natsServer = await nats.fresh();
    const role = await startControlRole({ nats: natsServer.url, secretKey: randomBytes(32), api: { port: 0 }, functions: options });
    role.state.functions.setFunctionInUseCheck((name) => inUse.has(name));
    state = role.state;
    server = role.api;
    closeTarget = () => role.close();
  }
  const key = await state.accessKeys.create('function api test');
  const agent = loopbackAgent();
  const cf = new CloudFrontClient({
    region: 'us-east-1',
    endpoint: `http://localhost:${server.port}`,
    credentials: key,
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
  return {
    state,
    live,
    server,
    key,
    cf,
    inUse,
    raw: (request) => rawRequest(server.port, { credentials: key, ...request }),
    close: async () => {
      cf.destroy();
      agent.destroy();
      await closeTarget();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const V2: FunctionConfig = { Runtime: 'cloudfront-js-2.0', Comment: '' };
const utf8 = (text: string) => Buffer.from(text, 'utf8');
const tagging = (tag: string) =>
  `function handler(event) {\n  console.log('tag ${tag}');\n  event.request.headers['x-tag'] = { value: '${tag}' };\n  return event.request;\n}\n`;
const EVENT = {
  version: '1.0',
  context: { eventType: 'viewer-request' },
  viewer: { ip: '203.0.113.9' },
  request: { method: 'GET', uri: '/index.html', querystring: {}, headers: { host: { value: 'example.com' } }, cookies: {} },
};
const eventBytes = utf8(JSON.stringify(EVENT));

function tagOf(functionOutput: string | undefined): string | undefined {
  return (JSON.parse(functionOutput ?? '{}') as { request?: { headers?: Record<string, { value: string }> } }).request?.headers?.['x-tag']?.value;
}

for (const target of HARNESS_TARGETS)
  describe(`function API through @aws-sdk/client-cloudfront, on ${target.name}`, { skip: target.skip }, () => {
    let s: FunctionServer;
    before(async () => {
      s = await startFunctionServer({}, target.name);
    });

    /** The LIVE version: what the edge of the process loaded (start), or what NATS says LIVE is (control). */
    async function liveVersion(name: string): Promise<number | undefined> {
      return s.live !== undefined ? s.live.get(name)?.version : (await s.state.functions.live(name))?.version;
    }
    after(() => s.close());

    async function etag(name: string, stage: 'DEVELOPMENT' | 'LIVE' = 'DEVELOPMENT'): Promise<string> {
      return (await s.cf.send(new DescribeFunctionCommand({ Name: name, Stage: stage }))).ETag!;
    }

    async function test(name: string, stage: 'DEVELOPMENT' | 'LIVE', event = eventBytes) {
      return (await s.cf.send(new TestFunctionCommand({ Name: name, Stage: stage, IfMatch: await etag(name, stage), EventObject: event }))).TestResult!;
    }

    function nativeJson(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      return s.raw({
        method,
        path,
        service: 'openfront',
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    }

    it('runs the whole lifecycle: create, test, publish, serve, update, publish, rollback', async () => {
      const created = await s.cf.send(
        new CreateFunctionCommand({ Name: 'life', FunctionConfig: { ...V2, Comment: 'v1 & <first>' }, FunctionCode: utf8(tagging('v1')) }),
      );
      assert.equal(created.$metadata.httpStatusCode, 201);
      assert.match(created.ETag ?? '', /^E[0-9A-Z]{13}$/);
      assert.equal(created.Location, `http://localhost:${s.server.port}/2020-05-31/function/arn:aws:cloudfront::${s.state.stores.accountId}:function/life`);
      assert.equal(created.FunctionSummary?.Name, 'life');
      assert.equal(created.FunctionSummary?.Status, 'UNPUBLISHED');
      assert.equal(created.FunctionSummary?.FunctionConfig?.Comment, 'v1 & <first>');
      assert.equal(created.FunctionSummary?.FunctionConfig?.Runtime, 'cloudfront-js-2.0');
      assert.equal(created.FunctionSummary?.FunctionMetadata?.Stage, 'DEVELOPMENT');
      assert.equal(created.FunctionSummary?.FunctionMetadata?.FunctionARN, `arn:aws:cloudfront::${s.state.stores.accountId}:function/life`);
      assert.ok(created.FunctionSummary?.FunctionMetadata?.CreatedTime instanceof Date);

      const tested = await test('life', 'DEVELOPMENT');
      assert.equal(tagOf(tested.FunctionOutput), 'v1');
      assert.deepEqual(tested.FunctionExecutionLogs, ['tag v1']);
      assert.equal(tested.FunctionErrorMessage, '');
      assert.match(tested.ComputeUtilization ?? '', /^\d{1,3}$/);
      assert.equal(tested.FunctionSummary?.FunctionMetadata?.Stage, 'DEVELOPMENT');
      assert.equal(await liveVersion('life'), undefined);
      assert.equal((await sdkError(test('life', 'LIVE'))).name, 'NoSuchFunctionExists');

      const published = await s.cf.send(new PublishFunctionCommand({ Name: 'life', IfMatch: created.ETag }));
      assert.equal(published.FunctionSummary?.FunctionMetadata?.Stage, 'LIVE');
      assert.equal(published.FunctionSummary?.Status, 'UNASSOCIATED');
      assert.equal(await liveVersion('life'), 1);
      const servingV1 = s.live?.get('life');
      if (s.live !== undefined) {
        assert.equal(s.live.live('life')?.version, '1');
        assert.equal(tagOf(JSON.stringify({ request: requestOf(await servingV1!.fn.run(normalizeTestEvent(EVENT))) })), 'v1');
      }

      const updated = await s.cf.send(
        new UpdateFunctionCommand({ Name: 'life', IfMatch: created.ETag, FunctionConfig: V2, FunctionCode: utf8(tagging('v2')) }),
      );
      assert.match(updated.ETag ?? '', /^E[0-9A-Z]{13}$/, 'the SDK reads the new ETag from the ETtag header');
      assert.notEqual(updated.ETag, created.ETag);
      assert.equal(updated.FunctionSummary?.Status, 'UNPUBLISHED');
      assert.equal(updated.FunctionSummary?.FunctionConfig?.Comment, '');
      assert.equal(tagOf((await test('life', 'DEVELOPMENT')).FunctionOutput), 'v2');
      assert.equal(tagOf((await test('life', 'LIVE')).FunctionOutput), 'v1');
      assert.equal(await liveVersion('life'), 1, 'an update does not touch LIVE');

      await s.cf.send(new PublishFunctionCommand({ Name: 'life', IfMatch: updated.ETag }));
      assert.equal(await liveVersion('life'), 2);
      if (s.live !== undefined) {
        const servingV2 = s.live.get('life')!;
        assert.equal(requestOf(await servingV2.fn.run(normalizeTestEvent(EVENT))).headers['x-tag']?.value, 'v2');
        // The replaced version was idle: its isolate is freed at once, not after the grace period…
        assert.ok((await servingV2.fn.heapUsedBytes!()) > 0);
        assert.equal(await servingV1!.fn.heapUsedBytes!(), 0);
        // …and yet the entry taken before the swap still runs: in-flight requests finish on the old code (on a fresh
        // isolate, freed again once the invocation returns).
        assert.equal(requestOf(await servingV1!.fn.run(normalizeTestEvent(EVENT))).headers['x-tag']?.value, 'v1');
        assert.equal(await servingV1!.fn.heapUsedBytes!(), 0);
      }

      const got = await s.cf.send(new GetFunctionCommand({ Name: 'life', Stage: 'LIVE' }));
      assert.equal(Buffer.from(got.FunctionCode!).toString('utf8'), tagging('v2'));
      assert.equal(got.ETag, await etag('life', 'LIVE'));

      const versions = await nativeJson('GET', '/openfront/v1/functions/life/versions');
      assert.equal(versions.status, 200);
      const listed = JSON.parse(versions.body) as {
        stages: Record<string, { version: number; etag: string }>;
        versions: Array<{ version: number; stages: string[]; createdBy: string }>;
      };
      assert.deepEqual(
        listed.versions.map((v) => [v.version, v.stages, v.createdBy]),
        [
          [1, [], s.key.accessKeyId],
          [2, ['DEVELOPMENT', 'LIVE'], s.key.accessKeyId],
        ],
      );
      const version1 = JSON.parse((await nativeJson('GET', '/openfront/v1/functions/life/versions/1')).body) as { code: string; config: { comment: string } };
      assert.equal(version1.code, tagging('v1'));
      assert.equal(version1.config.comment, 'v1 & <first>');
      const diff = JSON.parse((await nativeJson('GET', '/openfront/v1/functions/life/diff?from=1&to=2')).body) as { diff: string };
      assert.match(diff.diff, /^--- life@1\n\+\+\+ life@2\n@@ -1,5 \+1,5 @@\n/);
      assert.match(diff.diff, /^- {2}console\.log\('tag v1'\);$/m);
      assert.match(diff.diff, /^\+ {2}console\.log\('tag v2'\);$/m);

      const liveEtag = listed.stages.LIVE.etag;
      assert.equal((await nativeJson('POST', '/openfront/v1/functions/life/rollback', { version: 1 })).status, 400, 'If-Match is required');
      const stale = await nativeJson('POST', '/openfront/v1/functions/life/rollback', { version: 1 }, { 'if-match': updated.ETag! });
      assert.equal(stale.status, 412);
      assert.equal((JSON.parse(stale.body) as { error: { type: string } }).error.type, 'PreconditionFailed');
      const missing = await nativeJson('POST', '/openfront/v1/functions/life/rollback', { version: 7 }, { 'if-match': liveEtag });
      assert.equal(missing.status, 404);
      const rolledBack = await nativeJson('POST', '/openfront/v1/functions/life/rollback', { version: 1 }, { 'if-match': liveEtag });
      assert.equal(rolledBack.status, 200);
      assert.equal((JSON.parse(rolledBack.body) as { version: number }).version, 1);

      assert.equal(await liveVersion('life'), 1);
      if (s.live !== undefined) {
        const servingAgain = s.live.get('life')!;
        assert.notEqual(servingAgain.fn, servingV1!.fn, 'the rolled-back version is loaded afresh');
        assert.equal(requestOf(await servingAgain.fn.run(normalizeTestEvent(EVENT))).headers['x-tag']?.value, 'v1');
      }
      const liveNow = JSON.parse((await nativeJson('GET', '/openfront/v1/functions/life/live')).body) as { version: number; etag: string };
      assert.equal(liveNow.version, 1);
      assert.equal(liveNow.etag, await etag('life', 'LIVE'));
      assert.equal((await s.cf.send(new DescribeFunctionCommand({ Name: 'life', Stage: 'LIVE' }))).FunctionSummary?.Status, 'UNPUBLISHED');
      assert.equal(tagOf((await test('life', 'LIVE')).FunctionOutput), 'v1');

      const operations = (await s.state.audit.list({ accessKeyId: s.key.accessKeyId, limit: 20 }))
        .filter((r) => r.functionName === 'life')
        .map((r) => r.operation)
        .reverse();
      assert.deepEqual(operations, ['CreateFunction', 'PublishFunction', 'UpdateFunction', 'PublishFunction', 'RollbackFunction']);
    });

    it('answers CloudFront errors with their codes and statuses', async () => {
      const created = await s.cf.send(new CreateFunctionCommand({ Name: 'errs', FunctionConfig: V2, FunctionCode: utf8(tagging('e1')) }));
      const dup = await sdkError(s.cf.send(new CreateFunctionCommand({ Name: 'errs', FunctionConfig: V2, FunctionCode: utf8(tagging('e1')) })));
      assert.deepEqual([dup.name, dup.status], ['FunctionAlreadyExists', 409]);
      const missing = await sdkError(s.cf.send(new DescribeFunctionCommand({ Name: 'nope' })));
      assert.deepEqual([missing.name, missing.status], ['NoSuchFunctionExists', 404]);
      assert.equal((await sdkError(s.cf.send(new GetFunctionCommand({ Name: 'nope' })))).name, 'NoSuchFunctionExists');
      const badName = await sdkError(s.cf.send(new CreateFunctionCommand({ Name: 'no spaces', FunctionConfig: V2, FunctionCode: utf8(tagging('x')) })));
      assert.deepEqual([badName.name, badName.status], ['InvalidArgument', 400]);
      const badRuntime = await sdkError(
        s.cf.send(new CreateFunctionCommand({ Name: 'rt', FunctionConfig: { Runtime: 'nodejs' as never, Comment: '' }, FunctionCode: utf8(tagging('x')) })),
      );
      assert.deepEqual([badRuntime.name, badRuntime.status], ['InvalidArgument', 400]);

      // If-Match: missing → 400 InvalidIfMatchVersion, stale → 412 PreconditionFailed, for every write.
      const update = (ifMatch?: string) =>
        s.cf.send(new UpdateFunctionCommand({ Name: 'errs', IfMatch: ifMatch, FunctionConfig: V2, FunctionCode: utf8(tagging('e2')) }));
      assert.deepEqual(Object.values(await sdkError(update())).slice(0, 2), ['InvalidIfMatchVersion', 400]);
      assert.deepEqual(Object.values(await sdkError(update('E0000000000000'))).slice(0, 2), ['PreconditionFailed', 412]);
      const noSuchUpdate = await sdkError(
        s.cf.send(new UpdateFunctionCommand({ Name: 'ghost', IfMatch: created.ETag, FunctionConfig: V2, FunctionCode: utf8(tagging('e2')) })),
      );
      assert.equal(noSuchUpdate.name, 'NoSuchFunctionExists');
      assert.deepEqual(Object.values(await sdkError(s.cf.send(new PublishFunctionCommand({ Name: 'errs', IfMatch: undefined })))).slice(0, 2), [
        'InvalidIfMatchVersion',
        400,
      ]);
      assert.deepEqual(Object.values(await sdkError(s.cf.send(new PublishFunctionCommand({ Name: 'errs', IfMatch: 'E0000000000000' })))).slice(0, 2), [
        'PreconditionFailed',
        412,
      ]);
      assert.deepEqual(
        Object.values(await sdkError(s.cf.send(new TestFunctionCommand({ Name: 'errs', IfMatch: 'E0000000000000', EventObject: eventBytes })))).slice(0, 2),
        ['PreconditionFailed', 412],
      );
      assert.deepEqual(Object.values(await sdkError(s.cf.send(new DeleteFunctionCommand({ Name: 'errs', IfMatch: undefined })))).slice(0, 2), [
        'InvalidIfMatchVersion',
        400,
      ]);
      assert.deepEqual(Object.values(await sdkError(s.cf.send(new DeleteFunctionCommand({ Name: 'errs', IfMatch: 'E0000000000000' })))).slice(0, 2), [
        'PreconditionFailed',
        412,
      ]);

      // A bad test event is the caller's error; a function that throws is reported inside a 200 TestResult.
      const badEvent = await sdkError(s.cf.send(new TestFunctionCommand({ Name: 'errs', IfMatch: created.ETag, EventObject: utf8('{"request": 1}') })));
      assert.deepEqual([badEvent.name, badEvent.status], ['InvalidArgument', 400]);
      const thrower = await s.cf.send(
        new CreateFunctionCommand({ Name: 'thrower', FunctionConfig: V2, FunctionCode: utf8("function handler(event) {\n  throw new Error('boom');\n}\n") }),
      );
      const thrown = (await s.cf.send(new TestFunctionCommand({ Name: 'thrower', IfMatch: thrower.ETag, EventObject: eventBytes }))).TestResult!;
      assert.match(thrown.FunctionErrorMessage ?? '', /boom/);
      assert.equal(thrown.FunctionOutput, '');

      const badStage = await s.raw({ method: 'GET', path: '/2020-05-31/function/errs/describe?Stage=PROD', service: 'cloudfront' });
      assert.equal(badStage.status, 400);
      assert.match(badStage.body, /<Code>InvalidArgument<\/Code>/);
      const unsigned = await s.raw({ method: 'GET', path: '/2020-05-31/function', sign: false });
      assert.equal(unsigned.status, 403);
      assert.match(unsigned.body, /<Code>AccessDenied<\/Code>/);
      const nativeUnknown = await s.raw({ method: 'GET', path: '/openfront/v1/functions/nope/versions', service: 'openfront' });
      assert.equal(nativeUnknown.status, 404);

      // UpdateFunction carries the new ETag under both header spellings.
      const rawUpdate = await s.raw({
        method: 'PUT',
        path: '/2020-05-31/function/errs',
        service: 'cloudfront',
        headers: { 'if-match': created.ETag!, 'content-type': 'application/xml' },
        body: `<?xml version="1.0" encoding="UTF-8"?><UpdateFunctionRequest xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><FunctionConfig><Comment></Comment><Runtime>cloudfront-js-2.0</Runtime></FunctionConfig><FunctionCode>${utf8(tagging('raw')).toString('base64')}</FunctionCode></UpdateFunctionRequest>`,
      });
      assert.equal(rawUpdate.status, 200);
      assert.match(String(rawUpdate.headers.ettag), /^E[0-9A-Z]{13}$/);
      assert.equal(rawUpdate.headers.etag, rawUpdate.headers.ettag);

      // DeleteFunction: FunctionInUse while the edge config uses it, then 204.
      const current = await etag('errs');
      s.inUse.add('errs');
      assert.deepEqual(Object.values(await sdkError(s.cf.send(new DeleteFunctionCommand({ Name: 'errs', IfMatch: current })))).slice(0, 2), [
        'FunctionInUse',
        409,
      ]);
      s.inUse.delete('errs');
      const deleted = await s.cf.send(new DeleteFunctionCommand({ Name: 'errs', IfMatch: current }));
      assert.equal(deleted.$metadata.httpStatusCode, 204);
      assert.equal((await sdkError(s.cf.send(new DescribeFunctionCommand({ Name: 'errs' })))).name, 'NoSuchFunctionExists');
    });

    it('refuses code over 10 KB with FunctionSizeLimitExceeded and code the checker rejects with line:col', async () => {
      const big = await sdkError(
        s.cf.send(new CreateFunctionCommand({ Name: 'big', FunctionConfig: V2, FunctionCode: utf8(`${tagging('b')}//${'x'.repeat(10 * 1024)}\n`) })),
      );
      assert.deepEqual([big.name, big.status], ['FunctionSizeLimitExceeded', 413]);
      const unsupported = await sdkError(
        s.cf.send(
          new CreateFunctionCommand({
            Name: 'old',
            FunctionConfig: { Runtime: 'cloudfront-js-1.0', Comment: '' },
            FunctionCode: utf8('function handler(event) {\n  let uri = event.request.uri;\n  return event.request;\n}\n'),
          }),
        ),
      );
      assert.deepEqual([unsupported.name, unsupported.status], ['InvalidArgument', 400]);
      assert.match(unsupported.message, /^old:2:3 /);
      const created = await s.cf.send(new CreateFunctionCommand({ Name: 'checked', FunctionConfig: V2, FunctionCode: utf8(tagging('ok')) }));
      const broken = await sdkError(
        s.cf.send(
          new UpdateFunctionCommand({
            Name: 'checked',
            IfMatch: created.ETag,
            FunctionConfig: V2,
            FunctionCode: utf8('function handler(event) {\n  return event.request +;\n}\n'),
          }),
        ),
      );
      assert.deepEqual([broken.name, broken.status], ['InvalidArgument', 400]);
      assert.match(broken.message, /^checked:2:\d+ /);
      assert.equal((await s.cf.send(new DescribeFunctionCommand({ Name: 'checked' }))).ETag, created.ETag, 'a refused update writes nothing');
      assert.equal((await sdkError(s.cf.send(new DescribeFunctionCommand({ Name: 'big' })))).name, 'NoSuchFunctionExists');
    });

    it('lets exactly one of 10 concurrent updates with the same ETag win', async () => {
      const created = await s.cf.send(new CreateFunctionCommand({ Name: 'race', FunctionConfig: V2, FunctionCode: utf8(tagging('r0')) }));
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          s.cf.send(new UpdateFunctionCommand({ Name: 'race', IfMatch: created.ETag, FunctionConfig: V2, FunctionCode: utf8(tagging(`r${i + 1}`)) })),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as { name: string; $metadata: { httpStatusCode: number } }] : []));
      assert.equal(won.length, 1);
      assert.equal(lost.length, 9);
      for (const err of lost) assert.deepEqual([err.name, err.$metadata.httpStatusCode], ['PreconditionFailed', 412]);
      assert.deepEqual(
        (await s.state.functions.versions('race')).map((v) => v.version),
        [1, 2],
      );
      assert.equal((await s.cf.send(new DescribeFunctionCommand({ Name: 'race' }))).ETag, won[0].status === 'fulfilled' ? won[0].value.ETag : undefined);
    });

    it("tests a function against its associated store's current data", async () => {
      const store = await s.cf.send(new CreateKeyValueStoreCommand({ Name: 'greetings' }));
      const arn = store.KeyValueStore!.ARN!;
      const storeId = store.KeyValueStore!.Id!;
      let dataEtag = (await s.state.stores.getStore({ id: storeId }))!.etag;
      dataEtag = (await s.state.stores.putKey(storeId, 'greeting', 'hello', dataEtag, { accessKeyId: 'test' })).etag;
      const code = [
        "import cf from 'cloudfront';",
        'const kvs = cf.kvs();',
        'async function handler(event) {',
        "  event.request.headers['x-greeting'] = { value: await kvs.get('greeting') };",
        '  return event.request;',
        '}',
        '',
      ].join('\n');
      const config: FunctionConfig = { ...V2, KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: arn }] } };
      const created = await s.cf.send(new CreateFunctionCommand({ Name: 'greeter', FunctionConfig: config, FunctionCode: utf8(code) }));
      assert.equal(created.FunctionSummary?.FunctionConfig?.KeyValueStoreAssociations?.Quantity, 1);
      assert.equal(created.FunctionSummary?.FunctionConfig?.KeyValueStoreAssociations?.Items?.[0]?.KeyValueStoreARN, arn);

      const greeting = async () => {
        const result = (await s.cf.send(new TestFunctionCommand({ Name: 'greeter', IfMatch: await etag('greeter'), EventObject: eventBytes }))).TestResult!;
        assert.equal(result.FunctionErrorMessage, '');
        return (JSON.parse(result.FunctionOutput!) as { request: { headers: Record<string, { value: string }> } }).request.headers['x-greeting'].value;
      };
      assert.equal(await greeting(), 'hello');
      await s.state.stores.putKey(storeId, 'greeting', 'bonjour', dataEtag, { accessKeyId: 'test' });
      assert.equal(await greeting(), 'bonjour', 'TestFunction reads the store as it is now');

      await s.cf.send(new PublishFunctionCommand({ Name: 'greeter', IfMatch: created.ETag }));
      assert.equal((await s.state.functions.live('greeter'))?.kvsStoreId, storeId);
      if (s.live !== undefined) {
        const serving = s.live.get('greeter')!;
        assert.equal(serving.kvs.defaultStoreId, storeId);
        assert.equal(requestOf(await serving.fn.run(normalizeTestEvent(EVENT), { kvs: serving.kvs })).headers['x-greeting']?.value, 'bonjour');
      }

      const storeEtag = (await s.cf.send(new DescribeKeyValueStoreCommand({ Name: 'greetings' }))).ETag;
      const inUse = await sdkError(s.cf.send(new DeleteKeyValueStoreCommand({ Name: 'greetings', IfMatch: storeEtag })));
      assert.deepEqual([inUse.name, inUse.status], ['CannotDeleteEntityWhileInUse', 409]);

      const unknownStore = await sdkError(
        s.cf.send(
          new CreateFunctionCommand({
            Name: 'lost',
            FunctionConfig: { ...V2, KeyValueStoreAssociations: { Quantity: 1, Items: [{ KeyValueStoreARN: arn.replace(/.{4}$/, '0000') }] } },
            FunctionCode: utf8(code),
          }),
        ),
      );
      assert.deepEqual([unknownStore.name, unknownStore.status], ['InvalidArgument', 400]);
    });

    it('lists functions with Marker/MaxItems and Stage', async () => {
      const all: string[] = [];
      let marker: string | undefined;
      do {
        const page = await s.cf.send(new ListFunctionsCommand({ MaxItems: 2, Marker: marker }));
        assert.equal(page.FunctionList?.MaxItems, 2);
        assert.equal(page.FunctionList?.Quantity, page.FunctionList?.Items?.length ?? 0);
        all.push(...(page.FunctionList?.Items ?? []).map((f) => f.Name!));
        marker = page.FunctionList?.NextMarker;
      } while (marker);
      assert.deepEqual(
        all,
        (await s.state.functions.list()).items.map((v) => v.name),
      );
      assert.ok(all.length >= 4);
      assert.deepEqual(all, [...all].sort());
      const live = await s.cf.send(new ListFunctionsCommand({ Stage: 'LIVE' }));
      const liveNames = (live.FunctionList?.Items ?? []).map((f) => f.Name);
      assert.ok(liveNames.includes('life') && !liveNames.includes('checked'));
      for (const item of live.FunctionList?.Items ?? []) assert.equal(item.FunctionMetadata?.Stage, 'LIVE');
    });
  });

for (const target of HARNESS_TARGETS)
  describe(`function quota, on ${target.name}`, { skip: target.skip }, () => {
    it('answers TooManyFunctions past the per-account limit', async () => {
      const s = await startFunctionServer({ maxFunctions: 2 }, target.name);
      try {
        for (const name of ['q1', 'q2']) await s.cf.send(new CreateFunctionCommand({ Name: name, FunctionConfig: V2, FunctionCode: utf8(tagging(name)) }));
        const tooMany = await sdkError(s.cf.send(new CreateFunctionCommand({ Name: 'q3', FunctionConfig: V2, FunctionCode: utf8(tagging('q3')) })));
        assert.deepEqual([tooMany.name, tooMany.status], ['TooManyFunctions', 400]);
      } finally {
        await s.close();
      }
    });
  });

for (const target of HARNESS_TARGETS)
  describe(`ListFunctions without a Stage filter, on ${target.name}`, { skip: target.skip }, () => {
    it('lists a published function in both stages: two entries without a filter, one with Stage LIVE', async () => {
      const s = await startFunctionServer({}, target.name);
      try {
        const created = await s.cf.send(new CreateFunctionCommand({ Name: 'both-stages', FunctionConfig: V2, FunctionCode: utf8(tagging('one')) }));
        await s.cf.send(new PublishFunctionCommand({ Name: 'both-stages', IfMatch: created.ETag }));
        const all = await s.cf.send(new ListFunctionsCommand({}));
        assert.deepEqual(
          (all.FunctionList?.Items ?? []).map((f) => [f.Name, f.FunctionMetadata?.Stage]),
          [
            ['both-stages', 'DEVELOPMENT'],
            ['both-stages', 'LIVE'],
          ],
        );
        assert.equal(all.FunctionList?.Quantity, 2);
        const live = await s.cf.send(new ListFunctionsCommand({ Stage: 'LIVE' }));
        assert.deepEqual(
          (live.FunctionList?.Items ?? []).map((f) => [f.Name, f.FunctionMetadata?.Stage]),
          [['both-stages', 'LIVE']],
        );
        // One entry per page: the marker walks from the DEVELOPMENT entry to the LIVE one of the same function.
        const first = await s.cf.send(new ListFunctionsCommand({ MaxItems: 1 }));
        assert.equal(first.FunctionList?.Items?.[0]?.FunctionMetadata?.Stage, 'DEVELOPMENT');
        const second = await s.cf.send(new ListFunctionsCommand({ MaxItems: 1, Marker: first.FunctionList?.NextMarker }));
        assert.deepEqual([second.FunctionList?.Items?.[0]?.FunctionMetadata?.Stage, second.FunctionList?.NextMarker], ['LIVE', undefined]);
      } finally {
        await s.close();
      }
    });
  });
