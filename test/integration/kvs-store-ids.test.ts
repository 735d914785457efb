/**
 * Real CloudFront code names its store by id: a node started from a config whose store has `awsId` serves
 * `cf.kvs('<id>')` and `cf.kvs('<arn>')` from that store, fails a mismatched id as CloudFront does, and the API can
 * create a store with its AWS id.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyValueStoreCommand } from '@aws-sdk/client-cloudfront';
import { loadConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';
import { openFrontRejectionOf } from '../helpers/errors.js';
import { randomBytes } from 'node:crypto';
import { startControlRole, type ControlRole } from '../../src/node/control-role.js';
import { startEdgeRole, type EdgeRole } from '../../src/node/edge-role.js';
import { natsSkipReason } from '../helpers/nats-server.js';
import { sharedNatsServer } from '../helpers/nats-shared.js';
import { HARNESS_TARGETS, sdkError, startHarness } from './fixtures/kvs-api-harness.js';

const nats = sharedNatsServer();
after(() => nats.dispose());

const AWS_ID = '8aa76c93-3198-462c-aaf6-0123456789ab';
const OTHER_ID = '47970d59-6408-474d-b850-0123456789ab';

function get(port: number, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: 'www.example.com' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A function that redirects to the KVS value for the URI, naming its store as `named`; errors go in a header. */
function redirector(named: string): string {
  return `import cf from 'cloudfront';
const kvsHandle = cf.kvs(${JSON.stringify(named)});
async function handler(event) {
  const request = event.request;
  try {
    const target = await kvsHandle.get(request.uri);
    return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: target } } };
  } catch (e) {
    request.headers['x-kvs-error'] = { value: e.message };
    return request;
  }
}
`;
}

/** A project directory: a static site, a seeded store (with `awsId` when given) and three functions naming it. */
function writeProject(dir: string, awsId: string | undefined): string {
  mkdirSync(join(dir, 'site', 'by-other'), { recursive: true });
  writeFileSync(join(dir, 'site', 'by-other', 'page'), 'origin page\n');
  writeFileSync(
    join(dir, 'redirects.json'),
    JSON.stringify({
      data: [
        { key: '/by-id/old', value: '/new-id' },
        { key: '/by-arn/old', value: '/new-arn' },
        { key: '/by-other/page', value: '/never' },
      ],
    }),
  );
  writeFileSync(join(dir, 'by-id.js'), redirector(AWS_ID));
  writeFileSync(join(dir, 'by-arn.js'), redirector(`arn:aws:cloudfront::123456789012:key-value-store/${AWS_ID}`));
  writeFileSync(join(dir, 'by-other.js'), redirector(OTHER_ID));
  const fn = (name: string) => `  - { name: ${name}, code: ./${name}.js, store: redirects }\n`;
  const behavior = (name: string) =>
    `      - { pathPattern: "/${name}/*", origin: site, cachePolicy: CachingDisabled, functionAssociations: { viewer-request: ${name} } }\n`;
  writeFileSync(
    join(dir, 'openfront.config.yaml'),
    `stores:\n  - { name: redirects, seed: ./redirects.json${awsId ? `, awsId: ${awsId}` : ''} }\n` +
      `functions:\n${fn('by-id')}${fn('by-arn')}${fn('by-other')}` +
      `distributions:\n  - id: site\n    hostnames: ["*"]\n    origins:\n      - { id: site, static: ./site }\n` +
      `    defaultBehavior: { origin: site }\n    behaviors:\n${behavior('by-id')}${behavior('by-arn')}${behavior('by-other')}`,
  );
  return join(dir, 'openfront.config.yaml');
}

describe('openfront start with a store that has awsId', () => {
  let dir: string;
  let node: OpenFrontNode;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-kvs-ids-'));
    node = await startOpenFrontNode({ dataDir: join(dir, 'data'), config: await loadConfig(writeProject(dir, AWS_ID)), api: { port: 0 }, edge: { port: 0 } });
  });
  after(async () => {
    await node?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the store with the AWS id as its id', () => {
    assert.equal(node.state.kvs.getStore({ name: 'redirects' })?.id, AWS_ID);
  });

  it("serves cf.kvs('<id>') and cf.kvs('<arn>') from the store", async () => {
    const byId = await get(node.edge.port, '/by-id/old');
    assert.deepEqual([byId.status, byId.headers.location], [302, '/new-id']);
    const byArn = await get(node.edge.port, '/by-arn/old');
    assert.deepEqual([byArn.status, byArn.headers.location], [302, '/new-arn']);
  });

  it('fails the read of a function naming another id (its error path runs, the request goes on to the origin)', async () => {
    const reply = await get(node.edge.port, '/by-other/page');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.location, undefined);
  });

  it('refuses to start when awsId is added to a store that already exists with another id', async () => {
    const second = mkdtempSync(join(tmpdir(), 'openfront-kvs-ids-'));
    try {
      const first = await startOpenFrontNode({
        dataDir: join(second, 'data'),
        config: await loadConfig(writeProject(second, undefined)),
        api: { port: 0 },
        edge: { port: 0 },
      });
      const randomId = first.state.kvs.getStore({ name: 'redirects' })!.id;
      await first.close();
      const config = await loadConfig(writeProject(second, AWS_ID));
      const err = await openFrontRejectionOf(startOpenFrontNode({ dataDir: join(second, 'data'), config, api: { port: 0 }, edge: { port: 0 } }));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, new RegExp(`awsId ${AWS_ID} was given, but the store already exists with id ${randomId}`));
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  });
});

