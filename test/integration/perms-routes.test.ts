/**
 * Every route of a whole node declares its action (docs/safe-changes.md, "Permissions and ownership"), and every
 * route refuses a key whose policy grants nothing there: 403 in the route's error shape, an AccessDenied audit
 * record, nothing stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { ADMIN_ONLY } from '../../src/control/auth/route-access.js';
import { loadConfig } from '../../src/config/load.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import { rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';

/** The action each route of `openfront start` requires (method and pattern as the router lists them). */
const EXPECTED: Record<string, string> = {
  'GET /key-value-stores/{KvsARN}': 'kvs:read',
  'GET /key-value-stores/{KvsARN}/keys/{Key}': 'kvs:read',
  'GET /key-value-stores/{KvsARN}/keys': 'kvs:read',
  'PUT /key-value-stores/{KvsARN}/keys/{Key}': 'kvs:write',
  'DELETE /key-value-stores/{KvsARN}/keys/{Key}': 'kvs:write',
  'POST /key-value-stores/{KvsARN}/keys': 'kvs:write',
  'POST /2020-05-31/key-value-store': 'kvs:manage',
  'GET /2020-05-31/key-value-store': 'kvs:read',
  'GET /2020-05-31/key-value-store/{Name}': 'kvs:read',
  'PUT /2020-05-31/key-value-store/{Name}': 'kvs:manage',
  'DELETE /2020-05-31/key-value-store/{Name}': 'kvs:manage',
  'POST /openfront/v1/key-value-stores/{Name}/import': 'kvs:write',
  'PUT /openfront/v1/key-value-stores/{Name}/ownership': 'kvs:manage',
  'GET /openfront/v1/ownership/key-value-stores': 'kvs:read',
  'POST /2020-05-31/function': 'function:update',
  'GET /2020-05-31/function': 'function:read',
  'GET /2020-05-31/function/{Name}/describe': 'function:read',
  'GET /2020-05-31/function/{Name}': 'function:read',
  'PUT /2020-05-31/function/{Name}': 'function:update',
  'POST /2020-05-31/function/{Name}/publish': 'function:publish',
  'POST /2020-05-31/function/{Name}/test': 'function:read',
  'DELETE /2020-05-31/function/{Name}': 'function:update',
  'POST /openfront/v1/functions/{Name}/rollback': 'function:publish',
  'PUT /openfront/v1/functions/{Name}/ownership': 'function:update',
  'GET /openfront/v1/ownership/functions': 'function:read',
  'GET /openfront/v1/audit': 'audit:read',
  'GET /openfront/v1/decisions': 'audit:read',
  'GET /openfront/v1/decisions/stream': 'audit:read',
  'POST /openfront/v1/reload': 'admin',
  'POST /openfront/v1/distributions/{Id}/invalidations': 'admin',
  'GET /openfront/v1/key-value-stores/{Name}/schema': 'kvs:read',
  'PUT /openfront/v1/key-value-stores/{Name}/schema': 'kvs:manage',
  'DELETE /openfront/v1/key-value-stores/{Name}/schema': 'kvs:manage',
  'POST /openfront/v1/dry-run': 'function:read',
  'POST /openfront/v1/releases': 'function:publish',
  'GET /openfront/v1/releases': 'function:read',
  'POST /openfront/v1/releases/{Id}/apply': 'function:publish',
  'POST /openfront/v1/releases/{Id}/rollback': 'function:publish',
};

