import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEBUG_DATE_HEADER, DEBUG_HEADER, hasDebugHeader, signDebugHeaders, verifyDebugRequest } from '../../src/control/auth/debug-header.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { RequestVerifier } from '../../src/control/auth/verify-request.js';
import { AccessLog, accessLogFields } from '../../src/observe/access-log.js';
import type { EdgeTrace } from '../../src/observe/decision-trace.js';
import { NodeMetrics } from '../../src/observe/metrics.js';
import { REDACTED, Redactor } from '../../src/observe/redact.js';

function trace(overrides: Partial<EdgeTrace> = {}): EdgeTrace {
  return {
    requestId: 'req-1',
    nodeId: 'edge-a',
    startedAt: Date.UTC(2026, 11, 7, 5, 0, 0),
    method: 'GET',
    host: 'example.com',
    target: '/img/a.png?w=100',
    viewerHeaders: [
      ['Host', 'example.com'],
      ['User-Agent', 'curl/8'],
      ['Referer', 'https://ref.example/'],
      ['Cookie', 'session=abcdef123456'],
    ],
    clientIp: '192.0.2.7',
    clientPort: 51000,
    httpVersion: '1.1',
    distributionId: 'EDIST',
    behavior: '*',
    functions: [
      {
        eventType: 'viewer-request',
        name: 'router',
        version: '2',
        codeHash: 'h',
        kind: 'request',
        computeUtilization: 15,
        elapsedMicros: 30,
        kvsReads: [
          { storeId: 's1', op: 'get', key: 'a', version: 4, hit: true },
          { storeId: 's1', op: 'get', key: 'b', version: 4, hit: false },
        ],
        logs: ['routing session abcdef123456'],
      },
    ],
    cache: { key: 'k', objectPath: '/img/a.png', status: 'miss', collapsed: false, stored: true },
    origin: {
      id: 'backup',
      attempts: [
        { originId: 'primary', error: 'timeout' },
        { originId: 'backup', status: 200 },
      ],
    },
    status: 200,
    bodyBytes: 1234,
    contentType: 'image/png',
    result: 'origin',
    timings: { total: 12_345, origin: 10_000 },
    ...overrides,
  };
}

