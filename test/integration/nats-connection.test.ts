/**
 * The fleet's NATS plumbing against a real nats-server: connectNats round-trips a message through JetStream with an
 * encoded store key, reports STATE_UNAVAILABLE at once while the server is down, and reconnects when it is back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { decodeKey, encodeKey } from '../../src/state/jetstream/key-codec.js';
import { openFrontErrorFrom } from '../helpers/errors.js';
import { natsSkipReason, startNatsServer, startTcpProxy, type NatsServer } from '../helpers/nats-server.js';

describe('nats connection', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let nats: NatsConnectionHandle;

  before(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, { name: 'test-connection' });
  });

  after(async () => {
    await nats?.close();
    await server?.dispose();
  });

  it('round-trips a value under a 512-byte hostile key through a JetStream KV bucket', async () => {
    const kv = await nats.kvm.create('ofkv_roundtrip', { history: 1 });
    const key = 'ü é * > . \0 /'.repeat(40).slice(0, 400);
    const value = 'välue\n'.repeat(10);
    const seq = await kv.put(encodeKey(key), value);
    assert.equal(seq, 1);
    const entry = await kv.get(encodeKey(key));
    assert.equal(entry?.string(), value);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(decodeKey(k));
    assert.deepEqual(keys, [key]);
    const info = await nats.jsm.streams.info('KV_ofkv_roundtrip');
    assert.equal(info.state.last_seq, 1);
  });

  it('fails fast with STATE_UNAVAILABLE naming the url while the server is down, and reconnects when it is back', async () => {
    nats.assertConnected();
    const events: string[] = [];
    nats.onConnectionChange((e) => events.push(e));
    const disconnected = new Promise<void>((resolve) => nats.onConnectionChange((e) => e === 'disconnect' && resolve()));
    await server.stop();
    await disconnected;
    const err = openFrontErrorFrom(() => nats.assertConnected());
    assert.equal(err.code, 'STATE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.equal(err.awsType, 'ServiceUnavailableException');
    assert.ok(err.message.includes(server.url), err.message);

    await server.restart();
    await nats.whenConnected();
    nats.assertConnected();
    assert.deepEqual(events, ['disconnect', 'reconnect']);
    // The data survived the restart (file storage in the server's own store dir).
    const kv = await nats.kvm.open('ofkv_roundtrip');
    assert.equal((await kv.status()).values, 1);
  });

  it('proxies a client through a TCP link that can be cut and restored', async () => {
    const proxy = await startTcpProxy(server.port);
    const behind = await connectNats(proxy.url, { name: 'test-behind-proxy' });
    try {
      await behind.nc.flush();
      const lost = new Promise<void>((resolve) => behind.onConnectionChange((e) => e === 'disconnect' && resolve()));
      proxy.cut();
      await lost;
      assert.equal(behind.isConnected(), false);
      assert.equal(openFrontErrorFrom(() => behind.assertConnected()).code, 'STATE_UNAVAILABLE');
      proxy.restore();
      await behind.whenConnected();
      await behind.nc.flush();
    } finally {
      await behind.close();
      await proxy.close();
    }
  });
});
