/** The config switch that lifts CloudFront's KeyValueStore limits for self-hosting, on a real node. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startOpenFrontNode } from '../../src/node/index.js';

async function putLargeValue(limits: 'cloudfront' | 'unlimited'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-limits-'));
  const config = parseConfig(
    {
      kvs: { limits },
      stores: [{ name: 'big' }],
      distributions: [{ id: 'E1', hostnames: ['*'], origins: [{ id: 'a', static: '.' }], defaultBehavior: { origin: 'a' } }],
    },
    dir,
  );
  const node = await startOpenFrontNode({ dataDir: join(dir, 'data'), config, api: { port: 0 }, edge: { port: 0 } });
  try {
    const store = node.state.kvs.getStore({ name: 'big' });
    assert.ok(store);
    node.state.kvs.putKey(store.id, 'k', 'x'.repeat(5000), store.etag, { accessKeyId: 'test' });
    return 'stored';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('by default a 5,000-byte value is refused like CloudFront; kvs.limits: unlimited accepts it', async () => {
  assert.equal(await putLargeValue('cloudfront'), 'KVS_VALIDATION');
  assert.equal(await putLargeValue('unlimited'), 'stored');
});

test('an unknown limits profile is a config error naming the path', () => {
  assert.throws(
    () =>
      parseConfig(
        { kvs: { limits: 'huge' }, distributions: [{ id: 'E1', hostnames: ['*'], origins: [{ id: 'a', static: '.' }], defaultBehavior: { origin: 'a' } }] },
        tmpdir(),
      ),
    (err: Error & { details?: { problems?: Array<{ path: string }> } }) => err.details?.problems?.some((p) => p.path === 'kvs.limits') === true,
  );
});
