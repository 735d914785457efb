/**
 * `?wait=all` against an edge that lags, through the real API server: the write is committed and answered with
 * PROPAGATION_TIMEOUT naming the edge once the timeout passes, in each API's error style; a wait is bounded below
 * the connection's idle timeout so that a silent wait is never cut by it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LocalPropagationView } from '../../src/observe/propagation-local.js';
import { startHarness, type Harness } from './fixtures/kvs-api-harness.js';

describe('?wait=all with an edge that lags', () => {
  let h: Harness;
  let view: LocalPropagationView;
  let storeId = '';
  /** The edge is stuck at this version of the store. */
  let served = 0;

  before(async () => {
    view = new LocalPropagationView({
      name: 'stuck-edge',
      versions: () => ({ stores: storeId === '' ? {} : { [storeId]: { version: served, appliedAt: new Date().toISOString() } }, functions: {} }),
    });
    h = await startHarness({ server: { propagation: view, limits: { idleTimeoutMs: 3000 } } });
    const created = await h.db.createStore({ name: 'lagging' }, { accessKeyId: 'test' });
    storeId = created.id;
  });

  after(async () => {
    await h?.close();
    view?.close();
  });

  const put = (query: string, value: string) => {
    const store = h.db.getStore({ name: 'lagging' })!;
    return h.raw({
      method: 'PUT',
      path: `/key-value-stores/${encodeURIComponent(store.arn)}/keys/k${query}`,
      service: 'cloudfront-keyvaluestore',
      headers: { 'content-type': 'application/json', 'if-match': store.etag },
      body: JSON.stringify({ Value: value }),
    });
  };

  it('answers 504 PropagationTimeout naming the edge, with the write committed', async () => {
    const before = h.db.getStore({ name: 'lagging' })!;
    const res = await put('?wait=all&timeout=300ms', 'v1');
    assert.equal(res.status, 504, res.body);
    assert.equal(res.headers['x-amzn-errortype'], 'PropagationTimeout');
    const message = (JSON.parse(res.body) as { Message: string }).Message;
    assert.match(message, new RegExp(`committed as version ${before.version + 1} \\(ETag ${h.db.getStore({ name: 'lagging' })!.etag}\\)`));
    assert.match(message, /stuck-edge \(serves 0, \d+ ms behind\)/);
    assert.equal(h.db.getStore({ name: 'lagging' })!.version, before.version + 1, 'the write is not undone');
  });

  it('returns as soon as the edge catches up', async () => {
    const pending = put('?wait=all&timeout=2s', 'v2');
    const target = h.db.getStore({ name: 'lagging' })!.version + 1;
    // Let the write commit, then the edge catch up.
    for (let i = 0; i < 100 && h.db.getStore({ name: 'lagging' })!.version < target; i++) await new Promise((r) => setTimeout(r, 10));
    served = target;
    view.changed();
    const res = await pending;
    assert.equal(res.status, 200, res.body);
    assert.equal(res.headers['x-openfront-version'], String(target));
  });

  it('refuses a wait the idle timeout would cut, and answers the longest allowed one before the cut', async () => {
    const refused = await put('?wait=all&timeout=3s', 'v3');
    assert.equal(refused.status, 400, refused.body);
    assert.match(refused.body, /timeout must be a duration from 1ms to 2000ms/);
    const longest = await put('?wait=all&timeout=2s', 'v4');
    assert.equal(longest.status, 504, 'answered, not cut by the 3 s idle timeout');
  });

  it('answers the native import with PROPAGATION_TIMEOUT in the native error style', async () => {
    const res = await h.raw({
      method: 'POST',
      path: '/openfront/v1/key-value-stores/lagging/import?mode=merge&wait=all&timeout=100ms',
      service: 'openfront',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ key: 'a', value: 'b' }] }),
    });
    assert.equal(res.status, 504, res.body);
    const error = (JSON.parse(res.body) as { error: { code: string; details: { version: number; lagging: Array<{ name: string }> } } }).error;
    assert.equal(error.code, 'PROPAGATION_TIMEOUT');
    assert.equal(error.details.version, h.db.getStore({ name: 'lagging' })!.version);
    assert.deepEqual(
      error.details.lagging.map((e) => e.name),
      ['stuck-edge'],
    );
  });
});
