/**
 * The dispatcher: what the host calls once per invocation (dispatch) or once per batch of invocations
 * (dispatchBatch). It unpacks the invocation's one string argument, resets the per-invocation state, runs the
 * user's handler and packs what came out as [envelope, value wire] (see Pair in isolate-contract.ts).
 */
import { PACK, PLAIN_RESULT, READS_RESULT, type Dispatcher, type Pair } from '../isolate-contract.js';
import { setClock } from './clock.js';
import { customLogData, originChange, startCloudfrontInvocation } from './cloudfront.js';
import { logs, startLogs } from './console.js';
import { decodeEvent } from './decode-event.js';
import { describe } from './describe-error.js';
import { encodeResult } from './encode-result.js';
import { reads, startKvsInvocation } from './kvs.js';

const jsonStringify = JSON.stringify,
  jsonParse = JSON.parse,
  defineProperty = Object.defineProperty;

type Handler = (event: unknown) => unknown;
type Kind = 'result' | 'error';

/** The user's handler, looked up at the first invocation (the user's script has run by then). */
let handler: unknown = null;
/** One method and one descriptor for every invocation: the method reads the invocation's raw query string. */
let currentRawQuery: string | null = null;
const rawQueryStringDescriptor: PropertyDescriptor = {
  value: function rawQueryString() {
    return currentRawQuery === null ? undefined : currentRawQuery;
  },
  enumerable: false,
  writable: true,
  configurable: true,
};

/** Per read: op initial, hit (1/0), then store id and key each as '-' (null) or <length>:<text>. */
function encodeReads(): string {
  let out = '';
  for (let i = 0; i < reads.length; i += 4) {
    const store = reads[i + 1] as string | null,
      key = reads[i + 2] as string | null;
    out +=
      (reads[i] as string).charAt(0) +
      (reads[i + 3] ? '1' : '0') +
      (store === null ? '-' : store.length + ':' + store) +
      (key === null ? '-' : key.length + ':' + key);
  }
  return out;
}

/** The invocation's pair: the value in result-wire form when it has one, the rest in the envelope. */
function finish(kind: Kind, value: unknown): Pair {
  const out: Record<string, unknown> = { kind: kind };
  let wire = '';
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

/**
 * One string argument per invocation (each extra applySync argument costs ~0.15 µs):
 *   now PACK seed PACK kvsToken PACK invocationId PACK recordReads PACK rawQuery PACK edgeLocationJson PACK eventWire
 * recordReads: '1' to log KVS reads for the host, '0' when nobody will look at them;
 * rawQuery: '\u0003' for none, 'q' + text, or 'j' + JSON when the text itself holds a PACK;
 * edgeLocationJson: '\u0003' for none. The event wire comes last, so it may contain anything.
 *
 * Runs one invocation. Returns its pair when it finished synchronously; otherwise returns null and calls
 * done(pair) once the handler's promise settles (in the same microtask checkpoint when it settles).
 */
function runInvocation(is2: boolean, packed: string, done: (pair: Pair) => void): Pair | null {
  const e1 = packed.indexOf(PACK),
    e2 = packed.indexOf(PACK, e1 + 1),
    e3 = packed.indexOf(PACK, e2 + 1);
  const e4 = packed.indexOf(PACK, e3 + 1),
    e5 = packed.indexOf(PACK, e4 + 1),
    e6 = packed.indexOf(PACK, e5 + 1);
  const e7 = packed.indexOf(PACK, e6 + 1);
  const now = +packed.slice(0, e1),
    seed = +packed.slice(e1 + 1, e2),
    kvsToken = +packed.slice(e2 + 1, e3);
  const invocation = +packed.slice(e3 + 1, e4);
  const recordReads = packed.charCodeAt(e4 + 1) === 49; /* 1 */
  const rawField = packed.slice(e5 + 1, e6),
    edgeField = packed.slice(e6 + 1, e7),
    eventWire = packed.slice(e7 + 1);
  const rawQuery = rawField === '\u0003' ? null : rawField.charCodeAt(0) === 113 /* q */ ? rawField.slice(1) : (jsonParse(rawField.slice(1)) as string);
  startKvsInvocation(invocation, recordReads, kvsToken);
  startLogs();
  startCloudfrontInvocation(edgeField === '\u0003' ? null : jsonParse(edgeField));
  setClock(now, seed);
  if (handler === null) {
    handler = (globalThis as Record<string, unknown>).handler;
    if (typeof handler !== 'function') return finish('error', 'ReferenceError: handler is not defined');
  }
  const event = decodeEvent(eventWire);
  currentRawQuery = rawQuery;
  if (event.request) defineProperty(event.request, 'rawQueryString', rawQueryStringDescriptor);
  let returned: unknown;
  try {
    returned = (handler as Handler)(event);
  } catch (e) {
    return finish('error', describe(e));
  }
  if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') {
    if (!is2) return finish('error', 'TypeError: handler returned a Promise; async handlers need cloudfront-js-2.0');
    (returned as Promise<unknown>).then(
      function (v) {
        done(finish('result', v));
      },
      function (e) {
        done(finish('error', 'Promise rejected: ' + describe(e)));
      },
    );
    return null;
  }
  return finish('result', returned);
}

/** Counts calls, so a batch knows when a later call has taken over (see dispatchBatch). */
let calls = 0;

export function createDispatcher(is2: boolean): Dispatcher {
  /**
   * One invocation per call. An async handler's pair is written into a holder by a promise reaction; V8 runs
   * those reactions in the microtask checkpoint at the end of the same call, inside the same timeout, and
   * isolated-vm copies the holder after that checkpoint. A holder still holding '' means the promise never settled.
   */
  function dispatch(packed: string): Pair {
    calls++;
    const holder: Pair = ['', ''];
    const pair = runInvocation(is2, packed, function (settled) {
      holder[0] = settled[0];
      holder[1] = settled[1];
    });
    return pair === null ? holder : pair;
  }

  /**
   * Several invocations per call, one after the other: the next starts only once the previous one's promise has
   * settled, so per-invocation state (logs, reads, clock, seed, KVS token) never mixes. Input: each packed
   * invocation as <length>:<packed>. Output: an array of pairs; a slot left empty belongs to an invocation that
   * never settled (the first empty slot) or never started (the slots after it).
   */
  function dispatchBatch(joined: string): Array<Pair | undefined> {
    const items: string[] = [];
    let pos = 0;
    while (pos < joined.length) {
      const colon = joined.indexOf(':', pos),
        length = +joined.slice(pos, colon);
      items.push(joined.slice(colon + 1, colon + 1 + length));
      pos = colon + 1 + length;
    }
    const out = new Array<Pair | undefined>(items.length),
      call = ++calls;
    let next = 0;
    function runFrom(): void {
      // An invocation that did not settle during its own call may still settle during a later one (something
      // the later one does resolves it): this batch is over by then, and its remaining items ran elsewhere.
      if (call !== calls) return;
      while (next < items.length) {
        const slot = next++;
        const pair = runInvocation(is2, items[slot] as string, function (settled) {
          out[slot] = settled;
          runFrom();
        });
        if (pair === null) return;
        out[slot] = pair;
      }
    }
    runFrom();
    return out;
  }

  return { dispatch: dispatch, dispatchBatch: dispatchBatch };
}
