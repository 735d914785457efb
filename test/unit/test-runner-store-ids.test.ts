/** `openfront test` with code that names its store by id: local data answers any id, a store's awsId must match. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runGoldenTests } from '../../src/devtools/test-runner/index.js';

const ID = '8aa76c93-3198-462c-aaf6-0123456789ab';
const OTHER = '47970d59-6408-474d-b850-0123456789ab';

test("cf.kvs('<id>') in golden tests: file data and a store without awsId answer it; a store with another awsId fails the read", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-runner-ids-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (relative: string, content: unknown) => {
    const path = join(dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  write(
    'fn.js',
    `import cf from 'cloudfront';
const kvs = cf.kvs('${ID}');
async function handler(event) {
  return { statusCode: 302, statusDescription: 'Found', headers: { location: { value: await kvs.get(event.request.uri) } } };
}`,
  );
  write('kvs.json', { data: [{ key: '/old', value: '/new' }] });
  write('site/index.html', 'hi');
  const config = (name: string, awsId: string | undefined) =>
    write(
      `${name}.yaml`,
      [
        `stores: [{ name: s, seed: kvs.json${awsId ? `, awsId: ${awsId}` : ''} }]`,
        'functions: [{ name: f, code: fn.js, store: s }]',
        'distributions:',
        '  - { id: D, hostnames: ["*"], origins: [{ id: site, static: site }], defaultBehavior: { origin: site, functionAssociations: { viewer-request: f } } }',
      ].join('\n'),
    );
  config('no-id', undefined);
  config('same-id', ID.toUpperCase());
  config('other-id', OTHER);
  const redirected = { response: { statusCode: 302, headers: { location: { value: '/new' } } } };
  const file = write('tests/ids.json', [
    { name: 'file data', function: '../fn.js', kvs: '../kvs.json', request: 'GET /old\nHost: a', expect: redirected },
    { name: 'store without awsId', config: '../no-id.yaml', request: 'GET /old\nHost: a', expect: redirected },
    { name: 'store with that awsId', config: '../same-id.yaml', request: 'GET /old\nHost: a', expect: redirected },
    {
      name: 'store with another awsId',
      config: '../other-id.yaml',
      request: 'GET /old\nHost: a',
      expect: { error: 'execution', errorMessage: `KeyValueStore "${ID}" is not associated` },
    },
  ]);
  const run = await runGoldenTests([file]);
  assert.deepEqual(
    run.results.map((r) => r.status),
    ['passed', 'passed', 'passed', 'passed'],
    JSON.stringify(run.results.map((r) => r.message)),
  );
});
