/**
 * Writes of one store's data to its JetStream stream (bucket `ofkv_<id>`, docs/fleet-edge.md), with the guarantees the
 * SQLite store gives in one process:
 *
 * - **Versions**: the store version is the stream's last sequence after the write; the ETag derives from it.
 * - **Optimistic concurrency**: every message is published with the expected last sequence, so of two writers
 *   (two control processes) racing from the same version exactly one wins; the other gets `KVS_CONFLICT` when it
 *   asked for that version (If-Match), or retries on the new version when it did not.
 * - **Atomic batches**: more than one op goes through the `_tx` journal (./journal.ts): readers apply the whole
 *   batch at once, and a batch whose writer died midway is rolled forward by {@link StoreDataWriter.recover}, which
 *   every write runs after a conflict.
 * - **Fail fast**: a write while the client is disconnected fails at once with `STATE_UNAVAILABLE` (HTTP 503);
 *   nothing is published, so nothing is half-written. Every message carries a `Nats-Msg-Id`, so a retried publish
 *   of the same message is stored once.
 *
 * One writer serialises its own calls; several writers (processes) coordinate through the stream alone.
 */
import { randomUUID } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { isOpenFrontError, openFrontError } from '../../../errors.js';
import { dataEtag } from '../../../kvs/etag.js';
import type { KeyValue } from '../../../kvs/types.js';
import { mapUnavailable, type NatsConnectionHandle } from '../connection.js';
import { encodeKey, JOURNAL_KEY, JOURNAL_PART_PREFIX, journalPartSubject, journalSubject, keySubject, storeBucket, storeStream } from '../key-codec.js';
import {
  decodeJournal,
  encodeJournal,
  JournalAssembler,
  journalOps,
  PART_HEADER,
  PART_TX_HEADER,
  splitJournal,
  type Journal,
  type JournalOp,
} from './journal.js';
import { itemBytes, StoreView, type StreamEntry } from './store-view.js';
import { catchUp, entryOfStored, isStreamNotFound, streamState } from './stream-feed.js';

export interface WriteOptions {
  /** If-Match: the version the caller read. A different current version fails with `KVS_CONFLICT`. */
  expectedVersion?: number;
  /** Access key id (or "local", "config") recorded in the journal. */
  actor: string;
}

export interface DataWriteResult {
  version: number;
  etag: string;
  itemCount: number;
  totalSizeInBytes: number;
  /** Each key the write touched with its value before and after (null = absent), for the audit record. */
  changes: Array<{ key: string; before: string | null; after: string | null }>;
  /** The version the write was applied on (history chains its entries by it). */
  previousVersion: number;
}

export interface StoreDataStatus {
  version: number;
  etag: string;
  itemCount: number;
  totalSizeInBytes: number;
}

export interface OpenWriterOptions {
  /** Stream replicas when the bucket is created (3 on an R3 cluster). */
  replicas?: number;
  /** The store size limit (`KVS_QUOTA_EXCEEDED` beyond it), as `KvsLimits.maxStoreBytes`. */
  maxStoreBytes?: number;
}

/** Conflicts retried by a write without If-Match before it gives up. */
const MAX_ATTEMPTS = 8;
/** Room left in a journal message for its headers (msg id, expected sequence, part place) below `max_payload`. */
const HEADER_ROOM_BYTES = 1024;
/**
 * Materialisation publishes in flight at once. Each publish's timeout runs from when it is sent, so an import of
 * thousands of keys is sent in windows rather than all at once, where the last ones would wait behind the first.
 */
const MATERIALISE_WINDOW = 256;
/** JetStream's "wrong last sequence" API error. */
const WRONG_LAST_SEQUENCE = 10071;

type Edit = { puts: KeyValue[]; deletes: string[]; replace: boolean };

