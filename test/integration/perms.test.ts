/**
 * Issue 15 point 3, permissions and ownership, end to end on both backends: `openfront start` (a whole node on
 * SQLite) and `openfront control --nats` (the control role on JetStream, a real nats-server). Keys are made with the
 * CLI (`keys create --allow`), calls are made with the official AWS SDK clients and signed native requests, and each
 * target is restarted to show that policies and owners are stored.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CloudFrontClient,
  CreateFunctionCommand,
  CreateKeyValueStoreCommand,
  DescribeFunctionCommand,
  ListKeyValueStoresCommand,
  PublishFunctionCommand,
} from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient, DescribeKeyValueStoreCommand, GetKeyCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/load.js';
import { startOpenFrontNode } from '../../src/node/index.js';
import type { NodeState } from '../../src/state/types.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { loopbackAgent, rawRequest, sdkError, type Credentials } from './fixtures/kvs-api-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** A running API over a backend that can be stopped and started again on the same stored state. */
interface Running {
  port: number;
  state: NodeState;
  stop(): Promise<void>;
}

interface Target {
  name: string;
  skip: string | false;
  setUp(dir: string): Promise<{ start(): Promise<Running>; keyArgs: string[]; tearDown(): Promise<void> }>;
}

const TARGETS: Target[] = [
  {
    name: 'start (SQLite)',
    skip: false,
    setUp: async (dir) => {
      const dataDir = join(dir, 'data');
      const config = await loadConfig(DEMO_CONFIG);
      return {
        keyArgs: ['--data', dataDir],
        start: async () => {
          const node = await startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0 } });
          return { port: node.api.port, state: node.state, stop: () => node.close() };
        },
        tearDown: async () => {},
      };
    },
  },
  {
    name: 'control --nats (JetStream)',
    skip: natsSkipReason(),
    setUp: async (dir) => {
      const nats = await startNatsServer({ storeDir: join(dir, 'nats') });
      const secretKey = randomBytes(32);
      const keyFile = join(dir, 'fleet.key');
      writeFileSync(keyFile, secretKey.toString('hex'));
      const { startControlRole } = await import('../../src/node/control-role.js');
      return {
        keyArgs: ['--nats', nats.url, '--secret-key-file', keyFile],
        start: async () => {
          const role = await startControlRole({ nats: nats.url, secretKey, api: { port: 0 } });
          return { port: role.api.port, state: role.state, stop: () => role.close() };
        },
        tearDown: () => nats.dispose(),
      };
    },
  },
];

const CODE = 'function handler(event) { return event.request; }';