describe('every route is mapped to an action and refuses a key without it', () => {
  let node: OpenFrontNode;
  let dataDir: string;
  let outsider: Credentials;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-perms-routes-'));
    node = await startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 } });
    // Holds a permission, but on nothing any request below names.
    outsider = await node.state.accessKeys.create('outsider', undefined, ['kvs:read:no-such-store']);
  });
  after(async () => {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('no route falls back to the admin default: each declares its action', () => {
    const routes = node.api.router.routes();
    assert.ok(routes.length >= 30, `${routes.length} routes`);
    const undeclared = routes.filter((r) => r.access === ADMIN_ONLY).map((r) => `${r.method} ${r.pattern}`);
    assert.deepEqual(undeclared, [], 'routes without RouteOptions.access');
    for (const [route, action] of Object.entries(EXPECTED)) {
      const found = routes.find((r) => `${r.method} ${r.pattern}` === route);
      assert.ok(found, `${route} is served`);
      assert.equal(found.access.action, action, route);
    }
  });

  it('answers 403 in the route group shape to every route, audits each refusal and changes nothing', async () => {
    const routes = node.api.router.routes();
    const storesBefore = JSON.stringify(await node.state.stores.listStores());
    const functionsBefore = JSON.stringify(await node.state.functions.list());
    for (const route of routes) {
      // Every parameter names a resource the key has no permission on; a body the route could parse if allowed.
      const path = route.pattern.replace(/\{[^}]+\}/g, 'demo-flags').replace('/keys/demo-flags', '/keys/k');
      const res = await rawRequest(node.api.port, {
        method: route.method,
        path,
        service: route.service,
        credentials: outsider,
        ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { body: '{}' }),
      });
      const where = `${route.method} ${route.pattern}`;
      assert.equal(res.status, 403, `${where}: ${res.body}`);
      if (route.protocol === 'rest-xml') assert.match(res.body, /<Code>AccessDenied<\/Code>/, where);
      else assert.equal(res.headers['x-amzn-errortype'], 'AccessDeniedException', where);
    }
    const denied = (await node.state.audit.list({ accessKeyId: outsider.accessKeyId, limit: 1000 })).filter((r) => r.operation === 'AccessDenied');
    assert.equal(denied.length, routes.length, 'one AccessDenied record per refused call');
    assert.equal(JSON.stringify(await node.state.stores.listStores()), storesBefore);
    assert.equal(JSON.stringify(await node.state.functions.list()), functionsBefore);
  });

  it('a release needs function:publish on each of its functions and kvs:write on each store it changes', async () => {
    const flagsOnly = await node.state.accessKeys.create('flags only', undefined, ['kvs:write:demo-flags']);
    const post = (path: string, body: unknown) =>
      rawRequest(node.api.port, {
        method: 'POST',
        path,
        service: 'openfront',
        credentials: flagsOnly,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
    const change = (store: string) => ({ stores: { [store]: { puts: [{ key: 'perm-test', value: 'on' }], deletes: [] } } });
    const otherStore = await post('/openfront/v1/releases', { changes: { stores: { ...change('demo-flags').stores, ...change('demo-redirects').stores } } });
    assert.equal(otherStore.status, 403, otherStore.body);
    assert.match(otherStore.body, /not allowed kvs:write:demo-redirects/);
    const withFunction = await post('/openfront/v1/releases', { function: { name: 'demo-redirects', version: 1 }, changes: change('demo-flags') });
    assert.equal(withFunction.status, 403, withFunction.body);
    assert.match(withFunction.body, /not allowed function:publish:demo-redirects/);
    const allowed = await post('/openfront/v1/releases', { changes: change('demo-flags') });
    assert.equal(allowed.status, 201, allowed.body);
    const { id } = JSON.parse(allowed.body) as { id: string };
    const applied = await post(`/openfront/v1/releases/${id}/apply`, {});
    assert.equal(applied.status, 200, applied.body);
    assert.equal((await node.state.stores.getKey((await node.state.stores.getStore({ name: 'demo-flags' }))!.id, 'perm-test')).value, 'on');
  });

  it('caps the ownership body (16 KiB): a larger one is refused unread', async () => {
    const admin = await node.state.accessKeys.create('admin');
    const res = await rawRequest(node.api.port, {
      method: 'PUT',
      path: '/openfront/v1/key-value-stores/demo-flags/ownership',
      service: 'openfront',
      credentials: admin,
      body: JSON.stringify({ owner: 'x', labels: { a: 'y'.repeat(17 * 1024) } }),
    });
    assert.equal(res.status, 413);
    assert.equal((await node.state.stores.getStore({ name: 'demo-flags' }))?.owner, 'config', 'unchanged: the store the config seeded belongs to "config"');
  });
});
