/**
 * What a dispatch returns from the isolate, decoded on the host: per invocation a pair [envelope, value wire].
 * The envelope is JSON ({kind, logs, reads, originChange, customLogData, value | message}), or for the usual result
 * with no logs, origin change or custom log data a short form that needs no JSON on either side: 'r' (no KVS reads
 * either) or 'k' + the reads. The value wire is result-wire.ts's form of the returned value ('' when the value is
 * in the JSON envelope). An envelope of '' means the handler's promise never settled.
 */
import { PLAIN_RESULT, READS_RESULT, type Pair } from './isolate-contract.js';
import { decodeResult } from './result-wire.js';

export type { Pair };

/**
 * The KVS reads as the isolate logged them, four flat slots per read (a flat array is cheaper to copy out than an
 * array of arrays): op, store id (null: the function's own store), key (null for meta), hit.
 */
export type RawReads = Array<'get' | 'exists' | 'meta' | string | null | boolean>;

interface RawExtras {
  logs: string[];
  reads?: RawReads;
  originChange?: Record<string, unknown>;
  customLogData?: string;
}

/** What one invocation produced, before validation. */
export type RawOutcome =
  | ({ kind: 'result'; value: unknown } & RawExtras)
  | ({ kind: 'error'; message: string } & RawExtras)
  | ({ kind: 'invalid'; message: string } & RawExtras)
  | { kind: 'killed'; reason: 'cpu' | 'memory'; logs: string[] };

/** The envelope of a result with reads starts with this char code (isolate/dispatcher.ts, `finish`). */
const READS_RESULT_CODE = READS_RESULT.charCodeAt(0);

const READ_OPS: Record<string, 'get' | 'exists' | 'meta'> = { g: 'get', e: 'exists', m: 'meta' };

/** The reads after 'k': per read, op initial, hit (1/0), store id and key as '-' (null) or <length>:<text>. */
function decodeReads(envelope: string): RawReads {
  const reads: RawReads = [];
  let i = 1;
  const field = (): string | null => {
    if (envelope.charCodeAt(i) === 0x2d /* - */) {
      i++;
      return null;
    }
    const colon = envelope.indexOf(':', i);
    const end = colon + 1 + Number(envelope.slice(i, colon));
    const text = envelope.slice(colon + 1, end);
    i = end;
    return text;
  };
  while (i < envelope.length) {
    const op = READ_OPS[envelope.charAt(i)] as 'get' | 'exists' | 'meta';
    const hit = envelope.charCodeAt(i + 1) === 0x31;
    i += 2;
    const store = field();
    reads.push(op, store, field(), hit);
  }
  return reads;
}

export function neverSettled(): RawOutcome {
  return { kind: 'error', message: 'The handler returned a Promise that never settled', logs: [] };
}

/** Decodes one invocation's pair. */
export function outcomeOf([json, wire]: Pair): RawOutcome {
  if (json === '') return neverSettled();
  if (json === PLAIN_RESULT) return { kind: 'result', value: decodeResult(wire), logs: [] };
  if (json.charCodeAt(0) === READS_RESULT_CODE) return { kind: 'result', value: decodeResult(wire), logs: [], reads: decodeReads(json) };
  const outcome = JSON.parse(json) as RawOutcome;
  // An invocation that logged nothing leaves `logs` out of the envelope.
  outcome.logs ??= [];
  if (wire !== '' && outcome.kind === 'result') outcome.value = decodeResult(wire);
  return outcome;
}
