/**
 * `openfront test --coverage` as a user runs it: examples/redirects copied to a folder with one of its cases,
 * then another case added. The report names the lines the cases do not reach, and the figures move with the cases.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { CoverageCollector, formatCoverage, runGoldenTests, type FileCoverage } from '../../src/devtools/test-runner/index.js';
import { isOpenFrontError } from '../../src/errors.js';
import { loadFunction, loadFunctionSync } from '../../src/runtime/function.js';
import { testEvent } from '../helpers/events.js';
import { errorOf } from '../helpers/results.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const REDIRECTS = fileURLToPath(new URL('../../../examples/redirects', import.meta.url));

interface CoverageJson {
  total: { lines: { covered: number; total: number }; branches: { covered: number; total: number } };
  files: Array<FileCoverage & { totals: unknown }>;
}

function openfront(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('openfront test --coverage on examples/redirects', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-function-coverage-'));
    mkdirSync(join(dir, 'tests'));
    for (const file of ['function.js', 'kvs.json']) copyFileSync(join(REDIRECTS, file), join(dir, file));
    copyFileSync(join(REDIRECTS, 'tests', 'permanent.json'), join(dir, 'tests', 'permanent.json'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const source = () => readFileSync(join(dir, 'function.js'), 'utf8').split('\n');
  const lineOf = (text: string) => source().findIndex((line) => line.includes(text)) + 1;

  it('names the lines the cases do not reach, and the figures change when a case is added', () => {
    // One case: a path in the table. The miss path (get() rejects) and rewriteToIndex never run.
    const first = openfront(['test', '--coverage'], dir);
    assert.equal(first.status, 0, first.stderr);
    const missLine = lineOf("return request.uri.endsWith('/') ? rewriteToIndex(request) : request;");
    const indexLines = [lineOf("request.uri += 'index.html';"), lineOf("request.uri += 'index.html';") + 1];
    const row = first.stdout.split('\n').find((line) => line.startsWith('function.js'));
    assert.ok(row, first.stdout);
    assert.match(row, new RegExp(`\\b${missLine}, ${indexLines[0]}-${indexLines[1]}$`));

    const json1 = openfront(['test', '--coverage-reporter', 'json', '--coverage-output', 'cov1.json'], dir);
    assert.equal(json1.status, 0, json1.stderr);
    const before = JSON.parse(readFileSync(join(dir, 'cov1.json'), 'utf8')) as CoverageJson;
    const uncovered = (report: CoverageJson) => (report.files[0] as CoverageJson['files'][0]).lines.filter((l) => l.hits === 0).map((l) => l.line);
    assert.deepEqual(uncovered(before), [missLine, ...indexLines]);

    // A second case: a folder path not in the table is rewritten to its index.html.
    writeFileSync(
      join(dir, 'tests', 'folder.json'),
      JSON.stringify({
        name: 'a folder not in the table gets its index.html',
        function: '../function.js',
        kvs: '../kvs.json',
        request: 'GET /guide/\nHost: www.example.com',
        expect: { request: { uri: '/guide/index.html' } },
      }),
    );
    const json2 = openfront(['test', '--coverage-reporter', 'json', '--coverage-output', 'cov2.json'], dir);
    assert.equal(json2.status, 0, json2.stderr);
    const afterAdd = JSON.parse(readFileSync(join(dir, 'cov2.json'), 'utf8')) as CoverageJson;
    assert.deepEqual(uncovered(afterAdd), []);
    assert.equal(afterAdd.total.lines.total, before.total.lines.total);
    assert.ok(afterAdd.total.lines.covered > before.total.lines.covered);
    assert.ok(afterAdd.total.branches.covered > before.total.branches.covered);
  });

  it('lcov for CI tools, and a threshold that fails the run with a message', () => {
    const ran = openfront(['test', '--coverage-reporter', 'lcov', '--coverage-threshold', '100'], dir);
    assert.equal(ran.status, 1);
    assert.match(ran.stderr, /coverage below the threshold of 100% \(branches\): lines 100\.0% .*branches \d+\.\d% \(\d+\/\d+\)/);
    const lcov = readFileSync(join(dir, 'coverage', 'lcov.info'), 'utf8');
    assert.match(lcov, new RegExp(`^SF:${join(dir, 'function.js').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(lcov, /^LF:\d+$/m);
    assert.match(lcov, /^BRDA:\d+,\d+,0,0$/m);
    assert.ok(lcov.trimEnd().endsWith('end_of_record'));

    const ok = openfront(['test', '--coverage-threshold', '50'], dir);
    assert.equal(ok.status, 0, ok.stderr);
    const bad = openfront(['test', '--coverage-threshold', 'lots'], dir);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--coverage-threshold must be a number from 0 to 100, got "lots"/);
  });
});

describe('function coverage from code', () => {
  const event = testEvent('/a');
  const code = ['function handler(event) {', "  if (event.request.uri === '/a') {", '    return event.request;', '  }', "  throw new Error('no');", '}'].join(
    '\n',
  );

  it('counts taken before a kill are kept, the killed invocation counts nothing, and the next isolate measures too', async () => {
    const looping = `${code.replace("throw new Error('no');", 'while (true) {}')}`;
    const fn = await loadFunction(looping, { coverage: true, limits: { killAfterMicros: 20_000 } });
    const collector = new CoverageCollector();
    try {
      assert.equal((await fn.run(event)).kind, 'request');
      collector.add('/fn.js', looping, 'cloudfront-js-2.0', await fn.takeCoverage!());
      const killed = await fn.run(testEvent('/b'));
      assert.equal(errorOf(killed).code, 'FUNCTION_CPU_LIMIT_EXCEEDED');
      collector.add('/fn.js', looping, 'cloudfront-js-2.0', await fn.takeCoverage!());
      assert.equal((await fn.run(event)).kind, 'request');
      collector.add('/fn.js', looping, 'cloudfront-js-2.0', await fn.takeCoverage!());
    } finally {
      fn.dispose();
    }
    const [file] = collector.files();
    assert.deepEqual(
      file?.lines.map((l) => [l.line, l.hits > 0]),
      [
        [2, true],
        [3, true],
        [5, false],
      ],
    );
    assert.equal(file?.lines.find((l) => l.line === 3)?.hits, 2);
    assert.match(formatCoverage('text', collector.files()), /^\/fn\.js +66\.7% \(2\/3\) .* 5$/m);
  });

  it('is off unless asked for: no counts, and loadFunctionSync refuses it', async () => {
    const fn = await loadFunction(code);
    try {
      fn.runSync(event);
      assert.deepEqual(await fn.takeCoverage!(), []);
    } finally {
      fn.dispose();
    }
    assert.throws(
      () => loadFunctionSync(code, { coverage: true }),
      (err) => isOpenFrontError(err) && err.code === 'FUNCTION_COVERAGE_UNAVAILABLE',
    );
  });
});

describe('function coverage through a source map', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-coverage-map-'));
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'tests'));
    // Two TypeScript-only lines at the top shift every line of the output by two.
    const ts = [
      'interface Req { uri: string }',
      'type Event = { request: Req };',
      'function handler(event: Event) {',
      "  if (event.request.uri === '/a') {",
      '    return event.request;',
      '  }',
      "  event.request.uri = '/other';",
      '  return event.request;',
      '}',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'src', 'handler.ts'), ts);
    const built = transformSync(ts, { loader: 'ts', sourcemap: 'external', sourcefile: 'src/handler.ts' });
    writeFileSync(join(dir, 'function.js'), `${built.code}//# sourceMappingURL=function.js.map\n`);
    writeFileSync(join(dir, 'function.js.map'), built.map);
    writeFileSync(
      join(dir, 'tests', 'a.json'),
      JSON.stringify({ name: 'a', function: '../function.js', request: 'GET /a', expect: { request: { uri: '/a' } } }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the lines and branches of the original TypeScript', async () => {
    const run = await runGoldenTests([dir], { coverage: true });
    assert.ok(run.ok);
    const [file] = run.coverage ?? [];
    assert.equal(file?.file, join(dir, 'src', 'handler.ts'));
    assert.deepEqual(
      file?.lines.filter((l) => l.hits === 0).map((l) => l.line),
      [7, 8],
    );
    assert.deepEqual(
      file?.branches.filter((b) => b.hits === 0).map((b) => [b.line, b.arm]),
      [[4, 'else']],
    );
  });
});
