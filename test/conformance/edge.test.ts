/**
 * The conformance fixtures through the real edge, over HTTP: the fixture's event becomes an HTTP request, the edge
 * runs the fixture's function, and what reaches the origin (a forwarded request) or the viewer (a generated
 * response, an error status) is turned back into event form and checked against the same expectation the engine
 * suite uses. Logs and origin changes are not visible over HTTP, so fixtures that only assert those are skipped.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';
import { MapSnapshot } from '../../src/kvs/snapshot.js';
import { requestToEvent, responseToEvent, serializeQueryString } from '../../src/runtime/codec.js';
import type { CFEvent, CFValueMap } from '../../src/runtime/event.js';
import { loadFixtures, mismatch, type Fixture } from './fixtures.js';

const ERROR_STATUS = { validation: 502, execution: 503 } as const;

/** What the origin answers for a viewer-response fixture: the fixture's response; else a plain 200. */
let originResponse: { status: number; headers: Array<[string, string]> } = { status: 200, headers: [] };
interface OriginRequest {
  method: string;
  target: string;
  headers: Array<[string, string]>;
}
let lastOriginRequest: OriginRequest | undefined;

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

function headerLines(map: CFValueMap | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, entry] of Object.entries(map ?? {})) {
    for (const item of entry.multiValue ?? [entry]) out.push([name, item.value]);
  }
  return out;
}

function viewerRequest(event: CFEvent): { target: string; headers: Array<[string, string]> } {
  const query = serializeQueryString(event.request.querystring ?? {});
  const cookies = Object.entries(event.request.cookies ?? {}).map(([name, c]) => `${name}=${c.value}`);
  const headers = headerLines(event.request.headers);
  if (cookies.length > 0) headers.push(['cookie', cookies.join('; ')]);
  return { target: event.request.uri + (query === '' ? '' : `?${query}`), headers };
}

function send(
  base: string,
  method: string,
  target: string,
  headers: Array<[string, string]>,
): Promise<{ status: number; headers: Array<[string, string]>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: target, method, headers: headers.flat() as unknown as Record<string, string>, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: pairs(res.rawHeaders), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

function runsOverHttp(f: Fixture): boolean {
  if (f.expect.originChange !== undefined) return false;
  return f.expect.request !== undefined || f.expect.response !== undefined || f.expect.kind === 'error';
}

const fixtures = loadFixtures().filter(runsOverHttp);

describe('conformance fixtures through the edge (HTTP in, HTTP out)', () => {
  let origin: Server;
  let dir: string;
  const edges = new Map<string, { edge: EdgeServer; source: ConfigFunctionSource }>();

  before(async () => {
    origin = createServer((req, res) => {
      lastOriginRequest = { method: req.method ?? '', target: req.url ?? '/', headers: pairs(req.rawHeaders) };
      res.writeHead(originResponse.status, [...originResponse.headers.flat(), 'content-length', '2']);
      res.end('ok');
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    dir = mkdtempSync(join(tmpdir(), 'openfront-conformance-'));
  });

  after(async () => {
    for (const { edge, source } of edges.values()) {
      await edge.close();
      source.close();
    }
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function edgeFor(fixture: Fixture): Promise<EdgeServer> {
    const codePath = join(dir, `${fixture.name}.js`);
    writeFileSync(codePath, fixture.code);
    const eventKey = fixture.event.context.eventType === 'viewer-response' ? 'viewer-response' : 'viewer-request';
    const config = parseConfig(
      {
        server: { port: 0, cacheBytes: 0 },
        stores: fixture.kvs ? [{ name: 'fixture' }] : [],
        functions: [{ name: 'fixture', code: codePath, runtime: fixture.runtime, ...(fixture.kvs ? { store: 'fixture' } : {}) }],
        distributions: [
          {
            id: 'ECONFORMANCE',
            hostnames: ['*'],
            origins: [{ id: 'origin', url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` }],
            defaultBehavior: { origin: 'origin', cachePolicy: 'CachingDisabled', functionAssociations: { [eventKey]: 'fixture' } },
          },
        ],
      },
      dir,
    );
    // A fixture with a store id opens the store by that id only; one without answers to any id (local data).
    const snapshot = new MapSnapshot(fixture.kvs ?? {}, { id: fixture.kvsId ?? 'fixture-store' });
    // A generous kill limit: on a loaded CI machine a first invocation must not be mistaken for runaway code
    // (the runaway fixtures are still killed, a little later).
    const source = await ConfigFunctionSource.create(config, {
      stores: () => ({ id: snapshot.id, source: { snapshot: () => snapshot }, anyId: fixture.kvsId === undefined }),
      limits: { killAfterMicros: 1_000_000, ...fixture.limits },
    });
    const edge = await startEdge({ config, functions: source });
    edges.set(fixture.name, { edge, source });
    return edge;
  }

  for (const fixture of fixtures) {
    it(`${fixture.name} — ${fixture.description}`, async () => {
      const edge = await edgeFor(fixture);
      const { event, expect } = fixture;
      originResponse = event.response
        ? { status: event.response.statusCode, headers: headerLines(event.response.headers) }
        : { status: 200, headers: [['content-type', 'text/plain']] };
      lastOriginRequest = undefined;
      const viewer = viewerRequest(event);
      const reply = await send(edge.url, event.request.method, viewer.target, viewer.headers);
      const context = { eventType: 'viewer-request' as const };

      if (expect.kind === 'error') {
        assert.equal(reply.status, ERROR_STATUS[expect.errorClass ?? 'execution']);
        return;
      }
      if (expect.kind === 'request') {
        const seen = lastOriginRequest as OriginRequest | undefined;
        if (seen === undefined) assert.fail(`the origin got no request (viewer got ${reply.status})`);
        const forwarded = requestToEvent({ method: seen.method, target: seen.target, headers: seen.headers, clientIp: '127.0.0.1' }, context).request;
        // The origin sees its own Host; the fixture's expectations are about what the function changed.
        // A function may assign a string querystring; the origin sees it parsed, so compare parsed forms.
        const wanted = expect.request as Record<string, unknown>;
        const expected =
          typeof wanted.querystring === 'string'
            ? {
                ...wanted,
                querystring: requestToEvent({ method: 'GET', target: `/?${wanted.querystring}`, headers: [], clientIp: '' }, context).request.querystring,
              }
            : wanted;
        assert.equal(mismatch(forwarded, expected, '$.request'), undefined);
        return;
      }
      const received: Record<string, unknown> = {
        ...responseToEvent({ method: 'GET', target: '/', headers: [], clientIp: '' }, { status: reply.status, headers: reply.headers }, context).response,
      };
      received.body = reply.body;
      assert.equal(mismatch(received, expect.response, '$.response'), undefined);
    });
  }
});
