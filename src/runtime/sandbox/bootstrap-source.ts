/**
 * JavaScript evaluated INSIDE the function's isolate before the user's code. It builds the CloudFront runtime
 * surface (console, require, the `cloudfront` module, frozen Date, seeded Math.random), removes what CloudFront
 * does not offer (eval, the Function constructor, Proxy, WebAssembly…), and returns the dispatcher the host calls
 * once per invocation.
 *
 * Host capabilities arrive in `host` ({kvs, digest, maxLogBytes}), which stays in this closure: user code can
 * never reach it. The fields are read at call time, so this code can run while a V8 startup snapshot is built
 * and the callbacks be filled in afterwards (see function-isolate.ts). Every host callback copies
 * strings/primitives in and out; no host object ever enters the isolate.
 *
 * Dispatcher protocol (result copied out after the call): the bootstrap returns { dispatch, dispatchBatch }.
 *   dispatch(packed) → [envelope, valueWire]: one invocation (packed: see the comment above `runInvocation`; it
 * carries the event wire, the raw query string, the clock, the seed, the edge location, the KVS token and the
 * invocation id; the event wire is the compact form of event-wire.ts, or JSON; valueWire: result-wire.ts's form of
 * the returned value, or '' when the value is inside the envelope; envelope: JSON, or for a result with no logs,
 * origin change or custom log data, 'r' (no KVS reads either) or 'k' + the reads in encodeReads' form).
 *   dispatchBatch(joined) → pairs: several invocations run one after the other in one call (the edge's off-thread
 * path, see function-isolate.ts).
 */
import { DECODE_EVENT_SOURCE } from './event-wire.js';
import { ENCODE_RESULT_SOURCE } from './result-wire.js';

/** The file name user code runs under; stack traces and compile errors point into it. */
export const USER_SCRIPT_FILENAME = 'function.js';

