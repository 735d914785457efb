/**
 * Store history in JetStream (docs/architecture.md, "Store history"): the stream `OF_HISTORY`, one subject per store
 * (`of.history.<storeId>`), one JSON message per data write — or several parts when its changes are larger than a
 * NATS message allows. The control process that made a write appends its entry right after the data write (as it
 * appends the audit record: JetStream has no transaction across two streams), with a `Nats-Msg-Id` per part so a
 * retried publish is stored once.
 *
 * Retention is the policy's AND rule (older than `maxAgeDays` and not among the newest `minVersions`), which
 * JetStream's stream limits cannot say (their max-age and per-subject limits each drop on their own), so compaction
 * purges a store's subject up to the first message still kept: every {@link COMPACT_EVERY} appends of a process,
 * and on {@link HistoryStream.compact}.
 *
 * A control process killed between a data write and its entry leaves a gap; reads as of a version across it are
 * refused (KVS_VERSION_EXPIRED names the oldest version still reachable), never answered wrong.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { retentionCutoff, type HistoryChange, type HistoryEntry, type HistoryRetention } from '../../kvs/history.js';
import { natsCall, type JetStreamContext } from './buckets.js';

export const HISTORY_STREAM = 'OF_HISTORY';
export const HISTORY_SUBJECTS = 'of.history.>';
/** A process compacts a store's history after this many of its own appends to it. */
export const COMPACT_EVERY = 100;
/** Bytes of changes per message part: well under NATS's default 1 MiB max_payload. */
const PART_BYTES = 256 * 1024;
/** Reading a store's history must not hang a request. */
const READ_TIMEOUT_MS = 30_000;

interface PartJson {
  version: number;
  prevVersion: number;
  at: string;
  accessKeyId: string;
  operation: string;
  part: number;
  parts: number;
  changes: HistoryChange[];
}

export function historySubject(storeId: string): string {
  return `of.history.${storeId}`;
}

export class HistoryStream {
  readonly retention: HistoryRetention;
  readonly #ctx: JetStreamContext;
  readonly #appends = new Map<string, number>();
  readonly #compacting = new Map<string, Promise<number>>();
  #ready: Promise<void> | undefined;

  constructor(ctx: JetStreamContext, retention: HistoryRetention) {
    this.#ctx = ctx;
    this.retention = retention;
  }

