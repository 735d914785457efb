/**
 * Value schemas end to end (docs/safe-changes.md, "Value schemas"): set through the native API, enforced on the AWS
 * data plane (official SDK: PutKey, UpdateKeys) and the native import, on `openfront start` (SQLite) and on
 * `openfront control --nats` (JetStream on a real nats-server); the CLI; the config seed of both; a restart.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CreateKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { DescribeKeyValueStoreCommand, ListKeysCommand, PutKeyCommand, UpdateKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import type { EdgeConfig, StoreConfig } from '../../src/config/types.js';
import { isOpenFrontError } from '../../src/errors.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { startOpenFrontNode } from '../../src/node/index.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { HARNESS_TARGETS, sdkError, startHarness, type Harness } from './fixtures/kvs-api-harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** The demo's redirect table: keys /go/<name>, values a path or an https URL (plain text). */
const REDIRECTS_SCHEMA = { patterns: [{ keys: '/go/*', schema: { type: 'string', pattern: '^(/|https://)' } }], default: false };
/** Objects with a 3xx status, for the batch tests. */
const OBJECT_SCHEMA = {
  default: {
    type: 'object',
    required: ['to', 'status'],
    properties: { to: { type: 'string', pattern: '^/' }, status: { enum: [301, 302, 307, 308] } },
    additionalProperties: false,
  },
};

/** What the native routes answer (a schema, an audit page or an error), loosely: each test reads its own part. */
interface NativeAnswer {
  etag: string;
  schema?: unknown;
  updatedBy?: string;
  items: Array<{ operation: string }>;
  error: { code: string; message: string; details: { keys?: string[]; violations: Array<{ key: string }> } };
}

function schemaPath(store: string): string {
  return `/openfront/v1/key-value-stores/${store}/schema`;
}

