/**
 * Commands and loadFunction() under a coverage tool: NODE_V8_COVERAGE set, as c8, vitest and
 * `node --experimental-test-coverage` set it for the processes they start. Node writes the coverage at exit after
 * isolated-vm has torn down its environment; a garbage collection while it writes used to abort the process
 * (exit 134) after its work was done (src/runtime/sandbox/exit-guard.ts tells the story).
 *
 * `--max-semi-space-size=1` makes that collection certain (the coverage JSON is larger than the young generation):
 * without the exit guard these processes abort nearly every time; with the default heap only now and then.
 *
 * The guard collects with gc() when the process has --expose-gc (as the project's coverage runs do) and with a
 * heap snapshot otherwise: the commands and the script that keeps raw handles run both ways.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writesProfileAtExit } from '../../src/runtime/sandbox/exit-guard.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const INDEX = new URL('../../src/index.js', import.meta.url).href;

interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  coverageFiles: string[];
}

describe('under NODE_V8_COVERAGE', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-coverage-exit-'));
    writeFileSync(
      join(dir, 'fn.js'),
      `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  if (await kvs.exists(event.request.uri)) {
    return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get(event.request.uri) } } };
  }
  return event.request;
}`,
    );
    writeFileSync(
      join(dir, 'event.json'),
      '{"context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/old","headers":{}}}',
    );
    writeFileSync(join(dir, 'kvs.json'), '{"data":[{"key":"/old","value":"/new"}]}');
    writeFileSync(
      join(dir, 'redirect.test.json'),
      JSON.stringify({ name: 'an old path moves', function: 'fn.js', kvs: 'kvs.json', request: 'GET /old', expect: { response: { statusCode: 301 } } }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  type Collector = 'gc' | 'snapshot';
  function run(args: string[], name: string, collector: Collector = 'gc'): Ran {
    const coverageDir = mkdtempSync(join(dir, `v8-${name}-`));
    const result = spawnSync(process.execPath, args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        NODE_V8_COVERAGE: coverageDir,
        NODE_OPTIONS: collector === 'gc' ? '--max-semi-space-size=1 --expose-gc' : '--max-semi-space-size=1',
      },
    });
    return {
      status: result.status,
      signal: result.signal,
      stdout: result.stdout,
      stderr: result.stderr,
      coverageFiles: readdirSync(coverageDir).map((f) => join(coverageDir, f)),
    };
  }

  function assertCleanExit(ran: Ran, loadedModule = '/runtime/sandbox/function-isolate.js'): void {
    assert.equal(ran.signal, null, `the process was killed by ${ran.signal}: ${ran.stderr}`);
    assert.equal(ran.status, 0, ran.stderr);
    assert.doesNotMatch(ran.stderr, /Assertion|environment != nullptr/);
    // The coverage was written, and completely.
    assert.equal(ran.coverageFiles.length, 1);
    const coverage = JSON.parse(readFileSync(ran.coverageFiles[0] as string, 'utf8')) as { result: Array<{ url: string }> };
    assert.ok(coverage.result.some((script) => script.url.endsWith(loadedModule)));
  }

  it('openfront test-function exits 0 with its result, with and without --expose-gc', () => {
    for (const collector of ['gc', 'snapshot'] as const) {
      const ran = run([CLI, 'test-function', 'fn.js', '--event', 'event.json', '--kvs', 'kvs.json'], `test-function-${collector}`, collector);
      assertCleanExit(ran);
      const result = JSON.parse(ran.stdout) as { FunctionOutput: string; FunctionErrorMessage: string };
      assert.deepEqual(Object.keys(result).sort(), ['ComputeUtilization', 'FunctionErrorMessage', 'FunctionExecutionLogs', 'FunctionOutput']);
      // On a badly overloaded machine the 20 ms kill can stop the cold first run; that is still a clean exit 0.
      if (result.FunctionErrorMessage === '')
        assert.equal((JSON.parse(result.FunctionOutput) as { response: { statusCode: number } }).response.statusCode, 301);
      else assert.match(result.FunctionErrorMessage, /CPU time budget/);
    }
  });

  it('openfront test exits 0 with its report', () => {
    const ran = run([CLI, 'test', 'redirect.test.json'], 'test');
    // On a badly overloaded machine the 20 ms kill can stop the cold first run: exit 1 with that reason is the
    // command's normal answer too. What must never happen is the abort.
    if (ran.status === 1 && /CPU time budget/.test(ran.stdout)) ran.status = 0;
    else assert.match(ran.stdout, /1 case: 1 passed, 0 failed/);
    assertCleanExit(ran);
  });

  it('loadFunction() in a script exits 0, whether the function was disposed or not', () => {
    const script = (dispose: boolean) => `
import { loadFunction } from ${JSON.stringify(INDEX)};
const fn = await loadFunction('function handler(event) { return event.request; }', { limits: { killAfterMicros: 2000000 } });
const event = { context: { eventType: 'viewer-request' }, viewer: { ip: '1.2.3.4' }, request: { method: 'GET', uri: '/x', querystring: {}, headers: {}, cookies: {} } };
const kinds = [fn.runSync(event).kind, (await fn.runOffThread(event)).kind, (await fn.run(event)).kind];
${dispose ? 'fn.dispose();' : ''}
console.log(kinds.join(' '));`;
    for (const dispose of [true, false]) {
      writeFileSync(join(dir, 'script.mjs'), script(dispose));
      const ran = run(['script.mjs'], `script-${dispose}`);
      assertCleanExit(ran);
      assert.equal(ran.stdout, 'request request request\n');
    }
  });

  it('a script that makes and disposes isolates through the isolated-vm loader itself exits 0, with and without --expose-gc', () => {
    const loader = new URL('../../src/runtime/sandbox/isolated-vm.js', import.meta.url).href;
    writeFileSync(
      join(dir, 'raw.mjs'),
      `import ivm from ${JSON.stringify(loader)};
const values = [];
for (let i = 0; i < 20; i++) {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  const context = isolate.createContextSync();
  values.push(isolate.compileScriptSync('(function () { return 1; })').runSync(context, { reference: true }).typeof);
  isolate.dispose();
}
console.log(values.length, values[0]);`,
    );
    for (const collector of ['gc', 'snapshot'] as const) {
      const ran = run(['raw.mjs'], `raw-${collector}`, collector);
      assertCleanExit(ran, '/runtime/sandbox/isolated-vm.js');
      assert.equal(ran.stdout, '20 function\n');
    }
  });
});

describe('writesProfileAtExit', () => {
  it('is true for NODE_V8_COVERAGE, the test runner coverage, CPU and heap profiles; false otherwise', () => {
    assert.equal(writesProfileAtExit({ NODE_V8_COVERAGE: '/tmp/x' }, []), true);
    assert.equal(writesProfileAtExit({}, ['--experimental-test-coverage']), true);
    assert.equal(writesProfileAtExit({ NODE_OPTIONS: '--max-old-space-size=100 --cpu-prof' }, []), true);
    assert.equal(writesProfileAtExit({}, ['--heap-prof']), true);
    assert.equal(writesProfileAtExit({ NODE_V8_COVERAGE: '' }, ['--cpu-prof-dir=x']), false);
    assert.equal(writesProfileAtExit({ NODE_OPTIONS: '--max-old-space-size=100' }, ['--enable-source-maps']), false);
  });
});
