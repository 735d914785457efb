import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { propagationAround } from '../../src/control/propagation-wait.js';
import type { ApiRequest, ApiResponse } from '../../src/control/http/types.js';
import { isOpenFrontError } from '../../src/errors.js';
import { LocalPropagationView, edgeNameFromHost } from '../../src/observe/propagation-local.js';
import { EdgeReporter } from '../../src/observe/propagation-report.js';
import { resourcePropagation, VersionClock, type EdgeReport, type EdgeVersions } from '../../src/observe/propagation.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function report(name: string, lastSeen: number, stores: Record<string, number>, functions: Record<string, number> = {}): EdgeReport {
  const applied = (table: Record<string, number>) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k, { version: v, appliedAt: iso(lastSeen) }]));
  return { name, startedAt: iso(T0), lastSeen: iso(lastSeen), stores: applied(stores), functions: applied(functions) };
}

function request(query: Record<string, string>, method = 'PUT'): ApiRequest {
  const map = new Map(Object.entries(query).map(([k, v]) => [k, [v]]));
  return {
    method,
    rawPath: '/',
    rawQuery: '',
    query: map,
    headers: {},
    body: Buffer.alloc(0),
    requestId: 'r',
    queryParam: (n) => query[n],
    header: () => undefined,
  };
}

describe('propagation status', () => {
  it('lists the edges serving a store, with lag measured from the first version they lack, and ignores dead edges for convergence', () => {
    const clock = new VersionClock();
    const store = { kind: 'store', id: 's1' } as const;
    clock.note(store, 5, T0 + 1000);
    clock.note(store, 6, T0 + 3000);
    const now = T0 + 10_000;
    const reports = [
      report('b', now - 100, { s1: 4 }),
      report('a', now - 200, { s1: 6 }),
      report('dead', now - 6000, { s1: 1 }),
      report('other', now, { s2: 9 }),
    ];
    const status = resourcePropagation(reports, store, 6, now, clock);
    assert.deepEqual(
      status.edges.map((e) => [e.name, e.version, e.lagMs, e.live]),
      [
        ['a', 6, 0, true],
        ['b', 4, 9000, true],
        ['dead', 1, 9000, false],
      ],
    );
    assert.equal(status.converged, false);
    assert.equal(resourcePropagation([reports[1]!, reports[2]!], store, 6, now, clock).converged, true, 'a dead edge is not waited for');
  });

  it("counts a function's edge as serving only the exact LIVE version (a rollback moves LIVE back)", () => {
    const fn = { kind: 'function', name: 'f' } as const;
    const status = resourcePropagation([report('a', T0, {}, { f: 5 })], fn, 3, T0);
    assert.equal(status.converged, false);
    assert.equal(resourcePropagation([report('a', T0, {}, { f: 3 })], fn, 3, T0).converged, true);
  });

  it('derives an edge name from a host name', () => {
    assert.equal(edgeNameFromHost('web-1.example.com'), 'web-1');
    assert.equal(edgeNameFromHost('odd host!'), 'odd-host-');
    assert.equal(edgeNameFromHost(''), 'edge');
  });
});

describe('LocalPropagationView', () => {
  it('resolves a wait when the edge applies the version, and times out naming the edge otherwise', async () => {
    let versions: EdgeVersions = { stores: { s1: { version: 1, appliedAt: iso(T0) } }, functions: {} };
    const view = new LocalPropagationView({ name: 'here', versions: () => versions });
    const store = { kind: 'store', id: 's1' } as const;
    const waiting = view.waitFor(store, 2, Date.now() + 5000);
    versions = { stores: { s1: { version: 2, appliedAt: iso(T0) } }, functions: {} };
    view.changed();
    assert.deepEqual(await waiting, { ok: true });
    const late = await view.waitFor(store, 3, Date.now() + 50);
    assert.equal(late.ok, false);
    assert.deepEqual(!late.ok && late.lagging.map((e) => [e.name, e.version]), [['here', 2]]);
    view.close();
  });
});

