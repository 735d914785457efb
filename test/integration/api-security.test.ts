/**
 * Regression tests for the API findings of issue 12 that need no child process: ImportSource reading any file
 * (finding 4), XML with a DTD (finding 5) and an If-Match header left out of the signature (finding 7). Each reproduces
 * the attack as it was reported, against `start` (SQLite) and `control --nats` (JetStream) alike.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CreateKeyValueStoreCommand, UpdateKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { GetKeyCommand } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { sharedNatsServer } from '../helpers/nats-shared.js';
import { HARNESS_TARGETS, rawRequest, sdkError, startHarness, type Harness } from './fixtures/kvs-api-harness.js';

const nats = sharedNatsServer();
after(() => nats.dispose());

const ENTITY_PAYLOAD = (root: string, inner: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE ${root} [<!ENTITY e "expanded-entity-text">]><${root} xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">${inner}</${root}>`;

for (const target of HARNESS_TARGETS)
  describe(`API security, on ${target.name}`, { skip: target.skip }, () => {
    describe('XML bodies: no DTD processing (issue 12, finding 5)', () => {
      let h: Harness;
      before(async () => {
        h = await startHarness({ target: target.name, nats });
        await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'xml', Comment: 'before' }));
      });
      after(() => h.close());

      it('answers a DOCTYPE with an internal entity with 400 InvalidArgument and stores nothing of it', async () => {
        const store = (await h.state.stores.getStore({ name: 'xml' }))!;
        const update = await h.raw({
          method: 'PUT',
          path: '/2020-05-31/key-value-store/xml',
          body: ENTITY_PAYLOAD('UpdateKeyValueStoreRequest', '<Comment>&e;</Comment>'),
          headers: { 'if-match': store.metadataEtag, 'content-type': 'application/xml' },
          service: 'cloudfront',
        });
        assert.equal(update.status, 400, update.body);
        assert.match(update.body, /<Code>InvalidArgument<\/Code>/);
        assert.match(update.body, /DOCTYPE/);
        assert.equal((await h.state.stores.getStore({ name: 'xml' }))!.comment, 'before');

        const create = await h.raw({
          method: 'POST',
          path: '/2020-05-31/key-value-store',
          body: ENTITY_PAYLOAD('CreateKeyValueStoreRequest', '<Name>dtd</Name><Comment>&e;</Comment>'),
          headers: { 'content-type': 'application/xml' },
          service: 'cloudfront',
        });
        assert.equal(create.status, 400, create.body);
        assert.match(create.body, /<Code>InvalidArgument<\/Code>/);
        assert.equal(await h.state.stores.getStore({ name: 'dtd' }), undefined);
      });

      it('refuses an undeclared entity reference and a lower-case doctype alike', async () => {
        const store = (await h.state.stores.getStore({ name: 'xml' }))!;
        for (const body of [
          '<UpdateKeyValueStoreRequest><Comment>&e;</Comment></UpdateKeyValueStoreRequest>',
          '<!doctype x><UpdateKeyValueStoreRequest><Comment>x</Comment></UpdateKeyValueStoreRequest>',
          '<UpdateKeyValueStoreRequest><Comment>a & b</Comment></UpdateKeyValueStoreRequest>',
        ]) {
          const res = await h.raw({
            method: 'PUT',
            path: '/2020-05-31/key-value-store/xml',
            body,
            headers: { 'if-match': store.metadataEtag },
            service: 'cloudfront',
          });
          assert.equal(res.status, 400, `${body} → ${res.body}`);
          assert.match(res.body, /<Code>InvalidArgument<\/Code>/);
        }
        assert.equal((await h.state.stores.getStore({ name: 'xml' }))!.comment, 'before');
      });

      it('still decodes the predefined entities and character references the SDK sends', async () => {
        const store = (await h.state.stores.getStore({ name: 'xml' }))!;
        const out = await h.cloudFront().send(new UpdateKeyValueStoreCommand({ Name: 'xml', IfMatch: store.metadataEtag, Comment: `a<b & "c" 'd' é` }));
        assert.equal(out.KeyValueStore?.Comment, `a<b & "c" 'd' é`);
        const again = (await h.state.stores.getStore({ name: 'xml' }))!;
        const res = await h.raw({
          method: 'PUT',
          path: '/2020-05-31/key-value-store/xml',
          body: '<UpdateKeyValueStoreRequest><Comment>&#65;&#x42;&lt;&amp;</Comment></UpdateKeyValueStoreRequest>',
          headers: { 'if-match': again.metadataEtag },
          service: 'cloudfront',
        });
        assert.equal(res.status, 200, res.body);
        assert.equal((await h.state.stores.getStore({ name: 'xml' }))!.comment, 'AB<&');
      });
    });

    describe('If-Match must be signed when present (issue 12, finding 7)', () => {
      let h: Harness;
      before(async () => {
        h = await startHarness({ target: target.name, nats });
        await h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: 'replay', Comment: 'before' }));
      });
      after(() => h.close());

      /** A request signed without If-Match, sent with one added afterwards (what a replay with a fresh ETag does). */
      async function withUnsignedIfMatch(method: string, path: string, body: string, service: string, ifMatch: string) {
        const url = new URL(`http://127.0.0.1:${h.server.port}${path}`);
        const headers = signRequestV4({ method, url, body: Buffer.from(body), service, ...h.key });
        return rawRequest(h.server.port, { method, path, body, headers: { ...headers, 'if-match': ifMatch }, sign: false });
      }

      it('refuses the control plane write with 403 AccessDenied and changes nothing', async () => {
        const store = (await h.state.stores.getStore({ name: 'replay' }))!;
        const res = await withUnsignedIfMatch(
          'PUT',
          '/2020-05-31/key-value-store/replay',
          '<UpdateKeyValueStoreRequest><Comment>replayed</Comment></UpdateKeyValueStoreRequest>',
          'cloudfront',
          store.metadataEtag,
        );
        assert.equal(res.status, 403, res.body);
        assert.match(res.body, /<Code>AccessDenied<\/Code>/);
        assert.match(res.body, /If-Match/);
        assert.equal((await h.state.stores.getStore({ name: 'replay' }))!.comment, 'before');
      });

      it('refuses the data plane write with 403 AccessDeniedException and changes nothing', async () => {
        const store = (await h.state.stores.getStore({ name: 'replay' }))!;
        const path = `/key-value-stores/${encodeURIComponent(store.arn)}/keys/k`;
        const res = await withUnsignedIfMatch('PUT', path, '{"Value":"v"}', 'cloudfront-keyvaluestore', store.etag);
        assert.equal(res.status, 403, res.body);
        assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException');
        assert.equal((await h.state.stores.getStore({ name: 'replay' }))!.itemCount, 0);
      });

      it('accepts the same write when If-Match is signed (as the SDK does)', async () => {
        const store = (await h.state.stores.getStore({ name: 'replay' }))!;
        const res = await h.raw({
          method: 'PUT',
          path: '/2020-05-31/key-value-store/replay',
          body: '<UpdateKeyValueStoreRequest><Comment>signed</Comment></UpdateKeyValueStoreRequest>',
          headers: { 'if-match': store.metadataEtag },
          service: 'cloudfront',
        });
        assert.equal(res.status, 200, res.body);
        assert.equal((await h.state.stores.getStore({ name: 'replay' }))!.comment, 'signed');
      });
    });

    describe('ImportSource is confined to the import directory (issue 12, finding 4)', () => {
      const VALID = JSON.stringify({
        data: [
          { key: 'k1', value: 'v1' },
          { key: 'k2', value: 'v2' },
        ],
      });

      it('is off by default: a server file such as /etc/passwd is never read, and the answer says how to turn it on', async () => {
        const h = await startHarness({ target: target.name, nats });
        try {
          const outside = join(h.dir, 'outside.json');
          writeFileSync(outside, VALID);
          for (const [name, source] of [
            ['passwd', '/etc/passwd'],
            ['valid-outside', outside],
            ['url-outside', pathToFileURL(outside).href],
          ]) {
            const err = await sdkError(
              h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name, ImportSource: { SourceType: 'S3', SourceARN: source } })),
            );
            assert.deepEqual([err.name, err.status], ['UnsupportedOperation', 400], `${source}: ${err.message}`);
            assert.match(err.message, /--import-dir/);
            assert.equal(await h.state.stores.getStore({ name }), undefined);
          }
        } finally {
          await h.close();
        }
      });

      describe('with an import directory', () => {
        let h: Harness;
        let root: string;
        let importDir: string;
        before(async () => {
          root = mkdtempSync(join(tmpdir(), 'openfront-import-'));
          importDir = join(root, 'imports');
          mkdirSync(join(importDir, 'bucket'), { recursive: true });
          writeFileSync(join(importDir, 'bucket', 'data.json'), VALID);
          writeFileSync(join(importDir, 'not-json.txt'), 'root:SECRET-HASH:19000:0:99999:7:::');
          writeFileSync(join(importDir, 'bad-key.json'), JSON.stringify({ data: [{ key: `SECRET-${'x'.repeat(600)}`, value: 'v' }] }));
          writeFileSync(join(root, 'outside.json'), VALID);
          symlinkSync(join(root, 'outside.json'), join(importDir, 'link.json'));
          symlinkSync(root, join(importDir, 'up'));
          h = await startHarness({ target: target.name, nats, server: { importDir } });
        });
        after(async () => {
          await h.close();
          rmSync(root, { recursive: true, force: true });
        });

        const create = (name: string, source: string) =>
          h.cloudFront().send(new CreateKeyValueStoreCommand({ Name: name, ImportSource: { SourceType: 'S3', SourceARN: source } }));

        it('imports an S3 ARN or a relative path under the directory', async () => {
          for (const [name, source] of [
            ['by-arn', 'arn:aws:s3:::bucket/data.json'],
            ['by-path', 'bucket/data.json'],
          ]) {
            const res = await create(name, source);
            assert.equal(res.$metadata.httpStatusCode, 201);
            const got = await h.kvs().send(new GetKeyCommand({ KvsARN: res.KeyValueStore!.ARN, Key: 'k2' }));
            assert.deepEqual([got.Value, got.ItemCount], ['v2', 2]);
          }
        });

        it('gives one and the same error for every file it must not or cannot read', async () => {
          const outside = join(root, 'outside.json');
          const sources = [
            '/etc/passwd',
            '/etc/does-not-exist',
            outside,
            pathToFileURL(outside).href,
            pathToFileURL(join(importDir, 'bucket', 'data.json')).href,
            '../outside.json',
            'bucket/../../outside.json',
            'bucket/./data.json',
            'arn:aws:s3:::../outside.json',
            'arn:aws:s3:::bucket/../../outside.json',
            'link.json',
            'up/outside.json',
            'missing.json',
            'bucket',
            'bucket/',
            'http://example.com/data.json',
            'bucket\\data.json',
            'bucket/data.json\0',
          ];
          const messages = new Set<string>();
          for (const [i, source] of sources.entries()) {
            const err = await sdkError(create(`refused-${i}`, source));
            assert.deepEqual([err.name, err.status], ['InvalidArgument', 400], `${source}: ${err.message}`);
            messages.add(err.message);
            assert.equal(await h.state.stores.getStore({ name: `refused-${i}` }), undefined, source);
          }
          assert.deepEqual([...messages], ['ImportSource.SourceARN does not name a readable import file in the import directory']);
        });

        it('quotes nothing of a file that is not a valid import file', async () => {
          for (const [name, source] of [
            ['not-json', 'not-json.txt'],
            ['bad-key', 'bad-key.json'],
          ]) {
            const err = await sdkError(create(name, source));
            assert.deepEqual([err.name, err.status], ['InvalidArgument', 400], err.message);
            assert.doesNotMatch(err.message, /SECRET|root|found '|xxxx/, err.message);
            assert.equal(await h.state.stores.getStore({ name }), undefined);
          }
        });
      });
    });
  });
