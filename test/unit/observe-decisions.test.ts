import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { toDecisionRecord } from '../../src/observe/decision.js';
import type { EdgeTrace } from '../../src/observe/decision-trace.js';
import { LocalDecisionSource, MergedDecisionSource } from '../../src/observe/decision-source.js';
import { DecisionFilter, filterFromQuery } from '../../src/observe/filter.js';
import { formatDecisionLine, formatDecisionTree } from '../../src/observe/format.js';
import { DecisionStreams, type StreamTarget } from '../../src/observe/live-stream.js';
import { REDACTED, Redactor } from '../../src/observe/redact.js';
import { RingBuffer } from '../../src/observe/ring-buffer.js';
import { openFrontErrorFrom } from '../helpers/errors.js';

let sequence = 0;
function trace(overrides: Partial<EdgeTrace> = {}): EdgeTrace {
  sequence++;
  return {
    requestId: `req-${sequence}`,
    nodeId: 'edge-a',
    startedAt: Date.UTC(2026, 11, 7, 5, 0, 0) + sequence,
    method: 'GET',
    host: 'example.com',
    target: '/go/docs?x=1',
    viewerHeaders: [
      ['Host', 'example.com'],
      ['User-Agent', 'curl/8'],
    ],
    distributionId: 'EDIST',
    behavior: '/go/*',
    functions: [
      {
        eventType: 'viewer-request',
        name: 'redirects',
        version: '3',
        codeHash: 'abc',
        kind: 'response',
        computeUtilization: 12,
        elapsedMicros: 41.6,
        kvsReads: [{ storeId: 'store-1', op: 'get', key: '/go/docs', version: 7, hit: true }],
      },
    ],
    status: 301,
    result: 'function-response',
    timings: { total: 900, viewerRequest: 300 },
    ...overrides,
  };
}

const redactor = new Redactor();
const storeName = (id: string) => (id === 'store-1' ? 'redirect-table' : undefined);

describe('decision records', () => {
  it('name the behavior, each function with its version, outcome and reads (store by name and version)', () => {
    const record = toDecisionRecord(trace(), { redactor, storeName });
    assert.equal(record.edge, 'edge-a');
    assert.equal(record.path, '/go/docs');
    assert.equal(record.query, 'x=1');
    assert.equal(record.behavior, '/go/*');
    assert.equal(record.time, '2026-12-07T05:00:00.00' + String(sequence).slice(-1) + 'Z');
    assert.deepEqual(record.functions[0], {
      eventType: 'viewer-request',
      name: 'redirects',
      version: '3',
      outcome: 'generated-response',
      runtimeMicros: 42,
      computeUtilization: 12,
      kvsReads: [{ store: 'redirect-table', storeId: 'store-1', op: 'get', key: '/go/docs', version: 7, hit: true }],
      logs: [],
    });
  });

  it('say which helper chose the origin, and the origin status and latency', () => {
    const record = toDecisionRecord(
      trace({
        functions: [{ ...trace().functions[0], kind: 'request', originChange: 'select' }],
        origin: {
          id: 'backup',
          attempts: [
            { originId: 'primary', error: 'connect' },
            { originId: 'backup', status: 200 },
          ],
        },
        cache: { key: 'EDIST\n/go/docs', objectPath: '/go/docs', status: 'miss', collapsed: false, stored: true },
        status: 200,
        result: 'origin',
        timings: { total: 5000, origin: 4000 },
      }),
      { redactor },
    );
    assert.equal(record.functions[0].outcome, 'rewrite');
    assert.equal(record.functions[0].kvsReads[0].store, 'store-1', 'unknown store names fall back to the id');
    assert.deepEqual(record.origin, {
      id: 'backup',
      chosenBy: 'selectRequestOriginById',
      status: 200,
      latencyMicros: 4000,
      attempts: [
        { originId: 'primary', error: 'connect' },
        { originId: 'backup', status: 200 },
      ],
    });
    assert.equal(record.cache?.status, 'miss');
  });

  it('format as one tail line and as an explain tree with the key read', () => {
    const record = toDecisionRecord(trace(), { redactor, storeName });
    const line = formatDecisionLine(record);
    assert.match(line, /GET example\.com\/go\/docs\?x=1 301 function-response/);
    assert.match(line, /redirects@3 generated-response reads redirect-table:\/go\/docs=hit@v7/);
    const tree = formatDecisionTree(record);
    assert.match(tree, /behavior \/go\/\* \(path pattern matched \/go\/docs\)/);
    assert.match(tree, /viewer-request function redirects \(LIVE version 3\): generated a response/);
    assert.match(tree, /kvs redirect-table get "\/go\/docs" → hit \(store version 7\)/);
  });
});

