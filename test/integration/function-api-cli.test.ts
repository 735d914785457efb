import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServer } from '../../src/control/api-server.js';
import { functionRouteGroup, FunctionRegistry } from '../../src/control/functions/index.js';
import { LiveFunctions } from '../../src/node/live-functions.js';
import { openSqliteParts, sqliteState, type SqliteState } from '../../src/state/sqlite/index.js';
import { ReplicaSet } from '../../src/kvs/replica.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const tagging = (tag: string) =>
  `function handler(event) {\n  console.log('tag ${tag}');\n  event.request.headers['x-tag'] = { value: '${tag}' };\n  return event.request;\n}\n`;

describe('openfront function (CLI)', () => {
  let dir: string;
  let db: SqliteState;
  let replicas: ReplicaSet;
  let live: LiveFunctions;
  let server: ApiServer;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-fn-cli-'));
    const parts = openSqliteParts(join(dir, 'openfront.db'));
    const key = parts.keys.createAccessKey('cli test');
    const registry = new FunctionRegistry(parts);
    db = sqliteState(parts, registry);
    replicas = new ReplicaSet(parts.stores);
    live = new LiveFunctions(registry, replicas);
    server = await startApiServer({ state: db, port: 0, routes: [functionRouteGroup(db.functions, replicas)] });
    env = {
      PATH: process.env.PATH,
      OPENFRONT_ENDPOINT: server.url,
      OPENFRONT_ACCESS_KEY_ID: key.accessKeyId,
      OPENFRONT_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    writeFileSync(join(dir, 'v1.js'), tagging('v1'));
    writeFileSync(join(dir, 'v2.js'), tagging('v2'));
    writeFileSync(join(dir, 'event.json'), JSON.stringify({ request: { method: 'GET', uri: '/', headers: {} } }));
  });
  after(async () => {
    live.close();
    replicas.close();
    await server.close();
    db.database.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [MAIN, 'function', ...args], { env, cwd: dir }, (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('creates, tests, publishes, updates, rolls back and diffs; fails clearly', async () => {
    const created = await cli('create', 'site', 'v1.js', '--comment', 'from the CLI');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^Status: +UNPUBLISHED$/m);

    const tested = await cli('test', 'site', '--event', 'event.json');
    assert.equal(tested.code, 0, tested.stderr);
    const result = JSON.parse(tested.stdout) as {
      FunctionOutput: string;
      FunctionExecutionLogs: string[];
      FunctionErrorMessage: string;
      ComputeUtilization: string;
    };
    assert.deepEqual(Object.keys(result), ['FunctionOutput', 'FunctionErrorMessage', 'FunctionExecutionLogs', 'ComputeUtilization']);
    assert.equal((JSON.parse(result.FunctionOutput) as { request: { headers: Record<string, { value: string }> } }).request.headers['x-tag'].value, 'v1');
    assert.deepEqual(result.FunctionExecutionLogs, ['tag v1']);

    assert.equal((await cli('publish', 'site')).stdout, 'Published site: LIVE is now version 1\n');
    assert.equal((await cli('update', 'site', 'v2.js')).code, 0);
    assert.equal((await cli('publish', 'site')).stdout, 'Published site: LIVE is now version 2\n');
    assert.equal(live.get('site')?.version, 2);

    const rolledBack = await cli('rollback', 'site', '1');
    assert.equal(rolledBack.stdout, 'Rolled back site: LIVE is now version 1\n', rolledBack.stderr);
    assert.equal(live.get('site')?.version, 1);

    const versions = JSON.parse((await cli('versions', 'site', '--json')).stdout) as {
      versions: Array<{ version: number; stages: string[]; config: { comment: string } }>;
    };
    assert.deepEqual(
      versions.versions.map((v) => [v.version, v.stages, v.config.comment]),
      [
        [1, ['LIVE'], 'from the CLI'],
        [2, ['DEVELOPMENT'], 'from the CLI'],
      ],
    );
    const diff = await cli('diff', 'site');
    assert.match(diff.stdout, /^--- site@1\n\+\+\+ site@2\n/);
    assert.equal((await cli('get', 'site', '--stage', 'LIVE')).stdout, tagging('v1'));

    const missing = await cli('describe', 'nope');
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NoSuchFunctionExists/);
    const badStage = await cli('describe', 'site', '--stage', 'prod');
    assert.notEqual(badStage.code, 0);
    assert.match(badStage.stderr, /--stage must be DEVELOPMENT or LIVE/);
  });
});
