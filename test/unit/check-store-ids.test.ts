/** `openfront check --config`: warnings for cf.kvs(<id>) that the associated store would not answer. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { findNamedStores } from '../../src/runtime/checker/kvs-ids.js';

const AWS_ID = '8aa76c93-3198-462c-aaf6-0123456789ab';
const OTHER_ID = '47970d59-6408-474d-b850-0123456789ab';

describe('findNamedStores', () => {
  it('finds literal ids, ARNs, template literals and ids held in a constant, with their positions', () => {
    const code = [
      "import cf from 'cloudfront';",
      `const kvsId = '${AWS_ID}';`,
      'const a = cf.kvs(kvsId);',
      `const b = cf.kvs('arn:aws:cloudfront::123456789012:key-value-store/${OTHER_ID}');`,
      'const c = cf.kvs(`KVS_ID`);',
      'const d = cf.kvs();',
      'const e = cf.kvs(pick());',
      'function handler(event) { return event.request; }',
    ].join('\n');
    assert.deepEqual(findNamedStores(code), [
      { text: AWS_ID, line: 3, column: 18 },
      { text: `arn:aws:cloudfront::123456789012:key-value-store/${OTHER_ID}`, line: 4, column: 18 },
      { text: 'KVS_ID', line: 5, column: 18 },
    ]);
  });
  it('reads nothing from code that does not parse, or an id variable assigned twice', () => {
    assert.deepEqual(findNamedStores('function handler( {'), []);
    assert.deepEqual(findNamedStores(`var id = '${AWS_ID}'; var id = 'x'; var h = cf.kvs(id);`), []);
  });
});

describe('openfront check --config', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'check', ...args], { encoding: 'utf8' });

  it('warns (exit 0) for an id that is not the store awsId, a store without awsId, a placeholder; stays quiet for the right id', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-check-ids-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const fn = (id: string) => `import cf from 'cloudfront';\nconst kvs = cf.kvs('${id}');\nasync function handler(event) { return event.request; }\n`;
    writeFileSync(join(dir, 'right.js'), fn(AWS_ID));
    writeFileSync(join(dir, 'wrong.js'), fn(OTHER_ID));
    writeFileSync(join(dir, 'unset.js'), fn(OTHER_ID));
    writeFileSync(join(dir, 'placeholder.js'), fn('__KVS_ID__'));
    writeFileSync(join(dir, 'site.html'), 'x');
    writeFileSync(
      join(dir, 'openfront.config.yaml'),
      `stores:\n  - { name: with-id, awsId: ${AWS_ID.toUpperCase()} }\n  - { name: without-id }\n` +
        'functions:\n  - { name: right, code: ./right.js, store: with-id }\n  - { name: wrong, code: ./wrong.js, store: with-id }\n' +
        '  - { name: unset, code: ./unset.js, store: without-id }\n  - { name: placeholder, code: ./placeholder.js, store: without-id }\n' +
        'distributions:\n  - { id: d, hostnames: ["*"], origins: [{ id: o, url: "http://127.0.0.1:9" }], defaultBehavior: { origin: o } }\n',
    );
    const config = join(dir, 'openfront.config.yaml');
    const right = run(join(dir, 'right.js'), '--config', config);
    assert.deepEqual([right.status, right.stderr], [0, '']);
    const wrong = run(join(dir, 'wrong.js'), '--config', config);
    assert.equal(wrong.status, 0);
    assert.match(
      wrong.stderr,
      new RegExp(`wrong\\.js:2:20 warning: .*names store id ${OTHER_ID}, but function wrong's store with-id has awsId ${AWS_ID}: the read fails`),
    );
    const unset = run(join(dir, 'unset.js'), '--config', config);
    assert.match(unset.stderr, new RegExp(`unset\\.js:2:20 warning: .*has no awsId.*add awsId: ${OTHER_ID} to store without-id`));
    const placeholder = run(join(dir, 'placeholder.js'), '--config', config);
    assert.match(placeholder.stderr, /placeholder\.js:2:20 warning: cf\.kvs\("__KVS_ID__"\) is not a store id/);
    const noConfig = run(join(dir, 'wrong.js'), '--config', join(dir, 'missing.yaml'));
    assert.equal(noConfig.status, 2);
  });
});