describe('redaction', () => {
  const secretTrace = () =>
    trace({
      viewerHeaders: [
        ['Host', 'example.com'],
        ['Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'],
        ['Cookie', 'session=s3cr3t-session-id; theme=dark'],
        ['X-Api-Key', 'key-0123456789'],
        ['Accept', 'text/html'],
      ],
      functions: [
        {
          ...trace().functions[0],
          logs: ['token is eyJhbGciOiJIUzI1NiJ9.payload.sig', 'session s3cr3t-session-id for key-0123456789', 'theme dark'],
          kvsReads: [{ storeId: 'store-1', op: 'get', key: 's3cr3t-session-id', version: 1, hit: false }],
        },
      ],
      cache: { key: 'EDIST\n/\nc:session=s3cr3t-session-id', objectPath: '/', status: 'miss', collapsed: false },
    });

  it('hides Authorization and cookie values by default, keeping cookie names and other headers', () => {
    const record = toDecisionRecord(secretTrace(), { redactor });
    assert.equal(record.headers.authorization, REDACTED);
    assert.equal(record.headers.cookie, `session=${REDACTED}; theme=${REDACTED}`);
    assert.equal(record.headers.accept, 'text/html');
    assert.equal(record.headers['x-api-key'], 'key-0123456789', 'not configured: shown');
  });

  it('hides configured headers, and every copy of a secret in logs, KVS keys and the cache key', () => {
    const record = toDecisionRecord(secretTrace(), { redactor: new Redactor({ headers: ['X-Api-Key'] }) });
    assert.equal(record.headers['x-api-key'], REDACTED);
    const text = JSON.stringify(record);
    for (const secret of ['eyJhbGciOiJIUzI1NiJ9.payload.sig', 's3cr3t-session-id', 'key-0123456789'])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.deepEqual(record.functions[0].logs, [`token is ${REDACTED}`, `session ${REDACTED} for ${REDACTED}`, 'theme dark']);
    assert.equal(record.functions[0].kvsReads[0].key, REDACTED);
    assert.equal(record.cache?.key, `EDIST\n/\nc:session=${REDACTED}`);
  });

  it('can be turned off for a development machine', () => {
    const record = toDecisionRecord(secretTrace(), { redactor: new Redactor({ enabled: false }) });
    assert.equal(record.headers.authorization, 'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig');
  });
});

describe('the ring buffer', () => {
  it('keeps the newest items up to its capacity, newest first', () => {
    const ring = new RingBuffer<number>(3);
    for (let i = 1; i <= 10; i++) ring.push(i);
    assert.equal(ring.size, 3);
    assert.deepEqual([...ring.newestFirst()], [10, 9, 8]);
    assert.throws(() => new RingBuffer(0), RangeError);
  });

  it('bounds the decisions an edge keeps, however many requests it serves', () => {
    const channel = diagnostics_channel.channel('openfront:test:ring');
    const source = new LocalDecisionSource({ channel, capacity: 5, redactor });
    const ids: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = trace();
      ids.push(t.requestId);
      channel.publish(t);
    }
    assert.equal(source.size, 5);
    const recent = source.recent(new DecisionFilter({}), 100);
    assert.deepEqual(
      recent.map((r) => r.requestId),
      ids.slice(-5).reverse(),
    );
    assert.equal(source.get(ids[0]), undefined, 'the oldest is gone');
    assert.equal(source.get(ids.at(-1)!)?.requestId, ids.at(-1));
    source.close();
  });

  it('only keeps the traces of its own edge, and a merged source spans edges', () => {
    const channel = diagnostics_channel.channel('openfront:test:merge');
    const a = new LocalDecisionSource({ channel, redactor, accept: (t) => t.nodeId === 'edge-a' });
    const b = new LocalDecisionSource({ channel, redactor, accept: (t) => t.nodeId === 'edge-b' });
    channel.publish(trace({ nodeId: 'edge-a' }));
    channel.publish(trace({ nodeId: 'edge-b' }));
    assert.equal(a.size, 1);
    const merged = new MergedDecisionSource([a, b]);
    assert.deepEqual(
      merged.recent(new DecisionFilter({}), 10).map((r) => r.edge),
      ['edge-b', 'edge-a'],
    );
    const seen: string[] = [];
    const sub = merged.subscribe(new DecisionFilter({}), (r) => seen.push(r.edge));
    channel.publish(trace({ nodeId: 'edge-b' }));
    channel.publish(trace({ nodeId: 'edge-a' }));
    sub.close();
    channel.publish(trace({ nodeId: 'edge-a' }));
    assert.deepEqual(seen, ['edge-b', 'edge-a']);
    a.close();
    b.close();
  });
});

