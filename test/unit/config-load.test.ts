import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { ConfigProblem } from '../../src/config/types.js';
import { isOpenFrontError } from '../../src/errors.js';
import { openFrontErrorFrom } from '../helpers/errors.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'openfront-config-'));
  mkdirSync(join(dir, 'functions'));
  mkdirSync(join(dir, 'public'));
  writeFileSync(join(dir, 'functions', 'router.js'), 'function handler(event) { return event.request; }\n');
  writeFileSync(join(dir, 'seed.json'), '{"data":[{"key":"a","value":"1"}]}');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): ConfigProblem[] {
  const err = openFrontErrorFrom(fn);
  assert.equal(err.code, 'CONFIG_INVALID');
  return err.details.problems as ConfigProblem[];
}

const minimal = () => ({
  distributions: [{ id: 'main', hostnames: ['localhost'], origins: [{ id: 'app', url: 'http://127.0.0.1:3000' }], defaultBehavior: { origin: 'app' } }],
});

describe('parseConfig', () => {
  it('fills defaults and resolves an origin url into its parts', () => {
    const config = parseConfig(
      {
        server: { nodeId: 'edge-1' },
        distributions: [
          {
            id: 'main',
            hostnames: ['LocalHost'],
            origins: [
              { id: 'app', url: 'https://api.example.com:8443/v2' },
              { id: 'files', static: './public' },
            ],
            defaultBehavior: { origin: 'app' },
          },
        ],
      },
      dir,
    );
    assert.equal(config.server.port, 8080);
    assert.equal(config.server.nodeId, 'edge-1');
    const d = config.distributions[0];
    assert.deepEqual(d.hostnames, ['localhost']);
    assert.equal(d.domainName, 'localhost');
    assert.deepEqual(d.origins[0], {
      kind: 'custom',
      id: 'app',
      protocol: 'https',
      domainName: 'api.example.com',
      port: 8443,
      originPath: '/v2',
      connectionAttempts: 3,
      connectTimeoutMs: 10_000,
      readTimeoutMs: 30_000,
      keepaliveTimeoutMs: 5_000,
      maxConnections: 128,
      customHeaders: {},
    });
    assert.deepEqual(d.origins[1], { kind: 'static', id: 'files', root: join(dir, 'public') });
    assert.equal(d.defaultBehavior.pathPattern, '*');
    assert.equal(d.defaultBehavior.cachePolicy.name, 'CachingOptimized');
  });

  it('resolves functions, stores and named cache policies', () => {
    const config = parseConfig(
      {
        ...minimal(),
        stores: [{ name: 'redirects', seed: 'seed.json' }],
        functions: [{ name: 'router', code: 'functions/router.js', store: 'redirects' }],
        cachePolicies: [{ name: 'ByLang', defaultTtl: 60, queryStrings: { behavior: 'whitelist', names: ['lang'] } }],
        distributions: [
          {
            ...minimal().distributions[0],
            behaviors: [{ pathPattern: '/docs/*', origin: 'app', cachePolicy: 'ByLang', functionAssociations: { 'viewer-request': 'router' } }],
          },
        ],
      },
      dir,
    );
    assert.deepEqual(config.functions, [{ name: 'router', codePath: join(dir, 'functions', 'router.js'), runtime: 'cloudfront-js-2.0', store: 'redirects' }]);
    assert.deepEqual(config.stores, [{ name: 'redirects', seedPath: join(dir, 'seed.json') }]);
    const b = config.distributions[0].behaviors[0];
    assert.equal(b.cachePolicy.name, 'ByLang');
    assert.equal(b.cachePolicy.minTtl, 0);
    assert.deepEqual(b.cachePolicy.queryStrings, { behavior: 'whitelist', names: ['lang'] });
    assert.deepEqual(b.functions, { viewerRequest: 'router', viewerResponse: undefined });
  });

  it('lists every problem with its path in one error', () => {
    const problems = problemsOf(() =>
      parseConfig(
        {
          stores: [{ name: 's', seed: 'missing.json' }],
          functions: [
            { name: 'f', code: 'functions/router.js', store: 'nope' },
            { name: 'f', code: 'functions/gone.js' },
          ],
          cachePolicies: [{ name: 'P', minTtl: 100, defaultTtl: 10, queryStrings: { behavior: 'whitelist' } }],
          distributions: [
            {
              id: 'main',
              hostnames: ['localhost'],
              origins: [{ id: 'app', url: 'http://127.0.0.1:3000', bogus: true }, { id: 'b', domainName: 'b.example.com', port: 70000 }, { id: 'c' }],
              originGroups: [{ id: 'g', primary: 'c', secondary: 'missing' }],
              defaultBehavior: { origin: 'nowhere', cachePolicy: 'Nope', functionAssociations: { 'viewer-request': 'ghost' } },
              behaviors: [
                { pathPattern: '/a/*', origin: 'app' },
                { pathPattern: '/a/*', origin: 'app' },
              ],
            },
            { id: 'main', hostnames: ['localhost'], origins: [{ id: 'x', url: 'http://x' }], defaultBehavior: { origin: 'x' } },
          ],
        },
        dir,
      ),
    );
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    const expected = [
      'stores[0].seed',
      'functions[0].store',
      'functions[1].name',
      'functions[1].code',
      'cachePolicies[0].defaultTtl',
      'cachePolicies[0].queryStrings.names',
      'distributions[0].origins[0]',
      'distributions[0].origins[1].port',
      'distributions[0].origins[2]',
      'distributions[0].originGroups[0].primary',
      'distributions[0].originGroups[0].secondary',
      'distributions[0].defaultBehavior.origin',
      'distributions[0].defaultBehavior.cachePolicy',
      'distributions[0].defaultBehavior.functionAssociations.viewer-request',
      'distributions[0].behaviors[1].pathPattern',
      'distributions[1].id',
      'distributions[1].hostnames[0]',
    ];
    for (const path of expected)
      assert.ok(byPath.has(path), `expected a problem at ${path}; got:\n${problems.map((p) => `${p.path}: ${p.message}`).join('\n')}`);
    assert.match(byPath.get('distributions[0].origins[0]')!, /bogus/);
    assert.match(byPath.get('functions[0].store')!, /unknown store "nope"/);
  });

  it('reports schema errors (types, missing fields) with paths before cross-checks', () => {
    const problems = problemsOf(() => parseConfig({ server: { port: 'x' }, distributions: [{ id: 'd', hostnames: [] }] }, dir));
    const paths = problems.map((p) => p.path);
    assert.ok(paths.includes('server.port'));
    assert.ok(paths.includes('distributions[0].hostnames'));
    assert.ok(paths.includes('distributions[0].origins'));
    assert.ok(paths.includes('distributions[0].defaultBehavior'));
  });

  it('rejects a config without distributions', () => {
    assert.deepEqual(
      problemsOf(() => parseConfig({}, dir)).map((p) => p.path),
      ['distributions'],
    );
  });
});

