/**
 * `openfront start --workers 2` (docs/deploy.md): two edge processes on one port, sharing the store and the
 * functions of the primary. Which worker answered is read from `x-openfront-worker` (`--worker-header`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import type { Credentials } from './fixtures/kvs-api-harness.js';
import { get, runCli, startCli, type StartedChild } from './fixtures/ops-harness.js';

const FUNCTION = (prefix: string) => `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const value = await kvs.get('greeting');
  return { statusCode: 200, statusDescription: 'OK', body: '${prefix}' + value };
}
`;

function writeProject(dir: string, prefix: string): string {
  writeFileSync(join(dir, 'greet.js'), FUNCTION(prefix));
  writeFileSync(join(dir, 'greetings.json'), JSON.stringify({ data: [{ key: 'greeting', value: 'hello' }] }));
  const file = join(dir, 'openfront.config.yaml');
  writeFileSync(
    file,
    [
      'stores:',
      '  - name: greetings',
      '    seed: greetings.json',
      'functions:',
      '  - name: greet',
      '    code: greet.js',
      '    store: greetings',
      'distributions:',
      '  - id: EWORKERS0000001',
      '    hostnames: ["*"]',
      '    origins:',
      '      - id: nowhere',
      '        url: http://127.0.0.1:9',
      '    defaultBehavior:',
      '      origin: nowhere',
      '      cachePolicy: CachingDisabled',
      '      functionAssociations:',
      '        viewer-request: greet',
      '',
    ].join('\n'),
  );
  return file;
}

/**
 * Sends requests on fresh connections (the primary hands connections out round-robin) until every pid in `pids`
 * answered with `body`; returns the pids seen. Gives up after `max` requests.
 */
async function untilEveryWorkerSays(port: number, pids: Set<string>, body: string, max = 40): Promise<Set<string>> {
  const saw = new Set<string>();
  const last = new Map<string, string>();
  for (let i = 0; i < max && [...pids].some((p) => !saw.has(p)); i++) {
    const reply = await get(port, '/');
    const pid = String(reply.headers['x-openfront-worker']);
    if (reply.body === body) saw.add(pid);
    else last.set(pid, `${reply.status} ${String(reply.headers['x-openfront-error'] ?? '')} ${reply.body.slice(0, 60)}`);
  }
  if (saw.size < pids.size) process.stderr.write(`workers that did not say ${body}: ${JSON.stringify(Object.fromEntries(last))}\n`);
  return saw;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('openfront start --workers 2', () => {
  let dir: string;
  let key: Credentials;
  let node: StartedChild;
  let pids: Set<string>;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-workers-'));
    mkdirSync(join(dir, 'data'));
    const db = openSqliteState(join(dir, 'data', 'openfront.db'));
    key = db.keys.createAccessKey('workers test');
    db.database.close();
    node = await startCli(['--config', writeProject(dir, ''), '--data', join(dir, 'data'), '--workers', '2', '--worker-header', '--drain-timeout', '5']);
    pids = new Set((await node.line(/^\s+edge workers /)).trim().split(/\s+/).slice(2));
    env = {
      OPENFRONT_ENDPOINT: `http://127.0.0.1:${node.apiPort}`,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
  });
  after(() => {
    node.child.kill('SIGKILL');
    for (const pid of pids) if (alive(Number(pid))) process.kill(Number(pid), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves from two worker processes on one port, both with the seeded store', async () => {
    assert.equal(pids.size, 2);
    assert.ok(![...pids].includes(String(node.child.pid)), 'the primary does not serve the edge itself');
    assert.deepEqual(await untilEveryWorkerSays(node.edgePort, pids, 'hello'), pids);
    const ready = await get(node.apiPort, '/readyz');
    assert.equal(ready.status, 200, ready.body);
  });

  it('a KVS write through the API is seen by requests served by both workers', async () => {
    const put = await runCli(['kvs', 'put', 'greetings', 'greeting', 'changed'], env);
    assert.equal(put.status, 0, put.stderr);
    assert.deepEqual(await untilEveryWorkerSays(node.edgePort, pids, 'changed'), pids);
  });

  it('a function published by a reload is served by both workers', async () => {
    writeProject(dir, 'v2:');
    const reloaded = await runCli(['reload', '--json'], env);
    assert.equal(reloaded.status, 0, reloaded.stderr);
    assert.deepEqual(await untilEveryWorkerSays(node.edgePort, pids, 'v2:changed'), pids);
  });

  it('replaces a worker that dies; the new one serves the current store and function', async () => {
    const [victim, survivor] = [...pids];
    const mark = node.lines.length;
    process.kill(Number(victim), 'SIGKILL');
    const replaced = await node.line(new RegExp(`edge worker ${victim} replaced by \\d+`), mark);
    const newcomer = replaced.split(/\s+/).at(-1)!;
    pids = new Set([survivor, newcomer]);
    assert.deepEqual(await untilEveryWorkerSays(node.edgePort, pids, 'v2:changed'), pids);
  });

  it('SIGTERM drains every worker and the primary exits 0', async () => {
    node.child.kill('SIGTERM');
    assert.deepEqual(await node.exit(), { code: 0, signal: null });
    for (const pid of pids) assert.equal(alive(Number(pid)), false, `worker ${pid} is gone`);
    await assert.rejects(get(node.edgePort, '/'), { code: 'ECONNREFUSED' });
  });
});
