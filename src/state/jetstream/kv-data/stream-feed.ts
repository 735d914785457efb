/**
 * Reading a store's stream in order: the JetStream side shared by the writer (consistent reads) and the edge
 * replica (its live feed). Everything goes through ordered consumers on `$KV.ofkv_<id>.>`: `LastPerSubject` for a
 * cold load (only each key's last message, so a load costs the store's size, not its history), `StartSequence
 * version + 1` to catch up from a known version.
 */
import { DeliverPolicy, type JsMsg, type StoredMsg } from '@nats-io/jetstream';
import { openFrontError } from '../../../errors.js';
import type { NatsConnectionHandle } from '../connection.js';
import { mapUnavailable } from '../connection.js';
import { JOURNAL_PART_PREFIX, natsKeyOfSubject, storeBucket, storeStream } from '../key-codec.js';
import { parsePart, PART_HEADER, PART_TX_HEADER } from './journal.js';
import type { StoreView, StreamEntry } from './store-view.js';

/** What a reader needs of the stream's state. `created` tells a recreated stream from the one a version belongs to. */
export interface StreamState {
  lastSeq: number;
  created: string;
}

const OPERATION_HEADER = 'KV-Operation';

/** The entry of a consumed message (undefined for a subject outside the store's bucket). */
export function entryOfMessage(storeId: string, m: Pick<JsMsg, 'seq' | 'subject' | 'data' | 'headers' | 'time'>): StreamEntry | undefined {
  const natsKey = natsKeyOfSubject(storeId, m.subject);
  if (natsKey === undefined) return undefined;
  const headers = m.headers;
  const op = headers?.get(OPERATION_HEADER);
  const entry: StreamEntry = { seq: m.seq, natsKey, operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT', data: m.data, time: m.time };
  if (natsKey.startsWith(JOURNAL_PART_PREFIX)) entry.part = parsePart(headers?.get(PART_TX_HEADER), headers?.get(PART_HEADER));
  return entry;
}

/** The entry of a message read with a direct get. */
export function entryOfStored(storeId: string, m: StoredMsg): StreamEntry | undefined {
  return entryOfMessage(storeId, { seq: m.seq, subject: m.subject, data: m.data, headers: m.header, time: m.time });
}

/** The stream's state, or undefined when the store's stream does not exist. */
export async function streamState(conn: NatsConnectionHandle, storeId: string): Promise<StreamState | undefined> {
  try {
    const info = await conn.jsm.streams.info(storeStream(storeId));
    return { lastSeq: info.state.last_seq, created: info.created };
  } catch (err) {
    if (isStreamNotFound(err)) return undefined;
    throw mapUnavailable(err, conn.url);
  }
}

export function isStreamNotFound(err: unknown): boolean {
  const e = err as { name?: string; code?: number; message?: string };
  return e?.name === 'StreamNotFoundError' || e?.code === 10059 || /stream not found/i.test(String(e?.message));
}

/** Ordered-consumer options to read the stream after `version` (a cold load when it is 0). */
export function consumerOptionsFrom(storeId: string, version: number) {
  const filter_subjects = `$KV.${storeBucket(storeId)}.>`;
  return version === 0
    ? { filter_subjects, deliver_policy: DeliverPolicy.LastPerSubject }
    : { filter_subjects, deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: version + 1 };
}

/**
 * Applies to `view` every message after its version up to at least `target` (a `last_seq` read before), with one
 * ordered consumer. Bounded: fails with `STATE_UNAVAILABLE` when the messages do not arrive within `timeoutMs`.
 */
export async function catchUp(conn: NatsConnectionHandle, view: StoreView, target: number, timeoutMs = 30_000): Promise<void> {
  if (view.version >= target) return;
  const storeId = view.storeId;
  let consumer;
  try {
    consumer = await conn.js.consumers.get(storeStream(storeId), consumerOptionsFrom(storeId, view.version));
  } catch (err) {
    throw mapUnavailable(err, conn.url);
  }
  let done!: () => void;
  let failed!: (err: unknown) => void;
  const reached = new Promise<void>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const messages = await consumer
    .consume({
      callback: (m) => {
        const entry = entryOfMessage(storeId, m);
        if (entry !== undefined) view.apply(entry);
        if (m.seq >= target) done();
      },
    })
    .catch((err: unknown) => {
      throw mapUnavailable(err, conn.url);
    });
  const timer = setTimeout(
    () => failed(openFrontError('STATE_UNAVAILABLE', `Reading store ${storeId} up to version ${target} from NATS ${conn.url} took over ${timeoutMs} ms`)),
    timeoutMs,
  );
  try {
    await reached;
  } finally {
    clearTimeout(timer);
    await messages.close().catch(() => undefined);
  }
}
