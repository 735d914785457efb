/**
 * Issue 13, point 6: the fleet's faults against a real nats-server, with `openfront edge` processes serving a
 * function that reads the store, and writers as separate processes where a process must die.
 *
 * - NATS down: edges keep serving; a write fails at once with 503 and nothing is written; NATS back: the edges catch
 *   up with no lost update.
 * - An edge SIGKILLed and restarted while NATS is down serves from its snapshot.
 * - A writer SIGKILLed in the middle of an UpdateKeys: the whole batch or nothing on every edge, and after
 *   recover() the stream holds the whole batch.
 * - Two writer processes racing the same expected version: exactly one wins.
 *
 * One server and two edges are shared by the cases, which run in order.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { KeyValue } from '../../src/kvs/types.js';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { encodeKey, storeStream } from '../../src/state/jetstream/key-codec.js';
import { EdgeStateFile } from '../../src/state/jetstream/kv-data/snapshot-file.js';
import { StoreDataWriter } from '../../src/state/jetstream/kv-data/writer.js';
import { openFrontRejectionOf } from '../helpers/errors.js';
import { eventually, publishLiveFunction, readerCode, readKeys, startEdgeProcess, writeEdgeConfig, type EdgeProcess } from '../helpers/nats-fleet.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const WRITER_CHILD = fileURLToPath(new URL('./fixtures/fleet-writer-child.js', import.meta.url));
const KEYS = Array.from({ length: 10 }, (_, i) => `key${i}`);

type ChildAnswer = { ready?: true; ok?: boolean; version?: number; code?: string; stopped?: true };

/** A writer process and a way to ask it things. */
async function startWriterChild(
  url: string,
  storeId: string,
): Promise<{ child: ChildProcess; ask(command: object): Promise<ChildAnswer>; kill(): Promise<void> }> {
  const child = fork(WRITER_CHILD, [url, storeId], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = () =>
    new Promise<ChildAnswer>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        child.off('exit', onExit);
        resolve(m as ChildAnswer);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        child.off('message', onMessage);
        reject(new Error(`writer child exited (${code ?? signal})`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next();
  assert.equal(ready.ready, true);
  return {
    child,
    ask(command) {
      const answer = next();
      child.send(command);
      return answer;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function batch(tag: string): KeyValue[] {
  return KEYS.map((key) => ({ key, value: `${tag}:${key}` }));
}

/** The batch tag every key of an edge's answer carries, or 'MIXED' when they disagree (a torn batch). */
function tagOf(values: Record<string, string | null>): string {
  const tags = new Set(KEYS.map((k) => (values[k] ?? 'null:').split(':')[0]));
  return tags.size === 1 ? [...tags][0]! : `MIXED(${[...tags].join(',')})`;
}

describe('fleet faults (issue 13 point 6)', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let nats: NatsConnectionHandle;
  let writer: StoreDataWriter;
  let edges: EdgeProcess[] = [];
  const storeId = randomUUID();
  const dirs: string[] = [];
  let configPath: string;
  const stateDirs = [0, 1].map(() => {
    const d = mkdtempSync(join(tmpdir(), 'openfront-fault-edge-'));
    dirs.push(d);
    return d;
  });

  const edgeTags = async () => Promise.all(edges.map(async (e) => tagOf((await readKeys(e.url, KEYS)).values)));
  const allEdgesServe = (tag: string, timeoutMs = 10_000) =>
    eventually(async () => (await edgeTags()).every((t) => t === tag), timeoutMs, `every edge serves batch ${tag}`);
  const lastSeq = async () => (await nats.jsm.streams.info(storeStream(storeId))).state.last_seq;

  before(async () => {
    server = await startNatsServer();
    nats = await connectNats(server.url, { name: 'faults-control' });
    const config = writeEdgeConfig();
    dirs.push(config.dir);
    configPath = config.configPath;
    writer = await StoreDataWriter.open(nats, storeId);
    await writer.update({ puts: batch('b0') }, { actor: 'test' });
    await publishLiveFunction(nats, 'reader', 1, readerCode('v1'), { storeId });
    edges = await Promise.all(stateDirs.map((stateDir, i) => startEdgeProcess({ nats: server.url, configPath, name: `fault-edge-${i}`, stateDir })));
    await allEdgesServe('b0');
  });

  after(async () => {
    await Promise.all(edges.map((e) => e.kill()));
    await nats?.close();
    await server?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('NATS down: edges keep serving, a write fails at once with 503 writing nothing; NATS back: edges catch up, nothing lost', async (t) => {
    const before = await writer.update({ puts: batch('b1') }, { actor: 'test' });
    await allEdgesServe('b1');
    const down = new Promise<void>((resolve) => nats.onConnectionChange((e) => e === 'disconnect' && resolve()));
    await server.stop();
    await down;

    assert.deepEqual(await edgeTags(), ['b1', 'b1'], 'edges serve their last data while NATS is down');
    const started = Date.now();
    const err = await openFrontRejectionOf(writer.update({ puts: batch('lost') }, { actor: 'test' }));
    const failedIn = Date.now() - started;
    assert.equal(err.code, 'STATE_UNAVAILABLE');
    assert.equal(err.status, 503);
    assert.ok(err.message.includes(server.url), err.message);
    assert.ok(failedIn < 500, `the write failed fast (${failedIn} ms)`);
    t.diagnostic(`write refused in ${failedIn} ms while NATS was down`);

    await server.restart();
    await nats.whenConnected();
    assert.equal(await lastSeq(), before.version, 'the refused write left nothing in the stream');
    // Writes made right after NATS returns: every acknowledged one must reach every edge.
    const acked: number[] = [];
    for (let i = 0; i < 5; i++) acked.push((await writer.put(`after${i}`, `v${i}`, { actor: 'test' })).version);
    const last = await writer.update({ puts: batch('b2') }, { actor: 'test' });
    const caughtUpIn = await allEdgesServe('b2', 15_000);
    t.diagnostic(`edges caught up ${caughtUpIn} ms after the last write`);
    for (const e of edges) {
      const answer = await readKeys(e.url, ['after0', 'after1', 'after2', 'after3', 'after4']);
      assert.deepEqual(answer.values, { after0: 'v0', after1: 'v1', after2: 'v2', after3: 'v3', after4: 'v4' });
    }
    assert.equal(await lastSeq(), last.version);
  });

  it('an edge SIGKILLed and restarted while NATS is down serves from its snapshot, then follows NATS again', async () => {
    const { version } = await writer.update({ puts: batch('b3') }, { actor: 'test' });
    await allEdgesServe('b3');
    // The edge saves within ~100 ms of a change; the kill must not race that save.
    await eventually(async () => savedVersion(stateDirs[0]!, storeId) === version, 5_000, 'edge 0 saved the version it serves');
    await server.stop();
    await edges[0]!.kill('SIGKILL');
    edges[0] = await startEdgeProcess({ nats: server.url, configPath, name: 'fault-edge-0', stateDir: stateDirs[0]! });
    assert.deepEqual((await readKeys(edges[0].url, ['key0'])).values, { key0: 'b3:key0' });
    assert.deepEqual(await edgeTags(), ['b3', 'b3']);

    await server.restart();
    await nats.whenConnected();
    await writer.update({ puts: batch('b4') }, { actor: 'test' });
    await allEdgesServe('b4', 15_000);
  });

  it('a writer SIGKILLed in the middle of an UpdateKeys: the whole batch on every edge, completed by recover()', async () => {
    const before = await writer.status();
    const child = await startWriterChild(server.url, storeId);
    const torn: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        for (const tag of await edgeTags()) if (tag.startsWith('MIXED')) torn.push(tag);
      }
    })();
    try {
      // The journal and 3 of its 10 ops are published, then the process dies.
      const stopped = await child.ask({ op: 'update', puts: batch('b5'), stopAfterOps: 3 });
      assert.equal(stopped.stopped, true);
      await child.kill();
      assert.equal(await lastSeq(), before.version + 1 + 3, 'journal + 3 ops in the stream');
      const kv = await nats.kvm.open(`ofkv_${storeId}`);
      assert.equal((await kv.get(encodeKey('key9')))?.string(), 'b4:key9', 'op 9 was never materialised');
      await allEdgesServe('b5');

      const recovered = await StoreDataWriter.open(nats, storeId);
      assert.equal(await recovered.recover(), before.version + 1 + KEYS.length);
      assert.equal((await kv.get(encodeKey('key9')))?.string(), 'b5:key9', 'rolled forward');
      assert.deepEqual(await edgeTags(), ['b5', 'b5']);
    } finally {
      sampling = false;
      await sampler;
      await child.kill();
    }
    assert.deepEqual(torn, [], 'no edge ever answered with part of a batch');
  });

  it('a writer SIGKILLed before its journal landed: nothing of the batch anywhere', async () => {
    const before = await writer.status();
    const child = await startWriterChild(server.url, storeId);
    try {
      const stopped = await child.ask({ op: 'update', puts: batch('b6'), stopAfterOps: -1 });
      assert.equal(stopped.stopped, true);
    } finally {
      await child.kill();
    }
    assert.equal(await writer.recover(), before.version);
    assert.deepEqual(await edgeTags(), ['b5', 'b5']);
  });

  it('two writer processes racing the same expected version: exactly one wins, every round', async () => {
    const a = await startWriterChild(server.url, storeId);
    const b = await startWriterChild(server.url, storeId);
    try {
      for (let round = 0; round < 10; round++) {
        const { version } = await writer.status();
        const answers = await Promise.all([
          a.ask({ op: 'update', puts: batch(`a${round}`), expectedVersion: version }),
          b.ask({ op: 'update', puts: batch(`b${round}`), expectedVersion: version }),
        ]);
        const winners = answers.filter((x) => x.ok === true);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(answers)}`);
        assert.equal(answers.find((x) => x.ok !== true)?.code, 'KVS_CONFLICT');
        assert.equal(winners[0]!.version, version + 1 + KEYS.length);
      }
      const final = await writer.status();
      const winnerTag = tagOf(Object.fromEntries(await Promise.all(KEYS.map(async (k) => [k, (await writer.get(k)) ?? null] as const))));
      assert.match(winnerTag, /^[ab]9$/);
      await allEdgesServe(winnerTag);
      assert.equal(await lastSeq(), final.version);
    } finally {
      await a.kill();
      await b.kill();
    }
  });
});

function savedVersion(dir: string, storeId: string): number | undefined {
  const file = new EdgeStateFile(dir);
  try {
    return file.loadStore(storeId)?.version;
  } finally {
    file.close();
  }
}