describe('propagationAround (x-openfront-version and ?wait=all)', () => {
  const written: ApiResponse = { status: 200, headers: { etag: 'KV1' }, written: { resource: { kind: 'store', id: 's1' }, version: 7 } };
  const route = { protocol: 'rest-json', badRequest: 'KVS_VALIDATION' } as const;

  it('adds the version header, and fails a wait that times out with PROPAGATION_TIMEOUT naming the lagging edges', async () => {
    const view = new LocalPropagationView({ name: 'slow-edge', versions: () => ({ stores: { s1: { version: 6, appliedAt: iso(T0) } }, functions: {} }) });
    const around = propagationAround(view);
    const plain = await around(request({}), route, async () => ({ ...written }));
    assert.equal(plain.headers?.['x-openfront-version'], '7');
    await assert.rejects(
      around(request({ wait: 'all', timeout: '50ms' }), route, async () => ({ ...written })),
      (err: unknown) =>
        isOpenFrontError(err) && err.code === 'PROPAGATION_TIMEOUT' && /version 7 \(ETag KV1\)/.test(err.message) && /slow-edge \(serves 6/.test(err.message),
    );
    view.close();
  });

  it('refuses wait=all where there is no edge to wait for, before the handler runs', async () => {
    let ran = false;
    await assert.rejects(
      propagationAround(undefined)(request({ wait: 'all' }), route, async () => {
        ran = true;
        return written;
      }),
      (err: unknown) => isOpenFrontError(err) && err.code === 'KVS_VALIDATION',
    );
    assert.equal(ran, false);
  });

  it('does not wait for a version no edge serves (a DEVELOPMENT write)', async () => {
    const view = new LocalPropagationView({ name: 'e', versions: () => ({ stores: {}, functions: { f: { version: 1, appliedAt: iso(T0) } } }) });
    const res = await propagationAround(view)(request({ wait: 'all', timeout: '5s' }), route, async () => ({
      status: 200,
      written: { resource: { kind: 'function', name: 'f' }, version: 2, served: false },
    }));
    assert.equal(res.headers?.['x-openfront-version'], '2');
    view.close();
  });
});

describe('EdgeReporter', () => {
  it('publishes at once when idle, coalesces a burst of changes, and beats every heartbeat', async (t) => {
    // The reporter's timers do not hold the process open (an edge's server does): this test must.
    const keepAlive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(keepAlive));
    const published: EdgeReport[] = [];
    let notify: () => void = () => {};
    let version = 0;
    const reporter = new EdgeReporter({
      name: 'edge-1',
      versions: () => ({ stores: { s: { version, appliedAt: iso(T0) } }, functions: {} }),
      sink: {
        publish: async (r) => {
          published.push(r);
          notify();
        },
      },
      coalesceMs: 100,
      heartbeatMs: 300,
    });
    const next = (count: number) => new Promise<void>((resolve) => (notify = () => published.length >= count && resolve()));
    const first = next(1);
    reporter.start();
    await first;
    const started = Date.now();
    const burst = next(2);
    for (version = 1; version <= 50; version++) reporter.applied();
    version = 50;
    await burst;
    assert.ok(Date.now() - started >= 90, 'the second report waited for the coalescing window');
    // The burst ended within one window: at most one more report for it, carrying the last version.
    const afterBurst = next(3);
    await afterBurst;
    assert.equal(published.at(-1)!.stores.s!.version, 50);
    assert.ok(published.length <= 3, `${published.length} reports for a burst of 50 changes`);
    const heartbeat = next(4);
    const beforeBeat = Date.now();
    await heartbeat;
    assert.ok(Date.now() - beforeBeat >= 150, 'a heartbeat, not a change, published the fourth report');
    await reporter.close();
    const count = published.length;
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal(published.length, count, 'nothing after close');
  });

  it('refuses an edge name NATS or the CLI could not carry', () => {
    const sink = { publish: async () => {} };
    assert.throws(
      () => new EdgeReporter({ name: 'a.b', versions: () => ({ stores: {}, functions: {} }), sink }),
      (err: unknown) => isOpenFrontError(err) && err.code === 'CONFIG_INVALID',
    );
  });
});
