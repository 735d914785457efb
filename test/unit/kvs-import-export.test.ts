import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isOpenFrontError, type ErrorCode } from '../../src/errors.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { parseImportJson, readImportFile, writeExportFile } from '../../src/kvs/import-export.js';
import { DEFAULT_KVS_LIMITS, UNLIMITED_KVS_LIMITS } from '../../src/kvs/limits.js';
import type { KeyValue } from '../../src/kvs/types.js';
import { openFrontRejectionOf } from '../helpers/errors.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'openfront-kvs-io-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function rejectsCode(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<Record<string, unknown>> {
  const err = await openFrontRejectionOf(promise);
  assert.equal(err.code, code, err.message);
  if (message) assert.match(err.message, message);
  return err.details;
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('parseImportJson', () => {
  it('reads the S3 import format', () => {
    const items = parseImportJson('\uFEFF{"data":[{"key":"key1","value":"value"},{"key":"k\\u00e9","value":"v\\"q"}]}');
    assert.deepEqual(items, [
      { key: 'key1', value: 'value' },
      { key: 'ké', value: 'v"q' },
    ]);
    assert.deepEqual(parseImportJson('{"data":[]}'), []);
  });

  it('reports shape, item and duplicate problems with key and index', () => {
    const cases: Array<[string, RegExp]> = [
      ['not json', /not valid JSON/],
      ['[]', /"data"/],
      ['{"items":[]}', /"data"/],
      ['{"data":[{"key":"a","value":1}]}', /"a".*import item 0/],
      ['{"data":[{"key":"a","value":"1"},"str"]}', /import item 1/],
    ];
    for (const [text, message] of cases)
      assert.throws(
        () => parseImportJson(text),
        (err) => isOpenFrontError(err) && err.code === 'KVS_VALIDATION' && message.test(err.message),
        text,
      );
    assert.throws(
      () => parseImportJson('{"data":[{"key":"a","value":"1"},{"key":"b","value":"2"},{"key":"a","value":"3"}]}'),
      (err) => isOpenFrontError(err) && err.code === 'KVS_VALIDATION' && err.details.key === 'a' && err.details.index === 2 && /"a"/.test(err.message),
    );
    assert.throws(
      () => parseImportJson(JSON.stringify({ data: [{ key: 'long', value: 'x'.repeat(1025) }] })),
      (err) => isOpenFrontError(err) && err.details.key === 'long' && err.details.index === 0,
    );
    assert.throws(
      () => parseImportJson(JSON.stringify({ data: [{ key: 'v', value: 'x' }] }), { ...DEFAULT_KVS_LIMITS, maxImportFileBytes: 10 }),
      (err) => isOpenFrontError(err) && err.code === 'KVS_QUOTA_EXCEEDED',
    );
  });
});

describe('readImportFile', () => {
  it('streams a large file in chunks with progress, matching JSON.parse', async () => {
    // Awkward JSON on purpose: escapes, multi-byte characters across chunk edges, extra members, odd whitespace.
    const items: KeyValue[] = Array.from({ length: 4000 }, (_, i) => ({ key: `key-${i}-é😀\\"{[`, value: `${'v'.repeat(i % 900)}\n"}],${i}` }));
    const text = `{ "version" : {"nested":[1,2,{"x":"]"}]} ,\r\n "data" :\t[\n${items.map((item) => JSON.stringify(item)).join(' ,\n')}\n] , "trailer": null }\n`;
    const path = file('large.json', text);
    const progress: Array<[number, number]> = [];
    const read = await readImportFile(path, { limits: UNLIMITED_KVS_LIMITS, onProgress: (bytesRead, totalBytes) => progress.push([bytesRead, totalBytes]) });
    assert.deepEqual(read, items);
    const total = Buffer.byteLength(text);
    assert.ok(total > 1024 * 1024);
    assert.ok(progress.length > 10, 'progress is reported per chunk');
    assert.ok(progress.every(([, t]) => t === total));
    assert.ok(progress.every(([b], i) => i === 0 || b > progress[i - 1][0]));
    assert.equal(progress[progress.length - 1][0], total);
  });

  it('refuses a file over the import size limit before reading it', async () => {
    const path = file('big.json', JSON.stringify({ data: [{ key: 'k', value: 'v'.repeat(100) }] }));
    await rejectsCode(
      readImportFile(path, { limits: { ...DEFAULT_KVS_LIMITS, maxImportFileBytes: 50 } }),
      'KVS_QUOTA_EXCEEDED',
      /Datasource size exceeds the allowed limit/,
    );
  });

  it('reports a duplicate deep in the file with its key and index', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ key: `k${i}`, value: 'x'.repeat(100) }));
    items.push({ key: 'k1234', value: 'again' });
    const path = file('dup.json', JSON.stringify({ data: items }));
    const details = await rejectsCode(
      readImportFile(path, { limits: UNLIMITED_KVS_LIMITS }),
      'KVS_VALIDATION',
      /"k1234".*import item 3000.*item 1234|"k1234".*item 1234.*import item 3000/,
    );
    assert.deepEqual([details.key, details.index], ['k1234', 3000]);
  });

  it('reports malformed files precisely', async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"data":[{"key":"a","value":"1"},]}', /valid/],
      ['{"data":[{"key":"a","value":"1"}', /ends before/],
      ['{"data":[{"key":"a","value":"1"}]} extra', /after the JSON document/],
      ['{"data":{"key":"a"}}', /"data"/],
      ['{"other":[]}', /"data"/],
      ['{}', /"data"/],
      ['[{"key":"a","value":"1"}]', /expected '\{'/],
      ['{"data":[{"key":"a","value":"1"} {"key":"b","value":"2"}]}', /expected '\]'/],
      ['{"data":[{"key":"a" "value":"1"}]}', /import item 0 is not valid JSON/],
      ['{"data":[{"key":"","value":"1"}]}', /empty.*import item 0/],
      ['{"data":[{"key":"a","value":"1"}],"data":[]}', /twice/],
    ];
    for (const [index, [text, message]] of cases.entries()) {
      await rejectsCode(readImportFile(file(`bad-${index}.json`, text)), 'KVS_VALIDATION', message);
    }
    const invalidUtf8 = join(dir, 'latin1.json');
    writeFileSync(invalidUtf8, Buffer.concat([Buffer.from('{"data":[{"key":"'), Buffer.from([0xe9]), Buffer.from('","value":"1"}]}')]));
    await rejectsCode(readImportFile(invalidUtf8), 'KVS_VALIDATION', /UTF-8/);
  });
});

describe('writeExportFile', () => {
  it('round-trips a store through an export file and a new store', async () => {
    const db = openSqliteState(':memory:');
    const items = Array.from({ length: 120 }, (_, i) => ({ key: `k${String(i).padStart(3, '0')}`, value: `line\n"${i}"😀` }));
    const source = db.kvs.createStore({ name: 'source', importItems: items }, { accessKeyId: 'local' });
    const path = join(dir, 'export.json');
    await writeExportFile(path, db.kvs.exportData(source.id));
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { data: items });
    const copy = db.kvs.createStore({ name: 'copy', importItems: await readImportFile(path) }, { accessKeyId: 'local' });
    assert.deepEqual(db.kvs.exportData(copy.id), items);
    assert.equal(copy.totalSizeInBytes, source.totalSizeInBytes);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes('.tmp')),
      [],
      'no temporary file is left behind',
    );
    await writeExportFile(join(dir, 'empty.json'), []);
    assert.deepEqual(await readImportFile(join(dir, 'empty.json')), []);
    db.database.close();
  });
});