export class StoreDataWriter {
  readonly storeId: string;
  readonly #conn: NatsConnectionHandle;
  readonly #maxStoreBytes: number;
  #view: StoreView;
  #created = '';
  /** Serialises this writer's calls: each one reads and advances `#view`. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(conn: NatsConnectionHandle, storeId: string, options: OpenWriterOptions) {
    this.#conn = conn;
    this.storeId = storeId;
    this.#maxStoreBytes = options.maxStoreBytes ?? Number.MAX_SAFE_INTEGER;
    this.#view = new StoreView(storeId);
  }

  /**
   * The writer of `storeId`'s data, creating its bucket (`history: 1`) when it does not exist yet, then rolling
   * forward any batch a crashed writer left unfinished.
   */
  static async open(conn: NatsConnectionHandle, storeId: string, options: OpenWriterOptions = {}): Promise<StoreDataWriter> {
    conn.assertConnected();
    const writer = new StoreDataWriter(conn, storeId, options);
    try {
      if ((await streamState(conn, storeId)) === undefined) {
        await conn.kvm.create(storeBucket(storeId), { history: 1, replicas: options.replicas ?? 1 });
      }
    } catch (err) {
      throw mapUnavailable(err, conn.url);
    }
    await writer.recover();
    return writer;
  }

  put(key: string, value: string, options: WriteOptions): Promise<DataWriteResult> {
    return this.#write({ puts: [{ key, value }], deletes: [], replace: false }, options);
  }

  delete(key: string, options: WriteOptions): Promise<DataWriteResult> {
    return this.#write({ puts: [], deletes: [key], replace: false }, options);
  }

  /** UpdateKeys: every put and delete becomes visible at once (puts first, then deletes, as the SQLite store). */
  update(change: { puts?: KeyValue[]; deletes?: string[] }, options: WriteOptions): Promise<DataWriteResult> {
    return this.#write({ puts: change.puts ?? [], deletes: change.deletes ?? [], replace: false }, options);
  }

  /** Import in replace mode: the store holds exactly `items` afterwards, atomically. */
  replaceAll(items: KeyValue[], options: WriteOptions): Promise<DataWriteResult> {
    return this.#write({ puts: items, deletes: [], replace: true }, options);
  }

