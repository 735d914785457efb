/**
 * The always-on path of observability (docs/observability.md, "Cost"): which requests the decision ring asks the
 * edge to trace, and the decision a failed request gets after the fact from its facts.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { toDecisionRecord } from '../../src/observe/decision.js';
import type { EdgeTrace } from '../../src/observe/decision-trace.js';
import { LocalDecisionSource } from '../../src/observe/decision-source.js';
import { DecisionFilter } from '../../src/observe/filter.js';
import { NodeMetrics } from '../../src/observe/metrics.js';
import { Redactor } from '../../src/observe/redact.js';
import { factsOfTrace, traceOfFacts, type RequestFacts } from '../../src/observe/request-facts.js';

const redactor = new Redactor();

function failedFacts(): RequestFacts {
  return {
    requestId: 'req-9',
    nodeId: 'edge-a',
    startedAt: Date.UTC(2026, 11, 7, 8, 0, 0),
    method: 'GET',
    target: '/shop/cart?id=7',
    rawHeaders: ['Host', 'shop.example', 'Authorization', 'Bearer s3cret', 'Cookie', 'session=abc'],
    remoteAddress: '::ffff:192.0.2.10',
    host: 'shop.example',
    distributionId: 'EDIST',
    behavior: '/shop/*',
    functions: [
      {
        eventType: 'viewer-request',
        name: 'route',
        version: '4',
        codeHash: 'h',
        result: {
          kind: 'request',
          computeUtilization: 7,
          elapsedMicros: 20,
          kvsReads: [{ storeId: 'store-1', op: 'get', key: '/shop/cart', version: 3, hit: true }],
          originChange: { kind: 'select' },
          logs: ['picked b'],
        },
      },
    ],
    cacheHit: undefined,
    collapsed: false,
    origin: { id: 'b', attempts: [{ originId: 'b', error: 'timeout' }] },
    originMicros: 30_000_000,
    status: 504,
    result: 'origin-error',
    error: 'OriginCommError',
  };
}

describe('which requests the decision ring traces', () => {
  it('asks for the first perSecond requests of each second, then none until the next second', () => {
    mock.timers.enable({ apis: ['setInterval'] });
    const source = new LocalDecisionSource({ redactor, perSecond: 2 });
    try {
      assert.deepEqual([source.wantsTrace(), source.wantsTrace(), source.wantsTrace(), source.wantsTrace()], [true, true, false, false]);
      mock.timers.tick(1000);
      assert.deepEqual([source.wantsTrace(), source.wantsTrace(), source.wantsTrace()], [true, true, false]);
    } finally {
      source.close();
      mock.timers.reset();
    }
  });

  it('asks for every request while a live stream is open, whatever the budget', () => {
    const source = new LocalDecisionSource({ redactor, perSecond: 0 });
    try {
      assert.equal(source.wantsTrace(), false);
      const subscription = source.subscribe(new DecisionFilter({}), () => {});
      assert.deepEqual([source.wantsTrace(), source.wantsTrace(), source.wantsTrace()], [true, true, true]);
      subscription.close();
      assert.equal(source.wantsTrace(), false);
    } finally {
      source.close();
    }
  });

  it('without perSecond asks for every request (a source fed by the trace channel)', () => {
    const source = new LocalDecisionSource({ redactor });
    try {
      for (let i = 0; i < 5000; i++) assert.equal(source.wantsTrace(), true);
    } finally {
      source.close();
    }
  });

  it('refuses a budget that is not a non-negative integer', () => {
    assert.throws(() => new LocalDecisionSource({ redactor, perSecond: -1 }), /non-negative integer/);
    assert.throws(() => new LocalDecisionSource({ redactor, perSecond: 1.5 }), /non-negative integer/);
  });
});

describe('a decision made after the fact', () => {
  it('keeps the function, its reads, the origin and the error, redacts like any record, and says it is partial', () => {
    const record = toDecisionRecord(traceOfFacts(failedFacts()), { redactor, storeName: () => 'routes' });
    assert.equal(record.partial, true);
    assert.equal(record.requestId, 'req-9');
    assert.equal(record.time, '2026-12-07T08:00:00.000Z');
    assert.equal(record.clientIp, '192.0.2.10');
    assert.equal(record.path, '/shop/cart');
    assert.equal(record.query, 'id=7');
    assert.equal(record.headers.authorization, '[redacted]');
    assert.equal(record.headers.cookie, 'session=[redacted]');
    assert.equal(record.status, 504);
    assert.equal(record.error, 'OriginCommError');
    assert.deepEqual(record.functions, [
      {
        eventType: 'viewer-request',
        name: 'route',
        version: '4',
        outcome: 'rewrite',
        runtimeMicros: 20,
        computeUtilization: 7,
        kvsReads: [{ store: 'routes', storeId: 'store-1', op: 'get', key: '/shop/cart', version: 3, hit: true }],
        originChange: 'selectRequestOriginById',
        logs: ['picked b'],
      },
    ]);
    assert.deepEqual(record.origin, {
      id: 'b',
      chosenBy: 'selectRequestOriginById',
      latencyMicros: 30_000_000,
      attempts: [{ originId: 'b', error: 'timeout' }],
    });
    assert.deepEqual(record.timings, { total: 0, origin: 30_000_000 });
  });

  it('counts the same metrics from a request’s facts as from its trace', async () => {
    const fromFacts = new NodeMetrics({ storeName: () => 'routes', processMetrics: false });
    const fromTrace = new NodeMetrics({ storeName: () => 'routes', processMetrics: false });
    const facts = failedFacts();
    fromFacts.count(facts);
    fromTrace.record(traceOfFacts(facts));
    const trace: EdgeTrace = traceOfFacts(facts);
    fromFacts.count(factsOfTrace(trace));
    fromTrace.record(trace);
    const [a, b] = [(await fromFacts.scrape()).body, (await fromTrace.scrape()).body];
    assert.equal(a, b);
    assert.match(a, /openfront_function_invocations_total\{function="route",version="4"\} 2/);
    assert.match(a, /openfront_origin_errors_total\{origin="b",reason="timeout"\} 2/);
    assert.match(a, /openfront_edge_requests_total\{distribution="EDIST",status_class="5xx"\} 2/);
  });
});
