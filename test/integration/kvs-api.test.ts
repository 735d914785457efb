import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyValueStoreCommand,
  DeleteKeyValueStoreCommand,
  DescribeKeyValueStoreCommand as DescribeStoreCommand,
  ListKeyValueStoresCommand,
  UpdateKeyValueStoreCommand,
} from '@aws-sdk/client-cloudfront';
import {
  DeleteKeyCommand,
  DescribeKeyValueStoreCommand,
  GetKeyCommand,
  ListKeysCommand,
  paginateListKeys,
  PutKeyCommand,
  UpdateKeysCommand,
} from '@aws-sdk/client-cloudfront-keyvaluestore';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { sharedNatsServer } from '../helpers/nats-shared.js';
import { HARNESS_TARGETS, sdkError, startHarness, type Harness } from './fixtures/kvs-api-harness.js';

const nats = sharedNatsServer();
after(() => nats.dispose());

const KVS_SERVICE = 'cloudfront-keyvaluestore';

for (const target of HARNESS_TARGETS)
  describe(`KVS API through the official AWS SDK clients, on ${target.name}`, { skip: target.skip }, () => {
    let h: Harness;
    before(async () => {
      // CloudFront's limits, except a small store so the quota error needs only a few writes.
      h = await startHarness({ limits: { ...DEFAULT_KVS_LIMITS, maxStoreBytes: 4000 }, importDir: true, target: target.name, nats });
    });
    after(() => h.close());

    async function createStore(name: string): Promise<{ arn: string; etag: string }> {
      await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name }));
      const described = await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: await arnOf(name) }));
      return { arn: described.KvsARN!, etag: described.ETag! };
    }

    async function arnOf(name: string): Promise<string> {
      return (await h.state.stores.getStore({ name }))!.arn;
    }

    describe('control plane (REST-XML)', () => {
      it('creates a store: 201, ETag, Location, the KeyValueStore shape', async () => {
        const res = await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-one', Comment: 'first & <best>' }));
        assert.equal(res.$metadata.httpStatusCode, 201);
        assert.match(res.ETag ?? '', /\S/);
        assert.equal(res.KeyValueStore?.Name, 'cp-one');
        assert.equal(res.KeyValueStore?.Comment, 'first & <best>');
        assert.match(res.KeyValueStore?.ARN ?? '', /^arn:aws:cloudfront::\d{12}:key-value-store\/[0-9a-f-]{36}$/);
        assert.equal(res.KeyValueStore?.Status, 'READY');
        assert.ok(res.KeyValueStore?.LastModifiedTime instanceof Date);
        assert.ok(res.Location?.endsWith(`/2020-05-31/key-value-store/${res.KeyValueStore?.ARN}`));
        const dup = await sdkError(h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-one' })));
        assert.deepEqual([dup.name, dup.status], ['EntityAlreadyExists', 409]);
        const badName = await sdkError(h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'no spaces' })));
        assert.deepEqual([badName.name, badName.status], ['InvalidArgument', 400]);
      });

      it('describes and lists with Marker/MaxItems', async () => {
        for (const name of ['cp-list-a', 'cp-list-b', 'cp-list-c']) await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name }));
        const described = await h.cloudFront().send(new DescribeStoreCommand({ Name: 'cp-list-b' }));
        assert.equal(described.KeyValueStore?.Id, (await h.state.stores.getStore({ name: 'cp-list-b' }))!.id);
        assert.equal(described.ETag, (await h.state.stores.getStore({ name: 'cp-list-b' }))!.metadataEtag);
        const missing = await sdkError(h.cloudFront().send(new DescribeStoreCommand({ Name: 'nope' })));
        assert.deepEqual([missing.name, missing.status], ['EntityNotFound', 404]);

        const seen: string[] = [];
        let marker: string | undefined;
        let pages = 0;
        do {
          const page = await h.cloudFront().send(new ListKeyValueStoresCommand({ MaxItems: 2, Marker: marker }));
          assert.equal(page.KeyValueStoreList?.MaxItems, 2);
          assert.equal(page.KeyValueStoreList?.Quantity, page.KeyValueStoreList?.Items?.length ?? 0);
          seen.push(...(page.KeyValueStoreList?.Items ?? []).map((s) => s.Name!));
          marker = page.KeyValueStoreList?.NextMarker;
          pages++;
        } while (marker);
        const all = (await h.state.stores.listStores({ maxItems: 1000 })).items.map((s) => s.name);
        assert.deepEqual(seen, all);
        assert.equal(pages, Math.ceil(all.length / 2));
        const bad = await sdkError(h.cloudFront().send(new ListKeyValueStoresCommand({ MaxItems: 0 })));
        assert.equal(bad.name, 'InvalidArgument');
      });

      it('UpdateKeyValueStore: missing If-Match 400, stale 412, current 200 with a new ETag', async () => {
        const created = await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-update', Comment: 'v1' }));
        const missing = await sdkError(
          h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'cp-update', Comment: 'v2', IfMatch: undefined as unknown as string })),
        );
        assert.deepEqual([missing.name, missing.status], ['InvalidIfMatchVersion', 400]);
        const stale = await sdkError(h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'cp-update', Comment: 'v2', IfMatch: 'ETVSTALE' })));
        assert.deepEqual([stale.name, stale.status], ['PreconditionFailed', 412]);
        assert.equal((await h.state.stores.getStore({ name: 'cp-update' }))!.comment, 'v1');
        const updated = await h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'cp-update', Comment: 'v2', IfMatch: created.ETag }));
        assert.equal(updated.KeyValueStore?.Comment, 'v2');
        assert.notEqual(updated.ETag, created.ETag);
        const again = await sdkError(h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'cp-update', Comment: 'v3', IfMatch: created.ETag })));
        assert.equal(again.name, 'PreconditionFailed');
        const unknown = await sdkError(h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'cp-nope', Comment: 'x', IfMatch: created.ETag })));
        assert.deepEqual([unknown.name, unknown.status], ['EntityNotFound', 404]);
      });

      it('DeleteKeyValueStore: missing If-Match 400, stale 412, current 204', async () => {
        const created = await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-delete' }));
        const missing = await sdkError(h.cloudFront().send(new DeleteKeyValueStoreCommand({ Name: 'cp-delete', IfMatch: undefined as unknown as string })));
        assert.deepEqual([missing.name, missing.status], ['InvalidIfMatchVersion', 400]);
        const stale = await sdkError(h.cloudFront().send(new DeleteKeyValueStoreCommand({ Name: 'cp-delete', IfMatch: 'ETVSTALE' })));
        assert.deepEqual([stale.name, stale.status], ['PreconditionFailed', 412]);
        assert.ok(await h.state.stores.getStore({ name: 'cp-delete' }));
        const deleted = await h.cloudFront().send(new DeleteKeyValueStoreCommand({ Name: 'cp-delete', IfMatch: created.ETag }));
        assert.equal(deleted.$metadata.httpStatusCode, 204);
        assert.equal(await h.state.stores.getStore({ name: 'cp-delete' }), undefined);
      });

      it('imports at creation from the import directory (S3 ARN or relative path); refuses bad and missing files', async () => {
        writeFileSync(
          join(h.dir, 'imports', 'import.json'),
          JSON.stringify({
            data: [
              { key: 'k1', value: 'v1' },
              { key: 'k2', value: 'v2' },
            ],
          }),
        );
        for (const [name, source] of [
          ['cp-import-path', 'import.json'],
          ['cp-import-arn', 'arn:aws:s3:::import.json'],
        ]) {
          const res = await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name, ImportSource: { SourceType: 'S3', SourceARN: source } }));
          assert.equal(res.$metadata.httpStatusCode, 201);
          const got = await h.kvs().send(new GetKeyCommand({ KvsARN: res.KeyValueStore!.ARN, Key: 'k2' }));
          assert.deepEqual([got.Value, got.ItemCount], ['v2', 2]);
        }
        writeFileSync(
          join(h.dir, 'imports', 'dup.json'),
          JSON.stringify({
            data: [
              { key: 'k', value: '1' },
              { key: 'k', value: '2' },
            ],
          }),
        );
        const dup = await sdkError(
          h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-import-dup', ImportSource: { SourceType: 'S3', SourceARN: 'dup.json' } })),
        );
        assert.deepEqual([dup.name, dup.message], ['InvalidArgument', 'The ImportSource file is not a valid import file (duplicate-key) at item 1']);
        const absent = await sdkError(
          h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'cp-import-absent', ImportSource: { SourceType: 'S3', SourceARN: 'absent.json' } })),
        );
        assert.equal(absent.name, 'InvalidArgument');
        assert.equal(await h.state.stores.getStore({ name: 'cp-import-dup' }), undefined);
        assert.equal(await h.state.stores.getStore({ name: 'cp-import-absent' }), undefined);
      });

      it('answers malformed XML with 400 InvalidArgument in the CloudFront envelope', async () => {
        const res = await h.raw({
          method: 'POST',
          path: '/2020-05-31/key-value-store',
          body: '<CreateKeyValueStoreRequest><Name>x</Nam',
          service: 'cloudfront',
        });
        assert.equal(res.status, 400);
        assert.match(
          res.body,
          /<ErrorResponse xmlns="http:\/\/cloudfront\.amazonaws\.com\/doc\/2020-05-31\/"><Error><Type>Sender<\/Type><Code>InvalidArgument<\/Code>/,
        );
        const wrongRoot = await h.raw({ method: 'POST', path: '/2020-05-31/key-value-store', body: '<Other><Name>x</Name></Other>', service: 'cloudfront' });
        assert.equal(wrongRoot.status, 400);
        assert.equal(await h.state.stores.getStore({ name: 'x' }), undefined);
      });
    });

    describe('data plane (REST-JSON)', () => {
      it('describes a store: ETag header, epoch-second timestamps read as Dates', async () => {
        const { arn, etag } = await createStore('dp-describe');
        const res = await h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
        assert.equal(res.ETag, etag);
        assert.equal(res.ETag, (await h.state.stores.getStore({ arn }))!.etag);
        assert.equal(res.KvsARN, arn);
        assert.equal(res.ItemCount, 0);
        assert.ok(res.Created instanceof Date && Math.abs(res.Created.getTime() - Date.now()) < 60_000);
        const missing = await sdkError(h.kvs().send(new DescribeKeyValueStoreCommand({ KvsARN: arn.replace(/.{4}$/, '0000') })));
        assert.deepEqual([missing.name, missing.status], ['ResourceNotFoundException', 404]);
      });

      it('puts, gets and deletes keys with odd characters, advancing the ETag', async () => {
        const { arn, etag } = await createStore('dp-keys');
        const key = 'some key/with:odd?chars&=é%2F';
        const put = await h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: key, Value: 'v1', IfMatch: etag }));
        assert.notEqual(put.ETag, etag);
        assert.deepEqual([put.ItemCount, put.TotalSizeInBytes], [1, Buffer.byteLength(key) + 2]);
        const got = await h.kvs().send(new GetKeyCommand({ KvsARN: arn, Key: key }));
        assert.deepEqual([got.Key, got.Value, got.ItemCount], [key, 'v1', 1]);
        const dots = await h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: '..', Value: 'dots', IfMatch: put.ETag }));
        assert.equal((await h.kvs().send(new GetKeyCommand({ KvsARN: arn, Key: '..' }))).Value, 'dots');
        const del = await h.kvs().send(new DeleteKeyCommand({ KvsARN: arn, Key: key, IfMatch: dots.ETag }));
        assert.equal(del.ItemCount, 1);
        const gone = await sdkError(h.kvs().send(new GetKeyCommand({ KvsARN: arn, Key: key })));
        assert.deepEqual([gone.name, gone.status], ['ResourceNotFoundException', 404]);
      });

      it('lists keys page by page (MaxResults/NextToken) and with paginateListKeys', async () => {
        const { arn, etag } = await createStore('dp-list');
        const puts = Array.from({ length: 9 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
        await h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: puts }));
        const keys: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
          const page = await h.kvs().send(new ListKeysCommand({ KvsARN: arn, MaxResults: 4, NextToken: token }));
          keys.push(...page.Items!.map((i) => i.Key!));
          token = page.NextToken;
          pages++;
        } while (token);
        assert.deepEqual(
          keys,
          puts.map((p) => p.Key),
        );
        assert.equal(pages, 3);
        const paged: string[] = [];
        for await (const page of paginateListKeys({ client: h.kvs(), pageSize: 2 }, { KvsARN: arn })) paged.push(...page.Items!.map((i) => i.Key!));
        assert.deepEqual(paged, keys);
        const defaultPage = await h.kvs().send(new ListKeysCommand({ KvsARN: arn }));
        assert.equal(defaultPage.Items?.length, 9);
        for (const bad of [0, 51]) {
          const err = await sdkError(h.kvs().send(new ListKeysCommand({ KvsARN: arn, MaxResults: bad })));
          assert.deepEqual([err.name, err.status], ['ValidationException', 400]);
        }
        const garbage = await sdkError(h.kvs().send(new ListKeysCommand({ KvsARN: arn, NextToken: '!!not-a-token' })));
        assert.equal(garbage.name, 'ValidationException');
      });

      it('UpdateKeys applies puts and deletes together; a stale ETag is 409 and applies nothing', async () => {
        const { arn, etag } = await createStore('dp-update');
        const first = await h.kvs().send(
          new UpdateKeysCommand({
            KvsARN: arn,
            IfMatch: etag,
            Puts: [
              { Key: 'a', Value: '1' },
              { Key: 'b', Value: '2' },
              { Key: 'c', Value: '3' },
            ],
          }),
        );
        const second = await h
          .kvs()
          .send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: first.ETag, Puts: [{ Key: 'd', Value: '4' }], Deletes: [{ Key: 'a' }, { Key: 'c' }] }));
        assert.deepEqual([second.ItemCount, second.TotalSizeInBytes], [2, 4]);
        const items = await h.kvs().send(new ListKeysCommand({ KvsARN: arn }));
        assert.deepEqual(items.Items, [
          { Key: 'b', Value: '2' },
          { Key: 'd', Value: '4' },
        ]);
        const stale = await sdkError(h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: first.ETag, Puts: [{ Key: 'z', Value: '9' }] })));
        assert.deepEqual([stale.name, stale.status], ['ConflictException', 409]);
        const stalePut = await sdkError(h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'z', Value: '9', IfMatch: etag })));
        assert.deepEqual([stalePut.name, stalePut.status], ['ConflictException', 409]);
        const noIfMatch = await sdkError(h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'z', Value: '9', IfMatch: undefined as unknown as string })));
        assert.deepEqual([noIfMatch.name, noIfMatch.status], ['ValidationException', 400]);
        assert.equal((await h.state.stores.getStore({ arn }))!.etag, second.ETag);
        assert.deepEqual(
          (await h.state.stores.exportData((await h.state.stores.getStore({ arn }))!.id)).map((i) => i.key),
          ['b', 'd'],
        );
      });

      it('enforces every limit with the AWS error type, writing nothing', async () => {
        const { arn, etag } = await createStore('dp-limits');
        const cases: Array<[string, Promise<unknown>, string, number]> = [
          ['key > 512 bytes', h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'k'.repeat(513), Value: 'v', IfMatch: etag })), 'ValidationException', 400],
          ['value > 1024 bytes', h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'k', Value: 'é'.repeat(513), IfMatch: etag })), 'ValidationException', 400],
          [
            '51 keys in one UpdateKeys',
            h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) })),
            'ValidationException',
            400,
          ],
          [
            'key in Puts and Deletes',
            h.kvs().send(new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: [{ Key: 'a', Value: '1' }], Deletes: [{ Key: 'a' }] })),
            'ValidationException',
            400,
          ],
          [
            'store > maxStoreBytes',
            h
              .kvs()
              .send(
                new UpdateKeysCommand({ KvsARN: arn, IfMatch: etag, Puts: Array.from({ length: 5 }, (_, i) => ({ Key: `big${i}`, Value: 'x'.repeat(1000) })) }),
              ),
            'ServiceQuotaExceededException',
            402,
          ],
        ];
        for (const [label, call, name, status] of cases) {
          const err = await sdkError(call);
          assert.deepEqual([err.name, err.status], [name, status], label);
        }
        const store = (await h.state.stores.getStore({ arn }))!;
        assert.deepEqual([store.etag, store.itemCount], [etag, 0]);
      });

      it('answers malformed JSON, wrong types, invalid UTF-8 and oversize bodies with 400 ValidationException', async () => {
        const { arn, etag } = await createStore('dp-malformed');
        const base = `/key-value-stores/${encodeURIComponent(arn)}/keys`;
        const cases: Array<[string, { method: string; path: string; body?: Buffer | string }]> = [
          ['malformed JSON', { method: 'PUT', path: `${base}/k`, body: '{"Value": "v' }],
          ['JSON array body', { method: 'PUT', path: `${base}/k`, body: '["v"]' }],
          ['Value is a number', { method: 'PUT', path: `${base}/k`, body: '{"Value": 5}' }],
          ['Value missing', { method: 'PUT', path: `${base}/k`, body: '{}' }],
          ['invalid UTF-8 key', { method: 'PUT', path: `${base}/%FF%FE`, body: '{"Value":"v"}' }],
          [
            'invalid UTF-8 body',
            { method: 'PUT', path: `${base}/k`, body: Buffer.from([0x7b, 0x22, 0x56, 0x61, 0x6c, 0x75, 0x65, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]) },
          ],
          ['lone surrogate key in JSON', { method: 'POST', path: base, body: '{"Puts":[{"Key":"\\ud800","Value":"v"}]}' }],
          ['Puts is a string', { method: 'POST', path: base, body: '{"Puts":"a"}' }],
          ['Deletes item without Key', { method: 'POST', path: base, body: '{"Deletes":[{"Name":"a"}]}' }],
          ['Puts item Value null', { method: 'POST', path: base, body: '{"Puts":[{"Key":"a","Value":null}]}' }],
          ['oversize body', { method: 'POST', path: base, body: `{"Puts":[{"Key":"a","Value":"${'x'.repeat(7 * 1024 * 1024)}"}]}` }],
        ];
        for (const [label, request] of cases) {
          const res = await h.raw({ ...request, headers: { 'if-match': etag, 'content-type': 'application/json' }, service: KVS_SERVICE });
          assert.equal(res.status, 400, `${label}: ${res.body}`);
          assert.equal(res.headers['x-amzn-errortype'], 'ValidationException', label);
          assert.equal(typeof (JSON.parse(res.body) as { Message: unknown }).Message, 'string', label);
        }
        const store = (await h.state.stores.getStore({ arn }))!;
        assert.deepEqual([store.etag, store.itemCount], [etag, 0]);
      });

      it('lets exactly one of 10 racing UpdateKeys with the same ETag win; the rest get ConflictException', async () => {
        const { arn, etag } = await createStore('dp-race');
        const clients = Array.from({ length: 10 }, () => h.kvs());
        const results = await Promise.allSettled(
          clients.map((client, i) =>
            client.send(
              new UpdateKeysCommand({
                KvsARN: arn,
                IfMatch: etag,
                Puts: [
                  { Key: 'winner', Value: String(i) },
                  { Key: `k${i}`, Value: 'x' },
                ],
              }),
            ),
          ),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1);
        assert.equal(lost.length, 9);
        for (const r of lost) assert.equal((r.reason as Error).name, 'ConflictException');
        const store = (await h.state.stores.getStore({ arn }))!;
        assert.equal(store.itemCount, 2);
        assert.equal(store.etag, (won[0] as PromiseFulfilledResult<{ ETag?: string }>).value.ETag);
      });

      it('records the authenticated access key on every write in the audit log', async () => {
        const { arn, etag } = await createStore('dp-audit');
        await h.kvs().send(new PutKeyCommand({ KvsARN: arn, Key: 'who', Value: 'me', IfMatch: etag }));
        const records = await h.state.audit.list({ storeName: 'dp-audit' });
        assert.ok(records.length >= 2);
        for (const record of records) assert.equal(record.accessKeyId, h.key.accessKeyId);
      });
    });
  });
