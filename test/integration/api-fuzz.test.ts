/**
 * A fuzz pass over every route the API router knows (enumerated from the router itself, so a new route is fuzzed
 * the day it is added), through a correctly signing client, with malformed inputs: bad JSON/XML bodies, DTDs,
 * binary and unicode junk, declared lengths over the route's cap, junk path parameters and query strings, junk
 * If-Match values and wrong methods. Every answer must be a client error (a read may also succeed when it ignores
 * the junk); none may be a 5xx; and nothing may be stored: every table of the database is the same afterwards.
 * The inputs come from fast-check with a fixed seed, so a failure replays exactly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';

const SEED = 0x12fa;

interface Case {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** A length to declare instead of sending the body (the server must refuse it unread). */
  declaredLength?: number;
  /** Reads may ignore junk they do not look at; everything else must be refused. */
  mayPass: boolean;
}

const junkText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '..', '.', '%', '%ZZ', '%FF%FE', '%00', '%2F..%2F', 'a%2Fb', '\u0000', '😀'.repeat(30), 'x'.repeat(2000), 'arn:aws:cloudfront::1:x'),
);

const junkBody = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.json({ maxDepth: 3 }).map((s) => Buffer.from(s)),
  fc
    .constantFrom(
      '{',
      '<',
      '[]',
      'null',
      '{"Value":',
      '{"Value":1}',
      '{"Puts":[{"Key":1}],"Deletes":"x"}',
      '{"data":[{"key":""}]}',
      '{"paths":[1]}',
      '{"version":"x"}',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
      '<CreateKeyValueStoreRequest><Name>&e;</Name></CreateKeyValueStoreRequest>',
      '<CreateFunctionRequest><Name>f</Name><FunctionCode>!!!</FunctionCode></CreateFunctionRequest>',
      '<UpdateKeyValueStoreRequest><Comment><a/></Comment></UpdateKeyValueStoreRequest>',
      '<TestFunctionRequest><EventObject>bm90IGpzb24=</EventObject></TestFunctionRequest>',
      '\u00ff\u00fe<\u0000x/>',
    )
    .map((s) => Buffer.from(s, 'latin1')),
);

