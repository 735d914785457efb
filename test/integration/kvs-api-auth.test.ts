import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyValueStoreCommand, ListKeyValueStoresCommand } from '@aws-sdk/client-cloudfront';
import { DescribeKeyValueStoreCommand, PutKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { startApiServer } from '../../src/control/api-server.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { sharedNatsServer } from '../helpers/nats-shared.js';
import { HARNESS_TARGETS, rawRequest, sdkError, startHarness, type Harness } from './fixtures/kvs-api-harness.js';

const nats = sharedNatsServer();
after(() => nats.dispose());

for (const target of HARNESS_TARGETS)
  describe(`KVS API authentication, on ${target.name}`, { skip: target.skip }, () => {
    let h: Harness;
    let arn: string;
    let etag: string;
    before(async () => {
      h = await startHarness({ target: target.name, nats });
      await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'auth' }));
      arn = (await h.state.stores.getStore({ name: 'auth' }))!.arn;
      etag = (await h.state.stores.getStore({ name: 'auth' }))!.etag;
    });
    after(() => h.close());

    /** After each rejected call: the store is exactly as it was. */
    async function assertUnchanged(): Promise<void> {
      const store = (await h.state.stores.getStore({ name: 'auth' }))!;
      assert.deepEqual([store.etag, store.itemCount], [etag, 0]);
    }

    const put = (credentials = h.key, extra: Record<string, unknown> = {}) =>
      h.kvs(credentials, extra).send(new PutKeyCommand({ KvsARN: arn, Key: 'k', Value: 'v', IfMatch: etag }));

    it('rejects a wrong secret: 403 AccessDeniedException (data plane), AccessDenied (control plane)', async () => {
      const wrong = { accessKeyId: h.key.accessKeyId, secretAccessKey: `${h.key.secretAccessKey}x` };
      const data = await sdkError(put(wrong));
      assert.deepEqual([data.name, data.status], ['AccessDeniedException', 403]);
      assert.match(data.message, /signature does not match/);
      const control = await sdkError(h.cloudFront(wrong).send(new CreateKeyValueStoreCommand({ Name: 'intruder' })));
      assert.deepEqual([control.name, control.status], ['AccessDenied', 403]);
      assert.equal(await h.state.stores.getStore({ name: 'intruder' }), undefined);
      await assertUnchanged();
    });

    it('rejects an unknown access key', async () => {
      const err = await sdkError(put({ accessKeyId: 'AKIANOTAKEY000000000', secretAccessKey: h.key.secretAccessKey }));
      assert.deepEqual([err.name, err.status], ['AccessDeniedException', 403]);
      await assertUnchanged();
    });

    it('rejects a request dated more than 15 minutes away (SDK clock 20 minutes slow)', async () => {
      const err = await sdkError(put(h.key, { systemClockOffset: -20 * 60_000 }));
      assert.deepEqual([err.name, err.status], ['AccessDeniedException', 403]);
      assert.match(err.message, /expired/i);
      const control = await sdkError(h.cloudFront(h.key, { systemClockOffset: 20 * 60_000 }).send(new ListKeyValueStoresCommand({})));
      assert.equal(control.name, 'AccessDenied');
      await assertUnchanged();
    });

    it('rejects unsigned requests and a tampered signature', async () => {
      const path = `/key-value-stores/${encodeURIComponent(arn)}/keys/k`;
      const unsigned = await h.raw({ method: 'PUT', path, body: '{"Value":"v"}', headers: { 'if-match': etag }, sign: false });
      assert.equal(unsigned.status, 403);
      assert.equal(unsigned.headers['x-amzn-errortype'], 'AccessDeniedException');
      assert.ok(unsigned.headers['date'], 'a Date header lets SDKs correct their clock');
      const control = await h.raw({ method: 'GET', path: '/2020-05-31/key-value-store', sign: false });
      assert.equal(control.status, 403);
      assert.match(control.body, /<Code>AccessDenied<\/Code>/);
      // Signed for key "kx", sent for key "k": the signature covers the path.
      const tampered = await rawWithSwappedPath(path, etag);
      assert.equal(tampered.status, 403);
      assert.equal(tampered.headers['x-amzn-errortype'], 'AccessDeniedException');
      await assertUnchanged();
    });

    /** Signs a PUT for `${path}x`, then sends it to `path`. */
    async function rawWithSwappedPath(path: string, ifMatch: string) {
      const body = Buffer.from('{"Value":"v"}');
      const headers = signRequestV4({
        method: 'PUT',
        url: new URL(`http://127.0.0.1:${h.server.port}${path}x`),
        body,
        headers: { 'if-match': ifMatch },
        service: 'cloudfront-keyvaluestore',
        ...h.key,
      });
      return rawRequest(h.server.port, { method: 'PUT', path, body, headers, sign: false });
    }

    it('rejects a revoked key at once, while other keys keep working', async () => {
      const other = await h.state.accessKeys.create('to revoke');
      const ok = await h.kvs(other).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      assert.equal(ok.ETag, etag);
      await h.state.accessKeys.revoke(other.accessKeyId);
      const err = await sdkError(put(other));
      assert.deepEqual([err.name, err.status], ['AccessDeniedException', 403]);
      await assertUnchanged();
      assert.equal((await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag, etag);
    });

    it('accepts plain SigV4 on the data plane (the SDK falls back to it for a region set other than *)', async () => {
      const res = await h.kvs(h.key, { sigv4aSigningRegionSet: ['us-east-1'] }).send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
      assert.equal(res.KvsARN, arn);
    });

    it('does not accept a data-plane signature on the control plane', async () => {
      const res = await h.raw({ method: 'GET', path: '/2020-05-31/key-value-store', service: 'cloudfront-keyvaluestore' });
      assert.equal(res.status, 403);
    });
  });

