/**
 * Issue 13, point 6, on a 3-server JetStream cluster with the store replicated 3 times (R3): the stream leader is
 * SIGKILLed during a stream of writes. Every write that was acknowledged must be on every edge afterwards, and the
 * test reports how long writes were unavailable (an election on nats-server 2.9 takes seconds).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { isOpenFrontError } from '../../src/errors.js';
import { startEdgeRole, type EdgeRole } from '../../src/node/edge-role.js';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { storeStream } from '../../src/state/jetstream/key-codec.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { eventually, publishLiveFunction, readerCode, readKeys, writeEdgeConfig } from '../helpers/nats-fleet.js';
import { natsSkipReason, startNatsCluster, type NatsCluster } from '../helpers/nats-server.js';

const WRITES_BEFORE_KILL = 40;
const WRITES_TOTAL = 120;

describe('fleet faults on an R3 cluster (issue 13 point 6)', { skip: natsSkipReason() }, () => {
  let cluster: NatsCluster;
  let nats: NatsConnectionHandle;
  const edges: EdgeRole[] = [];
  const dirs: string[] = [];

  before(async () => {
    cluster = await startNatsCluster(3);
    nats = await connectNats(cluster.url, { name: 'r3-control' });
  });

  after(async () => {
    await Promise.all(edges.map((e) => e.close()));
    await nats?.close();
    await cluster?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('kill the stream leader during a stream of writes: every acknowledged write reaches every edge', async (t) => {
    const storeId = randomUUID();
    const writer = await StoreDataWriter.open(nats, storeId, { replicas: 3 });
    await writer.put('seed', 'x', { actor: 'test' });
    await publishLiveFunction(nats, 'reader', 1, readerCode('v1'), { storeId, replicas: 3 });
    const config = writeEdgeConfig();
    dirs.push(config.dir);
    for (let i = 0; i < 2; i++) {
      const stateDir = mkdtempSync(join(tmpdir(), 'openfront-r3-edge-'));
      dirs.push(stateDir);
      edges.push(await startEdgeRole({ nats: cluster.url, config: await loadConfig(config.configPath), name: `r3-edge-${i}`, stateDir, port: 0 }));
    }
    for (const e of edges) await eventually(async () => (await readKeys(e.edge.url, ['seed'])).values.seed === 'x', 15_000, 'edges serve the seed');

    const acked: Array<{ key: string; value: string; at: number }> = [];
    const failures: string[] = [];
    let killedAt = 0;
    let killed = '';
    const deadline = Date.now() + 60_000;
    for (let i = 0; acked.length < WRITES_TOTAL; i++) {
      assert.ok(Date.now() < deadline, `only ${acked.length} writes acknowledged within 60 s; failures: ${failures.slice(-5).join(' | ')}`);
      if (acked.length === WRITES_BEFORE_KILL && killedAt === 0) {
        const leader = (await nats.jsm.streams.info(storeStream(storeId))).cluster?.leader;
        assert.ok(leader, 'the stream has a leader');
        killed = leader;
        killedAt = Date.now();
        await cluster.server(leader).kill('SIGKILL');
      }
      const key = `w${i}`;
      try {
        await writer.put(key, `v${i}`, { actor: 'test' });
        acked.push({ key, value: `v${i}`, at: Date.now() });
      } catch (err) {
        // During the election writes fail (fast while our client reconnects, after 2 s when no leader answers).
        if (!isOpenFrontError(err) || (err.code !== 'STATE_UNAVAILABLE' && err.code !== 'KVS_CONFLICT')) throw err;
        failures.push(`${err.code}: ${err.message.slice(0, 120)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const lastBefore = acked[WRITES_BEFORE_KILL - 1]!.at;
    const firstAfter = acked[WRITES_BEFORE_KILL]!.at;
    const unavailableMs = firstAfter - lastBefore;
    t.diagnostic(`stream leader ${killed} SIGKILLed: writes unavailable for ${unavailableMs} ms (${failures.length} failed attempts)`);
    assert.ok(killedAt >= lastBefore);

    const final = await writer.status();
    const caughtUp = await eventually(
      async () => edges.every((e) => e.replica(storeId).version >= final.version),
      30_000,
      'every edge reaches the last version',
    );
    t.diagnostic(`edges at version ${final.version} ${caughtUp} ms after the last acknowledged write`);
    for (const e of edges) {
      const snapshot = e.replica(storeId).snapshot();
      const missing = acked.filter(({ key, value }) => snapshot.get(key) !== value).map(({ key }) => key);
      assert.deepEqual(missing, [], `${e.name} misses acknowledged writes`);
      // And over HTTP, through the function: a few writes from before, around and after the kill.
      const sample = [acked[0]!, acked[WRITES_BEFORE_KILL - 1]!, acked[WRITES_BEFORE_KILL]!, acked.at(-1)!];
      const answer = await readKeys(
        e.edge.url,
        sample.map((a) => a.key),
      );
      assert.deepEqual(answer.values, Object.fromEntries(sample.map((a) => [a.key, a.value])));
    }
  });
});