describe('openfront control --nats (with an edge) with a store that has awsId', { skip: natsSkipReason() }, () => {
  let dir: string;
  let control: ControlRole;
  let edge: EdgeRole;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-kvs-ids-'));
    const server = await nats.fresh();
    const config = await loadConfig(writeProject(dir, AWS_ID));
    control = await startControlRole({ nats: server.url, secretKey: randomBytes(32), config, api: { port: 0 } });
    edge = await startEdgeRole({ nats: server.url, config, name: 'ids-edge', stateDir: join(dir, 'edge'), port: 0 });
  });
  after(async () => {
    await edge?.close();
    await control?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the store with the AWS id as its id', async () => {
    assert.equal((await control.state.stores.getStore({ name: 'redirects' }))?.id, AWS_ID);
  });

  it("serves cf.kvs('<id>') and cf.kvs('<arn>') from the store, and fails the read of a function naming another id", async () => {
    // The edge loads the LIVE functions and the store from NATS after it starts: wait for the first redirect.
    const started = Date.now();
    let byId = await get(edge.edge.port, '/by-id/old');
    while (byId.status !== 302 && Date.now() - started < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      byId = await get(edge.edge.port, '/by-id/old');
    }
    assert.deepEqual([byId.status, byId.headers.location], [302, '/new-id']);
    const byArn = await get(edge.edge.port, '/by-arn/old');
    assert.deepEqual([byArn.status, byArn.headers.location], [302, '/new-arn']);
    const other = await get(edge.edge.port, '/by-other/page');
    assert.deepEqual([other.status, other.headers.location], [200, undefined]);
  });

  it('refuses to start when awsId is added to a store that already exists with another id', async () => {
    const second = mkdtempSync(join(tmpdir(), 'openfront-kvs-ids-'));
    const server = await nats.fresh();
    try {
      const secretKey = randomBytes(32);
      const first = await startControlRole({ nats: server.url, secretKey, config: await loadConfig(writeProject(second, undefined)), api: { port: 0 } });
      const randomId = (await first.state.stores.getStore({ name: 'redirects' }))!.id;
      await first.close();
      const config = await loadConfig(writeProject(second, AWS_ID));
      const err = await openFrontRejectionOf(startControlRole({ nats: server.url, secretKey, config, api: { port: 0 } }));
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, new RegExp(`awsId ${AWS_ID} was given, but the store already exists with id ${randomId}`));
    } finally {
      rmSync(second, { recursive: true, force: true });
    }
  });
});

describe('openfront dev (a local tool) with a store without awsId', () => {
  it('answers any id the code names from the seeded store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-kvs-ids-'));
    const node = await startOpenFrontNode({
      dataDir: join(dir, 'data'),
      config: await loadConfig(writeProject(dir, undefined)),
      api: { port: 0 },
      edge: { port: 0 },
      localStoreIds: true,
    });
    try {
      const byId = await get(node.edge.port, '/by-id/old');
      assert.deepEqual([byId.status, byId.headers.location], [302, '/new-id']);
      const other = await get(node.edge.port, '/by-other/page');
      assert.deepEqual([other.status, other.headers.location], [302, '/never']);
    } finally {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const target of HARNESS_TARGETS)
  describe(`CreateKeyValueStore with the x-openfront-aws-id header, on ${target.name}`, { skip: target.skip }, () => {
    it('creates the store with that id, and refuses an id that is not a UUID or is taken', async () => {
      const h = await startHarness({ target: target.name, nats });
      const cf = h.cloudFront();
      let awsId = AWS_ID;
      cf.middlewareStack.add(
        (next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-openfront-aws-id'] = awsId;
          return next(args);
        },
        { step: 'build', name: 'awsId' },
      );
      try {
        const created = await cf.send(new CreateKeyValueStoreCommand({ Name: 'brought-from-aws' }));
        assert.equal(created.KeyValueStore?.Id, AWS_ID);
        assert.match(created.KeyValueStore?.ARN ?? '', new RegExp(`:key-value-store/${AWS_ID}$`));
        const taken = await sdkError(cf.send(new CreateKeyValueStoreCommand({ Name: 'second' })));
        assert.deepEqual([taken.name, taken.status], ['EntityAlreadyExists', 409]);
        awsId = 'KVS_ID';
        const invalid = await sdkError(cf.send(new CreateKeyValueStoreCommand({ Name: 'third' })));
        assert.deepEqual([invalid.name, invalid.status], ['InvalidArgument', 400]);
        assert.equal(await h.state.stores.getStore({ name: 'third' }), undefined);
      } finally {
        await h.close();
      }
    });
  });
