import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { buildFunction } from '../../src/devtools/build.js';
import { checkSource } from '../../src/runtime/checker.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const CLI = join(ROOT, 'dist/src/cli/main.js');
/** The use-case examples (other folders in examples/, e.g. demos for `openfront dev`, are not held to this shape). */
const examples = ['cache-key', 'feature-flags', 'jwt-auth', 'locale-routing', 'redirects', 'request-normalization', 'security-headers', 'tenant-origin'];

test('every use case has its example folder with a config, a README and golden cases', () => {
  const present = readdirSync(EXAMPLES);
  for (const name of examples) {
    assert.ok(present.includes(name), `examples/${name} is missing`);
    for (const file of ['openfront.config.yaml', 'README.md', 'tests'])
      assert.ok(existsSync(join(EXAMPLES, name, file)), `examples/${name}/${file} is missing`);
  }
});

test('every example config loads, and each of its functions passes the checker for its runtime', async () => {
  for (const name of examples) {
    const config = await loadConfig(join(EXAMPLES, name, 'openfront.config.yaml'));
    assert.equal(config.server.host, '127.0.0.1', name);
    assert.equal(config.distributions.length, 1, name);
    assert.ok(config.functions.length > 0, name);
    for (const fn of config.functions) {
      assert.deepEqual(checkSource(readFileSync(fn.codePath, 'utf8'), fn.runtime), [], `${name}: ${fn.codePath}`);
    }
  }
});

test('the committed cache-key function.js is what `openfront build` makes of function.ts', async () => {
  const built = await buildFunction({ entry: join(EXAMPLES, 'cache-key', 'function.ts') });
  assert.equal(built.ok, true, JSON.stringify(built.problems));
  assert.equal(built.code, readFileSync(join(EXAMPLES, 'cache-key', 'function.js'), 'utf8'), 'rebuild it: openfront build examples/cache-key/function.ts');
});

test('every golden case of every example passes through the CLI', () => {
  const run = spawnSync(process.execPath, [CLI, 'test', 'examples', '--reporter', 'json'], { cwd: ROOT, encoding: 'utf8' });
  const report = JSON.parse(run.stdout) as { total: number; passed: number; cases: Array<{ file: string; name: string; status: string; message?: string }> };
  const failures = report.cases.filter((c) => c.status !== 'passed').map((c) => `${c.file}: ${c.name}: ${c.message ?? ''}`);
  assert.deepEqual(failures, []);
  assert.equal(run.status, 0, run.stderr);
  for (const name of examples)
    assert.ok(report.cases.filter((c) => c.file.startsWith(`examples/${name}/`)).length >= 3, `examples/${name} has fewer than 3 cases`);
});
