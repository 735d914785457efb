import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { unifiedDiff } from '../../src/control/functions/diff.js';
import { FunctionRegistry } from '../../src/state/sqlite/function-registry.js';
import type { ErrorCode } from '../../src/errors.js';
import { openSqliteParts, type SqliteParts } from '../../src/state/sqlite/index.js';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { openFrontErrorFrom } from '../helpers/errors.js';

const alice = { accessKeyId: 'AKIAALICE' };
const V2 = 'cloudfront-js-2.0';
const code = (tag: string) => `function handler(event) {\n  event.request.headers['x-tag'] = { value: '${tag}' };\n  return event.request;\n}\n`;

function codeOf(fn: () => unknown): { code: ErrorCode; status: number; message: string } {
  const err = openFrontErrorFrom(fn);
  return { code: err.code, status: err.status, message: err.message };
}

describe('FunctionRegistry', () => {
  let db: SqliteParts;
  let registry: FunctionRegistry;
  let inUse: Set<string>;
  let moves: Array<[string, number | undefined]>;

  beforeEach(() => {
    db = openSqliteParts(':memory:', { limits: { ...DEFAULT_KVS_LIMITS, maxFunctionsPerStore: 2 } });
    inUse = new Set();
    registry = new FunctionRegistry(db, { maxFunctions: 3, isFunctionInUse: (name) => inUse.has(name) });
    moves = [];
    registry.onLiveChange((name, version) => moves.push([name, version]));
  });
  afterEach(() => db.database.close());

  it('creates version 1 in DEVELOPMENT only', () => {
    const view = registry.create({ name: 'fn-a', config: { runtime: V2, comment: 'first' }, code: code('a1') }, alice);
    assert.equal(view.stage, 'DEVELOPMENT');
    assert.equal(view.version, 1);
    assert.equal(view.status, 'UNPUBLISHED');
    assert.match(view.etag, /^E[0-9A-Z]{13}$/);
    assert.equal(view.arn, `arn:aws:cloudfront::${db.database.accountId}:function/fn-a`);
    assert.deepEqual(view.config, { runtime: V2, comment: 'first' });
    assert.equal(codeOf(() => registry.describe('fn-a', 'LIVE')).code, 'CF_NO_SUCH_FUNCTION');
    assert.equal(registry.live('fn-a'), undefined);
    assert.equal(registry.findStage('fn-a', 'LIVE'), undefined);
    assert.equal(codeOf(() => registry.describe('nope')).code, 'CF_NO_SUCH_FUNCTION');
  });

  it('keeps every version immutable and moves the stage ETags only when their pointer moves', () => {
    const created = registry.create({ name: 'fn-a', config: { runtime: V2 }, code: code('a1') }, alice);
    assert.equal(codeOf(() => registry.update('fn-a', { config: { runtime: V2 }, code: code('a2') }, undefined, alice)).code, 'CF_INVALID_IF_MATCH');
    assert.equal(codeOf(() => registry.update('fn-a', { config: { runtime: V2 }, code: code('a2') }, 'ESTALE', alice)).code, 'CF_PRECONDITION_FAILED');
    assert.equal(codeOf(() => registry.update('ghost', { config: { runtime: V2 }, code: code('a2') }, created.etag, alice)).code, 'CF_NO_SUCH_FUNCTION');
    const updated = registry.update('fn-a', { config: { runtime: V2, comment: 'second' }, code: code('a2') }, created.etag, alice);
    assert.equal(updated.version, 2);
    assert.notEqual(updated.etag, created.etag);
    assert.equal(codeOf(() => registry.update('fn-a', { config: { runtime: V2 }, code: code('a3') }, created.etag, alice)).code, 'CF_PRECONDITION_FAILED');

    assert.equal(registry.version('fn-a', 1).code, code('a1'));
    assert.equal(registry.version('fn-a', 2).code, code('a2'));
    assert.equal(codeOf(() => registry.version('fn-a', 3)).code, 'FUNCTION_VERSION_NOT_FOUND');
    const versions = registry.versions('fn-a');
    assert.deepEqual(
      versions.map((v) => [v.version, v.config.comment, v.createdBy, v.stages]),
      [
        [1, '', 'AKIAALICE', []],
        [2, 'second', 'AKIAALICE', ['DEVELOPMENT']],
      ],
    );

    const published = registry.publish('fn-a', updated.etag, alice);
    assert.deepEqual([published.stage, published.version, published.status], ['LIVE', 2, 'UNASSOCIATED']);
    assert.deepEqual(moves, [['fn-a', 2]]);
    // Publishing does not move DEVELOPMENT, so its ETag still works.
    assert.equal(registry.describe('fn-a').etag, updated.etag);
    assert.equal(registry.describe('fn-a').status, 'UNASSOCIATED');
    assert.deepEqual(registry.live('fn-a'), { version: 2, code: code('a2'), runtime: V2 });

    assert.equal(codeOf(() => registry.rollback('fn-a', 1, updated.etag, alice)).code, 'CF_PRECONDITION_FAILED');
    assert.equal(codeOf(() => registry.rollback('fn-a', 9, published.etag, alice)).code, 'FUNCTION_VERSION_NOT_FOUND');
    const rolledBack = registry.rollback('fn-a', 1, published.etag, alice);
    assert.deepEqual([rolledBack.version, rolledBack.status], [1, 'UNPUBLISHED']);
    assert.notEqual(rolledBack.etag, published.etag);
    assert.deepEqual(moves, [
      ['fn-a', 2],
      ['fn-a', 1],
    ]);
    assert.equal(registry.live('fn-a')?.code, code('a1'));

    // Back to 2 and back to 1 again: the LIVE ETag never repeats, so an old ETag cannot sneak through.
    const forward = registry.rollback('fn-a', 2, rolledBack.etag, alice);
    const again = registry.rollback('fn-a', 1, forward.etag, alice);
    assert.notEqual(again.etag, rolledBack.etag);
    assert.equal(codeOf(() => registry.rollback('fn-a', 2, rolledBack.etag, alice)).code, 'CF_PRECONDITION_FAILED');
  });

  it('audits every write in the same transaction', () => {
    const v1 = registry.create({ name: 'fn-a', config: { runtime: V2 }, code: code('a1') }, alice);
    const v2 = registry.update('fn-a', { config: { runtime: V2 }, code: code('a2') }, v1.etag, alice);
    const live = registry.publish('fn-a', v2.etag, alice);
    registry.rollback('fn-a', 1, live.etag, alice);
    assert.throws(() => registry.update('fn-a', { config: { runtime: V2 }, code: code('a3') }, 'ESTALE', alice));
    registry.delete('fn-a', v2.etag, alice);
    const records = db.audit.list({ accessKeyId: 'AKIAALICE' }).reverse();
    assert.deepEqual(
      records.map((r) => [r.operation, r.functionName]),
      [
        ['CreateFunction', 'fn-a'],
        ['UpdateFunction', 'fn-a'],
        ['PublishFunction', 'fn-a'],
        ['RollbackFunction', 'fn-a'],
        ['DeleteFunction', 'fn-a'],
      ],
    );
    assert.equal(records[1].etagFrom, v1.etag);
    assert.equal(records[1].etagTo, v2.etag);
    assert.deepEqual(records[3].detail, { version: 1, previousVersion: 2, sha256: v1.sha256 });
    assert.match(v1.sha256, /^[0-9a-f]{64}$/);
  });

  it('refuses code the checker rejects, with name:line:col, and code over 10 KB with FunctionSizeLimitExceeded', () => {
    const bad = codeOf(() =>
      registry.create(
        { name: 'fn-bad', config: { runtime: 'cloudfront-js-1.0' }, code: 'function handler(e) {\n  const x = 1;\n  return e.request;\n}' },
        alice,
      ),
    );
    assert.equal(bad.code, 'FUNCTION_SYNTAX_UNSUPPORTED');
    assert.equal(bad.status, 400);
    assert.match(bad.message, /^fn-bad:2:3 /);
    assert.equal(
      codeOf(() => registry.create({ name: 'fn-bad', config: { runtime: V2 }, code: 'function handler(e) {\n  return e.request +;\n}' }, alice)).code,
      'FUNCTION_COMPILE_ERROR',
    );
    assert.equal(codeOf(() => registry.create({ name: 'fn-bad', config: { runtime: V2 }, code: 'function other() {}' }, alice)).code, 'FUNCTION_NO_HANDLER');
    const big = codeOf(() => registry.create({ name: 'fn-big', config: { runtime: V2 }, code: `${code('x')}//${'x'.repeat(10 * 1024)}` }, alice));
    assert.deepEqual([big.code, big.status], ['FUNCTION_SIZE_LIMIT_EXCEEDED', 413]);
    assert.equal(codeOf(() => registry.create({ name: 'fn-rt', config: { runtime: 'nodejs20.x' }, code: code('x') }, alice)).code, 'FUNCTION_RUNTIME_UNKNOWN');
    assert.deepEqual(registry.list().items, []);
  });

  it('enforces names, uniqueness and the per-account quota', () => {
    for (const name of ['', 'has space', 'x'.repeat(65), 'dots.not.ok']) {
      assert.equal(codeOf(() => registry.create({ name, config: { runtime: V2 }, code: code('x') }, alice)).code, 'CF_INVALID_ARGUMENT', name);
    }
    registry.create({ name: 'A_b-1', config: { runtime: V2 }, code: code('x') }, alice);
    assert.equal(codeOf(() => registry.create({ name: 'A_b-1', config: { runtime: V2 }, code: code('x') }, alice)).code, 'CF_FUNCTION_ALREADY_EXISTS');
    registry.create({ name: 'f2', config: { runtime: V2 }, code: code('x') }, alice);
    registry.create({ name: 'f3', config: { runtime: V2 }, code: code('x') }, alice);
    assert.equal(codeOf(() => registry.create({ name: 'f4', config: { runtime: V2 }, code: code('x') }, alice)).code, 'CF_TOO_MANY_FUNCTIONS');
  });

  it('associates at most one existing store, blocks deleting it, and caps functions per store', () => {
    const store = db.stores.createStore({ name: 'flags' }, alice);
    const other = db.stores.createStore({ name: 'other' }, alice);
    const withStore = (arns: string[], runtime = V2) => ({ runtime, keyValueStoreArns: arns });
    assert.equal(codeOf(() => registry.create({ name: 'k0', config: withStore([store.arn, other.arn]), code: code('x') }, alice)).code, 'CF_INVALID_ARGUMENT');
    assert.equal(
      codeOf(() => registry.create({ name: 'k0', config: withStore([store.arn.replace(/.{4}$/, '0000')]), code: code('x') }, alice)).code,
      'CF_INVALID_ARGUMENT',
    );
    assert.equal(
      codeOf(() =>
        registry.create({ name: 'k0', config: withStore([store.arn], 'cloudfront-js-1.0'), code: 'function handler(e) { return e.request; }' }, alice),
      ).code,
      'CF_INVALID_ARGUMENT',
    );

    const k1 = registry.create({ name: 'k1', config: withStore([store.arn]), code: code('x') }, alice);
    assert.equal(k1.config.keyValueStoreArn, store.arn);
    registry.create({ name: 'k2', config: withStore([store.arn]), code: code('x') }, alice);
    assert.equal(codeOf(() => registry.create({ name: 'k3', config: withStore([store.arn]), code: code('x') }, alice)).code, 'CF_ENTITY_LIMIT_EXCEEDED');
    // k1 updating its own association does not count against it.
    const k1b = registry.update('k1', { config: withStore([store.arn]), code: code('y') }, k1.etag, alice);
    assert.equal(registry.live('k1'), undefined);
    const live = registry.publish('k1', k1b.etag, alice);
    assert.equal(registry.live('k1')?.kvsStoreId, store.id);

    assert.equal(codeOf(() => db.stores.deleteStore('flags', store.metadataEtag, alice)).code, 'CF_IN_USE');
    // Dropping the association from DEVELOPMENT is not enough while LIVE still reads the store.
    const k1c = registry.update('k1', { config: { runtime: V2 }, code: code('z') }, k1b.etag, alice);
    const k2 = registry.describe('k2');
    registry.delete('k2', k2.etag, alice);
    assert.equal(codeOf(() => db.stores.deleteStore('flags', store.metadataEtag, alice)).code, 'CF_IN_USE');
    registry.publish('k1', k1c.etag, alice);
    assert.equal(registry.live('k1')?.kvsStoreId, undefined);
    db.stores.deleteStore('flags', store.metadataEtag, alice);
    // Version 1 associated the deleted store: LIVE cannot go back to it.
    assert.equal(codeOf(() => registry.rollback('k1', 1, registry.describe('k1', 'LIVE').etag, alice)).code, 'CF_INVALID_ARGUMENT');
    assert.ok(live.etag);
  });

  it('deletes only functions the edge does not use, and tells LIVE followers', () => {
    const v1 = registry.create({ name: 'fn-a', config: { runtime: V2 }, code: code('a1') }, alice);
    registry.publish('fn-a', v1.etag, alice);
    inUse.add('fn-a');
    assert.equal(registry.describe('fn-a', 'LIVE').status, 'DEPLOYED');
    assert.equal(codeOf(() => registry.delete('fn-a', v1.etag, alice)).code, 'CF_FUNCTION_IN_USE');
    inUse.clear();
    assert.equal(codeOf(() => registry.delete('fn-a', undefined, alice)).code, 'CF_INVALID_IF_MATCH');
    registry.delete('fn-a', v1.etag, alice);
    assert.deepEqual(moves, [
      ['fn-a', 1],
      ['fn-a', undefined],
    ]);
    assert.equal(codeOf(() => registry.describe('fn-a')).code, 'CF_NO_SUCH_FUNCTION');
    // Re-created under the same name: a fresh function whose ETags are new.
    const again = registry.create({ name: 'fn-a', config: { runtime: V2 }, code: code('a1') }, alice);
    assert.notEqual(again.etag, v1.etag);
    assert.equal(again.version, 1);
  });

  it('lists by name with Marker/MaxItems, and only published functions for Stage=LIVE', () => {
    for (const name of ['c', 'a', 'b']) registry.create({ name, config: { runtime: V2 }, code: code(name) }, alice);
    const first = registry.list({ maxItems: 2 });
    assert.deepEqual(
      first.items.map((v) => v.name),
      ['a', 'b'],
    );
    assert.equal(first.nextMarker, 'b:DEVELOPMENT');
    const second = registry.list({ maxItems: 2, marker: first.nextMarker });
    assert.deepEqual([second.items.map((v) => v.name), second.nextMarker], [['c'], undefined]);
    registry.publish('b', registry.describe('b').etag, alice);
    assert.deepEqual(
      registry.list({ stage: 'LIVE' }).items.map((v) => [v.name, v.stage, v.version]),
      [['b', 'LIVE', 1]],
    );
    assert.deepEqual(registry.list({ stage: 'DEVELOPMENT', maxItems: 2 }).nextMarker, 'b');
  });

  it('lists every stage a function has when no Stage is given, paging between the two stages of one function', () => {
    for (const name of ['a', 'b', 'c']) registry.create({ name, config: { runtime: V2 }, code: code(name) }, alice);
    registry.publish('b', registry.describe('b').etag, alice);
    const entries = (page: { items: Array<{ name: string; stage: string }> }) => page.items.map((v) => `${v.name}:${v.stage}`);
    assert.deepEqual(entries(registry.list()), ['a:DEVELOPMENT', 'b:DEVELOPMENT', 'b:LIVE', 'c:DEVELOPMENT']);
    const first = registry.list({ maxItems: 2 });
    assert.deepEqual([entries(first), first.nextMarker], [['a:DEVELOPMENT', 'b:DEVELOPMENT'], 'b:DEVELOPMENT']);
    const second = registry.list({ maxItems: 2, marker: first.nextMarker });
    assert.deepEqual([entries(second), second.nextMarker], [['b:LIVE', 'c:DEVELOPMENT'], undefined]);
    // A bare name (the form a Stage-filtered page hands out) skips every stage of that function.
    assert.deepEqual(entries(registry.list({ marker: 'b' })), ['c:DEVELOPMENT']);
    assert.equal(registry.list().items[0].created.getTime(), registry.describe('a').created.getTime());
  });
});

describe('unifiedDiff', () => {
  it('writes diff -u hunks with context and line ranges', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n') + '\n';
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].join('\n') + '\n';
    assert.equal(
      unifiedDiff(before, after, { from: 'fn@1', to: 'fn@2' }),
      ['--- fn@1', '+++ fn@2', '@@ -1,5 +1,5 @@', ' a', '-b', '+B', ' c', ' d', ' e', '@@ -8,3 +8,4 @@', ' h', ' i', ' j', '+k', ''].join('\n'),
    );
    assert.equal(unifiedDiff(before, before, { from: 'x', to: 'y' }), '');
    assert.equal(unifiedDiff('', 'one\n', { from: 'x', to: 'y' }), '--- x\n+++ y\n@@ -0,0 +1 @@\n+one\n');
  });
});