describe('insecureNoAuth on start (SQLite)', () => {
  it('is refused on a non-loopback host', async () => {
    const db = openSqliteState(':memory:');
    try {
      await assert.rejects(startApiServer({ state: db, host: '0.0.0.0', port: 0, auth: { insecureNoAuth: true } }), /loopback/);
    } finally {
      db.database.close();
    }
  });
});

for (const target of HARNESS_TARGETS)
  describe(`insecureNoAuth, on ${target.name}`, { skip: target.skip }, () => {
    it('is refused on a non-loopback host', async () => {
      await assert.rejects(startHarness({ target: target.name, nats, server: { host: '0.0.0.0', auth: { insecureNoAuth: true } } }), /loopback/);
    });

    it('serves unsigned requests on loopback and audits them as "anonymous"', async () => {
      const h = await startHarness({ target: target.name, nats, server: { auth: { insecureNoAuth: true } } });
      try {
        const res = await h.raw({
          method: 'POST',
          path: '/2020-05-31/key-value-store',
          body: '<CreateKeyValueStoreRequest><Name>anon</Name></CreateKeyValueStoreRequest>',
          sign: false,
        });
        assert.equal(res.status, 201, res.body);
        assert.equal((await h.state.audit.list({ storeName: 'anon' }))[0]?.accessKeyId, 'anonymous');
      } finally {
        await h.close();
      }
    });
  });

for (const target of HARNESS_TARGETS)
  describe(`native API, on ${target.name}`, { skip: target.skip }, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ target: target.name, nats });
      await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'native' }));
    });
    after(() => h.close());

    it('imports in bulk (beyond 50 keys) in merge and replace modes, with optional If-Match', async () => {
      const data = Array.from({ length: 120 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: `v${i}` }));
      const merged = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/native/import?mode=merge',
        body: JSON.stringify({ data }),
        service: 'openfront',
      });
      assert.equal(merged.status, 200, merged.body);
      const result = JSON.parse(merged.body) as { etag: string; itemCount: number };
      assert.equal(result.itemCount, 120);
      assert.equal(merged.headers.etag, result.etag);
      const stale = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/native/import?mode=replace',
        body: JSON.stringify({ data: [{ key: 'only', value: '1' }] }),
        headers: { 'if-match': 'KVSTALE' },
        service: 'openfront',
      });
      assert.equal(stale.status, 409);
      assert.equal((JSON.parse(stale.body) as { error: { code: string } }).error.code, 'KVS_CONFLICT');
      const replaced = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/native/import?mode=replace',
        body: JSON.stringify({ data: [{ key: 'only', value: '1' }] }),
        headers: { 'if-match': result.etag },
        service: 'openfront',
      });
      assert.equal(replaced.status, 200, replaced.body);
      assert.equal((await h.state.stores.getStore({ name: 'native' }))!.itemCount, 1);
      const bad = await h.raw({ method: 'POST', path: '/openfront/v1/key-value-stores/native/import', body: '{"data":[{"key":"a"}]}', service: 'openfront' });
      assert.equal(bad.status, 400);
      const unsigned = await h.raw({ method: 'POST', path: '/openfront/v1/key-value-stores/native/import', body: '{"data":[]}', sign: false });
      assert.equal(unsigned.status, 403);
    });

    it('lists audit records filtered by store, key, access key, time and limit', async () => {
      const store = (await h.state.stores.getStore({ name: 'native' }))!;
      await h.state.stores.putKey(store.id, 'audited', 'x', store.etag, { accessKeyId: 'AKIAOTHER' });
      const get = async (query: string) => {
        const res = await h.raw({ method: 'GET', path: `/openfront/v1/audit${query}`, service: 'openfront' });
        assert.equal(res.status, 200, res.body);
        return (JSON.parse(res.body) as { items: Array<{ operation: string; accessKeyId: string; keys: string[]; at: string }> }).items;
      };
      const all = await get('?store=native');
      assert.deepEqual(new Set(all.map((r) => r.operation)), new Set(['CreateKeyValueStore', 'ImportKeys', 'PutKey']));
      assert.deepEqual(
        (await get('?store=native&key=audited')).map((r) => r.operation),
        ['PutKey'],
      );
      assert.deepEqual(
        (await get('?accessKeyId=AKIAOTHER')).map((r) => r.keys),
        [['audited']],
      );
      assert.equal((await get('?store=native&limit=1')).length, 1);
      assert.equal((await get(`?store=native&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 0);
      assert.equal((await get(`?store=native&until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, all.length);
      const bad = await h.raw({ method: 'GET', path: '/openfront/v1/audit?since=yesterday', service: 'openfront' });
      assert.equal(bad.status, 400);
    });
  });
