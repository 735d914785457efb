/**
 * Store history through the HTTP API, on `openfront start`'s SQLite state and on `openfront control --nats`: writes
 * made with the official AWS SDK (PutKey, UpdateKeys, DeleteKey) show up in `…/history` with the SDK caller's access
 * key; `…/keys?version=` reads the store as of a version; `…/diff`; `…/rollback` restores a store a bulk import wiped,
 * as one If-Match protected write. Every parameter is bounded (regression tests for abusive values).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { DeleteKeyCommand, DescribeKeyValueStoreCommand, PutKeyCommand, UpdateKeysCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { HARNESS_TARGETS, startHarness, type Credentials, type Harness } from './fixtures/kvs-api-harness.js';

interface HistoryRowJson {
  version: number;
  at: string;
  accessKeyId: string;
  operation: string;
  key: string;
  before: string | null;
  after: string | null;
}

for (const { name: target, skip } of HARNESS_TARGETS) {
  describe(`store history API (${target})`, { skip }, () => {
    let h: Harness;
    let bob: Credentials;

    before(async () => {
      h = await startHarness({ target });
      bob = await h.state.accessKeys.create('bob');
    });
    after(async () => {
      await h?.close();
    });

    async function getJson<T>(path: string, credentials?: Credentials): Promise<{ status: number; body: T }> {
      const res = await h.raw({ method: 'GET', path, ...(credentials ? { credentials } : {}) });
      return { status: res.status, body: JSON.parse(res.body) as T };
    }

    async function createStore(name: string): Promise<string> {
      const created = await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name }));
      return created.KeyValueStore!.ARN!;
    }

    async function etagOf(arn: string): Promise<string> {
      return (await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn }))).ETag!;
    }

    it('shows AWS SDK writes with the caller, before → after, newest first; reads as of a version; diffs', async () => {
      const arn = await createStore('hist-sdk');
      const put = await h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'a', Value: '1', IfMatch: await etagOf(arn) }));
      const v1 = (await getJson<{ version: number }>('/openfront/v1/key-value-stores/hist-sdk/keys')).body.version;
      await h.kvs(bob).send(
        new UpdateKeysCommand({
          KvsARN: arn,
          IfMatch: put.ETag,
          Puts: [
            { Key: 'a', Value: '2' },
            { Key: 'b', Value: 'x' },
          ],
        }),
      );
      const v2 = (await getJson<{ version: number }>('/openfront/v1/key-value-stores/hist-sdk/keys')).body.version;
      await h.kvs().send(new DeleteKeyCommand({ KvsARN: arn, Key: 'a', IfMatch: await etagOf(arn) }));

      const history = await getJson<{ version: number; items: HistoryRowJson[] }>('/openfront/v1/key-value-stores/hist-sdk/history');
      assert.equal(history.status, 200);
      assert.deepEqual(
        history.body.items.map((r) => [r.operation, r.accessKeyId, r.key, r.before, r.after]),
        [
          ['DeleteKey', h.key.accessKeyId, 'a', '2', null],
          ['UpdateKeys', bob.accessKeyId, 'a', '1', '2'],
          ['UpdateKeys', bob.accessKeyId, 'b', null, 'x'],
          ['PutKey', h.key.accessKeyId, 'a', null, '1'],
        ],
      );
      assert.ok(!Number.isNaN(Date.parse(history.body.items[0]!.at)));
      assert.equal(history.body.items[0]!.version, history.body.version);

      const onlyB = await getJson<{ items: HistoryRowJson[] }>('/openfront/v1/key-value-stores/hist-sdk/history?key=b');
      assert.deepEqual(
        onlyB.body.items.map((r) => r.key),
        ['b'],
      );
      const page = await getJson<{ items: HistoryRowJson[]; nextMarker?: string }>('/openfront/v1/key-value-stores/hist-sdk/history?limit=3');
      assert.equal(page.body.items.length, 3);
      const rest = await getJson<{ items: HistoryRowJson[]; nextMarker?: string }>(
        `/openfront/v1/key-value-stores/hist-sdk/history?limit=3&marker=${page.body.nextMarker}`,
      );
      assert.deepEqual(
        rest.body.items.map((r) => r.operation),
        ['PutKey'],
      );
      assert.equal(rest.body.nextMarker, undefined);

      const asOf = await getJson<{ version: number; items: unknown[] }>(`/openfront/v1/key-value-stores/hist-sdk/keys?version=${v1}`);
      assert.deepEqual(asOf.body, { store: 'hist-sdk', version: v1, items: [{ key: 'a', value: '1' }] });
      const paged = await getJson<{ items: unknown[]; nextToken?: string }>(`/openfront/v1/key-value-stores/hist-sdk/keys?version=${v2}&maxResults=1`);
      assert.deepEqual(paged.body.items, [{ key: 'a', value: '2' }]);
      const second = await getJson<{ items: unknown[]; nextToken?: string }>(
        `/openfront/v1/key-value-stores/hist-sdk/keys?version=${v2}&maxResults=1&nextToken=${paged.body.nextToken}`,
      );
      assert.deepEqual(second.body.items, [{ key: 'b', value: 'x' }]);
      assert.equal(second.body.nextToken, undefined);

      const diff = await getJson<Record<string, unknown>>(`/openfront/v1/key-value-stores/hist-sdk/diff?from=${v1}&to=${history.body.version}`);
      assert.deepEqual(diff.body, {
        store: 'hist-sdk',
        from: v1,
        to: history.body.version,
        added: [{ key: 'b', value: 'x' }],
        removed: [{ key: 'a', value: '1' }],
        changed: [],
      });
      const changed = await getJson<{ changed: unknown[] }>(`/openfront/v1/key-value-stores/hist-sdk/diff?from=${v1}&to=${v2}`);
      assert.deepEqual(changed.body.changed, [{ key: 'a', before: '1', after: '2' }]);

      const future = await h.raw({ method: 'GET', path: `/openfront/v1/key-value-stores/hist-sdk/keys?version=${history.body.version + 1000}` });
      assert.equal(future.status, 404);
      assert.match(future.body, /KVS_VERSION_NOT_FOUND|does not exist yet/);
    });

    it('restores every key a bulk import wiped with one rollback; a stale If-Match writes nothing', async () => {
      const arn = await createStore('hist-wipe');
      const items = Array.from({ length: 200 }, (_, i) => ({ key: `route/${i}`, value: `/target/${i}` }));
      const loaded = await h.raw({ method: 'POST', path: '/openfront/v1/key-value-stores/hist-wipe/import?mode=merge', body: JSON.stringify({ data: items }) });
      assert.equal(loaded.status, 200, loaded.body);
      const before = JSON.parse(loaded.body) as { version: number; etag: string };
      const wiped = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/hist-wipe/import?mode=replace',
        body: JSON.stringify({ data: [{ key: 'oops', value: '1' }] }),
      });
      assert.equal(wiped.status, 200, wiped.body);
      const wipedAt = JSON.parse(wiped.body) as { version: number; etag: string };

      const stale = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/hist-wipe/rollback',
        body: JSON.stringify({ toVersion: before.version }),
        headers: { 'if-match': before.etag },
      });
      assert.equal(stale.status, 409, stale.body);
      const noIfMatch = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/hist-wipe/rollback',
        body: JSON.stringify({ toVersion: before.version }),
      });
      assert.equal(noIfMatch.status, 409, noIfMatch.body);
      assert.equal(await etagOf(arn), wipedAt.etag, 'the refused rollbacks wrote nothing');

      const rolled = await h.raw({
        method: 'POST',
        path: '/openfront/v1/key-value-stores/hist-wipe/rollback',
        body: JSON.stringify({ toVersion: before.version }),
        headers: { 'if-match': wipedAt.etag },
      });
      assert.equal(rolled.status, 200, rolled.body);
      const result = JSON.parse(rolled.body) as { version: number; itemCount: number; etag: string };
      assert.equal(result.itemCount, 200);
      assert.equal(rolled.headers.etag, result.etag);
      assert.equal(rolled.headers['x-openfront-version'], String(result.version));
      const now = await getJson<{ items: unknown[] }>('/openfront/v1/key-value-stores/hist-wipe/keys?maxResults=1000&version=' + result.version);
      assert.deepEqual(
        now.body.items,
        [...items].sort((x, y) => Buffer.compare(Buffer.from(x.key), Buffer.from(y.key))),
      );
      const audit = await getJson<{ items: Array<{ operation: string; accessKeyId: string; detail: { toVersion: number } }> }>(
        '/openfront/v1/audit?store=hist-wipe&limit=1',
      );
      assert.equal(audit.body.items[0]!.operation, 'Rollback');
      assert.equal(audit.body.items[0]!.accessKeyId, h.key.accessKeyId);
      assert.equal(audit.body.items[0]!.detail.toVersion, before.version);
    });

    it('needs kvs:read on the store for history, as-of reads and diffs, kvs:write for a rollback', async () => {
      const arn = await createStore('hist-perms');
      const put = await h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'k', Value: '1', IfMatch: await etagOf(arn) }));
      const reader = await h.state.accessKeys.create('reader', undefined, ['kvs:read:hist-perms']);
      const base = '/openfront/v1/key-value-stores/hist-perms';
      for (const path of [`${base}/history`, `${base}/keys?version=0`, `${base}/diff?from=0&to=1`]) {
        const res = await h.raw({ method: 'GET', path, credentials: reader });
        assert.equal(res.status, 200, `${path}: ${res.body}`);
      }
      const other = await h.raw({ method: 'GET', path: '/openfront/v1/key-value-stores/hist-sdk/history', credentials: reader });
      assert.equal(other.status, 403, other.body);
      const denied = await h.raw({
        method: 'POST',
        path: `${base}/rollback`,
        body: JSON.stringify({ toVersion: 0 }),
        headers: { 'if-match': put.ETag! },
        credentials: reader,
      });
      assert.equal(denied.status, 403, denied.body);
      assert.equal(await etagOf(arn), put.ETag, 'a denied rollback writes nothing');
    });

    it('refuses abusive or malformed parameters with 400 before reading', async () => {
      await createStore('hist-bounds');
      const base = '/openfront/v1/key-value-stores/hist-bounds';
      const bad = [
        `${base}/history?limit=1001`,
        `${base}/history?limit=0`,
        `${base}/history?limit=-5`,
        `${base}/history?limit=10abc`,
        `${base}/history?limit=99999999999999999999999`,
        `${base}/history?from=9&to=3`,
        `${base}/history?from=1.5`,
        `${base}/history?to=-1`,
        `${base}/history?key=${'k'.repeat(1025)}`,
        `${base}/history?marker=xyz`,
        `${base}/keys?version=-1`,
        `${base}/keys?version=abc`,
        `${base}/keys?version=1e3`,
        `${base}/keys?version=0&maxResults=100000`,
        `${base}/diff?from=1`,
        `${base}/diff?from=5&to=2`,
        `${base}/diff?from=x&to=2`,
      ];
      for (const path of bad) {
        const res = await h.raw({ method: 'GET', path });
        assert.equal(res.status, 400, `${path}: ${res.body}`);
        assert.match(res.body, /BadRequest|BAD_REQUEST/, path);
      }
      for (const body of ['{}', '{"toVersion": -1}', '{"toVersion": 1.5}', '{"toVersion": "3"}', 'not json']) {
        const res = await h.raw({ method: 'POST', path: `${base}/rollback`, body, headers: { 'if-match': 'KV0' } });
        assert.equal(res.status, 400, `${body}: ${res.body}`);
      }
      const huge = await h.raw({ method: 'POST', path: `${base}/rollback`, body: JSON.stringify({ toVersion: 1, pad: 'x'.repeat(10_000) }) });
      assert.equal(huge.status, 413, huge.body);
      const missing = await h.raw({ method: 'GET', path: '/openfront/v1/key-value-stores/no-such-store/history' });
      assert.equal(missing.status, 404);
      const unsigned = await h.raw({ method: 'GET', path: `${base}/history`, sign: false });
      assert.equal(unsigned.status, 403);
    });
  });
}