describe('decision filters', () => {
  it('match distribution, function, status class and path glob', () => {
    const t = trace({ status: 503, target: '/api/v1/users?id=3' });
    assert.ok(filterFromQuery((n) => ({ status: '5xx' })[n as 'status']).matchesTrace(t));
    assert.ok(!filterFromQuery((n) => ({ status: '4xx' })[n as 'status']).matchesTrace(t));
    assert.ok(new DecisionFilter({ status: '503', path: '/api/*', function: 'redirects', distribution: 'EDIST' }).matchesTrace(t));
    assert.ok(!new DecisionFilter({ path: '/api/v2/*' }).matchesTrace(t));
    assert.ok(!new DecisionFilter({ function: 'other' }).matchesTrace(t));
    assert.ok(!new DecisionFilter({ distribution: 'OTHER' }).matchesTrace(t));
  });

  it('sample at the given rate', () => {
    let next = 0;
    const values = [0.05, 0.5, 0.09, 0.95];
    const filter = new DecisionFilter({ sample: 0.1 }, () => values[next++ % values.length]);
    const kept = Array.from({ length: 4 }, () => filter.matchesTrace(trace())).filter(Boolean).length;
    assert.equal(kept, 2);
  });

  it('refuse bad input with BAD_REQUEST', () => {
    for (const query of [
      { status: '6xx' },
      { status: 'abc' },
      { sample: '0' },
      { sample: '2' },
      { sample: 'x' },
      { path: 'no-slash' },
      { path: `/${'*'.repeat(2000)}` },
    ]) {
      const err = openFrontErrorFrom(() => filterFromQuery((n) => (query as Record<string, string | undefined>)[n]));
      assert.equal(err.code, 'BAD_REQUEST', JSON.stringify(query));
    }
  });
});

/** A response whose socket never drains, as a stalled `openfront tail` looks to the server. */
class StalledTarget implements StreamTarget {
  writableLength = 0;
  destroyed = false;
  readonly written: string[] = [];
  #onClose: (() => void) | undefined;
  write(chunk: unknown): boolean {
    const text = String(chunk);
    this.written.push(text);
    this.writableLength += text.length;
    return false;
  }
  once(event: 'close', listener: () => void): this {
    this.#onClose = listener;
    return this;
  }
  close(): void {
    this.#onClose?.();
  }
}

describe('live streams', () => {
  it('refuse more than maxStreams at once, and free a slot when one closes', () => {
    const channel = diagnostics_channel.channel('openfront:test:streams');
    const source = new LocalDecisionSource({ channel, redactor });
    const streams = new DecisionStreams(source, { maxStreams: 2 });
    const targets = [new StalledTarget(), new StalledTarget()];
    for (const target of targets) streams.attach(target, new DecisionFilter({}), streams.reserve());
    assert.equal(openFrontErrorFrom(() => streams.reserve()).code, 'TOO_MANY_STREAMS');
    targets[0].close();
    assert.equal(streams.stats().open, 1);
    streams.reserve()();
    const gone = new StalledTarget();
    gone.destroyed = true;
    streams.attach(gone, new DecisionFilter({}), streams.reserve());
    assert.equal(streams.stats().open, 1, 'a reader that left before the stream began holds no slot');
    streams.closeAll();
    source.close();
  });

  it('drop records for a consumer that does not read, counting them, instead of buffering without end', () => {
    const channel = diagnostics_channel.channel('openfront:test:slow');
    const source = new LocalDecisionSource({ channel, redactor });
    const streams = new DecisionStreams(source, { maxBufferedBytes: 10_000 });
    const target = new StalledTarget();
    streams.attach(target, new DecisionFilter({}), streams.reserve());
    for (let i = 0; i < 5000; i++) channel.publish(trace());
    assert.ok(target.writableLength < 10_000 + 5_000, `buffered ${target.writableLength} bytes`);
    const sent = target.written.filter((w) => w.startsWith('id: ')).length;
    assert.ok(sent > 0 && sent < 5000);
    assert.equal(streams.stats().dropped, 5000 - sent);
    // Once the consumer catches up it is told how many it missed.
    target.writableLength = 0;
    channel.publish(trace());
    assert.match(target.written.at(-2)!, new RegExp(`^event: dropped\\ndata: \\{"count":${5000 - sent}\\}`));
    target.close();
    source.close();
  });
});