  async append(storeId: string, entry: HistoryEntry): Promise<void> {
    await this.#ensureStream();
    const { conn } = this.#ctx;
    const parts = splitChanges(entry.changes);
    for (const [part, changes] of parts.entries()) {
      const json: PartJson = {
        version: entry.version,
        prevVersion: entry.prevVersion,
        at: entry.at.toISOString(),
        accessKeyId: entry.accessKeyId,
        operation: entry.operation,
        part,
        parts: parts.length,
        changes,
      };
      await natsCall(conn, () =>
        conn.js.publish(historySubject(storeId), JSON.stringify(json), { msgID: `${storeId}:${entry.version}:${part}`, timeout: conn.timeoutMs }),
      );
    }
    const count = (this.#appends.get(storeId) ?? 0) + 1;
    this.#appends.set(storeId, count);
    if (count % COMPACT_EVERY === 0) {
      this.compact(storeId).catch((err: unknown) => process.emitWarning(err instanceof Error ? err : String(err), 'OpenFrontHistoryWarning'));
    }
  }

  /** Every complete entry of the store, newest first (an entry missing a part is left out: a gap). */
  async entries(storeId: string): Promise<HistoryEntry[]> {
    return (await this.#read(storeId)).map((e) => e.entry);
  }

  /** Purges what the retention allows; one compaction per store at a time. Returns how many entries went. */
  compact(storeId: string): Promise<number> {
    let running = this.#compacting.get(storeId);
    if (running === undefined) {
      running = this.#compact(storeId).finally(() => this.#compacting.delete(storeId));
      this.#compacting.set(storeId, running);
    }
    return running;
  }

  /** Store deletion: its history goes with it. */
  async purge(storeId: string): Promise<void> {
    await this.#ensureStream();
    const { conn } = this.#ctx;
    await natsCall(conn, () => conn.jsm.streams.purge(HISTORY_STREAM, { filter: historySubject(storeId) }));
  }

  async #compact(storeId: string): Promise<number> {
    const read = await this.#read(storeId);
    const cutoff = retentionCutoff(this.retention, this.#ctx.now());
    const kept = read.filter((e, index) => index < this.retention.minVersions || e.entry.at.getTime() >= cutoff);
    const dropped = read.length - kept.length;
    if (dropped === 0) return 0;
    // Purge below the first message of what is kept: entries appended out of order may outlive their turn, harmless.
    const purgeSeq = kept.length === 0 ? Math.max(...read.map((e) => e.lastSeq)) + 1 : Math.min(...kept.map((e) => e.firstSeq));
    const { conn } = this.#ctx;
    await natsCall(conn, () => conn.jsm.streams.purge(HISTORY_STREAM, { filter: historySubject(storeId), seq: purgeSeq }));
    return dropped;
  }

  /** Complete entries with the stream sequences of their parts, newest version first. */
  async #read(storeId: string): Promise<Array<{ entry: HistoryEntry; firstSeq: number; lastSeq: number }>> {
    await this.#ensureStream();
    const { conn } = this.#ctx;
    const subject = historySubject(storeId);
    const last = await natsCall(conn, () => conn.jsm.streams.getMessage(HISTORY_STREAM, { last_by_subj: subject }).catch(notFoundAsNull));
    if (last === null || last === undefined) return [];
    const byVersion = new Map<number, { json: PartJson; changes: HistoryChange[][]; seen: number; firstSeq: number; lastSeq: number }>();
    await natsCall(conn, async () => {
      const consumer = await conn.js.consumers.get(HISTORY_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
      const messages = await consumer.consume({ max_messages: 500 });
      const timer = setTimeout(() => messages.stop(), READ_TIMEOUT_MS);
      try {
        for await (const m of messages) {
          const json = m.json<PartJson>();
          let slot = byVersion.get(json.version);
          if (slot === undefined || slot.json.parts !== json.parts) {
            slot = { json, changes: new Array<HistoryChange[]>(json.parts), seen: 0, firstSeq: m.seq, lastSeq: m.seq };
            byVersion.set(json.version, slot);
          }
          if (slot.changes[json.part] === undefined) slot.seen += 1;
          slot.changes[json.part] = json.changes;
          slot.lastSeq = Math.max(slot.lastSeq, m.seq);
          if (m.seq >= last.seq) break;
        }
      } finally {
        clearTimeout(timer);
        messages.stop();
      }
    });
    const complete = [...byVersion.values()].filter((slot) => slot.seen === slot.json.parts);
    return complete
      .map(({ json, changes, firstSeq, lastSeq }) => ({
        entry: {
          version: json.version,
          prevVersion: json.prevVersion,
          at: new Date(json.at),
          accessKeyId: json.accessKeyId,
          operation: json.operation,
          changes: changes.flat(),
        },
        firstSeq,
        lastSeq,
      }))
      .sort((a, b) => b.entry.version - a.entry.version);
  }

  #ensureStream(): Promise<void> {
    this.#ready ??= natsCall(this.#ctx.conn, async () => {
      const { jsm } = this.#ctx.conn;
      try {
        await jsm.streams.info(HISTORY_STREAM);
      } catch {
        try {
          await jsm.streams.add({ name: HISTORY_STREAM, subjects: [HISTORY_SUBJECTS], num_replicas: this.#ctx.replicas });
        } catch (err) {
          // Another control process created it between the two calls.
          await jsm.streams.info(HISTORY_STREAM).catch(() => {
            throw err;
          });
        }
      }
    }).catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }
}

/** Changes in parts of at most {@link PART_BYTES} (a single larger change gets a part of its own). */
function splitChanges(changes: readonly HistoryChange[]): HistoryChange[][] {
  const parts: HistoryChange[][] = [[]];
  let bytes = 0;
  for (const change of changes) {
    const size = Buffer.byteLength(change.key) + Buffer.byteLength(change.before ?? '') + Buffer.byteLength(change.after ?? '') + 64;
    if (bytes + size > PART_BYTES && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      bytes = 0;
    }
    parts[parts.length - 1]!.push(change);
    bytes += size;
  }
  return parts;
}

/** A direct get of a subject with no message answers "no message found": no history yet. */
function notFoundAsNull(err: unknown): null {
  const e = err as { code?: number | string; message?: string };
  if (e?.code === 10037 || e?.code === 404 || e?.code === '404' || /no message found/i.test(String(e?.message))) return null;
  throw err;
}
