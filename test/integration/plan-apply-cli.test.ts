/**
 * `openfront plan` and `openfront apply` (docs/safe-changes.md#plan-and-apply) on a copy of the demo project:
 * a changed redirect and a changed function show in the plan (exit 2), apply makes them so as one release, a write
 * made by someone else after the plan makes applying that plan refuse with nothing written, and a node that matches
 * the project plans as "no changes" (exit 0).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEMO_CONFIG } from '../../src/cli/commands/start.js';
import { loadConfig } from '../../src/config/index.js';
import { startOpenFrontNode, type OpenFrontNode } from '../../src/node/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

describe('openfront plan / apply on a copy of the demo project', () => {
  let dir: string;
  let project: string;
  let node: OpenFrontNode;
  let env: NodeJS.ProcessEnv;

  const cli = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(process.execPath, [MAIN, ...args], { env }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const edgeGet = async (path: string): Promise<{ status: number; location: string | null }> => {
    const res = await fetch(`${node.edge.url}${path}`, { redirect: 'manual' });
    await res.arrayBuffer();
    return { status: res.status, location: res.headers.get('location') };
  };
  const store = () => node.state.kvs.getStore({ name: 'demo-redirects' })!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-plan-'));
    project = join(dir, 'project');
    cpSync(dirname(DEMO_CONFIG), project, { recursive: true });
    node = await startOpenFrontNode({
      dataDir: join(dir, 'data'),
      config: await loadConfig(join(project, 'openfront.config.yaml')),
      api: { port: 0 },
      edge: { port: 0 },
    });
    const key = node.state.keys.createAccessKey('plan test');
    env = {
      PATH: process.env.PATH,
      OPENFRONT_ENDPOINT: node.api.url,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
    };
  });

  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plans no changes for the project the node was started from (exit 0)', async () => {
    const res = await cli(['plan', '--dir', project]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /No changes: the node matches the project\./);
  });

  it('shows a changed redirect and function (exit 2); a write in between refuses the saved plan; apply makes it so', async () => {
    const seedFile = join(project, 'data', 'redirects.json');
    const seed = JSON.parse(readFileSync(seedFile, 'utf8')) as { data: Array<{ key: string; value: string }> };
    seed.data = seed.data.map((item) => (item.key === '/go/docs' ? { ...item, value: '/docs/v2/' } : item));
    seed.data.push({ key: '/go/blog', value: '/blog/' });
    writeFileSync(seedFile, JSON.stringify(seed, null, 2));
    const codeFile = join(project, 'functions', 'redirects.js');
    writeFileSync(
      codeFile,
      readFileSync(codeFile, 'utf8').replace(
        "statusCode: 301,\n      statusDescription: 'Moved Permanently'",
        "statusCode: 308,\n      statusDescription: 'Permanent Redirect'",
      ),
    );

    const planFile = join(dir, 'plan.json');
    const planned = await cli(['plan', '--dir', project, '--out', planFile]);
    assert.equal(planned.code, 2, planned.stderr);
    assert.match(planned.stdout, /~ function demo-redirects: code \+2 -2 lines \(LIVE version 1 → a new version\)/);
    assert.match(planned.stdout, /~ store demo-redirects: 1 to add, 1 to change, 0 to delete/);
    assert.match(planned.stdout, /\+ "\/go\/blog" = "\/blog\/"/);
    assert.match(planned.stdout, /~ "\/go\/docs": "\/docs\/" → "\/docs\/v2\/"/);
    assert.match(planned.stdout, /Plan: 1 function\(s\) and 1 store\(s\) to change\./);
    assert.doesNotMatch(planned.stdout, /demo-locale|demo-flags/);

    // Someone else writes to the store after the plan was made.
    node.state.kvs.putKey(store().id, '/go/extra', '/extra/', store().etag, { accessKeyId: 'someone-else' });
    const etagAfterTheirWrite = store().etag;
    const liveBefore = node.registry.live('demo-redirects')!.version;
    const refused = await cli(['apply', '--dir', project, '--plan', planFile]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /PreconditionFailed: Changed since the release was planned: store demo-redirects/);
    assert.equal(store().etag, etagAfterTheirWrite, 'nothing was written to the store');
    assert.equal(node.registry.live('demo-redirects')!.version, liveBefore, 'LIVE did not move');
    assert.deepEqual(await edgeGet('/go/docs'), { status: 301, location: '/docs/' });

    // Planned again, their key shows as a delete (the seed file is authoritative); apply makes the node match.
    const replanned = await cli(['plan', '--dir', project]);
    assert.equal(replanned.code, 2);
    assert.match(replanned.stdout, /1 to add, 1 to change, 1 to delete/);
    const applied = await cli(['apply', '--dir', project]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied rel-[a-z0-9]{12} {2}applied/);
    assert.match(applied.stdout, /function demo-redirects: new code .* LIVE 1 → 2/);
    assert.deepEqual(await edgeGet('/go/docs'), { status: 308, location: '/docs/v2/' });
    assert.deepEqual(await edgeGet('/go/blog'), { status: 308, location: '/blog/' });
    assert.equal((await edgeGet('/go/extra')).status, 404);

    const after = await cli(['plan', '--dir', project]);
    assert.equal(after.code, 0, after.stdout);
    const listed = await cli(['release', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /applied .* function demo-redirects, store demo-redirects {2}— openfront apply/);
    // The refused apply was refused at create (its If-Match was already stale): no release was stored for it.
    assert.equal(listed.stdout.trim().split('\n').length, 1, listed.stdout);
  });

  it('plan exits 1 with a clear message for a directory without a config file', async () => {
    const res = await cli(['plan', '--dir', dir]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /has no openfront\.config\.yaml/);
  });

  it('release create/apply/rollback from the command line', async () => {
    const changes = join(dir, 'changes.json');
    writeFileSync(changes, JSON.stringify({ stores: { 'demo-flags': { puts: [{ key: 'new-beta-page', value: '{"enabled": false, "percent": 0}' }] } } }));
    const created = await cli(['release', 'create', '--kvs-changes', changes, '--description', 'beta off', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const id = (JSON.parse(created.stdout) as { id: string }).id;
    const applied = await cli(['release', 'apply', id, '--wait']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /store demo-flags: 1 put\(s\), 0 delete\(s\) — version \d+ → \d+/);
    const flags = node.state.kvs.getStore({ name: 'demo-flags' })!;
    assert.equal(node.state.kvs.getKey(flags.id, 'new-beta-page').value, '{"enabled": false, "percent": 0}');
    const rolled = await cli(['release', 'rollback', id]);
    assert.equal(rolled.code, 0, rolled.stderr);
    assert.equal(node.state.kvs.getKey(flags.id, 'new-beta-page').value, '{"enabled": true, "percent": 50}');
    const shown = await cli(['release', 'show', id]);
    assert.equal((JSON.parse(shown.stdout) as { status: string }).status, 'rolled-back');
    const usage = await cli(['release', 'create', '--code', 'x.js']);
    assert.equal(usage.code, 1);
    assert.match(usage.stderr, /--code and --version go with --function/);
  });
});
