/**
 * `cf.kvs(id)`: read-only handles on KeyValueStores. Every read goes to the host (host.kvs), unless this isolate
 * already holds the value: a snapshot never changes, so a value stays right for as long as the host hands out the
 * same snapshot (the same token), and reads of hot keys then never leave the isolate. Only the function's own
 * store is cached across invocations; other stores only within one invocation. The cache is bounded and simply
 * starts over when full.
 *
 * Reads are also logged for the host (op, store id, key, hit: four flat slots per read, cheaper to copy out
 * than an array of arrays) unless the host said nobody will look at them.
 */
import type { IsolateHost } from '../isolate-contract.js';

const jsonParse = JSON.parse;

type Op = 'get' | 'exists' | 'meta';

/** The current invocation's reads, four slots each: op, store id (null: the function's own), key (null: meta), hit. */
export let reads: Array<string | null | boolean> = [];
let recordReads = true;
/** Passed back with each host read, so the host knows which invocation asks. */
let currentInvocation = 0;

/** Stands for "the host said the key is missing" in the cache. */
const MISSING = {};
const MAX_CACHE_ENTRIES = 4096,
  MAX_CACHE_CHARS = 1048576;
let cache: Record<string, string | typeof MISSING> = Object.create(null);
let cacheEntries = 0,
  cacheChars = 0,
  cacheToken = 0;
/** The cache holds values of other stores than the function's own. */
let foreignSlots = false;

function resetCache(token: number): void {
  cache = Object.create(null);
  cacheEntries = 0;
  cacheChars = 0;
  cacheToken = token;
}

/**
 * Starts a new invocation. kvsToken identifies the snapshot of the function's own store: another snapshot (or
 * values of other stores left from the last invocation) and the cache starts over.
 */
export function startKvsInvocation(invocation: number, record: boolean, kvsToken: number): void {
  currentInvocation = invocation;
  recordReads = record;
  reads = [];
  if (kvsToken !== cacheToken || foreignSlots) {
    resetCache(kvsToken);
    foreignSlots = false;
  }
}

export interface KvsHandle {
  get(key: unknown, options?: { format?: unknown }): Promise<unknown>;
  exists(key: unknown): Promise<boolean>;
  meta(): Promise<unknown>;
}

/**
 * The `kvs` function of the cloudfront module. utf8Bytes turns a value into what format 'bytes' gives (a Buffer
 * in 2.0); null: the string itself (1.0).
 */
export function createKvs(host: IsolateHost, utf8Bytes: ((value: string) => unknown) | null): (id?: unknown) => KvsHandle {
  function readValue(op: Op, storeId: string | null, key: string): string | undefined {
    const slot = storeId === null ? key : storeId + '\u0000' + key;
    let value = cache[slot];
    if (value === undefined) {
      const fetched = host.kvs(op, storeId, key, currentInvocation);
      if (cacheEntries >= MAX_CACHE_ENTRIES || cacheChars >= MAX_CACHE_CHARS) resetCache(cacheToken);
      value = fetched === undefined ? MISSING : fetched;
      cache[slot] = value;
      cacheEntries++;
      cacheChars += slot.length + (fetched === undefined ? 0 : fetched.length);
      if (storeId !== null) foreignSlots = true;
    }
    return value === MISSING ? undefined : (value as string);
  }

  return function kvsHandle(id?: unknown): KvsHandle {
    if (id !== undefined && typeof id !== 'string') throw new TypeError('kvs(): the store id must be a string');
    const storeId = id === undefined ? null : id;
    function failed(e: unknown): Promise<never> {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    // Each method settles its promise directly (no .then chain): one microtask per awaited read.
    function lookup(op: Op, key: string): string | undefined {
      const value = readValue(op, storeId, key);
      if (recordReads) reads.push(op, storeId, key, value !== undefined);
      return value;
    }
    // Function expressions, not methods: what user code sees stays what CloudFront's engine gives.
    return Object.freeze({
      get: function (key: unknown, options?: { format?: unknown }): Promise<unknown> {
        const format = options && options.format !== undefined ? options.format : 'string';
        if (format !== 'string' && format !== 'json' && format !== 'bytes') {
          return Promise.reject(new TypeError('get(): unknown format "' + (format as string) + '" (use string, json or bytes)'));
        }
        if (typeof key !== 'string') return Promise.reject(new TypeError('get(): the key must be a string'));
        try {
          const value = lookup('get', key);
          if (value === undefined) return Promise.reject(new Error('Key "' + key + '" not found in KeyValueStore'));
          if (format === 'json') return Promise.resolve(jsonParse(value));
          if (format === 'bytes') return Promise.resolve(utf8Bytes !== null ? utf8Bytes(value) : value);
          return Promise.resolve(value);
        } catch (e) {
          return failed(e);
        }
      },
      exists: function (key: unknown): Promise<boolean> {
        if (typeof key !== 'string') return Promise.reject(new TypeError('exists(): the key must be a string'));
        try {
          return Promise.resolve(lookup('exists', key) !== undefined);
        } catch (e) {
          return failed(e);
        }
      },
      meta: function (): Promise<unknown> {
        try {
          const meta: unknown = jsonParse(host.kvs('meta', storeId, '', currentInvocation) as string);
          if (recordReads) reads.push('meta', storeId, null, true);
          return Promise.resolve(meta);
        } catch (e) {
          return failed(e);
        }
      },
    });
  };
}