const junkQuery = fc
  .array(
    fc.tuple(fc.constantFrom('MaxItems', 'MaxResults', 'Marker', 'NextToken', 'Stage', 'Status', 'mode', 'limit', 'since', 'store', 'from', 'to'), junkText),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%25(?=[0-9A-F]{2})/g, '%')}`).join('&'));

/** Header values Node can send: no CR/LF/NUL, latin1 only. */
const junkIfMatch = junkText.map((s) => s.replace(/[^\x20-\x7e]/g, '?')).filter((s) => s.trim() !== '' && s !== 'ETVPDKIKX0DER');

function sample<T>(arb: fc.Arbitrary<T>, n: number, offset: number): T[] {
  return fc.sample(arb, { seed: SEED + offset, numRuns: n });
}

/** Path parameters that exist, so a malformed body or If-Match (not a missing resource) is what gets refused. */
function validParams(node: OpenFrontNode, pattern: string): Record<string, string> {
  const store = node.state.kvs.getStore({ name: 'demo-redirects' })!;
  const isStore = pattern.includes('key-value-store');
  return { Name: isStore ? store.name : 'demo-locale', KvsARN: store.arn, Key: '/go/docs', Id: 'EDEMO0000000001', Version: '1' };
}

function fill(pattern: string, params: Record<string, string>): string {
  return pattern.replace(/\{(\w+)\}/g, (_, name: string) => params[name]);
}

function encodeSegment(value: string): string {
  // Junk is sent mostly raw: only what would break the request line is escaped.
  const wellFormed = value.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  return wellFormed.replace(/[^\x21-\x7e]|[/?#]/gu, (c: string) => encodeURIComponent(c));
}

function buildCases(node: OpenFrontNode): Case[] {
  const routes = node.api.router.routes();
  const cases: Case[] = [];
  const patterns = new Set(routes.map((r) => r.pattern));
  routes.forEach((route, i) => {
    const valid = validParams(node, route.pattern);
    const path = fill(route.pattern, Object.fromEntries(Object.entries(valid).map(([k, v]) => [k, encodeURIComponent(v)])));
    const read = route.method === 'GET';
    const bodies = sample(junkBody, 4, i * 10);
    const ifMatches = sample(junkIfMatch, 4, i * 10 + 1);
    bodies.forEach((body, j) => {
      cases.push({
        kind: 'junk body + junk If-Match',
        method: route.method,
        path,
        headers: { 'if-match': ifMatches[j], 'content-type': 'application/octet-stream' },
        body,
        mayPass: read,
      });
    });
    for (const [j, query] of sample(junkQuery, 3, i * 10 + 2).entries()) {
      cases.push({ kind: 'junk query', method: route.method, path: `${path}?${query}`, headers: { 'if-match': ifMatches[j] }, body: bodies[j], mayPass: read });
    }
    for (const [j, junk] of sample(junkText, 3, i * 10 + 3).entries()) {
      const params = Object.fromEntries(Object.keys(valid).map((k) => [k, encodeSegment(junk) || '%20']));
      cases.push({
        kind: 'junk path parameters',
        method: route.method,
        path: fill(route.pattern, params),
        headers: { 'if-match': ifMatches[j] },
        body: bodies[j],
        mayPass: read && !route.pattern.includes('{'),
      });
    }
    cases.push({
      kind: 'declared length over the cap',
      method: route.method,
      path,
      headers: {},
      body: Buffer.alloc(0),
      declaredLength: route.maxBodyBytes + 1,
      mayPass: false,
    });
    cases.push({ kind: 'no If-Match, junk body', method: route.method, path, headers: {}, body: bodies[0], mayPass: read });
  });
  for (const pattern of patterns) {
    const taken = new Set(routes.filter((r) => r.pattern === pattern).map((r) => r.method));
    const route = routes.find((r) => r.pattern === pattern)!;
    const path = fill(pattern, Object.fromEntries(Object.entries(validParams(node, pattern)).map(([k, v]) => [k, encodeURIComponent(v)])));
    for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE'].filter((m) => !taken.has(m))) {
      cases.push({ kind: `wrong method (${route.protocol})`, method, path, headers: { 'if-match': 'x' }, body: Buffer.from('{}'), mayPass: false });
    }
  }
  return cases;
}

function serviceFor(path: string): string {
  if (path.startsWith('/key-value-stores')) return 'cloudfront-keyvaluestore';
  if (path.startsWith('/2020-05-31')) return 'cloudfront';
  return 'openfront';
}

function send(port: number, c: Case, key: { accessKeyId: string; secretAccessKey: string }, service: string): Promise<{ status: number; body: string }> {
  // Sign the raw path as sent (a URL object would normalise it). A query the signer cannot decode is left out of
  // the signature: the server then refuses the signature, which is a refusal too.
  const q = c.path.indexOf('?');
  const target = (search: string) => ({ host: `127.0.0.1:${port}`, pathname: q === -1 ? c.path : c.path.slice(0, q), search }) as URL;
  const sign = (search: string) => signRequestV4({ method: c.method, url: target(search), body: c.body, headers: c.headers, service, ...key });
  let headers: Record<string, string>;
  try {
    headers = sign(q === -1 ? '' : c.path.slice(q));
  } catch {
    headers = sign('');
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: c.method,
        path: c.path,
        agent: false,
        headers: { ...headers, 'content-length': String(c.declaredLength ?? c.body.length) },
      },
      (res) => {
        // A live stream (server-sent events) that accepted the request never ends: its status is the answer.
        if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: res.statusCode ?? 0, body: '' });
          return;
        }
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(err));
    if (c.declaredLength === undefined) req.end(c.body);
    else req.flushHeaders();
  });
}

/** Every row of every table, in a stable order. */
function snapshot(node: OpenFrontNode): string {
  const tables = node.state.database.connection
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
    .pluck()
    .all() as string[];
  return JSON.stringify(
    tables.map((t) => [
      t,
      node.state.database.connection
        .prepare(`SELECT * FROM "${t}"`)
        .all()
        .map((r) => JSON.stringify(r))
        .sort(),
    ]),
  );
}

describe('API fuzz: every route, malformed inputs, signed client', () => {
  let node: OpenFrontNode;
  let dataDir: string;
  let key: { accessKeyId: string; secretAccessKey: string };
  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-fuzz-'));
    node = await startOpenFrontNode({ dataDir, config: await loadConfig(DEMO_CONFIG), api: { port: 0 }, edge: { port: 0 } });
    key = node.state.keys.createAccessKey('fuzz');
  });
  after(async () => {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 4xx (never 5xx) to every malformed request and stores nothing', async () => {
    const routes = node.api.router.routes();
    assert.ok(routes.length >= 25, `the router lists ${routes.length} routes`);
    const cases = buildCases(node);
    const before = snapshot(node);
    const problems: string[] = [];
    for (const c of cases) {
      let result: { status: number; body: string };
      try {
        result = await send(node.api.port, c, key, serviceFor(c.path));
      } catch (err) {
        // A refused oversized request may be closed before its answer is read; that is a refusal too.
        if (c.declaredLength !== undefined) continue;
        problems.push(`${c.kind}: ${c.method} ${c.path.slice(0, 120)} → ${(err as Error).message}`);
        continue;
      }
      const ok = result.status >= 400 && result.status < 500 ? true : c.mayPass && result.status < 300;
      if (!ok) problems.push(`${c.kind}: ${c.method} ${c.path.slice(0, 120)} → ${result.status} ${result.body.slice(0, 200)}`);
    }
    assert.deepEqual(problems, [], `${problems.length} of ${cases.length} requests were not refused cleanly`);
    assert.equal(snapshot(node), before, 'nothing was stored');
  });
});
