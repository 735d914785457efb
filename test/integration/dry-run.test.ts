/**
 * Dry-run against recorded traffic (docs/safe-changes.md), driven as a user would: `openfront start --record` serving
 * the demo as a child process, a known mix of viewer requests, then `openfront dry-run` with a change set to the
 * redirect table and with new function code, asserting the exact number and kinds of changed decisions, the exit
 * status against the threshold, the recording API (redaction, clear) and the bounds on what a dry run accepts.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nativeRequest, resolveClientConfig, type ApiClientConfig } from '../../src/cli/client.js';
import type { RecordingView } from '../../src/control/dry-run-api.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import type { DryRunAnswer } from '../../src/node/dry-run-service.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REDIRECTS_JS = fileURLToPath(new URL('../../../examples/demo/functions/redirects.js', import.meta.url));
const DISTRIBUTION = 'EDEMO0000000001';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function get(base: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The traffic sent to the demo, with how the change set below changes each request's decision. The redirect
 * table is demo-redirects: /go/docs → /docs/, /go/home → /, /go/cloudfront → the AWS docs.
 */
const TRAFFIC: Array<{ path: string; times: number; headers?: Record<string, string> }> = [
  { path: '/go/docs', times: 3 }, // value changed: location only
  { path: '/go/home', times: 2 }, // deleted: 301 → 404 (status, location, headers, body)
  { path: '/go/new', times: 2 }, // added: 404 → 301 (status, location, headers, body)
  { path: '/go/cloudfront', times: 2 }, // untouched
  { path: '/go/nope', times: 1 }, // still 404
  { path: '/', times: 2, headers: { 'accept-language': 'de' } }, // locale routing, no store
  { path: '/en/', times: 2 }, // static page through the viewer-response function
  { path: '/beta/', times: 2, headers: { cookie: 'beta-bucket=10; session=s3cr3t-session' } }, // flag store untouched
  { path: '/beta/', times: 2 }, // a random bucket: the same on both sides
  { path: '/go/docs?utm=1', times: 1, headers: { authorization: 'Bearer top-secret-token' } }, // the function keys on the uri
];
const TOTAL = TRAFFIC.reduce((n, t) => n + t.times, 0);

const CHANGES = {
  stores: {
    'demo-redirects': {
      puts: [
        { key: '/go/docs', value: 'https://example.com/moved' },
        { key: '/go/new', value: '/new/' },
      ],
      deletes: ['/go/home'],
    },
  },
};

