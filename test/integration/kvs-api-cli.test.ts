import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const CHILD = fileURLToPath(new URL('./fixtures/server-child.js', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('openfront keys / kvs / audit CLI', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'openfront-cli-'));
  let server: ChildProcess;
  let env: NodeJS.ProcessEnv;
  let key: { accessKeyId: string; secretAccessKey: string };

  function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { cwd, env: { ...env, ...extraEnv } }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  before(async () => {
    // Only PATH from the outer environment: AWS_* or OPENFRONT_* there must not leak into the test.
    env = { PATH: process.env.PATH };
    const created = await cli(['keys', 'create', '--description', 'cli test', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^\{"accessKeyId": "AKIA[A-Z0-9]{16}", "secretAccessKey": "[^"]+"\}\n$/);
    key = JSON.parse(created.stdout) as typeof key;
    server = spawn(process.execPath, [CHILD, join(cwd, '.openfront')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: server.stdout! });
    const [line] = (await once(lines, 'line')) as string[];
    lines.close();
    const { url } = JSON.parse(line) as { url: string };
    env = { ...env, OPENFRONT_ENDPOINT: url, OPENFRONT_ACCESS_KEY_ID: key.accessKeyId, OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey };
  });

  after(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('lists keys without secrets', async () => {
    const listed = await cli(['keys', 'list', '--json']);
    assert.equal(listed.code, 0, listed.stderr);
    const keys = JSON.parse(listed.stdout) as Array<{ accessKeyId: string; description?: string }>;
    assert.deepEqual(
      keys.map((k) => [k.accessKeyId, k.description]),
      [[key.accessKeyId, 'cli test']],
    );
    assert.ok(!listed.stdout.includes(key.secretAccessKey));
    const human = await cli(['keys', 'list']);
    assert.match(human.stdout, new RegExp(`${key.accessKeyId}\\s+active`));
    const missing = await cli(['keys', 'list', '--data', join(cwd, 'nowhere')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no OpenFront database/);
  });

  it('creates, writes, reads, lists, describes and deletes through the API', async () => {
    const created = await cli(['kvs', 'create', 'cli-store', '--comment', 'from the cli', '--json']);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, '', 'no SDK warnings on stderr');
    assert.match((JSON.parse(created.stdout) as { arn: string }).arn, /^arn:aws:cloudfront::\d{12}:key-value-store\//);
    assert.equal((await cli(['kvs', 'put', 'cli-store', 'greeting key', 'héllo'])).code, 0);
    assert.equal((await cli(['kvs', 'put', 'cli-store', 'other', '2'])).code, 0);
    assert.equal((await cli(['kvs', 'get', 'cli-store', 'greeting key'])).stdout, 'héllo\n');
    const stores = JSON.parse((await cli(['kvs', 'list', '--json'])).stdout) as Array<{ name: string; comment: string }>;
    assert.deepEqual(
      stores.map((s) => [s.name, s.comment]),
      [['cli-store', 'from the cli']],
    );
    const keys = JSON.parse((await cli(['kvs', 'list', 'cli-store', '--json'])).stdout) as unknown;
    assert.deepEqual(keys, [
      { key: 'greeting key', value: 'héllo' },
      { key: 'other', value: '2' },
    ]);
    const described = JSON.parse((await cli(['kvs', 'describe', 'cli-store', '--json'])).stdout) as { itemCount: number; etag: string };
    assert.equal(described.itemCount, 2);
    assert.match(described.etag, /^KV/);
    assert.equal((await cli(['kvs', 'delete', 'cli-store', 'other'])).code, 0);
    const gone = await cli(['kvs', 'get', 'cli-store', 'other']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /ResourceNotFoundException/);
    const refused = await cli(['kvs', 'delete', 'cli-store']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--force/);
  });

  it('imports a large file (merge, then replace) and exports it in the S3 format', async () => {
    const data = Array.from({ length: 300 }, (_, i) => ({ key: `item-${String(i).padStart(3, '0')}`, value: `v${i}` }));
    const file = join(cwd, 'import.json');
    writeFileSync(file, JSON.stringify({ data }));
    const merged = await cli(['kvs', 'import', 'cli-store', file, '--json']);
    assert.equal(merged.code, 0, merged.stderr);
    assert.equal((JSON.parse(merged.stdout) as { itemCount: number }).itemCount, 301);
    const replaced = await cli(['kvs', 'import', 'cli-store', file, '--replace', '--json']);
    assert.equal((JSON.parse(replaced.stdout) as { itemCount: number }).itemCount, 300);
    const out = join(cwd, 'export.json');
    const exported = await cli(['kvs', 'export', 'cli-store', out]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual((JSON.parse(readFileSync(out, 'utf8')) as { data: unknown }).data, data);
    const badFile = join(cwd, 'bad.json');
    writeFileSync(badFile, '{"data":[{"key":"a","value":"1"},{"key":"a","value":"2"}]}');
    const bad = await cli(['kvs', 'import', 'cli-store', badFile]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /Duplicate key "a"/);
  });

  it('shows the audit log with filters', async () => {
    const audit = await cli(['audit', '--store', 'cli-store', '--key', 'greeting key', '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    const records = JSON.parse(audit.stdout) as Array<{ operation: string; accessKeyId: string }>;
    assert.ok(records.some((r) => r.operation === 'PutKey'));
    for (const r of records) assert.equal(r.accessKeyId, key.accessKeyId);
    const human = await cli(['audit', '--store', 'cli-store', '--limit', '2']);
    assert.equal(human.stdout.trim().split('\n').length, 2);
  });

  it('fails clearly without credentials, with a wrong secret, with no server, and after revocation', async () => {
    const none = await cli(['kvs', 'list'], { OPENFRONT_ACCESS_KEY_ID: '', OPENFRONT_SECRET_ACCESS_KEY: '' });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no credentials/);
    const wrong = await cli(['kvs', 'list', '--secret-access-key', 'wrong']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /AccessDenied/);
    const unreachable = await cli(['kvs', 'list', '--endpoint', 'http://127.0.0.1:9']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the OpenFront API/);
    assert.equal((await cli(['keys', 'revoke', key.accessKeyId])).code, 0);
    const revoked = await cli(['kvs', 'get', 'cli-store', 'greeting key']);
    assert.equal(revoked.code, 1);
    assert.match(revoked.stderr, /AccessDenied/);
  });
});