function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('metrics', () => {
  it('count invocations, errors, KVS reads, cache, origin and requests with Prometheus names', async () => {
    const metrics = new NodeMetrics({
      storeName: (id) => (id === 's1' ? 'tenants' : undefined),
      storeVersions: () => [{ store: 'tenants', version: 4 }],
      cacheStats: () => ({ bytes: 2048, entries: 3, evictions: 1 }),
      streamStats: () => ({ open: 1, dropped: 9 }),
      processMetrics: false,
    });
    for (let i = 0; i < 3; i++) metrics.record(trace());
    metrics.record(
      trace({
        functions: [{ ...trace().functions[0], kind: 'error', errorClass: 'validation', kvsReads: [] }],
        status: 502,
        result: 'function-error',
        cache: undefined,
        origin: undefined,
      }),
    );
    metrics.record(
      trace({
        functions: [{ ...trace().functions[0], kind: 'error', errorClass: 'execution', kvsReads: [] }],
        status: 503,
        result: 'function-error',
        cache: undefined,
        origin: undefined,
      }),
    );
    const { body, contentType } = await metrics.scrape();
    assert.match(contentType, /^text\/plain/);
    assert.equal(sample(body, 'openfront_function_invocations_total{function="router",version="2"}'), 5);
    assert.equal(sample(body, 'openfront_function_validation_errors_total{function="router",version="2"}'), 1);
    assert.equal(sample(body, 'openfront_function_execution_errors_total{function="router",version="2"}'), 1);
    assert.equal(sample(body, 'openfront_function_compute_utilization_bucket{function="router",version="2",le="20"}'), 5);
    assert.equal(sample(body, 'openfront_function_compute_utilization_bucket{function="router",version="2",le="10"}'), 0);
    assert.equal(sample(body, 'openfront_kvs_reads_total{store="tenants",result="hit"}'), 3);
    assert.equal(sample(body, 'openfront_kvs_reads_total{store="tenants",result="miss"}'), 3);
    assert.equal(sample(body, 'openfront_kvs_store_version{store="tenants"}'), 4);
    assert.equal(sample(body, 'openfront_cache_misses_total{distribution="EDIST"}'), 3);
    assert.equal(sample(body, 'openfront_cache_bytes'), 2048);
    assert.equal(sample(body, 'openfront_cache_evictions_total'), 1);
    assert.equal(sample(body, 'openfront_origin_errors_total{origin="primary",reason="timeout"}'), 3);
    assert.equal(sample(body, 'openfront_origin_failovers_total{origin="primary"}'), 3);
    assert.equal(sample(body, 'openfront_origin_request_duration_seconds_bucket{origin="backup",status_class="2xx",le="0.01"}'), 3);
    assert.equal(sample(body, 'openfront_origin_request_duration_seconds_count{origin="backup",status_class="2xx"}'), 3);
    assert.equal(sample(body, 'openfront_edge_requests_total{distribution="EDIST",status_class="2xx"}'), 3);
    assert.equal(sample(body, 'openfront_edge_requests_total{distribution="EDIST",status_class="5xx"}'), 2);
    assert.equal(sample(body, 'openfront_tail_dropped_records_total'), 9);
    assert.match(body, /# TYPE openfront_function_invocations_total counter/);
    assert.match(body, /# TYPE openfront_origin_request_duration_seconds histogram/);
  });

  it('include the process metrics (event-loop lag, heap) unless turned off', async () => {
    const metrics = new NodeMetrics({ storeName: () => undefined });
    const { body } = await metrics.scrape();
    assert.match(body, /^nodejs_eventloop_lag_seconds /m);
    assert.match(body, /^nodejs_heap_size_used_bytes /m);
  });
});

describe('access logs', () => {
  it('carry CloudFront standard log fields', () => {
    const fields = accessLogFields(trace(), { redactor: new Redactor(), edgeLocation: 'LCL1' });
    assert.equal(fields.date, '2026-12-07');
    assert.equal(fields.time, '05:00:00');
    assert.equal(fields['x-edge-location'], 'LCL1');
    assert.equal(fields['c-ip'], '192.0.2.7');
    assert.equal(fields['cs-method'], 'GET');
    assert.equal(fields['cs-uri-stem'], '/img/a.png');
    assert.equal(fields['cs-uri-query'], 'w=100');
    assert.equal(fields['sc-status'], 200);
    assert.equal(fields['cs(Referer)'], 'https://ref.example/');
    assert.equal(fields['cs(User-Agent)'], 'curl/8');
    assert.equal(fields['cs(Cookie)'], '-', 'cookies are not logged unless asked for');
    assert.equal(fields['x-edge-result-type'], 'Miss');
    assert.equal(fields['x-edge-request-id'], 'req-1');
    assert.equal(fields['time-taken'], 0.012);
    assert.equal(fields['sc-bytes'], 1234);
    assert.equal(fields['sc-content-type'], 'image/png');
    assert.equal(fields['cs-protocol-version'], 'HTTP/1.1');
    assert.equal(fields['c-port'], 51000);
    assert.equal(accessLogFields(trace({ result: 'cache' }), { redactor: new Redactor() })['x-edge-result-type'], 'Hit');
    assert.equal(
      accessLogFields(trace({ status: 502, result: 'origin-error', error: 'OriginConnectError' }), { redactor: new Redactor() })['x-edge-detailed-result-type'],
      'OriginConnectError',
    );
    const withCookies = accessLogFields(trace(), { redactor: new Redactor(), includeCookies: true });
    assert.equal(withCookies['cs(Cookie)'], `session=${REDACTED}`);
  });

  it('write JSON lines to a file, console.log lines beside them with function, version and redaction', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-access-'));
    try {
      const path = join(dir, 'logs', 'access.log');
      const log = new AccessLog({ destination: path, redactor: new Redactor() });
      log.write(trace());
      await log.close();
      const lines = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.equal(lines.length, 2);
      assert.equal(lines[0].type, 'access');
      assert.equal(lines[0]['x-edge-request-id'], 'req-1');
      assert.deepEqual(lines[1], {
        level: 'info',
        type: 'function-log',
        'x-edge-request-id': 'req-1',
        function: 'router',
        version: '2',
        'event-type': 'viewer-request',
        message: `routing session ${REDACTED}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the signed debug header', () => {
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const keys = new Map([['AKIAEXAMPLE000000001', secret]]);
  const now = new Date('2026-12-07T05:00:00Z');
  const verifier = new RequestVerifier({ lookupSecret: (id) => keys.get(id), now: () => now });
  const url = new URL('http://127.0.0.1:8080/go/docs?x=1');
  const rawHeaders = (headers: Record<string, string>) => ['Host', '127.0.0.1:8080', 'Accept', '*/*', ...Object.entries(headers).flat()];
  const signed = (over: Partial<Parameters<typeof signDebugHeaders>[0]> = {}) =>
    signDebugHeaders({ method: 'GET', url, accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: secret, now, ...over });

  it('verifies a request signed by an active key', () => {
    const headers = signed();
    assert.ok(hasDebugHeader(rawHeaders(headers)));
    assert.deepEqual(verifyDebugRequest(verifier, { method: 'GET', target: '/go/docs?x=1', rawHeaders: rawHeaders(headers) }), {
      accessKeyId: 'AKIAEXAMPLE000000001',
    });
  });

  it('refuses anything less: no signature, a wrong secret, another path or method, an expired date, an API signature, a repeated header', () => {
    const target = '/go/docs?x=1';
    const check = (headers: string[], method = 'GET', path = target) => verifyDebugRequest(verifier, { method, target: path, rawHeaders: headers });
    assert.equal(check(rawHeaders({ [DEBUG_HEADER]: '1' })), undefined);
    assert.equal(check(rawHeaders({ [DEBUG_HEADER]: signed()[DEBUG_HEADER] })), undefined, 'no date header');
    assert.equal(check(rawHeaders(signed({ secretAccessKey: 'not-the-secret' }))), undefined);
    assert.equal(check(rawHeaders(signed({ accessKeyId: 'AKIAUNKNOWN000000001' }))), undefined);
    assert.equal(check(rawHeaders(signed()), 'GET', '/go/other'), undefined, 'signature bound to the path');
    assert.equal(check(rawHeaders(signed()), 'POST'), undefined, 'and to the method');
    assert.equal(check(rawHeaders(signed({ now: new Date('2026-12-07T04:00:00Z') }))), undefined, 'expired');
    const api = signRequestV4({ method: 'GET', url, accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: secret, now });
    assert.equal(
      check(rawHeaders({ [DEBUG_HEADER]: api.authorization, [DEBUG_DATE_HEADER]: api['x-amz-date'] })),
      undefined,
      'an API signature is not a debug one',
    );
    const headers = signed();
    assert.equal(check([...rawHeaders(headers), DEBUG_HEADER, headers[DEBUG_HEADER]]), undefined, 'repeated');
    assert.equal(check(rawHeaders({ ...headers, [DEBUG_HEADER]: `${headers[DEBUG_HEADER]}${'x'.repeat(5000)}` })), undefined, 'oversized');
  });
});

describe('the metric names in the docs and the Grafana dashboard', () => {
  it('are the names /metrics exposes', async () => {
    const metrics = new NodeMetrics({
      storeName: () => 'store',
      storeVersions: () => [{ store: 'store', version: 1 }],
      cacheStats: () => ({ bytes: 0, entries: 0, evictions: 0 }),
      streamStats: () => ({ open: 0, dropped: 0 }),
      isolateHeap: async () => [{ function: 'f', version: '1', bytes: 1 }],
    });
    metrics.record(trace());
    metrics.record(trace({ functions: [{ ...trace().functions[0], kind: 'error', errorClass: 'validation' }] }));
    metrics.record(
      trace({
        functions: [{ ...trace().functions[0], kind: 'error', errorClass: 'execution' }],
        cache: { key: 'k', objectPath: '/', status: 'hit', collapsed: false },
      }),
    );
    const { body } = await metrics.scrape();
    const exposed = new Set(
      body
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split(/[{ ]/)[0]),
    );
    const root = new URL('../../../', import.meta.url);
    const dashboard = readFileSync(new URL('examples/observability/grafana-dashboard.json', root), 'utf8');
    const docs = readFileSync(new URL('docs/observability.md', root), 'utf8');
    const used = (text: string) => new Set([...text.matchAll(/\b(openfront_[a-z_]+|nodejs_[a-z_0-9]+)\b/g)].map((m) => m[1]));
    for (const name of [...used(dashboard), ...used(docs)]) assert.ok(exposed.has(name) || exposed.has(`${name}_bucket`), `${name} is not exposed`);
    for (const name of exposed) {
      if (!name.startsWith('openfront_')) continue;
      const family = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(docs.includes(family), `${family} is exposed but not documented`);
    }
  });
});
