import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction } from '../../src/devtools/build.js';
import { checkSource } from '../../src/runtime/checker.js';
import { loadFunction, normalizeTestEvent } from '../../src/runtime/index.js';
import { isOpenFrontError } from '../../src/errors.js';
import { errorText, requestOf } from '../helpers/results.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'openfront-build-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

write(
  'util.ts',
  `
export function handler(): string { return 'a helper that clashes with the entry\\'s name'; }
export function tag(uri: string, salt?: string): string { return uri + ':' + (salt ?? 'none'); }
export function unused(): number { return 42; }
`,
);
const entry = write(
  'entry.ts',
  `
import cf from 'cloudfront';
import { createHash } from 'crypto';
import { tag } from './util.js';
interface Req { uri: string; headers: Record<string, { value: string }> }
export async function handler(event: { request: Req }): Promise<Req> {
  const request = event.request;
  const lang = request.headers['accept-language']?.value ?? 'en';
  request.headers['x-tag'] = { value: tag(request.uri) + ':' + lang };
  request.headers['x-hash'] = { value: createHash('sha256').update(lang).digest('hex').slice(0, 8) };
  void cf;
  return request;
}
`,
);

const event = normalizeTestEvent({ request: { method: 'GET', uri: '/a', headers: { 'accept-language': { value: 'de' } } } });

async function runBuilt(code: string, runtime: 'cloudfront-js-1.0' | 'cloudfront-js-2.0' = 'cloudfront-js-2.0') {
  const fn = await loadFunction(code, { runtime });
  try {
    return await fn.run(event);
  } finally {
    fn.dispose();
  }
}

test('a TypeScript entry with a helper module builds into a script the checker accepts, and runs', async () => {
  const result = await buildFunction({ entry });
  assert.equal(result.ok, true, JSON.stringify(result.problems));
  assert.deepEqual(checkSource(result.code, 'cloudfront-js-2.0'), []);
  assert.match(result.code, /^import cf from "cloudfront";/);
  assert.match(result.code, /^async function handler\(event\)/m);
  assert.doesNotMatch(result.code, /\bexport\b|\?\?|\?\.|unused/);
  const run = await runBuilt(result.code);
  assert.equal(run.kind, 'request', errorText(run));
  assert.equal(requestOf(run).headers['x-tag']?.value, '/a:none:de');
  assert.match(requestOf(run).headers['x-hash']?.value ?? '', /^[0-9a-f]{8}$/);
  assert.equal(result.bytes, Buffer.byteLength(result.code));
});

test('minified output keeps the handler name and behaves the same', async () => {
  const plain = await buildFunction({ entry });
  const minified = await buildFunction({ entry, minify: true });
  assert.equal(minified.ok, true, JSON.stringify(minified.problems));
  assert.ok(minified.bytes < plain.bytes);
  assert.match(minified.code, /async function handler\(/);
  const run = await runBuilt(minified.code);
  assert.equal(requestOf(run).headers['x-tag']?.value, '/a:none:de');
});

test('runtime 1.0: require instead of import; let/const fail the build at their source position', async () => {
  const es5 = write(
    'es5.ts',
    `import qs from 'querystring';\nexport default function (event: any) { var r = event.request; r.headers['x-q'] = { value: qs.stringify({ a: '1' }) }; return r; }\n`,
  );
  const result = await buildFunction({ entry: es5, runtime: 'cloudfront-js-1.0' });
  assert.equal(result.ok, true, JSON.stringify(result.problems));
  assert.match(result.code, /var qs = require\("querystring"\);/);
  assert.match(result.code, /^function handler\(event\) \{/m);
  assert.equal(requestOf(await runBuilt(result.code, 'cloudfront-js-1.0')).headers['x-q']?.value, 'a=1');

  await assert.rejects(buildFunction({ entry, runtime: 'cloudfront-js-1.0' }), (err: unknown) => {
    assert.ok(isOpenFrontError(err) && err.code === 'BUILD_FAILED');
    assert.match(err.message, /entry\.ts:7:3 const is not supported in cloudfront-js-1\.0/);
    return true;
  });
});

test('an entry without a handler export is refused', async () => {
  const none = write('none.ts', 'export function main() { return 1; }\n');
  await assert.rejects(buildFunction({ entry: none }), /must export the handler/);
});

test('an oversize bundle is rejected by size, and the CLI exits 1 printing size / limit', async () => {
  const big = write(
    'big.ts',
    `const TABLE = ${JSON.stringify('x'.repeat(11_000))};\nexport function handler(event: any) { event.request.headers['x-n'] = { value: String(TABLE.length) }; return event.request; }\n`,
  );
  const result = await buildFunction({ entry: big });
  assert.equal(result.ok, false);
  assert.equal(result.problems[0]?.code, 'FUNCTION_SIZE_LIMIT_EXCEEDED');
  assert.ok(result.bytes > 10_240);

  const outfile = join(dir, 'big.js');
  const cli = spawnSync(process.execPath, [CLI, 'build', big, '--outfile', outfile], { encoding: 'utf8' });
  assert.equal(cli.status, 1);
  assert.match(cli.stdout, new RegExp(`big\\.js: ${result.bytes} / 10240 bytes .* rejected`));
  assert.match(cli.stderr, /more than the limit of 10240 bytes/);

  const ok = spawnSync(process.execPath, [CLI, 'build', entry, '--outfile', join(dir, 'entry.js'), '--minify'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /entry\.js: \d+ \/ 10240 bytes \(cloudfront-js-2\.0\) ok/);
  assert.deepEqual(checkSource(readFileSync(join(dir, 'entry.js'), 'utf8'), 'cloudfront-js-2.0'), []);
});