describe('openfront dry-run over recorded demo traffic', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'openfront-dryrun-'));
  const dataDir = join(cwd, 'data');
  let server: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let edge: string;
  let api: ApiClientConfig;
  /** Keys with a policy (docs/safe-changes.md, "Permissions and ownership"). */
  const policyKeys: Record<'flagsWriter' | 'functionReader', { accessKeyId: string; secretAccessKey: string }> = {} as never;

  function cli(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { cwd, env, encoding: 'utf8' }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  async function dryRun(args: string[]): Promise<{ run: Run; answer: DryRunAnswer }> {
    const run = await cli(['dry-run', '--distribution', DISTRIBUTION, '--json', ...args]);
    assert.ok(run.code === 0 || run.code === 1, `exit ${run.code}: ${run.stderr}`);
    return { run, answer: JSON.parse(run.stdout) as DryRunAnswer };
  }

  before(async () => {
    env = { PATH: process.env.PATH };
    const created = await cli(['keys', 'create', '--data', dataDir, '--json']);
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout) as { accessKeyId: string; secretAccessKey: string };
    const db = openSqliteState(join(dataDir, 'openfront.db'));
    const keys = db.accessKeys;
    policyKeys.flagsWriter = await keys.create('flags only', undefined, ['kvs:write:demo-flags']);
    policyKeys.functionReader = await keys.create('function reader', undefined, ['function:read:*']);
    db.database.close();
    server = spawn(process.execPath, [MAIN, 'start', '--data', dataDir, '--api-port', '0', '--edge-port', '0', '--https-port', '0', '--record'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: server.stdout! });
    let apiUrl: string | undefined;
    for await (const line of lines) {
      const edgeMatch = /^ {2}edge {2}(http:\/\/\S+)$/.exec(line);
      if (edgeMatch) edge = edgeMatch[1]!;
      const apiMatch = /^ {2}api {3}(http:\/\/\S+)$/.exec(line);
      if (apiMatch) apiUrl = apiMatch[1]!;
      if (line.startsWith('Try it')) break;
    }
    lines.close();
    server.stdout!.resume();
    assert.ok(edge !== undefined && apiUrl !== undefined, 'start printed the edge and api urls');
    env = { ...env, OPENFRONT_ENDPOINT: apiUrl, OPENFRONT_ACCESS_KEY_ID: key.accessKeyId, OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey };
    api = resolveClientConfig({}, env);
    writeFileSync(join(cwd, 'changes.json'), JSON.stringify(CHANGES));
    writeFileSync(join(cwd, 'redirects-302.js'), readFileSync(REDIRECTS_JS, 'utf8').replace('statusCode: 301', 'statusCode: 302'));
    for (const { path, times, headers } of TRAFFIC) for (let i = 0; i < times; i++) await get(edge, path, headers);
  });

  after(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('records every request, with Authorization and cookie values redacted', async () => {
    const recording = (await nativeRequest(api, 'GET', `/openfront/v1/distributions/${DISTRIBUTION}/recording`)) as RecordingView;
    assert.equal(recording.enabled, true);
    assert.equal(recording.size, TOTAL);
    assert.equal(recording.items.length, TOTAL);
    assert.deepEqual(
      recording.items.map((r) => (r.querystring === '' ? r.uri : `${r.uri}?${r.querystring}`)),
      TRAFFIC.flatMap((t) => Array.from({ length: t.times }, () => t.path)),
    );
    const text = JSON.stringify(recording);
    assert.ok(!text.includes('top-secret-token') && !text.includes('s3cr3t-session'), 'no secret in the recording');
    const withToken = recording.items.find((r) => r.querystring === 'utm=1')!;
    assert.deepEqual(
      withToken.headers.find(([name]) => name.toLowerCase() === 'authorization'),
      ['authorization', '[redacted]'],
    );
    const withCookies = recording.items.find((r) => r.cookies.length > 0)!;
    assert.deepEqual(withCookies.cookies, [
      ['beta-bucket', '[redacted]'],
      ['session', '[redacted]'],
    ]);
    assert.equal(withCookies.clientIp, '127.0.0.1');
    const limited = (await nativeRequest(api, 'GET', `/openfront/v1/distributions/${DISTRIBUTION}/recording?limit=2`)) as RecordingView;
    assert.deepEqual(
      limited.items.map((r) => r.uri),
      ['/beta/', '/go/docs'],
      'the newest two',
    );
    const shown = await cli(['recording', DISTRIBUTION, '--limit', '2']);
    assert.equal(shown.code, 0, shown.stderr);
    const lines = shown.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^${DISTRIBUTION}: ${TOTAL} recorded requests, \\d+ bytes$`));
    assert.match(lines[1]!, /^\S+Z {2}127\.0\.0\.1 {2}GET \/beta\/$/);
    assert.match(lines[2]!, /^\S+Z {2}127\.0\.0\.1 {2}GET \/go\/docs\?utm=1$/);
    assert.equal(lines.length, 3);
  });

  it('reports exactly the decisions a changed redirect table changes, and fails the default threshold', async () => {
    const { run, answer } = await dryRun(['--kvs-changes', 'changes.json', '--examples', '100']);
    assert.equal(answer.replayed, TOTAL);
    assert.equal(answer.complete, true);
    assert.equal(answer.unstable, 0);
    // /go/docs ×3 and /go/docs?utm=1: a new location; /go/home ×2 deleted; /go/new ×2 added.
    assert.equal(answer.changed, 8);
    assert.equal(answer.unchanged, TOTAL - 8);
    assert.deepEqual(answer.byKind, { status: 4, location: 8, uri: 0, origin: 0, cacheKey: 0, headers: 4, body: 4, error: 0 });
    const byPath = new Map<string, number>();
    for (const e of answer.examples) byPath.set(e.request.uri, (byPath.get(e.request.uri) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(byPath), { '/go/docs': 4, '/go/home': 2, '/go/new': 2 });
    const moved = answer.examples.find((e) => e.request.uri === '/go/docs')!;
    assert.deepEqual(moved.kinds, ['location']);
    assert.equal(moved.before.location, '/docs/');
    assert.equal(moved.after.location, 'https://example.com/moved');
    const added = answer.examples.find((e) => e.request.uri === '/go/new')!;
    assert.equal(added.before.status, 404);
    assert.equal(added.after.status, 301);
    assert.equal(added.after.location, '/new/');
    assert.deepEqual(answer.stores, [{ name: 'demo-redirects', puts: 2, deletes: 1 }]);
    assert.equal(answer.pass, false, 'any change fails by default');
    assert.equal(run.code, 1, 'exits non-zero above the threshold');

    const human = await cli(['dry-run', '--distribution', DISTRIBUTION, '--kvs-changes', 'changes.json']);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /changed {4}8 \(status 4, location 8, headers 4, body 4\)/);
    assert.match(human.stdout, /FAIL: 8 changed decisions, more than the 0 allowed/);
  });

  it('passes within --max-changed and --max-changed-ratio, and fails above them', async () => {
    assert.equal((await dryRun(['--kvs-changes', 'changes.json', '--max-changed', '8'])).run.code, 0);
    const over = await dryRun(['--kvs-changes', 'changes.json', '--max-changed-ratio', (8 / TOTAL - 0.01).toFixed(2)]);
    assert.equal(over.run.code, 1);
    assert.match(over.answer.reasons.join(), new RegExp(`8 of ${TOTAL} decisions changed`));
    // The same verdicts through the API.
    const viaApi = (body: Record<string, unknown>) =>
      nativeRequest(api, 'POST', '/openfront/v1/dry-run', { body: { distributionId: DISTRIBUTION, changeSet: CHANGES, ...body } }) as Promise<DryRunAnswer>;
    assert.equal((await viaApi({ maxChanged: 7 })).pass, false);
    assert.equal((await viaApi({ maxChangedRatio: Number((8 / TOTAL + 0.01).toFixed(2)) })).pass, true);
    const both = await viaApi({ maxChanged: 8, maxChangedRatio: 0.1 });
    assert.equal(both.pass, false, 'every threshold given must hold');
  });

  it('replays proposed function code: exactly the redirects that answered change status', async () => {
    const { run, answer } = await dryRun(['--function', 'demo-redirects', '--code', 'redirects-302.js', '--max-changed', '100']);
    assert.equal(run.code, 0);
    // Every request the table answers with a redirect: /go/docs ×4, /go/home ×2, /go/cloudfront ×2.
    assert.equal(answer.changed, 8);
    assert.deepEqual(answer.byKind, { status: 8, location: 0, uri: 0, origin: 0, cacheKey: 0, headers: 0, body: 0, error: 0 });
    assert.deepEqual(answer.function, { name: 'demo-redirects', currentVersion: 1 });
    // Code and data together: the moved /go/docs is a 302 to the new place; /go/new gains a 302.
    const both = await dryRun(['--function', 'demo-redirects', '--code', 'redirects-302.js', '--kvs-changes', 'changes.json', '--examples', '100']);
    assert.equal(both.answer.changed, 10);
    assert.equal(both.answer.byKind.status, 10, 'every changed one answers 302 or 404 now');
    assert.equal(both.answer.byKind.location, 8);
  });

  it('refuses what it cannot try, with a clear message', async () => {
    const post = (body: Record<string, unknown>) => nativeRequest(api, 'POST', '/openfront/v1/dry-run', { body: { distributionId: DISTRIBUTION, ...body } });
    const handler = 'function handler(event) { return event.request; }\n';
    await assert.rejects(post({ function: { name: 'demo-redirects', code: `${handler}// ${'x'.repeat(11 * 1024)}\n` } }), /FunctionSizeLimitExceeded/);
    await assert.rejects(post({ function: { name: 'demo-redirects', code: 'function handler(event) {' } }), /InvalidArgument/);
    await assert.rejects(post({ function: { name: 'other', code: handler } }), /not associated with distribution/);
    await assert.rejects(post({ changeSet: { stores: { 'no-such-store': { deletes: ['k'] } } } }), /no-such-store/);
    await assert.rejects(post({ changeSet: { stores: { 'demo-redirects': { puts: [{ key: 'k', value: 'v'.repeat(1025) }] } } } }), /1024/);
    await assert.rejects(post({ changeSet: CHANGES, maxRequests: 10_001 }), /maxRequests/);
    await assert.rejects(post({ changeSet: CHANGES, timeoutMs: 10 * 60_000 }), /timeoutMs/);
    await assert.rejects(post({}), /something to try/);
    await assert.rejects(post({ distributionId: 'ENOPE', changeSet: CHANGES }), /NotFound/);

    const nothing = await cli(['dry-run', '--distribution', DISTRIBUTION]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to try/);
  });

  it('needs function:read to dry-run and audit:read to see the recording', async () => {
    const as = (k: { accessKeyId: string; secretAccessKey: string }) => ({ ...api, credentials: k });
    const body = { distributionId: DISTRIBUTION, changeSet: CHANGES, maxChanged: 100 };
    await assert.rejects(nativeRequest(as(policyKeys.flagsWriter), 'POST', '/openfront/v1/dry-run', { body }), /AccessDenied/);
    await assert.rejects(nativeRequest(as(policyKeys.flagsWriter), 'GET', `/openfront/v1/distributions/${DISTRIBUTION}/recording`), /AccessDenied/);
    await assert.rejects(nativeRequest(as(policyKeys.functionReader), 'DELETE', `/openfront/v1/distributions/${DISTRIBUTION}/recording`), /AccessDenied/);
    const answer = (await nativeRequest(as(policyKeys.functionReader), 'POST', '/openfront/v1/dry-run', { body })) as DryRunAnswer;
    assert.equal(answer.changed, 8);
  });

  it('clears the recording; a dry run over nothing is refused', async () => {
    const cleared = (await nativeRequest(api, 'DELETE', `/openfront/v1/distributions/${DISTRIBUTION}/recording`)) as { cleared: number };
    assert.equal(cleared.cleared, TOTAL);
    const recording = (await nativeRequest(api, 'GET', `/openfront/v1/distributions/${DISTRIBUTION}/recording`)) as RecordingView;
    assert.equal(recording.size, 0);
    const run = await cli(['dry-run', '--distribution', DISTRIBUTION, '--kvs-changes', 'changes.json']);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /NoRecordedTraffic/);
  });
});
