/**
 * Releases through the HTTP API (docs/safe-changes.md#releases) on `openfront start`'s demo: create, apply and roll
 * back a release that changes the redirect function and its store together; every refusal (a write in between, a
 * stale If-Match, bad code, a wrong status) writes nothing. On the JetStream fleet the routes refuse clearly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import type { ReleaseJson } from '../../src/state/releases.js';
import { HARNESS_TARGETS, rawRequest, startHarness, type Credentials, type RawResponse } from './fixtures/kvs-api-harness.js';

const STORE = 'demo-redirects';
const FUNCTION = 'demo-redirects';

/** The demo's redirect function, answering 308 instead of 301: a visible code change. */
const NEW_CODE = `import cf from 'cloudfront';
const redirects = cf.kvs();
async function handler(event) {
  const key = event.request.uri;
  if (await redirects.exists(key)) {
    return { statusCode: 308, statusDescription: 'Permanent Redirect', headers: { location: { value: await redirects.get(key) } } };
  }
  return { statusCode: 404, statusDescription: 'Not Found' };
}
`;

describe('releases API (openfront start)', () => {
  let dataDir: string;
  let node: OpenFrontNode;
  let key: Credentials;

  const api = (method: string, path: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(node.api.port, {
      method,
      path,
      credentials: key,
      service: 'openfront',
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  const edgeGet = async (path: string): Promise<{ status: number; location: string | null }> => {
    const res = await fetch(`${node.edge.url}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    return { status: res.status, location: res.headers.get('location') };
  };
  const storeNow = () => node.state.kvs.getStore({ name: STORE })!;
  const liveVersion = () => node.registry.live(FUNCTION)!.version;
  const create = async (body: unknown): Promise<ReleaseJson> => {
    const res = await api('POST', '/openfront/v1/releases', body);
    assert.equal(res.status, 201, res.body);
    return JSON.parse(res.body) as ReleaseJson;
  };
  const errorOf = (res: RawResponse): { type: string; message: string } => (JSON.parse(res.body) as { error: { type: string; message: string } }).error;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-releases-'));
    node = await startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 } });
    key = node.state.keys.createAccessKey('releases test');
  });

  after(async () => {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates, applies and rolls back a function and its data as one', async () => {
    const storeBefore = storeNow();
    const itemsBefore = node.state.kvs.exportData(storeBefore.id);
    const liveBefore = liveVersion();
    assert.deepEqual(await edgeGet('/go/docs'), { status: 301, location: '/docs/' });
    assert.equal((await edgeGet('/go/new')).status, 404);

    const release = await create({
      description: 'redirects answer 308; /go/new added, /go/home removed, /go/docs moved',
      function: { name: FUNCTION, code: NEW_CODE },
      changes: {
        stores: {
          [STORE]: {
            puts: [
              { key: '/go/new', value: '/new/' },
              { key: '/go/docs', value: '/docs/v2/' },
            ],
            deletes: ['/go/home'],
          },
        },
      },
    });
    assert.match(release.id, /^rel-[a-z0-9]{12}$/);
    assert.equal(release.status, 'created');
    assert.equal(release.expected.stores[STORE], storeBefore.etag);
    // Created is not applied: nothing moved yet.
    assert.equal(storeNow().etag, storeBefore.etag);
    assert.equal(liveVersion(), liveBefore);

    const applied = await api('POST', `/openfront/v1/releases/${release.id}/apply`);
    assert.equal(applied.status, 200, applied.body);
    const appliedJson = JSON.parse(applied.body) as ReleaseJson;
    assert.equal(appliedJson.status, 'applied');
    assert.equal(appliedJson.applied!.functions[0]!.previousVersion, liveBefore);
    assert.equal(appliedJson.applied!.functions[0]!.version, liveVersion());
    assert.ok(liveVersion() > liveBefore);
    assert.equal(appliedJson.applied!.stores[STORE]!.versionBefore, storeBefore.version);
    assert.equal(appliedJson.applied!.stores[STORE]!.version, storeNow().version);
    assert.equal(applied.headers['x-openfront-version'], String(liveVersion()));
    assert.deepEqual(await edgeGet('/go/new'), { status: 308, location: '/new/' });
    assert.deepEqual(await edgeGet('/go/docs'), { status: 308, location: '/docs/v2/' });
    assert.equal((await edgeGet('/go/home')).status, 404);

    const shown = JSON.parse((await api('GET', `/openfront/v1/releases/${release.id}`)).body) as ReleaseJson;
    assert.deepEqual(shown.undo, {
      stores: {
        [STORE]: {
          puts: [
            { key: '/go/docs', value: '/docs/' },
            { key: '/go/home', value: '/' },
          ],
          deletes: ['/go/new'],
        },
      },
    });
    const listed = JSON.parse((await api('GET', '/openfront/v1/releases?limit=5')).body) as { items: Array<Record<string, unknown>> };
    assert.equal(listed.items[0]!.id, release.id);
    assert.deepEqual(listed.items[0]!.stores, { [STORE]: { puts: 2, deletes: 1 } });

    const rolledBack = await api('POST', `/openfront/v1/releases/${release.id}/rollback`);
    assert.equal(rolledBack.status, 200, rolledBack.body);
    assert.equal((JSON.parse(rolledBack.body) as ReleaseJson).status, 'rolled-back');
    assert.equal(liveVersion(), liveBefore);
    assert.deepEqual(await edgeGet('/go/docs'), { status: 301, location: '/docs/' });
    assert.deepEqual(await edgeGet('/go/home'), { status: 301, location: '/' });
    assert.equal((await edgeGet('/go/new')).status, 404);
    // Rollback is new writes, not a rewind: the store moved forward to a version equal in content to the one before.
    assert.ok(storeNow().version > appliedJson.applied!.stores[STORE]!.version);
    assert.deepEqual(node.state.kvs.exportData(storeBefore.id), itemsBefore);

    const operations = node.state.auditLog.list({ limit: 20 }).map((record) => record.operation);
    for (const op of ['CreateRelease', 'ApplyRelease', 'ReleaseKeys', 'RollbackRelease', 'RollbackReleaseKeys', 'RollbackFunction', 'PublishFunction']) {
      assert.ok(operations.includes(op), `audit has ${op}: ${operations.join(', ')}`);
    }
    const again = await api('POST', `/openfront/v1/releases/${release.id}/apply`);
    assert.equal(again.status, 409);
    assert.equal(errorOf(again).type, 'ReleaseStateConflict');
  });

  it('refuses an apply when a store moved since the release was created, writing nothing', async () => {
    const release = await create({
      function: { name: FUNCTION, code: NEW_CODE },
      changes: { stores: { [STORE]: { puts: [{ key: '/go/x', value: '/x/' }] } } },
    });
    const liveBefore = liveVersion();
    // Someone else writes in between.
    node.state.kvs.putKey(storeNow().id, '/go/other', '/other/', storeNow().etag, { accessKeyId: 'someone-else' });
    const etagAfterOtherWrite = storeNow().etag;
    const res = await api('POST', `/openfront/v1/releases/${release.id}/apply`);
    assert.equal(res.status, 412, res.body);
    assert.equal(errorOf(res).type, 'PreconditionFailed');
    assert.match(errorOf(res).message, /Store demo-redirects changed since the release was prepared/);
    assert.equal(storeNow().etag, etagAfterOtherWrite);
    assert.equal(liveVersion(), liveBefore);
    assert.equal((await edgeGet('/go/x')).status, 404);
    const shown = JSON.parse((await api('GET', `/openfront/v1/releases/${release.id}`)).body) as ReleaseJson;
    assert.equal(shown.status, 'failed');
    assert.equal(shown.error?.code, 'RELEASE_CONFLICT');
  });

  it('refuses an apply when the function moved since, even if the stores did not', async () => {
    const release = await create({
      function: { name: FUNCTION, code: NEW_CODE },
      changes: { stores: { [STORE]: { puts: [{ key: '/go/y', value: '/y/' }] } } },
    });
    const live = node.registry.findStage(FUNCTION, 'LIVE')!;
    node.registry.rollback(FUNCTION, 1, live.etag, { accessKeyId: 'someone-else' });
    const storeEtag = storeNow().etag;
    const res = await api('POST', `/openfront/v1/releases/${release.id}/apply`);
    assert.equal(res.status, 412, res.body);
    assert.match(errorOf(res).message, /LIVE stage of function demo-redirects moved/);
    assert.equal(storeNow().etag, storeEtag, 'the store part was not written');
    assert.equal(liveVersion(), 1);
  });

  it('refuses at create: a stale If-Match, bad code, unknown stores, empty releases; nothing is stored', async () => {
    const count = () => (JSON.parse(rawBody) as { items: unknown[] }).items.length;
    let rawBody = (await api('GET', '/openfront/v1/releases')).body;
    const before = count();
    const stale = await api('POST', '/openfront/v1/releases', {
      changes: { stores: { [STORE]: { deletes: ['/go/docs'] } } },
      ifMatch: { stores: { [STORE]: 'KV0000000000000' } },
    });
    assert.equal(stale.status, 412, stale.body);
    assert.match(errorOf(stale).message, /store demo-redirects \(KV0000000000000 is now KV/);
    const badCode = await api('POST', '/openfront/v1/releases', { function: { name: FUNCTION, code: 'function handler(e) { return e.request' } });
    assert.equal(badCode.status, 400, badCode.body);
    const noHandler = await api('POST', '/openfront/v1/releases', { function: { name: FUNCTION, code: 'var x = 1;' } });
    assert.equal(noHandler.status, 400, noHandler.body);
    const unknownStore = await api('POST', '/openfront/v1/releases', { changes: { stores: { nope: { deletes: ['k'] } } } });
    assert.equal(unknownStore.status, 400);
    assert.match(errorOf(unknownStore).message, /store nope, which does not exist/);
    const empty = await api('POST', '/openfront/v1/releases', {});
    assert.equal(empty.status, 400);
    assert.match(errorOf(empty).message, /changes nothing/);
    const both = await api('POST', '/openfront/v1/releases', { function: { name: FUNCTION, code: NEW_CODE, version: 1 } });
    assert.equal(both.status, 400);
    const missingVersion = await api('POST', '/openfront/v1/releases', { function: { name: FUNCTION, version: 999 } });
    assert.equal(missingVersion.status, 404);
    const notJson = await api('POST', '/openfront/v1/releases', '{');
    assert.equal(notJson.status, 400);
    rawBody = (await api('GET', '/openfront/v1/releases')).body;
    assert.equal(count(), before);
    assert.equal((await api('GET', '/openfront/v1/releases/rel-000000000000')).status, 404);
    assert.equal((await api('POST', '/openfront/v1/releases/not-an-id/apply')).status, 404);
  });

  it('bounds the body (abuse: a 13 MB release is refused before it is parsed)', async () => {
    const res = await api('POST', '/openfront/v1/releases', `{"description":"${'x'.repeat(13 * 1024 * 1024)}"}`);
    assert.equal(res.status, 413);
  });

  it('moves LIVE to an existing version with data, and refuses a rollback over a later change to a released key', async () => {
    const versions = node.registry.versions(FUNCTION).map((v) => v.version);
    const target = versions[0]!;
    const release = await create({
      function: { name: FUNCTION, version: target },
      changes: { stores: { [STORE]: { puts: [{ key: '/go/z', value: '/z/' }] } } },
    });
    const res = await api('POST', `/openfront/v1/releases/${release.id}/apply`);
    assert.equal(res.status, 200, res.body);
    assert.equal(liveVersion(), target);
    node.state.kvs.putKey(storeNow().id, '/go/z', '/changed/', storeNow().etag, { accessKeyId: 'someone-else' });
    const refused = await api('POST', `/openfront/v1/releases/${release.id}/rollback`);
    assert.equal(refused.status, 412, refused.body);
    assert.match(errorOf(refused).message, /Key "\/go\/z" of store demo-redirects changed since the release was applied/);
    assert.equal(node.state.kvs.getKey(storeNow().id, '/go/z').value, '/changed/');
    assert.equal((JSON.parse((await api('GET', `/openfront/v1/releases/${release.id}`)).body) as ReleaseJson).status, 'applied');
  });
});

const fleet = HARNESS_TARGETS.find((t) => t.name === 'control+nats')!;

describe('releases API on the JetStream fleet (openfront control --nats)', { skip: fleet.skip }, () => {
  it('refuses every release route with RELEASES_UNAVAILABLE (501), writing nothing', async () => {
    const harness = await startHarness({ target: 'control+nats' });
    try {
      const store = await harness.state.stores.createStore({ name: 'flags' }, { accessKeyId: 'test' });
      const create = await harness.raw({
        method: 'POST',
        path: '/openfront/v1/releases',
        service: 'openfront',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ changes: { stores: { flags: { puts: [{ key: 'a', value: '1' }] } } } }),
      });
      assert.equal(create.status, 501, create.body);
      assert.match(create.body, /NotImplemented/);
      assert.match(create.body, /not available on the jetstream backend/);
      const apply = await harness.raw({ method: 'POST', path: '/openfront/v1/releases/rel-000000000000/apply', service: 'openfront' });
      assert.equal(apply.status, 501);
      assert.equal((await harness.state.stores.getStore({ id: store.id }))!.version, store.version);
    } finally {
      await harness.close();
    }
  });
});
