/** `openfront test-function` as a user runs it: a real process, real files, CloudFront's TestResult shape. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function run(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'test-function', ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('openfront test-function', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-test-function-'));
    const write = (name: string, text: string) => writeFileSync(join(dir, name), text);
    write(
      'redirect.js',
      `import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  console.log('accept values: ' + (event.request.headers.accept.multiValue || []).length);
  if (await kvs.exists(event.request.uri)) {
    return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get(event.request.uri) } } };
  }
  return event.request;
}`,
    );
    write('throws.js', `function handler(event) { throw new TypeError('boom'); }`);
    write('v1-const.js', `function handler(event) {\n  const x = 1;\n  return event.request;\n}`);
    // The console's minimal form: no querystring, no cookies, context with eventType only, aws-samples' "multivalue".
    write(
      'event.json',
      `\n{"version":"1.0","context":{"eventType":"viewer-request"},"viewer":{"ip":"1.2.3.4"},"request":{"method":"GET","uri":"/old","headers":{"accept":{"value":"a","multivalue":[{"value":"a"},{"value":"b"}]}}}}`,
    );
    write('kvs.json', '{"data":[{"key":"/old","value":"/new"}]}');
    // The way most real functions name their store: by the id (or ARN) it has in AWS.
    write(
      'by-id.js',
      `import cf from 'cloudfront';
const kvsId = '8aa76c93-3198-462c-aaf6-0123456789ab';
const kvsHandle = cf.kvs(kvsId);
async function handler(event) {
  try {
    return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvsHandle.get(event.request.uri) } } };
  } catch (e) {
    console.log('kvs failed: ' + e.message);
    return event.request;
  }
}`,
    );
    write(
      'by-arn.js',
      `import cf from 'cloudfront';
const kvs = cf.kvs('arn:aws:cloudfront::123456789012:key-value-store/8aa76c93-3198-462c-aaf6-0123456789ab');
async function handler(event) {
  return { statusCode: 301, statusDescription: 'Moved', headers: { location: { value: await kvs.get(event.request.uri) } } };
}`,
    );
    write('bad.json', '{"data": [');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints one TestResult object with CloudFront field names and exits 0', () => {
    const { status, stdout } = run(['redirect.js', '--event', 'event.json', '--kvs', 'kvs.json'], dir);
    assert.equal(status, 0);
    const result = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(result).sort(), ['ComputeUtilization', 'FunctionErrorMessage', 'FunctionExecutionLogs', 'FunctionOutput']);
    assert.equal(result.FunctionErrorMessage, '');
    assert.deepEqual(result.FunctionExecutionLogs, ['accept values: 2']);
    const output = JSON.parse(result.FunctionOutput as string) as { response: { statusCode: number; headers: { location: { value: string } } } };
    assert.equal(output.response.statusCode, 301);
    assert.equal(output.response.headers.location.value, '/new');
    const utilization = Number(result.ComputeUtilization);
    assert.ok(Number.isInteger(utilization) && utilization >= 0 && utilization <= 100);
  });

  it('reads the --kvs data for cf.kvs(<id>) and cf.kvs(<arn>), and says on stderr which id the code asked for', () => {
    for (const file of ['by-id.js', 'by-arn.js']) {
      const { status, stdout, stderr } = run([file, '--event', 'event.json', '--kvs', 'kvs.json'], dir);
      assert.equal(status, 0, stderr);
      const result = JSON.parse(stdout) as { FunctionOutput: string; FunctionErrorMessage: string; FunctionExecutionLogs: string[] };
      assert.deepEqual([result.FunctionErrorMessage, result.FunctionExecutionLogs], ['', []], file);
      assert.equal(
        (JSON.parse(result.FunctionOutput) as { response: { headers: { location: { value: string } } } }).response.headers.location.value,
        '/new',
        file,
      );
      assert.match(stderr, /cf\.kvs\(".*8aa76c93-3198-462c-aaf6-0123456789ab"\) read kvs\.json/, file);
    }
  });

  it('forwards the request when the store has no entry', () => {
    writeFileSync(join(dir, 'empty.json'), '{"data":[]}');
    const result = JSON.parse(run(['redirect.js', '--event', 'event.json', '--kvs', 'empty.json'], dir).stdout) as { FunctionOutput: string };
    assert.equal((JSON.parse(result.FunctionOutput) as { request: { uri: string } }).request.uri, '/old');
  });

  it('exits 0 when the function ran and failed, with the error in FunctionErrorMessage', () => {
    const { status, stdout } = run(['throws.js', '--event', 'event.json'], dir);
    assert.equal(status, 0);
    const result = JSON.parse(stdout) as { FunctionErrorMessage: string; FunctionOutput: string };
    assert.match(result.FunctionErrorMessage, /TypeError: boom/);
    assert.equal(result.FunctionOutput, '');
  });

  it('refuses code the runtime does not support, with line:col, exit 1', () => {
    const { status, stderr } = run(['v1-const.js', '--event', 'event.json', '--runtime', 'cloudfront-js-1.0'], dir);
    assert.equal(status, 1);
    assert.match(stderr, /v1-const\.js:2:3 .*const/);
  });

  it('exits 2 with a message naming the problem for unusable input', () => {
    const missing = run(['nope.js', '--event', 'event.json'], dir);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope\.js.*no such file/);
    const badEvent = run(['redirect.js', '--event', 'bad.json'], dir);
    assert.equal(badEvent.status, 2);
    assert.match(badEvent.stderr, /bad\.json.*not valid JSON/);
    const badKvs = run(['redirect.js', '--event', 'event.json', '--kvs', 'bad.json'], dir);
    assert.equal(badKvs.status, 2);
    const badRuntime = run(['redirect.js', '--event', 'event.json', '--runtime', 'cloudfront-js-3.0'], dir);
    assert.equal(badRuntime.status, 2);
    assert.match(badRuntime.stderr, /Unknown runtime/);
    const badFlag = run(['redirect.js', '--event', 'event.json', '--bogus'], dir);
    assert.notEqual(badFlag.status, 0);
    assert.match(badFlag.stderr, /unknown option '--bogus'/);
    assert.equal(missing.stdout + badEvent.stdout + badRuntime.stdout, '', 'nothing on stdout when the function did not run');
  });
});
