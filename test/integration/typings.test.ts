/**
 * The published typings type-check real code: the TypeScript example function against `types/cloudfront.d.ts`, and
 * a user's unit test importing the runner from the package front door — and they reject a wrong use.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function typeCheck(dir: string, files: string[]): { status: number | null; output: string } {
  const config = {
    compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true, skipLibCheck: true, types: ['node'] },
    files,
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
  const result = spawnSync(process.execPath, [TSC, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8', cwd: ROOT });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe('published typings', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(ROOT, '.typings-test-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the TypeScript example and a runner test type-check in strict mode', () => {
    writeFileSync(
      join(dir, 'runner.test.ts'),
      `import { loadFunction, type CFEvent, type FunctionResult } from 'openfront';
const event: CFEvent = { version: '1.0', context: { eventType: 'viewer-request' }, viewer: { ip: '1.2.3.4' },
  request: { method: 'GET', uri: '/', querystring: {}, headers: {}, cookies: {} } };
export async function check(): Promise<number | undefined> {
  const fn = await loadFunction('function handler(e) { return e.request; }', { runtime: 'cloudfront-js-2.0' });
  const result: FunctionResult = await fn.run(event, { kvs: { k: 'v' } });
  fn.dispose();
  return result.kind === 'response' ? result.response.statusCode : undefined;
}`,
    );
    const { status, output } = typeCheck(dir, [join(ROOT, 'examples/cache-key/function.ts'), join(dir, 'runner.test.ts')]);
    assert.equal(status, 0, output);
  });

  it('a function misusing the event or the cloudfront module does not type-check', () => {
    writeFileSync(
      join(dir, 'wrong.ts'),
      `/// <reference path="${join(ROOT, 'types/cloudfront.d.ts')}" />
import cf from 'cloudfront';
import type { ViewerRequestEvent, CloudFrontRequest } from 'cloudfront';
export async function handler(event: ViewerRequestEvent): Promise<CloudFrontRequest> {
  const n: number = await cf.kvs().get('k');
  event.request.headers['x'] = 'not a value object';
  return event.request;
}`,
    );
    const { status, output } = typeCheck(dir, [join(dir, 'wrong.ts')]);
    assert.notEqual(status, 0);
    assert.match(output, /wrong\.ts\(5,9\)/);
    assert.match(output, /wrong\.ts\(6,3\)/);
  });
});