export const BOOTSTRAP_SOURCE = String.raw`(function (prelude, host, runtime) {
  'use strict';
  var g = globalThis;
  var modules = prelude({ digest: function (algorithm, key, data) { return host.digest(algorithm, key, data); } }).modules;
  var is2 = runtime === 'cloudfront-js-2.0';
  var jsonStringify = JSON.stringify, jsonParse = JSON.parse, objectKeys = Object.keys, isArray = Array.isArray;
  var OrigDate = Date, defineProperty = Object.defineProperty;

  // ---- per-invocation state ----
  var logs = [], logBytes = 0, logTruncated = false;
  var originChange = null, customLogData = null, edgeLocation = null;
  var frozenNow = 0, rngState = 1;
  var reads = [], recordReads = true, foreignSlots = false, MISSING = {};

  // ---- console: only console.log exists; output capped like CloudFront's 10 KB ----
  function formatArg(v) {
    if (typeof v === 'string') return v;
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return '[Function]';
    try { var s = jsonStringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function log() {
    if (logTruncated) return;
    var parts = [];
    for (var i = 0; i < arguments.length; i++) parts.push(formatArg(arguments[i]));
    var line = parts.join(' ');
    var size = line.length + 1;
    var maxLogBytes = host.maxLogBytes;
    if (logBytes + size > maxLogBytes) {
      var room = maxLogBytes - logBytes;
      if (room > 0) logs.push(line.slice(0, room));
      logs.push('[logs truncated at ' + maxLogBytes + ' bytes]');
      logTruncated = true;
      return;
    }
    logBytes += size;
    logs.push(line);
  }
  var consoleObject = Object.freeze({ log: log });

  // ---- the cloudfront module ----
  function copyPlain(value, what) {
    if (value === null || typeof value !== 'object') throw new TypeError(what + ' must be an object');
    return jsonParse(jsonStringify(value));
  }
  /**
   * KVS values read through the host are kept here. A snapshot never changes, so a value stays right for as long
   * as the host hands out the same snapshot (the same token): reads of hot keys then never leave the isolate.
   * Only the function's own store is cached across invocations; other stores only within one invocation. The
   * cache is bounded and simply starts over when full.
   */
  var cache = Object.create(null), cacheEntries = 0, cacheChars = 0, cacheToken = 0;
  var MAX_CACHE_ENTRIES = 4096, MAX_CACHE_CHARS = 1048576;
  function resetCache(token) {
    cache = Object.create(null); cacheEntries = 0; cacheChars = 0; cacheToken = token;
  }
  function readValue(op, storeId, key) {
    var slot = storeId === null ? key : storeId + '\u0000' + key;
    var value = cache[slot];
    if (value === undefined) {
      value = host.kvs(op, storeId, key, currentInvocation);
      if (cacheEntries >= MAX_CACHE_ENTRIES || cacheChars >= MAX_CACHE_CHARS) resetCache(cacheToken);
      cache[slot] = value === undefined ? MISSING : value;
      cacheEntries++;
      cacheChars += slot.length + (value === undefined ? 0 : value.length);
      if (storeId !== null) foreignSlots = true;
    }
    return value === MISSING ? undefined : value;
  }
  function kvsHandle(id) {
    if (id !== undefined && typeof id !== 'string') throw new TypeError('kvs(): the store id must be a string');
    var storeId = id === undefined ? null : id;
    function failed(e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    // Each method settles its promise directly (no .then chain): one microtask per awaited read.
    function lookup(op, key) {
      var value = readValue(op, storeId, key);
      if (recordReads) reads.push(op, storeId, key, value !== undefined);
      return value;
    }
    return Object.freeze({
      get: function (key, options) {
        var format = options && options.format !== undefined ? options.format : 'string';
        if (format !== 'string' && format !== 'json' && format !== 'bytes') {
          return Promise.reject(new TypeError('get(): unknown format "' + format + '" (use string, json or bytes)'));
        }
        if (typeof key !== 'string') return Promise.reject(new TypeError('get(): the key must be a string'));
        try {
          var value = lookup('get', key);
          if (value === undefined) return Promise.reject(new Error('Key "' + key + '" not found in KeyValueStore'));
          if (format === 'json') return Promise.resolve(jsonParse(value));
          if (format === 'bytes') return Promise.resolve(is2 ? modules.buffer.Buffer.from(value, 'utf8') : value);
          return Promise.resolve(value);
        } catch (e) {
          return failed(e);
        }
      },
      exists: function (key) {
        if (typeof key !== 'string') return Promise.reject(new TypeError('exists(): the key must be a string'));
        try {
          return Promise.resolve(lookup('exists', key) !== undefined);
        } catch (e) {
          return failed(e);
        }
      },
      meta: function () {
        try {
          var meta = jsonParse(host.kvs('meta', storeId, '', currentInvocation));
          if (recordReads) reads.push('meta', storeId, null, true);
          return Promise.resolve(meta);
        } catch (e) {
          return failed(e);
        }
      }
    });
  }
  var cloudfront = {
    kvs: kvsHandle,
    updateRequestOrigin: function (params) { originChange = { kind: 'update', params: copyPlain(params, 'updateRequestOrigin() params') }; },
    selectRequestOriginById: function (originId, overrides) {
      if (typeof originId !== 'string') throw new TypeError('selectRequestOriginById(): originId must be a string');
      originChange = { kind: 'select', originId: originId };
      if (overrides !== undefined) originChange.overrides = copyPlain(overrides, 'selectRequestOriginById() overrides');
    },
    createRequestOriginGroup: function (params) { originChange = { kind: 'group', params: copyPlain(params, 'createRequestOriginGroup() params') }; },
    logCustomData: function (data) { customLogData = String(data); }
  };
  defineProperty(cloudfront, 'edgeLocation', { enumerable: true, get: function () { return edgeLocation; } });
  Object.freeze(cloudfront);
  if (is2) modules.cloudfront = cloudfront;

  function requireModule(name) {
    if (typeof name === 'string' && Object.prototype.hasOwnProperty.call(modules, name)) return modules[name];
    throw new Error('Cannot find module "' + name + '"');
  }

  // ---- time and randomness: frozen clock per invocation, PRNG seeded per invocation ----
  function FrozenDate(a, b, c, d, e, f, h) {
    var n = arguments.length;
    if (!new.target) return new OrigDate(frozenNow).toString();
    if (n === 0) return new OrigDate(frozenNow);
    if (n === 1) return new OrigDate(a);
    return new OrigDate(a, b, n > 2 ? c : 1, n > 3 ? d : 0, n > 4 ? e : 0, n > 5 ? f : 0, n > 6 ? h : 0);
  }
  FrozenDate.prototype = OrigDate.prototype;
  FrozenDate.now = function () { return frozenNow; };
  FrozenDate.parse = OrigDate.parse;
  FrozenDate.UTC = OrigDate.UTC;
  defineProperty(OrigDate.prototype, 'constructor', { value: FrozenDate, writable: true, configurable: true });
  function random() {
    // xorshift32: the host seeds it per invocation
    var x = rngState;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    rngState = x | 0;
    return (x >>> 0) / 4294967296;
  }

  // ---- remove what CloudFront does not offer ----
  function forbidden(what) {
    return function () { throw new EvalError(what + ' is not supported in CloudFront Functions'); };
  }
  var noCodegen = forbidden('Code generation from strings (eval / Function constructor)');
  [function () {}, async function () {}, function* () {}, async function* () {}].forEach(function (sample) {
    defineProperty(Object.getPrototypeOf(sample), 'constructor', { value: noCodegen, writable: false, configurable: false });
  });
  noCodegen.prototype = Function.prototype;
  var blocked = ['eval', 'Proxy', 'Reflect', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'WeakRef',
    'FinalizationRegistry', 'Map', 'Set', 'WeakMap', 'WeakSet', 'BigInt', 'BigInt64Array', 'BigUint64Array', 'Intl',
    'escape', 'unescape'];
  for (var i = 0; i < blocked.length; i++) delete g[blocked[i]];
  defineProperty(g, 'Function', { value: noCodegen, writable: false, configurable: false });
  defineProperty(g, 'eval', { value: forbidden('eval()'), writable: false, configurable: false });
  defineProperty(g, 'Date', { value: FrozenDate, writable: false, configurable: false });
  Math.random = random;
  defineProperty(g, 'console', { value: consoleObject, writable: false, configurable: false });
  defineProperty(g, 'require', { value: requireModule, writable: false, configurable: false });

  // ---- the dispatcher ----
  function defineValue(map, name, entry) {
    // A parameter literally named __proto__ must stay data, as JSON.parse makes it.
    if (name === '__proto__') defineProperty(map, name, { value: entry, enumerable: true, writable: true, configurable: true });
    else map[name] = entry;
  }
  ${DECODE_EVENT_SOURCE}
  var handler = null;
  // One method and one descriptor for every invocation: the method reads the invocation's raw query string.
  var currentRawQuery = null;
  var rawQueryStringDescriptor = {
    value: function rawQueryString() { return currentRawQuery === null ? undefined : currentRawQuery; },
    enumerable: false, writable: true, configurable: true
  };
  /** [envelope JSON, value in result-wire form or '' when the value is inside the envelope as JSON]. */
  var PLAIN_RESULT = 'r', READS_RESULT = 'k';
  /** Per read: op initial, hit (1/0), then store id and key each as '-' (null) or <length>:<text>. */
  function encodeReads() {
    var out = '';
    for (var i = 0; i < reads.length; i += 4) {
      var store = reads[i + 1], key = reads[i + 2];
      out += reads[i].charAt(0) + (reads[i + 3] ? '1' : '0') + (store === null ? '-' : store.length + ':' + store) + (key === null ? '-' : key.length + ':' + key);
    }
    return out;
  }
  function finish(kind, value) {
    var out = { kind: kind }, wire = '';
    if (logs.length > 0) out.logs = logs;
    if (kind === 'result') {
      try {
        wire = encodeResult(value);
      } catch (e) {
        return [jsonStringify({ kind: 'invalid', logs: logs, message: 'the returned value cannot be read: ' + describe(e) }), ''];
      }
      if (wire === '') out.value = value === undefined ? null : value;
    } else {
      out.message = value;
    }
    if (originChange) out.originChange = originChange;
    if (customLogData !== null) out.customLogData = customLogData;
    if (reads.length > 0) out.reads = reads;
    // A result with nothing to report but KVS reads (the usual case) needs no JSON on either side.
    if (wire !== '' && logs.length === 0 && !originChange && customLogData === null) {
      return [reads.length === 0 ? PLAIN_RESULT : READS_RESULT + encodeReads(), wire];
    }
    try {
      return [jsonStringify(out), wire];
    } catch (e) {
      return [jsonStringify({ kind: 'invalid', logs: logs, message: 'the returned value cannot be serialised: ' + describe(e) }), ''];
    }
  }
  ${ENCODE_RESULT_SOURCE}
  function describe(err) {
    if (err instanceof Error) {
      var where = '';
      var stack = typeof err.stack === 'string' ? err.stack.split('\n') : [];
      for (var i = 1; i < stack.length; i++) {
        var m = /\((?:[^()]*?):(\d+):(\d+)\)$|at (?:[^()]*?):(\d+):(\d+)$/.exec(stack[i]);
        if (m && stack[i].indexOf(${JSON.stringify(USER_SCRIPT_FILENAME)}) !== -1) { where = ' at line ' + (m[1] || m[3]) + ':' + (m[2] || m[4]); break; }
      }
      return (err.name || 'Error') + ': ' + err.message + where;
    }
    try { return 'Uncaught ' + jsonStringify(err); } catch (e) { return 'Uncaught ' + String(err); }
  }
  // One string argument per invocation (each extra applySync argument costs ~0.15 µs):
  //   now \u0004 seed \u0004 kvsToken \u0004 invocationId \u0004 recordReads \u0004 rawQuery \u0004 edgeLocationJson \u0004 eventWire
  // recordReads: '1' to log KVS reads for the host, '0' when nobody will look at them;
  // rawQuery: '\u0003' for none, 'q' + text, or 'j' + JSON when the text itself holds a \u0004;
  // edgeLocationJson: '\u0003' for none. The event wire comes last, so it may contain anything.
  var PACK = '\u0004';
  var currentInvocation = 0;
  /**
   * Runs one invocation. Returns its [envelope, wire] pair when it finished synchronously; otherwise returns null
   * and calls done(pair) once the handler's promise settles (in the same microtask checkpoint when it settles).
   */
  function runInvocation(packed, done) {
    var e1 = packed.indexOf(PACK), e2 = packed.indexOf(PACK, e1 + 1), e3 = packed.indexOf(PACK, e2 + 1);
    var e4 = packed.indexOf(PACK, e3 + 1), e5 = packed.indexOf(PACK, e4 + 1), e6 = packed.indexOf(PACK, e5 + 1);
    var e7 = packed.indexOf(PACK, e6 + 1);
    var now = +packed.slice(0, e1), seed = +packed.slice(e1 + 1, e2), kvsToken = +packed.slice(e2 + 1, e3);
    currentInvocation = +packed.slice(e3 + 1, e4);
    recordReads = packed.charCodeAt(e4 + 1) === 49;
    var rawField = packed.slice(e5 + 1, e6), edgeField = packed.slice(e6 + 1, e7), eventWire = packed.slice(e7 + 1);
    var rawQuery = rawField === '\u0003' ? null : rawField.charCodeAt(0) === 113 ? rawField.slice(1) : jsonParse(rawField.slice(1));
    var edgeLocationJson = edgeField === '\u0003' ? null : edgeField;
    logs = []; logBytes = 0; logTruncated = false;
    originChange = null; customLogData = null; reads = [];
    // Another snapshot of the function's store (or values of other stores from the last invocation): start over.
    if (kvsToken !== cacheToken || foreignSlots) { resetCache(kvsToken); foreignSlots = false; }
    edgeLocation = edgeLocationJson === null ? null : jsonParse(edgeLocationJson);
    frozenNow = now; rngState = seed | 0 || 1;
    if (handler === null) {
      handler = g.handler;
      if (typeof handler !== 'function') return finish('error', 'ReferenceError: handler is not defined');
    }
    var event = decodeEvent(eventWire);
    currentRawQuery = rawQuery;
    if (event.request) defineProperty(event.request, 'rawQueryString', rawQueryStringDescriptor);
    var returned;
    try {
      returned = handler(event);
    } catch (e) {
      return finish('error', describe(e));
    }
    if (returned !== null && typeof returned === 'object' && typeof returned.then === 'function') {
      if (!is2) return finish('error', 'TypeError: handler returned a Promise; async handlers need cloudfront-js-2.0');
      returned.then(function (v) { done(finish('result', v)); }, function (e) { done(finish('error', 'Promise rejected: ' + describe(e))); });
      return null;
    }
    return finish('result', returned);
  }
  /**
   * One invocation per call. An async handler's pair is written into a holder by a promise reaction; V8 runs those
   * reactions in the microtask checkpoint at the end of the same call, inside the same timeout, and isolated-vm
   * copies the holder after that checkpoint. A holder still holding '' means the promise never settled.
   */
  function dispatch(packed) {
    calls++;
    var holder = ['', ''];
    var pair = runInvocation(packed, function (settled) { holder[0] = settled[0]; holder[1] = settled[1]; });
    return pair === null ? holder : pair;
  }
  /**
   * Several invocations per call, one after the other: the next starts only once the previous one's promise has
   * settled, so per-invocation state (logs, reads, clock, seed, KVS token) never mixes. Input: each packed
   * invocation as <length>:<packed>. Output: an array of pairs; a slot left empty belongs to an invocation that
   * never settled (the first empty slot) or never started (the slots after it).
   */
  var calls = 0;
  function dispatchBatch(joined) {
    var items = [], pos = 0;
    while (pos < joined.length) {
      var colon = joined.indexOf(':', pos), length = +joined.slice(pos, colon);
      items.push(joined.slice(colon + 1, colon + 1 + length));
      pos = colon + 1 + length;
    }
    var out = new Array(items.length), next = 0, call = ++calls;
    function runFrom() {
      // An invocation that did not settle during its own call may still settle during a later one (something
      // the later one does resolves it): this batch is over by then, and its remaining items ran elsewhere.
      if (call !== calls) return;
      while (next < items.length) {
        var slot = next++;
        var pair = runInvocation(items[slot], function (settled) { out[slot] = settled; runFrom(); });
        if (pair === null) return;
        out[slot] = pair;
      }
    }
    runFrom();
    return out;
  }
  return { dispatch: dispatch, dispatchBatch: dispatchBatch };
})`;