describe('loadConfig', () => {
  it('reads YAML and resolves paths against the file', async () => {
    const file = join(dir, 'openfront.config.yaml');
    writeFileSync(
      file,
      [
        'functions:',
        '  - name: router',
        '    code: functions/router.js',
        '    runtime: cloudfront-js-1.0',
        'distributions:',
        '  - id: main',
        '    hostnames: ["*"]',
        '    origins:',
        '      - { id: app, url: "http://127.0.0.1:3000" }',
        '    defaultBehavior:',
        '      origin: app',
        '      functionAssociations: { viewer-request: router }',
      ].join('\n'),
    );
    const config = await loadConfig(file);
    assert.equal(config.baseDir, dir);
    assert.equal(config.functions[0].runtime, 'cloudfront-js-1.0');
    assert.equal(config.distributions[0].domainName, 'main.openfront.local');
  });

  it('reads JSON', async () => {
    const file = join(dir, 'openfront.config.json');
    writeFileSync(file, JSON.stringify(minimal()));
    assert.equal((await loadConfig(file)).distributions[0].id, 'main');
  });

  it('names the line of a YAML syntax error', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'distributions:\n  - id: [unclosed\n');
    await assert.rejects(
      loadConfig(file),
      (err: unknown) => isOpenFrontError(err) && err.code === 'CONFIG_INVALID' && /not valid YAML: .*line \d+, column \d+/.test(err.message),
    );
  });

  it('reports a missing file', async () => {
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (err: unknown) => isOpenFrontError(err) && /cannot read/.test(err.message));
  });
});
