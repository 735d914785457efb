/**
 * The `cloudfront` module (runtime 2.0's `import cf from 'cloudfront'`): KVS handles, origin changes, custom log
 * data and the edge location. What a call records belongs to the current invocation; the dispatcher reports it.
 */
import type { KvsHandle } from './kvs.js';

const jsonParse = JSON.parse,
  jsonStringify = JSON.stringify,
  defineProperty = Object.defineProperty;

export type OriginChange = Record<string, unknown>;

/** The current invocation's origin change (the last call wins), custom log data and edge location. */
export let originChange: OriginChange | null = null;
export let customLogData: string | null = null;
let edgeLocation: unknown = null;

export function startCloudfrontInvocation(edge: unknown): void {
  originChange = null;
  customLogData = null;
  edgeLocation = edge;
}

/** A deep copy through JSON: the host gets plain data, and later changes by the function do not leak into it. */
function copyPlain(value: unknown, what: string): unknown {
  if (value === null || typeof value !== 'object') throw new TypeError(what + ' must be an object');
  return jsonParse(jsonStringify(value));
}

export function createCloudfrontModule(kvs: (id?: unknown) => KvsHandle): object {
  const cloudfront = {
    kvs: kvs,
    updateRequestOrigin: function (params: unknown): void {
      originChange = { kind: 'update', params: copyPlain(params, 'updateRequestOrigin() params') };
    },
    selectRequestOriginById: function (originId: unknown, overrides?: unknown): void {
      if (typeof originId !== 'string') throw new TypeError('selectRequestOriginById(): originId must be a string');
      const change: OriginChange = { kind: 'select', originId: originId };
      originChange = change;
      if (overrides !== undefined) change.overrides = copyPlain(overrides, 'selectRequestOriginById() overrides');
    },
    createRequestOriginGroup: function (params: unknown): void {
      originChange = { kind: 'group', params: copyPlain(params, 'createRequestOriginGroup() params') };
    },
    logCustomData: function (data: unknown): void {
      customLogData = String(data);
    },
  };
  defineProperty(cloudfront, 'edgeLocation', {
    enumerable: true,
    get: function () {
      return edgeLocation;
    },
  });
  return Object.freeze(cloudfront);
}
