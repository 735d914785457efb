/** `cf.kvs(id)` / `cf.kvs(arn)`: which store a named id opens, for bindings with ids and for local data without one. */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadFunction, MapSnapshot, type CloudFrontFunction, type KvsBinding } from '../../src/index.js';
import { resolveStoreId, storeIdOf } from '../../src/runtime/kvs-access.js';
import { testEvent } from '../helpers/events.js';
import { requestOf } from '../helpers/results.js';

const AWS_ID = '8aa76c93-3198-462c-aaf6-0123456789ab';
const OTHER_ID = '47970d59-6408-474d-b850-0123456789ab';
const ARN = `arn:aws:cloudfront::123456789012:key-value-store/${AWS_ID}`;

/** Reads key "greeting" through `cf.kvs(<named>)` and puts the value (or the error) in a header. */
function reader(named: string): string {
  return `import cf from 'cloudfront';
const kvsHandle = cf.kvs(${JSON.stringify(named)});
async function handler(event) {
  const request = event.request;
  try {
    request.headers['x-greeting'] = { value: await kvsHandle.get('greeting') };
  } catch (e) {
    request.headers['x-kvs-error'] = { value: e.message };
  }
  return request;
}`;
}

function strictBinding(id: string, items: Record<string, string>): KvsBinding {
  const snapshot = new MapSnapshot(items, { id, version: 3 });
  return { defaultStoreId: id, stores: new Map([[id, { snapshot: () => snapshot }]]) };
}

describe('resolveStoreId', () => {
  const binding = strictBinding(AWS_ID, {});
  it('opens the store by its id, by the id inside its ARN (any account), in either case', () => {
    assert.equal(resolveStoreId(binding, null), AWS_ID);
    assert.equal(resolveStoreId(binding, AWS_ID), AWS_ID);
    assert.equal(resolveStoreId(binding, AWS_ID.toUpperCase()), AWS_ID);
    assert.equal(resolveStoreId(binding, ARN), AWS_ID);
    assert.equal(resolveStoreId(binding, `arn:aws:cloudfront::999999999999:key-value-store/${AWS_ID}`), AWS_ID);
  });
  it('finds nothing for another id, unless the binding answers to any id', () => {
    assert.equal(resolveStoreId(binding, OTHER_ID), undefined);
    assert.equal(resolveStoreId(binding, 'KVS_ID'), undefined);
    assert.equal(resolveStoreId({ ...binding, anyId: true }, OTHER_ID), AWS_ID);
  });
  it('takes the id out of an ARN and leaves anything else alone', () => {
    assert.equal(storeIdOf(ARN), AWS_ID);
    assert.equal(storeIdOf(AWS_ID), AWS_ID);
    assert.equal(storeIdOf('arn:aws:cloudfront::123456789012:function/x'), 'arn:aws:cloudfront::123456789012:function/x');
  });
});

describe('cf.kvs(<id>) in a running function', () => {
  const loaded: CloudFrontFunction[] = [];
  const load = async (code: string) => {
    const fn = await loadFunction(code);
    loaded.push(fn);
    return fn;
  };
  after(() => {
    for (const fn of loaded) fn.dispose();
  });

  it('reads local data (no id of its own) for any id, and the trace records the id the code asked for', async () => {
    for (const named of [AWS_ID, ARN, 'KVS_ID_FILLED_IN_AT_DEPLOY']) {
      const fn = await load(reader(named));
      const result = await fn.run(testEvent('/'), { kvs: { greeting: 'hello' } });
      assert.equal(requestOf(result).headers['x-greeting']?.value, 'hello', named);
      assert.equal(result.kvsReads.length, 1);
      assert.equal(result.kvsReads[0].requestedId, named);
      assert.equal(result.kvsReads[0].hit, true);
    }
  });

  it('reads a store with ids by its id or ARN; another id fails the read as on CloudFront', async () => {
    const binding = strictBinding(AWS_ID, { greeting: 'bonjour' });
    for (const named of [AWS_ID, ARN]) {
      const result = await (await load(reader(named))).run(testEvent('/'), { kvs: binding });
      assert.equal(requestOf(result).headers['x-greeting']?.value, 'bonjour', named);
      assert.deepEqual([result.kvsReads[0].storeId, result.kvsReads[0].version], [AWS_ID, 3]);
    }
    const wrong = await (await load(reader(OTHER_ID))).run(testEvent('/'), { kvs: binding });
    assert.equal(requestOf(wrong).headers['x-greeting'], undefined);
    assert.equal(requestOf(wrong).headers['x-kvs-error']?.value, `KeyValueStore "${OTHER_ID}" is not associated with this function`);
  });

  it('has no store at all to offer when none is associated, whatever the id', async () => {
    const result = await (await load(reader(AWS_ID))).run(testEvent('/'));
    assert.equal(requestOf(result).headers['x-kvs-error']?.value, 'No KeyValueStore is associated with this function');
  });
});
