import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { discoverCaseFiles, formatReport, runGoldenTests } from '../../src/devtools/test-runner/index.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'openfront-test-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FUNCTION = `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const request = event.request;
  if (request.uri === '/boom') throw new Error('boom');
  const target = await kvs.exists(request.uri) ? await kvs.get(request.uri) : undefined;
  console.log('uri ' + request.uri);
  if (target) return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: target }, date: { value: String(Date.now()) } } };
  request.headers['x-lang'] = { value: request.headers['accept-language'] ? request.headers['accept-language'].value : 'none' };
  return request;
}
`;

function write(relative: string, content: unknown): string {
  const path = join(dir, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

write('function.js', FUNCTION);
write('kvs.json', { data: [{ key: '/old', value: '/new' }] });

test('a matching case passes, with the HTTP text request form and an S3-format KVS file', async () => {
  const file = write('good/tests/redirect.json', {
    name: 'redirects /old',
    function: '../../function.js',
    kvs: '../../kvs.json',
    now: '2025-01-01T00:00:00Z',
    request: 'GET /old?x=1\nHost: example.com',
    expect: {
      response: { statusCode: 301, headers: { location: { value: '/new' }, date: { value: String(Date.parse('2025-01-01T00:00:00Z')) } } },
      logs: ['uri /old'],
    },
  });
  const run = await runGoldenTests([file]);
  assert.equal(run.ok, true, JSON.stringify(run.results));
  assert.equal(run.results[0]?.status, 'passed');
  assert.equal(typeof run.results[0]?.computeUtilization, 'number');
});

test('a mismatch fails with every difference, and the human report shows expected vs actual', async () => {
  const file = write('bad/tests/lang.json', {
    function: '../../function.js',
    kvs: {},
    request: 'GET /page\nHost: example.com\nAccept-Language: de',
    expect: { request: { uri: '/other', headers: { 'x-lang': { value: 'fr' }, host: { value: 'example.com' } } } },
  });
  const run = await runGoldenTests([file]);
  const result = run.results[0]!;
  assert.equal(run.ok, false);
  assert.equal(result.status, 'failed');
  assert.deepEqual(result.differences, [
    { path: 'request.uri', expected: '/other', actual: '/page' },
    { path: 'request.headers.x-lang.value', expected: 'fr', actual: 'de' },
  ]);
  const text = formatReport('human', { results: run.results, maxUtilization: 70, durationMs: run.durationMs, cwd: dir });
  assert.match(text, /✗ lang/);
  assert.match(text, /request\.headers\.x-lang\.value\n\s+- expected "fr"\n\s+\+ actual\s+"de"/);
  assert.match(text, /1 case: 0 passed, 1 failed/);
});

test('ignored paths are skipped, null demands absence, {} demands emptiness', async () => {
  const base = { function: '../../function.js', kvs: { '/old': '/new' }, request: 'GET /old\nHost: example.com' };
  const file = write('ignore/tests/cases.json', [
    {
      ...base,
      name: 'ignored',
      expect: { response: { headers: { location: { value: '/new' }, date: { value: 'whatever' } } }, ignore: ['response.headers.date'] },
    },
    { ...base, name: 'absent', expect: { response: { headers: { 'x-nope': null } } } },
    { ...base, name: 'not absent', expect: { response: { headers: { location: null } } } },
    { ...base, name: 'wildcard', expect: { response: { headers: {} }, ignore: ['response.headers.*'] } },
  ]);
  const run = await runGoldenTests([file]);
  assert.deepEqual(
    run.results.map((r) => [r.name, r.status]),
    [
      ['ignored', 'passed'],
      ['absent', 'passed'],
      ['not absent', 'failed'],
      ['wildcard', 'passed'],
    ],
  );
  assert.equal(run.results[2]?.differences[0]?.path, 'response.headers.location');
});

test('error expectations, and a function error where a request was expected', async () => {
  const file = write('errors/tests/cases.json', [
    { name: 'throws', function: '../../function.js', kvs: {}, request: 'GET /boom\nHost: a', expect: { error: 'execution', errorMessage: 'boom' } },
    { name: 'unexpected', function: '../../function.js', kvs: {}, request: 'GET /boom\nHost: a', expect: { request: { uri: '/boom' } } },
  ]);
  const run = await runGoldenTests([file]);
  assert.equal(run.results[0]?.status, 'passed');
  assert.equal(run.results[1]?.status, 'failed');
  assert.deepEqual(run.results[1]?.differences, [{ path: 'kind', expected: 'request', actual: 'error' }]);
  assert.match(run.results[1]?.message ?? '', /execution error.*boom/);
});

test('JUnit output is valid XML that carries the failures', async () => {
  const run = await runGoldenTests([join(dir, 'good'), join(dir, 'bad')]);
  const xml = formatReport('junit', { results: run.results, maxUtilization: 70, durationMs: run.durationMs, cwd: dir });
  assert.equal(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml);
  assert.equal(doc.testsuites.tests, '2');
  assert.equal(doc.testsuites.failures, '1');
  const suites = [doc.testsuites.testsuite].flat();
  const failing = suites.find((s: { failures: string }) => s.failures === '1');
  assert.match(failing.testcase.failure['#text'], /x-lang/);
});

test('an invalid case file is reported as a case that could not run, naming the field', async () => {
  const file = write('invalid/tests/typo.json', { function: '../../function.js', request: 'GET / HTTP/1.1\nHost: a', expect: { reponse: {} } });
  const run = await runGoldenTests([file]);
  assert.equal(run.results[0]?.status, 'error');
  assert.match(run.results[0]?.message ?? '', /expect\.reponse is not an expectation field/);
});

test('config + behavior runs the function associated with that behavior, with the store seed', async () => {
  write('site/index.html', 'hi');
  write('other.js', 'function handler(event) { event.request.headers["x-other"] = { value: "1" }; return event.request; }');
  write(
    'openfront.config.yaml',
    [
      'stores: [{ name: s, seed: kvs.json }]',
      'functions:',
      '  - { name: main, code: function.js, store: s }',
      '  - { name: other, code: other.js }',
      'distributions:',
      '  - id: D',
      '    hostnames: ["*"]',
      '    origins: [{ id: site, static: site }]',
      '    defaultBehavior: { origin: site, functionAssociations: { viewer-request: main } }',
      '    behaviors: [{ pathPattern: "/api/*", origin: site, functionAssociations: { viewer-request: other } }]',
    ].join('\n'),
  );
  const file = write('config/tests/cases.json', [
    { name: 'default behavior + seed', config: '../../openfront.config.yaml', request: 'GET /old\nHost: a', expect: { response: { statusCode: 301 } } },
    {
      name: 'named behavior',
      config: '../../openfront.config.yaml',
      behavior: '/api/*',
      request: 'GET /old\nHost: a',
      expect: { request: { headers: { 'x-other': { value: '1' } } } },
    },
    {
      name: 'matched by path',
      config: '../../openfront.config.yaml',
      request: 'GET /api/x\nHost: a',
      expect: { request: { headers: { 'x-other': { value: '1' } } } },
    },
    { name: 'unknown behavior', config: '../../openfront.config.yaml', behavior: '/nope', request: 'GET /\nHost: a', expect: { request: {} } },
  ]);
  const run = await runGoldenTests([file]);
  assert.deepEqual(
    run.results.map((r) => r.status),
    ['passed', 'passed', 'passed', 'error'],
    JSON.stringify(run.results.map((r) => r.message)),
  );
  assert.match(run.results[3]?.message ?? '', /"\/nope" is not a behavior/);
});

test('discovery takes tests/*.json and *.test.json, and skips node_modules', () => {
  write('disc/a/tests/one.json', {});
  write('disc/b/two.test.json', {});
  write('disc/b/kvs.json', {});
  write('disc/node_modules/x/tests/three.json', {});
  assert.deepEqual(
    discoverCaseFiles(['disc'], dir).map((f) => f.slice(dir.length + 1)),
    ['disc/a/tests/one.json', 'disc/b/two.test.json'],
  );
});

test('the CLI exits 1 on a failure, 0 when all pass, and writes JSON to --output', () => {
  const failing = spawnSync(process.execPath, [CLI, 'test', join(dir, 'bad')], { encoding: 'utf8' });
  assert.equal(failing.status, 1, failing.stderr);
  assert.match(failing.stdout, /- expected "fr"/);
  const output = join(dir, 'report.json');
  const passing = spawnSync(process.execPath, [CLI, 'test', join(dir, 'good'), '--reporter', 'json', '--output', output], { encoding: 'utf8' });
  assert.equal(passing.status, 0, passing.stderr + passing.stdout);
});