for (const target of HARNESS_TARGETS)
  describe(`value schemas through the APIs, on ${target.name}`, { skip: target.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ target: target.name });
    });
    after(() => h.close());

    async function native(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await h.raw({
        method,
        path,
        service: 'openfront',
        headers,
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      return { status: res.status, etag: res.headers.etag, json: JSON.parse(res.body || '{}') as NativeAnswer };
    }

    async function storeWith(name: string, schema: unknown): Promise<{ arn: string; etag: string }> {
      await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name }));
      const set = await native('PUT', schemaPath(name), schema);
      assert.equal(set.status, 200, JSON.stringify(set.json));
      const arn = (await h.state.stores.getStore({ name }))!.arn;
      return { arn, etag: (await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag! };
    }

    it('rejects a bad value in an UpdateKeys of 50 items (AWS SDK) and stores nothing of the batch', async () => {
      const { arn, etag } = await storeWith('batch-50', OBJECT_SCHEMA);
      const puts = Array.from({ length: 50 }, (_, i) => ({ Key: `page-${i}`, Value: JSON.stringify({ to: `/new/${i}`, status: 301 }) }));
      puts[23] = { Key: 'page-23', Value: JSON.stringify({ to: '/new/23', status: 200 }) };
      const err = await sdkError(h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: puts })));
      assert.deepEqual([err.name, err.status], ['ValidationException', 400]);
      assert.match(
        err.message,
        /^Key "page-23": value at \/status must be equal to one of the allowed values: \[301,302,307,308\] \(schema #\/default\/properties\/status\/enum\)/,
      );
      const after = await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      assert.equal(after.ETag, etag, 'the ETag did not move');
      assert.equal(after.ItemCount, 0);
      assert.deepEqual((await h.kvs().send(new ListKeysCommand({ KvsARN: arn }))).Items ?? [], []);

      puts[23] = { Key: 'page-23', Value: JSON.stringify({ to: '/new/23', status: 308 }) };
      const ok = await h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: puts }));
      assert.equal(ok.ItemCount, 50);
    });

    it('rejects a bad PutKey in the AWS shape and accepts a good one', async () => {
      const { arn, etag } = await storeWith('put-one', REDIRECTS_SCHEMA);
      const bad = await sdkError(h.kvs().send(new PutKeyCommand({ KvsARN: arn, IfMatch: etag, Key: '/go/x', Value: 'ftp://nope' })));
      assert.deepEqual([bad.name, bad.status], ['ValidationException', 400]);
      assert.match(bad.message, /Key "\/go\/x": value must match pattern .* \(schema #\/patterns\/0\/schema\/pattern\)/);
      const outside = await sdkError(h.kvs().send(new PutKeyCommand({ KvsARN: arn, IfMatch: etag, Key: 'other', Value: '/x' })));
      assert.match(outside.message, /^Key "other": value is not allowed \(the schema is false\) \(schema #\/default\)/);
      const ok = await h.kvs().send(new PutKeyCommand({ KvsARN: arn, IfMatch: etag, Key: '/go/x', Value: 'https://example.com/' }));
      assert.equal(ok.ItemCount, 1);
    });

    it('rejects a bad native import in merge and replace mode with nothing written', async () => {
      const { etag } = await storeWith('import-one', REDIRECTS_SCHEMA);
      for (const mode of ['merge', 'replace']) {
        const res = await native('POST', `/openfront/v1/key-value-stores/import-one/import?mode=${mode}`, {
          data: [
            { key: '/go/a', value: '/a' },
            { key: '/go/b', value: 'relative' },
          ],
        });
        assert.equal(res.status, 400, mode);
        assert.equal(res.json.error.code, 'KVS_SCHEMA_VIOLATION');
        assert.equal(res.json.error.details.violations[0].key, '/go/b');
      }
      assert.equal((await h.state.stores.getStore({ name: 'import-one' }))!.etag, etag);
    });

    it('GET/PUT/DELETE the schema: If-Match, refusal with the offending keys, force, bounds, audit', async () => {
      const name = 'manage';
      await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name }));
      assert.equal((await native('GET', schemaPath(name))).status, 404);
      const seeded = await native('POST', `/openfront/v1/key-value-stores/${name}/import`, {
        data: [
          { key: '/go/a', value: '/a' },
          { key: '/go/bad', value: 'x' },
          { key: 'stray', value: '/y' },
        ],
      });
      assert.equal(seeded.status, 200);

      const refused = await native('PUT', schemaPath(name), REDIRECTS_SCHEMA);
      assert.equal(refused.status, 409);
      assert.equal(refused.json.error.code, 'KVS_SCHEMA_NONCONFORMING');
      assert.deepEqual(refused.json.error.details.keys, ['/go/bad', 'stray']);
      assert.match(refused.json.error.message, /2 values of store manage would fail the new schema: "\/go\/bad", "stray"/);

      const stale = await native('PUT', `${schemaPath(name)}?force=true`, REDIRECTS_SCHEMA, { 'if-match': 'VS0000' });
      assert.equal(stale.status, 412);
      const forced = await native('PUT', `${schemaPath(name)}?force=true`, REDIRECTS_SCHEMA, { 'if-match': 'none' });
      assert.equal(forced.status, 200);
      assert.match(forced.json.etag, /^VS[0-9A-F]{20}$/);
      assert.equal(forced.etag, forced.json.etag);
      const got = await native('GET', schemaPath(name));
      assert.deepEqual(got.json.schema, REDIRECTS_SCHEMA);
      assert.equal(got.json.updatedBy, h.key.accessKeyId);

      const huge = await native('PUT', schemaPath(name), { default: { description: 'x'.repeat(70_000) } });
      assert.deepEqual([huge.status, huge.json.error.code], [400, 'KVS_SCHEMA_INVALID']);
      const enormous = await native('PUT', schemaPath(name), { default: { description: 'x'.repeat(300_000) } });
      assert.equal(enormous.status, 413, 'refused before the body is read');
      let deep: unknown = true;
      for (let i = 0; i < 50; i++) deep = { items: deep };
      const tooDeep = await native('PUT', schemaPath(name), { default: deep });
      assert.deepEqual([tooDeep.status, tooDeep.json.error.code], [400, 'KVS_SCHEMA_INVALID']);
      const remote = await native('PUT', schemaPath(name), { default: { $ref: 'http://127.0.0.1:1/schema.json' } });
      assert.deepEqual([remote.status, remote.json.error.code], [400, 'KVS_SCHEMA_INVALID']);
      assert.match(remote.json.error.message, /only references inside the schema/);
      assert.equal((await native('GET', schemaPath(name))).json.etag, forced.json.etag, 'refused documents changed nothing');

      const removed = await native('DELETE', schemaPath(name), undefined, { 'if-match': forced.json.etag });
      assert.equal(removed.status, 200);
      assert.equal((await native('GET', schemaPath(name))).status, 404);
      assert.equal((await native('DELETE', schemaPath(name))).status, 404, 'nothing to remove');
      const audit = await native('GET', `/openfront/v1/audit?store=${name}`);
      const ops = audit.json.items.map((r) => r.operation);
      assert.deepEqual(ops.slice(0, 2), ['DeleteValueSchema', 'PutValueSchema']);
      assert.equal((await native('PUT', schemaPath('no-such-store'), REDIRECTS_SCHEMA)).status, 404);
    });
  });

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('openfront kvs schema set|get|delete', () => {
  let h: Harness;
  let env: Record<string, string>;
  let dir: string;
  before(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'of-schema-cli-'));
    env = {
      OPENFRONT_ENDPOINT: `http://127.0.0.1:${h.server.port}`,
      OPENFRONT_ACCESS_KEY_ID: h.key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: h.key.secretAccessKey,
    };
    await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cli-store' }));
  });
  after(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets from a file, prints it, refuses a bad put, and removes it', async () => {
    const file = join(dir, 'schema.json');
    writeFileSync(file, JSON.stringify(REDIRECTS_SCHEMA));
    const set = await cli(['kvs', 'schema', 'set', 'cli-store', file, '--if-match', 'none', '--json'], env);
    assert.equal(set.code, 0, set.stderr);
    const etag = (JSON.parse(set.stdout) as { etag: string }).etag;
    const got = await cli(['kvs', 'schema', 'get', 'cli-store'], env);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, new RegExp(`ETag ${etag}`));
    assert.match(got.stdout, /"\/go\/\*"/);
    const put = await cli(['kvs', 'put', 'cli-store', '/go/x', 'not-a-path'], env);
    assert.notEqual(put.code, 0);
    assert.match(put.stderr, /ValidationException: Key "\/go\/x": value must match pattern/);
    const stale = await cli(['kvs', 'schema', 'set', 'cli-store', file, '--if-match', 'VSOLD'], env);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /PreconditionFailed/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ type: 'string' }));
    const invalid = await cli(['kvs', 'schema', 'set', 'cli-store', bad], env);
    assert.notEqual(invalid.code, 0);
    assert.match(invalid.stderr, /wrap it as \{"default": <schema>\}/);
    const removed = await cli(['kvs', 'schema', 'delete', 'cli-store', '--if-match', etag], env);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match((await cli(['kvs', 'schema', 'get', 'cli-store'], env)).stdout, /cli-store has no value schema/);
    const again = await cli(['kvs', 'schema', 'delete', 'cli-store'], env);
    assert.deepEqual([again.code, again.stdout], [0, 'cli-store has no value schema\n']);
  });
});

