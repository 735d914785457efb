/**
 * Edge reports through a real nats-server: an EdgeReporter writes the `of_edges` bucket, a JetStreamPropagationView
 * on another connection follows it — waits resolve when the edge reports the version, an edge that stops reporting
 * turns not live and is no longer waited for, bad entries are ignored, and both sides carry on after the server
 * restarts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectNats, type NatsConnectionHandle } from '../../src/state/jetstream/connection.js';
import { EDGES_BUCKET, JetStreamPropagationView, JetStreamReportSink } from '../../src/observe/propagation-jetstream.js';
import { EdgeReporter } from '../../src/observe/propagation-report.js';
import type { EdgeVersions, PropagationResource } from '../../src/observe/propagation.js';
import { natsSkipReason, startNatsServer, type NatsServer } from '../helpers/nats-server.js';

const STORE: PropagationResource = { kind: 'store', id: 'store-1' };

function versionsOf(version: number, fn?: number): EdgeVersions {
  const at = new Date().toISOString();
  return { stores: { 'store-1': { version, appliedAt: at } }, functions: fn === undefined ? {} : { f: { version: fn, appliedAt: at } } };
}

/** Resolves once `check` holds, re-checking on `view` changes (via short waits on the view itself). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('edge reports through JetStream (of_edges)', { skip: natsSkipReason() }, () => {
  let server: NatsServer;
  let edgeConn: NatsConnectionHandle;
  let controlConn: NatsConnectionHandle;
  let view: JetStreamPropagationView;
  let clockSkew = 0;
  const reporters: EdgeReporter[] = [];

  before(async () => {
    server = await startNatsServer();
    edgeConn = await connectNats(server.url, { name: 'test-edge' });
    controlConn = await connectNats(server.url, { name: 'test-control' });
    view = await JetStreamPropagationView.open(controlConn.kvm, { now: () => Date.now() + clockSkew });
  });

  after(async () => {
    for (const r of reporters) await r.close();
    view?.close();
    await edgeConn?.close();
    await controlConn?.close();
    await server?.dispose();
  });

  function startEdge(name: string, initial: EdgeVersions): { reporter: EdgeReporter; set(v: EdgeVersions): void } {
    let versions = initial;
    const reporter = new EdgeReporter({
      name,
      versions: () => versions,
      sink: new JetStreamReportSink(edgeConn.kvm),
      // The edges' clocks move with the view's, so that skipping time ahead ages only an edge that stopped.
      now: () => Date.now() + clockSkew,
    });
    reporters.push(reporter);
    reporter.start();
    return {
      reporter,
      set(v) {
        versions = v;
        reporter.applied();
      },
    };
  }

  it('shows what each edge reports, and a write waits until every live edge serves it', async () => {
    const a = startEdge('edge-a', versionsOf(3, 1));
    const b = startEdge('edge-b', versionsOf(3));
    await until(async () => (await view.edges()).length === 2, 'both edges to report');
    const status = await view.status(STORE, 4);
    assert.deepEqual(
      status.edges.map((e) => [e.name, e.version, e.live]),
      [
        ['edge-a', 3, true],
        ['edge-b', 3, true],
      ],
    );
    assert.equal(status.converged, false);
    const fn = await view.status({ kind: 'function', name: 'f' }, 1);
    assert.deepEqual(
      fn.edges.map((e) => e.name),
      ['edge-a'],
      'an edge that does not run the function is not listed',
    );

    view.noteVersion(STORE, 4);
    const waiting = view.waitFor(STORE, 4, Date.now() + 5000);
    a.set(versionsOf(4, 1));
    let settled = false;
    void waiting.then(() => (settled = true));
    await until(async () => (await view.status(STORE, 4)).edges.find((e) => e.name === 'edge-a')?.version === 4, 'edge-a to report 4');
    assert.equal(settled, false, 'edge-b does not serve 4 yet');
    b.set(versionsOf(5));
    assert.deepEqual(await waiting, { ok: true });
    assert.equal((await view.status(STORE, 5)).edges.find((e) => e.name === 'edge-a')?.lagMs !== undefined, true);
  });

  it('fails a wait at its deadline naming the edge behind', async () => {
    const outcome = await view.waitFor(STORE, 9, Date.now() + 200);
    assert.equal(outcome.ok, false);
    assert.deepEqual(!outcome.ok && outcome.lagging.map((e) => e.name).sort(), ['edge-a', 'edge-b']);
  });

  it('turns an edge that stopped reporting not live, and no longer waits for it', async () => {
    const c = startEdge('edge-c', versionsOf(1));
    await until(async () => (await view.edges()).some((e) => e.name === 'edge-c'), 'edge-c to report');
    await c.reporter.close();
    // The others keep reporting; edge-c's last report ages. Six seconds later (every clock skips ahead) it is not live.
    clockSkew = 6000;
    try {
      await until(async () => (await view.status(STORE, 4)).edges.find((e) => e.name === 'edge-a')?.live === true, 'edge-a to report again');
      const status = await view.status(STORE, 4);
      assert.equal(status.edges.find((e) => e.name === 'edge-c')?.live, false);
      assert.equal(status.converged, true, 'edge-a serves 4, edge-b 5; edge-c (1) is not live');
      assert.deepEqual(await view.waitFor(STORE, 4, Date.now() + 3000), { ok: true }, 'edge-c is not waited for');
    } finally {
      clockSkew = 0;
    }
  });

  it('ignores entries that are not edge reports', async () => {
    const kv = await controlConn.kvm.open(EDGES_BUCKET);
    await kv.put('bogus', 'not json');
    await kv.put('edge-x', JSON.stringify({ name: 'someone-else', startedAt: 'x', lastSeen: 'x', stores: {}, functions: {} }));
    await kv.put(
      'edge-d',
      JSON.stringify({ name: 'edge-d', startedAt: new Date().toISOString(), lastSeen: new Date().toISOString(), stores: {}, functions: {} }),
    );
    await until(async () => (await view.edges()).some((e) => e.name === 'edge-d'), 'the valid entry');
    const names = (await view.edges()).map((e) => e.name);
    assert.ok(!names.includes('bogus') && !names.includes('edge-x') && !names.includes('someone-else'), names.join());
    await kv.delete('edge-d');
    await until(async () => !(await view.edges()).some((e) => e.name === 'edge-d'), 'the deleted entry to go');
  });

  it('carries on after the server restarts: reports resume and the view follows them', async () => {
    const e = startEdge('edge-e', versionsOf(1));
    await until(async () => (await view.edges()).some((r) => r.name === 'edge-e'), 'edge-e to report');
    await server.stop();
    await server.restart();
    e.set(versionsOf(42));
    await until(async () => (await view.status(STORE, 42)).edges.find((r) => r.name === 'edge-e')?.version === 42, 'edge-e version 42 after restart', 15_000);
  });
});
