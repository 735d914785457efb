/**
 * The release atomicity check (docs/safe-changes.md#releases): while the edge is hammered with requests, releases
 * change a function's code and the value it reads together; every response must come from a matching pair — code
 * N with data N — never new code with old data or the reverse. The function echoes its code generation and the value
 * it read. A control case first shows the check catches a mixed state when data and code move separately.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import type { ReleaseJson } from '../../src/state/releases.js';
import { rawRequest, type Credentials } from './fixtures/kvs-api-harness.js';

const STORE = 'pairs';
const FUNCTION = 'pair';

/** Code generation `n`: answers `code=<n> data=<the value of key "v">`. */
function codeOf(n: number): string {
  return `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const v = await kvs.get('v');
  return { statusCode: 200, statusDescription: 'OK', headers: { 'x-pair': { value: 'code=${n} data=' + v } } };
}
`;
}

const PAIR = /^code=(\d+) data=(\d+)$/;

describe('release atomicity on one node (openfront start)', () => {
  let dir: string;
  let node: OpenFrontNode;
  let key: Credentials;
  const agent = new Agent({ connections: 16, pipelining: 1 });

  /** One response's pair; `busy` for a 503 (a function stopped by its CPU budget on a loaded machine carries no pair). */
  const pairOnce = async (): Promise<string> => {
    const res = await request(`${node.edge.url}/any`, { dispatcher: agent });
    await res.body.dump();
    if (res.statusCode === 503) return 'busy';
    assert.equal(res.statusCode, 200);
    return String(res.headers['x-pair']);
  };
  const pairOf = async (): Promise<string> => {
    for (let attempt = 0; ; attempt++) {
      const pair = await pairOnce();
      if (pair !== 'busy' || attempt === 5) return pair;
    }
  };
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: ReleaseJson }> => {
    const res = await rawRequest(node.api.port, {
      method,
      path,
      credentials: key,
      service: 'openfront',
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    assert.ok(res.status < 300 || res.status === 503, res.body);
    return { status: res.status, json: JSON.parse(res.body) as ReleaseJson };
  };
  /**
   * Creates and applies a release. On a loaded machine loading the new code may exceed its CPU budget (503): the
   * release is then refused before anything is written, and a fresh one is tried.
   */
  const release = async (body: unknown): Promise<string> => {
    for (let attempt = 1; ; attempt++) {
      const created = await api('POST', '/openfront/v1/releases', body);
      const applied = created.status === 201 ? await api('POST', `/openfront/v1/releases/${created.json.id}/apply`) : created;
      if (applied.status === 200) return created.json.id;
      assert.ok(attempt < 5, 'the machine stayed too busy to load a function');
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-release-atomic-'));
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'pair.js'), codeOf(0));
    writeFileSync(join(dir, 'pairs.json'), JSON.stringify({ data: [{ key: 'v', value: '0' }] }));
    const config = parseConfig(
      {
        stores: [{ name: STORE, seed: 'pairs.json' }],
        functions: [{ name: FUNCTION, code: 'pair.js', store: STORE }],
        distributions: [
          {
            id: 'EATOMIC0000001',
            hostnames: ['*'],
            origins: [{ id: 'site', static: './site' }],
            defaultBehavior: { origin: 'site', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': FUNCTION } },
          },
        ],
      },
      dir,
    );
    node = await startOpenFrontNode({ dataDir: join(dir, 'data'), config, api: { port: 0 }, edge: { port: 0 } });
    key = node.state.keys.createAccessKey('atomicity test');
  });

  after(async () => {
    await agent.close();
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('control: moving data and code separately is seen by the edge as a mixed pair', async () => {
    assert.equal(await pairOf(), 'code=0 data=0');
    const store = node.state.kvs.getStore({ name: STORE })!;
    node.state.kvs.putKey(store.id, 'v', '1', store.etag, { accessKeyId: 'control' });
    assert.equal(await pairOf(), 'code=0 data=1', 'the check below would catch this state');
    // Back to a matching pair for the real test.
    node.state.kvs.putKey(store.id, 'v', '0', node.state.kvs.getStore({ name: STORE })!.etag, { accessKeyId: 'control' });
    assert.equal(await pairOf(), 'code=0 data=0');
  });

  it('every response during releases and a rollback is old code + old data or new code + new data', async (t) => {
    const seen = new Map<string, number>();
    let stop = false;
    const hammer = async (): Promise<void> => {
      while (!stop) {
        const pair = await pairOnce();
        seen.set(pair, (seen.get(pair) ?? 0) + 1);
      }
    };
    const loops = Array.from({ length: 12 }, () => hammer());
    const GENERATIONS = 5;
    let lastRelease = '';
    try {
      for (let n = 1; n <= GENERATIONS; n++) {
        // Let the hammer run against generation n-1 before the switch.
        const mark = [...seen.values()].reduce((a, b) => a + b, 0);
        while ([...seen.values()].reduce((a, b) => a + b, 0) < mark + 20) await new Promise((resolve) => setImmediate(resolve));
        lastRelease = await release({
          description: `generation ${n}`,
          function: { name: FUNCTION, code: codeOf(n) },
          changes: { stores: { [STORE]: { puts: [{ key: 'v', value: String(n) }] } } },
        });
      }
      const served = () => [...seen.entries()].filter(([pair]) => pair === `code=${GENERATIONS} data=${GENERATIONS}`).reduce((a, [, n]) => a + n, 0);
      while (served() < 10) await new Promise((resolve) => setImmediate(resolve));
      for (let attempt = 1; (await api('POST', `/openfront/v1/releases/${lastRelease}/rollback`)).status !== 200; attempt++) {
        assert.ok(attempt < 5, 'the machine stayed too busy to load a function');
      }
      const mark = [...seen.values()].reduce((a, b) => a + b, 0);
      while ([...seen.values()].reduce((a, b) => a + b, 0) < mark + 50) await new Promise((resolve) => setImmediate(resolve));
    } finally {
      stop = true;
      await Promise.all(loops);
    }
    const mixed = [...seen.keys()].filter((pair) => {
      if (pair === 'busy') return false;
      const m = PAIR.exec(pair);
      return m === null || m[1] !== m[2];
    });
    assert.deepEqual(mixed, [], `mixed responses: ${JSON.stringify(Object.fromEntries(seen))}`);
    // The hammer straddled the switches: it saw the first pair, the last release's pair, and the rolled-back one.
    const total = [...seen.values()].reduce((a, b) => a + b, 0);
    assert.ok(seen.has('code=0 data=0') && seen.has(`code=${GENERATIONS} data=${GENERATIONS}`), JSON.stringify(Object.fromEntries(seen)));
    assert.ok(seen.has(`code=${GENERATIONS - 1} data=${GENERATIONS - 1}`));
    assert.ok(total > 200, `only ${total} requests`);
    t.diagnostic(`${total} responses: ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.equal(await pairOf(), `code=${GENERATIONS - 1} data=${GENERATIONS - 1}`, 'the rollback restored generation 4 as a pair');
  });
});