/** The demo config with a schema declared on demo-redirects (and optionally its seed replaced). */
async function demoWith(dir: string, redirects: Partial<StoreConfig>): Promise<EdgeConfig> {
  const demo = await loadConfig(DEMO_CONFIG);
  return { ...demo, stores: demo.stores.map((s) => (s.name === 'demo-redirects' ? { ...s, ...redirects } : s)) };
}

function writeSeed(dir: string, name: string, data: Array<{ key: string; value: string }>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ data }));
  return file;
}

async function rejectsCode(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isOpenFrontError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

describe('value schemas declared in the config: the seed of openfront start, and restarts', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'of-schema-start-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start when the seed fails the schema, creating nothing', async () => {
    const dataDir = join(dir, 'bad-seed');
    const seedPath = writeSeed(dir, 'bad-seed.json', [
      { key: '/go/a', value: '/a' },
      { key: '/go/b', value: 'nope' },
    ]);
    const config = await demoWith(dir, { seedPath, schema: { inline: REDIRECTS_SCHEMA } });
    await rejectsCode(
      startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0 } }),
      'KVS_SCHEMA_VIOLATION',
      /^store demo-redirects: its seed .*bad-seed\.json fails its schema: Key "\/go\/b"/,
    );
    const db = openSqliteState(join(dataDir, 'openfront.db'));
    try {
      assert.equal(db.kvs.getStore({ name: 'demo-redirects' }), undefined);
    } finally {
      db.database.close();
    }
  });

  it('seeds with the schema, keeps it across a restart without it, and refuses a new one the data fails', async () => {
    const dataDir = join(dir, 'good');
    const schemaFile = join(dir, 'redirects.schema.json');
    writeFileSync(schemaFile, JSON.stringify(REDIRECTS_SCHEMA));
    let node = await startOpenFrontNode({ dataDir, config: await demoWith(dir, { schema: { path: schemaFile } }), api: { port: 0 }, edge: { port: 0 } });
    try {
      const store = (await node.state.stores.getStore({ name: 'demo-redirects' }))!;
      assert.equal(store.itemCount, 3, 'the demo seed conforms');
      assert.deepEqual((await node.state.stores.getSchema(store.id))?.document, REDIRECTS_SCHEMA);
      assert.equal((await node.state.stores.getSchema(store.id))?.updatedBy, 'config');
    } finally {
      await node.close();
    }
    // Restart with the plain demo config: the schema set before is still there and still enforced.
    node = await startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 } });
    try {
      const store = (await node.state.stores.getStore({ name: 'demo-redirects' }))!;
      await rejectsCode(node.state.stores.putKey(store.id, '/go/new', 'relative', store.etag, { accessKeyId: 'test' }), 'KVS_SCHEMA_VIOLATION', /\/go\/new/);
    } finally {
      await node.close();
    }
    // A config schema the stored values fail: the node refuses to start and says which keys.
    const strict = { default: false, patterns: [{ keys: '/go/*', schema: { type: 'string', pattern: '^/' } }] };
    await rejectsCode(
      startOpenFrontNode({ dataDir, config: await demoWith(dir, { schema: { inline: strict } }), api: { port: 0 }, edge: { port: 0 } }),
      'KVS_SCHEMA_NONCONFORMING',
      /^store demo-redirects: schema: 1 value of store demo-redirects would fail the new schema: "\/go\/cloudfront"/,
    );
  });
});