for (const target of TARGETS)
  describe(`permissions and ownership, on ${target.name}`, { skip: target.skip }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-perms-'));
    const agent = loopbackAgent();
    let setup: Awaited<ReturnType<Target['setUp']>>;
    let running: Running;
    let admin: Credentials;
    let flagsWriter: Credentials;
    const clients: Array<{ destroy(): void }> = [];

    const endpoint = () => `http://localhost:${running.port}`;
    // Two attempts: the CLI runs between SDK calls leave the kept-alive socket idle for about the API's 5 s
    // keep-alive timeout, and a request sent just as the server closes it meets ECONNRESET (the SDK's default
    // retries absorb that for users). Refusals (403) are not retried, so every assertion still sees the first answer.
    const cloudFront = (credentials: Credentials) => {
      const client = new CloudFrontClient({ region: 'us-east-1', endpoint: endpoint(), credentials, maxAttempts: 2, requestHandler: { httpAgent: agent } });
      clients.push(client);
      return client;
    };
    const kvs = (credentials: Credentials) => {
      const client = new CloudFrontKeyValueStoreClient({
        region: 'us-east-1',
        endpoint: endpoint(),
        credentials,
        maxAttempts: 2,
        requestHandler: { httpAgent: agent },
      });
      clients.push(client);
      return client;
    };
    const arnOf = async (name: string) => (await running.state.stores.getStore({ name }))!.arn;
    const apiEnv = (credentials: Credentials) => ({
      OPENFRONT_ENDPOINT: endpoint(),
      OPENFRONT_ACCESS_KEY_ID: credentials.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
    const native = (credentials: Credentials, method: string, path: string, body?: unknown) =>
      rawRequest(running.port, {
        method,
        path,
        service: 'openfront',
        credentials,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });

    before(async () => {
      setup = await target.setUp(dir);
      // The admin key is made as `openfront start` tells users to: no --allow.
      const made = await cli(['keys', 'create', ...setup.keyArgs, '--json']);
      assert.equal(made.code, 0, made.stderr);
      admin = JSON.parse(made.stdout) as Credentials;
      running = await setup.start();
      await cloudFront(admin).send(new CreateKeyValueStoreCommand({ Name: 'flags' }));
      await cloudFront(admin).send(new CreateKeyValueStoreCommand({ Name: 'redirects' }));
      await cloudFront(admin).send(
        new CreateFunctionCommand({ Name: 'router', FunctionConfig: { Comment: '', Runtime: 'cloudfront-js-2.0' }, FunctionCode: Buffer.from(CODE) }),
      );
    });

    after(async () => {
      for (const client of clients) client.destroy();
      agent.destroy();
      await running?.stop();
      await setup?.tearDown();
      rmSync(dir, { recursive: true, force: true });
    });

    it('keys create --allow makes a limited key; an unknown action is refused with a clear error and creates nothing', async () => {
      const bad = await cli(['keys', 'create', ...setup.keyArgs, '--allow', 'kvs:destroy:flags']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Unknown permission "kvs:destroy:flags"/);
      const keysBefore = (await running.state.accessKeys.list()).length;
      const made = await cli(['keys', 'create', ...setup.keyArgs, '--allow', 'kvs:write:flags', '--description', 'flags writer', '--json']);
      assert.equal(made.code, 0, made.stderr);
      const parsed = JSON.parse(made.stdout) as Credentials & { policy: string[] };
      assert.deepEqual(parsed.policy, ['kvs:write:flags']);
      flagsWriter = { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
      const keys = await running.state.accessKeys.list();
      assert.equal(keys.length, keysBefore + 1, 'the refused create made no key');
      assert.deepEqual(keys.find((k) => k.accessKeyId === flagsWriter.accessKeyId)?.policy, ['kvs:write:flags']);
      assert.equal(keys.find((k) => k.accessKeyId === admin.accessKeyId)?.policy, undefined, 'a key made without --allow is admin');
    });

    it('a key limited to kvs:write:flags cannot write redirects (AccessDeniedException) nor publish a function (AccessDenied)', async () => {
      const redirects = await running.state.stores.getStore({ name: 'redirects' });
      const put = await sdkError(kvs(flagsWriter).send(new PutKeyCommand({ KvsARN: redirects!.arn, Key: '/old', Value: '/new', IfMatch: redirects!.etag })));
      assert.deepEqual([put.name, put.status], ['AccessDeniedException', 403]);
      assert.match(put.message, /not allowed kvs:write:redirects/);
      const read = await sdkError(kvs(flagsWriter).send(new DescribeKeyValueStoreCommand({ KvsARN: redirects!.arn })));
      assert.deepEqual([read.name, read.status], ['AccessDeniedException', 403], 'nor read it');
      const after = await running.state.stores.getStore({ name: 'redirects' });
      assert.deepEqual([after!.etag, after!.itemCount], [redirects!.etag, 0], 'redirects is unchanged');

      const { ETag } = await cloudFront(admin).send(new DescribeFunctionCommand({ Name: 'router' }));
      const publish = await sdkError(cloudFront(flagsWriter).send(new PublishFunctionCommand({ Name: 'router', IfMatch: ETag })));
      assert.deepEqual([publish.name, publish.status], ['AccessDenied', 403]);
      assert.equal(await running.state.functions.findStage('router', 'LIVE'), undefined, 'nothing was published');

      const list = await sdkError(cloudFront(flagsWriter).send(new ListKeyValueStoresCommand({})));
      assert.deepEqual([list.name, list.status], ['AccessDenied', 403], 'a list over every store needs kvs:read:*');
    });

    it('the same key CAN write flags (and read it: a write needs the ETag)', async () => {
      const arn = await arnOf('flags');
      const { ETag } = await kvs(flagsWriter).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      const written = await kvs(flagsWriter).send(new PutKeyCommand({ KvsARN: arn, Key: 'beta', Value: 'on', IfMatch: ETag }));
      assert.equal(written.$metadata.httpStatusCode, 200);
      const got = await kvs(flagsWriter).send(new GetKeyCommand({ KvsARN: arn, Key: 'beta' }));
      assert.equal(got.Value, 'on');
    });

    it('denied calls are audited: AccessDenied with the key id, the action and the resource', async () => {
      const records = await running.state.audit.list({ accessKeyId: flagsWriter.accessKeyId, limit: 50 });
      const denied = records.filter((r) => r.operation === 'AccessDenied').map((r) => [r.detail?.action, r.detail?.resource]);
      assert.deepEqual(
        denied.sort(),
        [
          ['function:publish', 'router'],
          ['kvs:read', '*'],
          ['kvs:read', 'redirects'],
          ['kvs:write', 'redirects'],
        ].sort(),
      );
      const byStore = await running.state.audit.list({ storeName: 'redirects' });
      assert.ok(
        byStore.some((r) => r.operation === 'AccessDenied' && r.accessKeyId === flagsWriter.accessKeyId),
        'found through the store too',
      );
      // Through the API: the audit route itself needs audit:read.
      const refused = await native(flagsWriter, 'GET', '/openfront/v1/audit');
      assert.equal(refused.status, 403);
      assert.equal(refused.headers['x-amzn-errortype'], 'AccessDeniedException');
    });

    it('owner defaults to the creating key; kvs|function owner set it; list commands and audit records of writes show it', async () => {
      const listed = await cli(['kvs', 'list', '--json'], apiEnv(admin));
      assert.equal(listed.code, 0, listed.stderr);
      const stores = JSON.parse(listed.stdout) as Array<{ name: string; owner: string | null; labels: Record<string, string> }>;
      assert.deepEqual(
        stores.find((s) => s.name === 'flags'),
        { ...stores.find((s) => s.name === 'flags'), owner: admin.accessKeyId, labels: {} },
      );

      // The flags writer may not change ownership (kvs:manage); the admin may.
      const denied = await cli(['kvs', 'owner', 'flags', '--owner', 'intruder'], apiEnv(flagsWriter));
      assert.notEqual(denied.code, 0);
      assert.match(denied.stderr, /AccessDeniedException/);
      const set = await cli(['kvs', 'owner', 'flags', '--owner', 'team-growth', '--label', 'env=prod', '--label', 'tier=1', '--json'], apiEnv(admin));
      assert.equal(set.code, 0, set.stderr);
      assert.deepEqual(JSON.parse(set.stdout), { name: 'flags', owner: 'team-growth', labels: { env: 'prod', tier: '1' } });
      const fn = await cli(['function', 'owner', 'router', '--owner', 'team-edge', '--label', 'env=prod'], apiEnv(admin));
      assert.equal(fn.code, 0, fn.stderr);
      assert.match(fn.stdout, /^router {2}owner team-edge {2}labels env=prod\n$/);

      const text = await cli(['kvs', 'list'], apiEnv(admin));
      assert.match(text.stdout, /^flags {2}READY {2}\S+ {2}owner team-growth {2}labels env=prod,tier=1$/m);
      assert.match(text.stdout, new RegExp(`^redirects {2}READY {2}\\S+ {2}owner ${admin.accessKeyId}$`, 'm'));
      const functions = JSON.parse((await cli(['function', 'list', '--json'], apiEnv(admin))).stdout) as Array<{ name: string; owner: string; labels: object }>;
      assert.deepEqual(
        functions.filter((f) => f.name === 'router').map((f) => [f.owner, f.labels]),
        [['team-edge', { env: 'prod' }]],
      );
      const table = await cli(['function', 'list'], apiEnv(admin));
      assert.match(table.stdout, /OWNER\s+LABELS/);
      assert.match(table.stdout, /router\s.*team-edge\s+env=prod/);

      // A write to the store after: its audit record names the owner and labels.
      const arn = await arnOf('flags');
      const { ETag } = await kvs(flagsWriter).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      await kvs(flagsWriter).send(new PutKeyCommand({ KvsARN: arn, Key: 'gamma', Value: 'off', IfMatch: ETag }));
      const [write] = await running.state.audit.list({ storeName: 'flags', key: 'gamma', limit: 1 });
      assert.equal(write.operation, 'PutKey');
      assert.deepEqual([write.detail?.owner, write.detail?.labels], ['team-growth', { env: 'prod', tier: '1' }]);
      const [change] = (await running.state.audit.list({ storeName: 'flags', limit: 20 })).filter((r) => r.operation === 'SetOwnership');
      assert.deepEqual(change.detail, {
        ownerBefore: admin.accessKeyId,
        ownerAfter: 'team-growth',
        labelsBefore: {},
        labelsAfter: { env: 'prod', tier: '1' },
      });
    });

    it('bad ownership input is a 400 naming the problem, and changes nothing', async () => {
      for (const [body, problem] of [
        [{ owner: '' }, /owner must be printable text/],
        [{ labels: { 'Bad Name': 'x' } }, /label name "Bad Name" is invalid/],
        [{ labels: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'v'])) }, /at most 16 labels/],
        [{ owner: 'x'.repeat(129) }, /1 to 128 characters/],
        [{ colour: 'red' }, /Unknown ownership field "colour"/],
        [{}, /Give an owner, labels, or both/],
      ] as const) {
        const res = await native(admin, 'PUT', '/openfront/v1/key-value-stores/flags/ownership', body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match((JSON.parse(res.body) as { error: { message: string; code: string } }).error.message, problem);
        assert.equal((JSON.parse(res.body) as { error: { code: string } }).error.code, 'OWNERSHIP_INVALID');
      }
      const store = await running.state.stores.getStore({ name: 'flags' });
      assert.deepEqual([store!.owner, store!.labels], ['team-growth', { env: 'prod', tier: '1' }]);
      const missing = await native(admin, 'PUT', '/openfront/v1/functions/nope/ownership', { owner: 'x' });
      assert.equal(missing.status, 404);
    });

    it('policies, owners and labels survive a restart', async () => {
      await running.stop();
      running = await setup.start();
      const redirects = await running.state.stores.getStore({ name: 'redirects' });
      const put = await sdkError(kvs(flagsWriter).send(new PutKeyCommand({ KvsARN: redirects!.arn, Key: '/x', Value: '/y', IfMatch: redirects!.etag })));
      assert.deepEqual([put.name, put.status], ['AccessDeniedException', 403]);
      const arn = await arnOf('flags');
      const { ETag } = await kvs(flagsWriter).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      const written = await kvs(flagsWriter).send(new PutKeyCommand({ KvsARN: arn, Key: 'delta', Value: 'on', IfMatch: ETag }));
      assert.equal(written.$metadata.httpStatusCode, 200);
      const flags = await running.state.stores.getStore({ name: 'flags' });
      assert.deepEqual([flags!.owner, flags!.labels], ['team-growth', { env: 'prod', tier: '1' }]);
      const router = await running.state.functions.describe('router');
      assert.deepEqual([router.owner, router.labels], ['team-edge', { env: 'prod' }]);
      const listed = await cli(['keys', 'list', ...setup.keyArgs, '--json']);
      const keys = JSON.parse(listed.stdout) as Array<{ accessKeyId: string; policy: string[] }>;
      assert.deepEqual(keys.find((k) => k.accessKeyId === flagsWriter.accessKeyId)?.policy, ['kvs:write:flags']);
      assert.deepEqual(keys.find((k) => k.accessKeyId === admin.accessKeyId)?.policy, ['admin']);
    });
  });
