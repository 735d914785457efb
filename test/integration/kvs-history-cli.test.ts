/**
 * `openfront kvs history|diff|rollback` against a real `openfront start` process: a bulk import that wipes a store,
 * then `kvs rollback --to <before>`, restores every key; history, diff and `kvs describe --json`'s version survive a
 * restart of the node on the same SQLite file; a stale `--if-match` is a conflict that writes nothing.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startRoleProcess, type RoleProcess } from '../helpers/fleet-processes.js';
import { freePort } from '../helpers/nats-server.js';

describe('openfront kvs history / diff / rollback against openfront start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-history-cli-'));
  const data = join(dir, 'data');
  const configPath = join(dir, 'openfront.config.yaml');
  let node: RoleProcess | undefined;
  let env: NodeJS.ProcessEnv;
  let apiPort: number;

  async function startNode(): Promise<void> {
    const edgePort = await freePort();
    node = await startRoleProcess(
      'start',
      ['start', '--config', configPath, '--data', data, '--api-port', String(apiPort), '--edge-port', String(edgePort)],
      apiPort,
    );
  }

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return runCli(args, env);
  }

  async function json<T>(...args: string[]): Promise<T> {
    const run = await cli(...args, '--json');
    assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
    return JSON.parse(run.stdout) as T;
  }

  before(async () => {
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site', 'index.html'), 'origin\n');
    writeFileSync(
      configPath,
      [
        'server:',
        '  host: 127.0.0.1',
        'distributions:',
        '  - id: EHISTORY0000001',
        '    hostnames: ["*"]',
        '    origins:',
        '      - id: site',
        '        static: ./site',
        '    defaultBehavior:',
        '      origin: site',
        '      cachePolicy: CachingDisabled',
        '',
      ].join('\n'),
    );
    const created = await runCli(['keys', 'create', '--data', data, '--json'], { PATH: process.env.PATH });
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout) as { accessKeyId: string; secretAccessKey: string };
    apiPort = await freePort();
    env = {
      PATH: process.env.PATH,
      OPENFRONT_ENDPOINT: `http://127.0.0.1:${apiPort}`,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
    await startNode();
  });

  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('restores every key a wiping bulk import removed, and keeps the history across a restart', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({ key: `redirect/${String(i).padStart(3, '0')}`, value: `/new/${i}` }));
    writeFileSync(join(dir, 'full.json'), JSON.stringify({ data: items }));
    writeFileSync(join(dir, 'wipe.json'), JSON.stringify({ data: [{ key: 'only', value: 'this' }] }));
    assert.equal((await cli('kvs', 'create', 'redirects', '--import-file', join(dir, 'full.json'))).code, 0);
    const before = await json<{ version: number; etag: string }>('kvs', 'describe', 'redirects');
    assert.equal(typeof before.version, 'number');
    const wiped = await json<{ itemCount: number; version: number }>('kvs', 'import', 'redirects', join(dir, 'wipe.json'), '--replace');
    assert.equal(wiped.itemCount, 1);

    const diff = await json<{ removed: unknown[]; added: unknown[]; changed: unknown[] }>(
      'kvs',
      'diff',
      'redirects',
      String(before.version),
      String(wiped.version),
    );
    assert.equal(diff.removed.length, 300);
    assert.deepEqual(diff.added, [{ key: 'only', value: 'this' }]);
    const diffText = await cli('kvs', 'diff', 'redirects', String(before.version), String(wiped.version));
    assert.match(diffText.stdout, /^\+ only = "this"$/m);
    assert.match(diffText.stdout, /1 added, 300 removed, 0 changed/);

    const stale = await cli('kvs', 'rollback', 'redirects', '--to', String(before.version), '--if-match', before.etag);
    assert.notEqual(stale.code, 0);
    assert.match(stale.stderr, /ConflictException|not in expected state/);
    assert.equal((await json<{ version: number }>('kvs', 'describe', 'redirects')).version, wiped.version, 'nothing written');

    const rolled = await cli('kvs', 'rollback', 'redirects', '--to', String(before.version));
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.match(rolled.stdout, new RegExp(`^Rolled back redirects to version ${before.version}: now version \\d+, ETag KV\\w+ \\(300 items\\)$`, 'm'));
    const listed = await json<Array<{ key: string; value: string }>>('kvs', 'list', 'redirects');
    assert.deepEqual(listed, items);

    const history = await json<{ items: Array<{ operation: string; key: string; before: string | null; after: string | null }> }>(
      'kvs',
      'history',
      'redirects',
      '--key',
      'redirect/007',
    );
    assert.deepEqual(
      history.items.map((r) => [r.operation, r.before, r.after]),
      [
        ['Rollback', null, '/new/7'],
        ['ImportKeys', '/new/7', null],
        ['ImportKeys', null, '/new/7'],
      ],
    );
    const text = await cli('kvs', 'history', 'redirects', '--key', 'only');
    assert.match(text.stdout, /\tRollback\tonly\t"this" → \(absent\)$/m);

    // Restart the node on the same SQLite file: history, as-of reads and diffs are still there.
    const describedBefore = await json<{ version: number }>('kvs', 'describe', 'redirects');
    await node!.stop();
    await startNode();
    assert.deepEqual(await json<{ items: unknown[] }>('kvs', 'history', 'redirects', '--key', 'redirect/007'), history);
    assert.equal((await json<{ version: number }>('kvs', 'describe', 'redirects')).version, describedBefore.version);
    const again = await json<{ removed: unknown[] }>('kvs', 'diff', 'redirects', String(before.version), String(wiped.version));
    assert.equal(again.removed.length, 300);
  });

  it('names the problem and exits non-zero for bad versions', async () => {
    const bad = await cli('kvs', 'diff', 'redirects', 'one', '2');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /<from> must be a version number/);
    const expired = await cli('kvs', 'rollback', 'redirects', '--to', '99999999');
    assert.notEqual(expired.code, 0);
    assert.match(expired.stderr, /does not exist yet: its current version is \d+/);
    const badRetention = await runCli(['start', '--config', configPath, '--data', join(dir, 'other'), '--history-retention', 'forever'], env);
    assert.notEqual(badRetention.code, 0);
    assert.match(badRetention.stderr, /--history-retention must look like 30d,1000/);
  });
});