  /** The value of `key` at the current version (undefined when absent). */
  get(key: string): Promise<string | undefined> {
    return this.#serial(async () => {
      await this.#settle();
      return this.#view.get(key);
    });
  }

  /** A page of items in key order after `after` (exclusive), read at one version. */
  list(options: { after?: string; limit: number }): Promise<{ items: KeyValue[]; version: number }> {
    return this.#serial(async () => {
      await this.#settle();
      const keys = this.#view.sortedKeys();
      const start = options.after === undefined ? 0 : firstAfter(keys, options.after);
      const items = keys.slice(start, start + Math.max(0, options.limit)).map((key) => ({ key, value: this.#view.get(key)! }));
      return { items, version: this.#view.version };
    });
  }

  /** Every item at one version (export). */
  all(): Promise<{ items: KeyValue[]; version: number }> {
    return this.#serial(async () => {
      await this.#settle();
      return { items: this.#view.sortedKeys().map((key) => ({ key, value: this.#view.get(key)! })), version: this.#view.version };
    });
  }

  status(): Promise<StoreDataStatus> {
    return this.#serial(async () => {
      await this.#settle();
      return this.#status();
    });
  }

  /**
   * Brings this writer to the stream's current version and rolls forward a batch a crashed writer left unfinished
   * (run at control start and after every conflict). Returns the version, which is then always a whole batch.
   */
  recover(): Promise<number> {
    return this.#serial(async () => {
      await this.#settle();
      return this.#view.version;
    });
  }

  /** Deletes the store's bucket and its data (store deletion). */
  async destroy(): Promise<void> {
    this.#conn.assertConnected();
    try {
      await this.#conn.jsm.streams.delete(storeStream(this.storeId));
    } catch (err) {
      if (!isStreamNotFound(err)) throw mapUnavailable(err, this.#conn.url);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #status(): StoreDataStatus {
    const v = this.#view;
    return { version: v.version, etag: dataEtag(this.storeId, v.version), itemCount: v.itemCount, totalSizeInBytes: v.totalSizeInBytes };
  }

  #write(edit: Edit, options: WriteOptions): Promise<DataWriteResult> {
    return this.#serial(async () => {
      // Fail fast: a JetStream publish while disconnected is lost after a timeout, so none is attempted.
      this.#conn.assertConnected();
      const expected = options.expectedVersion;
      // A batch of ours whose materialisation failed midway is finished before anything lands behind it.
      if ((expected !== undefined && expected !== this.#view.version) || this.#view.unfinishedJournal() !== undefined) await this.#settle();
      for (let attempt = 1; ; attempt++) {
        if (expected !== undefined && expected !== this.#view.version) throw this.#conflict(expected);
        try {
          return await this.#publishEdit(edit, options.actor);
        } catch (err) {
          if (!isWrongLastSequence(err)) throw mapUnavailable(err, this.#conn.url);
          // Another writer moved the stream: catch up (finishing its batch if it died midway), then decide.
          await this.#settle();
          if (expected === undefined && attempt >= MAX_ATTEMPTS) {
            throw openFrontError('KVS_CONFLICT', `Store ${this.storeId}: the write lost ${attempt} races with other writers; retry`, { storeId: this.storeId });
          }
        }
      }
    });
  }

  #conflict(expected: number) {
    return openFrontError(
      'KVS_CONFLICT',
      `Resource is not in expected state: version ${expected} (ETag ${dataEtag(this.storeId, expected)}) is not the current version of the store`,
      { storeId: this.storeId, expectedVersion: expected, version: this.#view.version },
    );
  }

  /** Publishes `edit` at exactly the next sequence after the view's version; throws the raw error on a conflict. */
  async #publishEdit(edit: Edit, actor: string): Promise<DataWriteResult> {
    const view = this.#view;
    const base = view.version;
    const deletes = edit.replace ? this.#replacedKeys(edit.puts) : edit.deletes;
    const changes = this.#changesOf(edit.puts, deletes);
    const after = this.#sizeAfter(changes);
    if (after > this.#maxStoreBytes) {
      throw openFrontError('KVS_QUOTA_EXCEEDED', `The store would hold ${after} bytes; the limit is ${this.#maxStoreBytes} bytes`, {
        storeId: this.storeId,
        totalSizeInBytes: after,
      });
    }
    const ops = edit.puts.length + deletes.length;
    if (ops === 1 && !edit.replace) {
      const op: JournalOp = edit.puts.length === 1 ? { kind: 'put', ...edit.puts[0]! } : { kind: 'delete', key: deletes[0]! };
      await this.#publishOp(op, base, randomUUID());
    } else {
      const journal: Journal = { txid: randomUUID(), puts: edit.puts, deletes, replace: edit.replace, at: new Date().toISOString(), actor };
      await this.#publishJournal(journal, base);
      await this.#materialise(journal, 0);
    }
    const version = view.version;
    return { ...this.#status(), version, etag: dataEtag(this.storeId, version), changes, previousVersion: base };
  }

  /** The keys a replace-mode import removes: every current key it does not put. */
  #replacedKeys(puts: KeyValue[]): string[] {
    const kept = new Set(puts.map((p) => p.key));
    return this.#view.sortedKeys().filter((k) => !kept.has(k));
  }

  #changesOf(puts: KeyValue[], deletes: string[]): DataWriteResult['changes'] {
    const last = new Map<string, string | null>();
    for (const { key, value } of puts) last.set(key, value);
    for (const key of deletes) last.set(key, null);
    const changes: DataWriteResult['changes'] = [];
    for (const [key, value] of last) changes.push({ key, before: this.#view.get(key) ?? null, after: value });
    return changes;
  }

  #sizeAfter(changes: DataWriteResult['changes']): number {
    let total = this.#view.totalSizeInBytes;
    for (const { key, before, after } of changes) {
      if (before !== null) total -= itemBytes(key, before);
      if (after !== null) total += itemBytes(key, after);
    }
    return total;
  }

  /**
   * Publishes the journal at `base` + 1: one message when it fits the server's `max_payload` (as the connection
   * reports it), else consecutive parts whose last one is the commit point (./journal.ts).
   */
  async #publishJournal(journal: Journal, base: number): Promise<void> {
    const data = encodeJournal(journal);
    const partBytes = this.#journalPartBytes();
    if (data.byteLength <= partBytes) {
      const ack = await this.#conn.js.publish(journalSubject(this.storeId), data, {
        expect: { lastSequence: base },
        msgID: journal.txid,
        timeout: this.#conn.timeoutMs,
      });
      this.#applyOwn({ seq: ack.seq, natsKey: JOURNAL_KEY, operation: 'PUT', data, time: new Date() });
      return;
    }
    const parts = splitJournal(data, partBytes);
    const place = (i: number) => {
      const h = natsHeaders();
      h.set(PART_TX_HEADER, journal.txid);
      h.set(PART_HEADER, `${i}/${parts.length}`);
      return h;
    };
    const results = await Promise.allSettled(
      parts.map((part, i) =>
        this.#conn.js.publish(journalPartSubject(this.storeId, i), part, {
          expect: { lastSequence: base + i },
          msgID: `${journal.txid}:p${i}`,
          headers: place(i),
          timeout: this.#conn.timeoutMs,
        }),
      ),
    );
    const failure = results.find((r) => r.status === 'rejected');
    // Parts that landed without the last one are dropped by every reader at the next message: nothing is visible.
    if (failure !== undefined) throw failure.reason;
    parts.forEach((part, i) => {
      const seq = base + 1 + i;
      this.#applyOwn({
        seq,
        natsKey: `${JOURNAL_PART_PREFIX}${i}`,
        operation: 'PUT',
        data: part,
        time: new Date(),
        part: { txid: journal.txid, index: i, count: parts.length },
      });
    });
  }

  /** The largest journal message the server takes, from what it announced on connecting (`max_payload`). */
  #journalPartBytes(): number {
    const max = this.#conn.nc.info?.max_payload;
    if (max === undefined || max <= 0) throw openFrontError('STATE_UNAVAILABLE', `The NATS server at ${this.#conn.url} has not announced its max_payload`);
    return Math.max(1, max - HEADER_ROOM_BYTES);
  }

  /** Publishes ops `from`… of `journal` (whose message is the view's last journal), pipelined, each at its place. */
  async #materialise(journal: Journal, from: number): Promise<void> {
    const t = this.#view.lastJournal!.seq;
    const ops = journalOps(journal);
    const results: Array<PromiseSettledResult<void>> = [];
    for (let start = from; start < ops.length; start += MATERIALISE_WINDOW) {
      const window: Array<Promise<void>> = [];
      for (let i = start; i < Math.min(start + MATERIALISE_WINDOW, ops.length); i++)
        window.push(this.#publishOp(ops[i]!, t + i, `${journal.txid}:${i}`, false));
      const settled = await Promise.allSettled(window);
      results.push(...settled);
      if (settled.some((r) => r.status === 'rejected')) break;
    }
    // Applied in stream order once all are acknowledged (pipelined publishes may be acknowledged in any order).
    const failure = results.find((r) => r.status === 'rejected');
    if (failure !== undefined) {
      if (isWrongLastSequence(failure.reason)) {
        // Another writer's recover() finished this batch first: same messages, same places. Catch up to it.
        await this.#settle();
        if (this.#view.version >= t + ops.length) return;
      }
      throw failure.reason;
    }
    for (let i = from; i < ops.length; i++) this.#applyOwn(this.#entryOfOp(ops[i]!, t + i + 1));
  }

  async #publishOp(op: JournalOp, expectedLast: number, msgID: string, apply = true): Promise<void> {
    const subject = keySubject(this.storeId, op.key);
    const options = { expect: { lastSequence: expectedLast }, msgID, timeout: this.#conn.timeoutMs };
    let ack;
    if (op.kind === 'put') {
      ack = await this.#conn.js.publish(subject, Buffer.from(op.value, 'utf8'), options);
    } else {
      const h = natsHeaders();
      h.set('KV-Operation', 'DEL');
      ack = await this.#conn.js.publish(subject, new Uint8Array(0), { ...options, headers: h });
    }
    if (ack.seq !== expectedLast + 1) {
      throw openFrontError('KVS_INTERNAL', `Store ${this.storeId}: a message expected at ${expectedLast + 1} landed at ${ack.seq}`);
    }
    if (apply) this.#applyOwn(this.#entryOfOp(op, ack.seq));
  }

  #entryOfOp(op: JournalOp, seq: number): StreamEntry {
    return {
      seq,
      natsKey: encodeKey(op.key),
      operation: op.kind === 'put' ? 'PUT' : 'DEL',
      data: op.kind === 'put' ? Buffer.from(op.value, 'utf8') : new Uint8Array(0),
      time: new Date(),
    };
  }

  #applyOwn(entry: StreamEntry): void {
    if (entry.seq !== this.#view.version + 1) {
      throw openFrontError('KVS_INTERNAL', `Store ${this.storeId}: message ${entry.seq} applied on version ${this.#view.version}`);
    }
    this.#view.apply(entry);
  }

  /**
   * Catches the view up with the stream (from scratch when the stream was recreated or went backwards), then rolls
   * forward a batch left unfinished at the tail.
   */
  async #settle(): Promise<void> {
    for (let round = 0; round < MAX_ATTEMPTS; round++) {
      const state = await streamState(this.#conn, this.storeId);
      if (state === undefined)
        throw openFrontError('KVS_NOT_FOUND', `The data of KeyValueStore ${this.storeId} was not found in NATS`, { storeId: this.storeId });
      if (state.created !== this.#created || state.lastSeq < this.#view.version) {
        this.#view = new StoreView(this.storeId);
        this.#created = state.created;
      }
      await catchUp(this.#conn, this.#view, state.lastSeq);
      const unfinished = this.#view.unfinishedJournal();
      if (unfinished === undefined) return;
      const journal = await this.#journalAt(unfinished.seq, unfinished.parts);
      if (journal === undefined) continue; // a newer journal replaced it meanwhile: read the tail again
      this.#conn.assertConnected();
      try {
        await this.#materialise(journal, this.#view.version - unfinished.seq);
        return;
      } catch (err) {
        if (!isWrongLastSequence(err)) throw mapUnavailable(err, this.#conn.url);
      }
    }
    throw openFrontError('KVS_CONFLICT', `Store ${this.storeId}: other writers kept moving the stream while it was being read; retry`, {
      storeId: this.storeId,
    });
  }

  /** The journal whose commit point is at `seq` (a message, or the last of `parts` parts), if it is still there. */
  async #journalAt(seq: number, parts = 1): Promise<Journal | undefined> {
    try {
      if (parts === 1) {
        const stored = await this.#conn.jsm.streams.getMessage(storeStream(this.storeId), { last_by_subj: journalSubject(this.storeId) });
        if (stored === null || stored.seq !== seq) return undefined;
        const entry = entryOfStored(this.storeId, stored);
        return entry === undefined ? undefined : decodeJournal(entry.data);
      }
      const assembler = new JournalAssembler();
      for (let i = 0; i < parts; i++) {
        const stored = await this.#conn.jsm.streams.getMessage(storeStream(this.storeId), { seq: seq - parts + 1 + i });
        const entry = stored === null ? undefined : entryOfStored(this.storeId, stored);
        if (entry?.part === undefined || entry.part.index !== i) return undefined; // replaced by a newer journal meanwhile
        const whole = assembler.accept(entry.seq, entry.part, entry.data);
        if (whole !== undefined) return decodeJournal(whole);
      }
      return undefined;
    } catch (err) {
      if (isMessageNotFound(err)) return undefined;
      throw mapUnavailable(err, this.#conn.url);
    }
  }
}

/** Index of the first key greater than `after` in sorted `keys` (binary search). */
function firstAfter(keys: readonly string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** JetStream's "no message found" API error (a message deleted or replaced under `history: 1`). */
function isMessageNotFound(err: unknown): boolean {
  const e = err as { code?: number | string; message?: string };
  return e?.code === 10037 || e?.code === '404' || /no message found/i.test(String(e?.message));
}

function isWrongLastSequence(err: unknown): boolean {
  if (isOpenFrontError(err)) return false;
  const e = err as { code?: number; message?: string; apiError?: () => { err_code?: number } };
  if (e?.code === WRONG_LAST_SEQUENCE) return true;
  try {
    if (typeof e?.apiError === 'function' && e.apiError().err_code === WRONG_LAST_SEQUENCE) return true;
  } catch {
    // not an API error
  }
  return /wrong last sequence/i.test(String(e?.message));
}