describe('value schemas declared in the config: the seed of openfront control --nats', { skip: natsSkipReason() }, () => {
  it('seeds with the schema, refuses a bad seed, and a second control agrees', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'of-schema-control-'));
    const server = await startNatsServer({ storeDir: join(dir, 'nats') });
    const { startControlRole } = await import('../../src/node/control-role.js');
    const { randomBytes } = await import('node:crypto');
    const secretKey = randomBytes(32);
    const roles: Array<{ close(): Promise<void> }> = [];
    try {
      const badSeed = writeSeed(dir, 'bad.json', [{ key: '/go/x', value: 'relative' }]);
      await rejectsCode(
        startControlRole({
          nats: server.url,
          secretKey,
          config: await demoWith(dir, { seedPath: badSeed, schema: { inline: REDIRECTS_SCHEMA } }),
          api: { port: 0 },
        }),
        'KVS_SCHEMA_VIOLATION',
        /^store demo-redirects: its seed/,
      );
      const config = await demoWith(dir, { schema: { inline: REDIRECTS_SCHEMA } });
      const a = await startControlRole({ nats: server.url, secretKey, config, api: { port: 0 } });
      roles.push(a);
      const store = (await a.state.stores.getStore({ name: 'demo-redirects' }))!;
      assert.equal(store.itemCount, 3);
      const b = await startControlRole({ nats: server.url, secretKey, config, api: { port: 0 } });
      roles.push(b);
      assert.equal((await b.state.stores.getSchema(store.id))?.etag, (await a.state.stores.getSchema(store.id))?.etag);
      await rejectsCode(b.state.stores.putKey(store.id, '/go/y', 'relative', store.etag, { accessKeyId: 'test' }), 'KVS_SCHEMA_VIOLATION', /\/go\/y/);
    } finally {
      for (const role of roles) await role.close();
      await server.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
