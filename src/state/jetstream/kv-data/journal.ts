/**
 * The atomic batch journal of a store's stream (docs/fleet-edge.md, "A store's data in JetStream"). JetStream 2.9 has no atomic
 * multi-message publish, so a batch is one journal message on `$KV.ofkv_<id>._tx` — the commit point, published
 * with the expected last sequence V and landing at T = V + 1 — followed by its ops materialised one message each,
 * op i published with the expected last sequence T + i. Every message names the exact stream position it must land
 * at, so nothing can interleave: the batch is contiguous in the stream, and a batch whose writer died is recognised
 * from the stream tail (T + ops < last sequence is impossible; T + ops > last sequence means unfinished) and rolled
 * forward from the journal by the next writer.
 *
 * Readers apply the journal message as a whole; the materialisation messages after it rewrite the same values.
 *
 * A journal bigger than one NATS message (the server's `max_payload`, 1 MiB by default; an import of a 5 MB store)
 * is published as consecutive parts on `$KV.ofkv_<id>._txp.<i>`, each naming its batch and place
 * (`Openfront-Tx`, `Openfront-Part: i/count`), each at its exact stream position like the ops. The last part is then
 * the commit point: readers keep the parts aside and apply the batch only once they hold all of them in a row; parts
 * that are not followed by the rest (their writer died between parts) are dropped by the next message, so the batch
 * is nowhere. The version moves over each part, but the data only with the last one.
 */
import { openFrontError } from '../../../errors.js';
import type { KeyValue } from '../../../kvs/types.js';

export interface Journal {
  txid: string;
  puts: KeyValue[];
  deletes: string[];
  /** Import in replace mode: the store is cleared first. `deletes` then lists every old key the puts do not keep. */
  replace: boolean;
  /** ISO date of the write. */
  at: string;
  /** Access key id (or "local", "config") of the writer. */
  actor: string;
}

/** One materialisation message: op i of a journal, in the order puts then deletes. */
export type JournalOp = { kind: 'put'; key: string; value: string } | { kind: 'delete'; key: string };

/** The ops a journal materialises, in stream order. */
export function journalOps(journal: Journal): JournalOp[] {
  return [
    ...journal.puts.map(({ key, value }): JournalOp => ({ kind: 'put', key, value })),
    ...journal.deletes.map((key): JournalOp => ({ kind: 'delete', key })),
  ];
}

/** How many messages follow the journal message. */
export function journalOpCount(journal: Pick<Journal, 'puts' | 'deletes'>): number {
  return journal.puts.length + journal.deletes.length;
}

export function encodeJournal(journal: Journal): Uint8Array {
  return Buffer.from(JSON.stringify(journal), 'utf8');
}

/** Parses a journal message; throws `KVS_INTERNAL` for anything that is not one (a foreign writer, corruption). */
export function decodeJournal(data: Uint8Array): Journal {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    throw invalid('it is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid('it is not an object');
  const j = parsed as Record<string, unknown>;
  if (typeof j.txid !== 'string') throw invalid('txid is missing');
  if (!Array.isArray(j.puts) || !j.puts.every((p) => typeof p === 'object' && p !== null && typeof p.key === 'string' && typeof p.value === 'string')) {
    throw invalid('puts is not a list of {key, value}');
  }
  if (!Array.isArray(j.deletes) || !j.deletes.every((d) => typeof d === 'string')) throw invalid('deletes is not a list of keys');
  return {
    txid: j.txid,
    puts: (j.puts as KeyValue[]).map(({ key, value }) => ({ key, value })),
    deletes: j.deletes as string[],
    replace: j.replace === true,
    at: typeof j.at === 'string' ? j.at : new Date(0).toISOString(),
    actor: typeof j.actor === 'string' ? j.actor : '',
  };
}

/** Headers of a journal part message. */
export const PART_TX_HEADER = 'Openfront-Tx';
export const PART_HEADER = 'Openfront-Part';

/** Where a part message sits in its journal. */
export interface JournalPart {
  txid: string;
  index: number;
  count: number;
}

/** The encoded journal cut into pieces of at most `partBytes` bytes (views into `data`, no copies). */
export function splitJournal(data: Uint8Array, partBytes: number): Uint8Array[] {
  if (!(partBytes > 0)) throw openFrontError('INTERNAL', `journal part size must be positive, got ${partBytes}`);
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.byteLength; at += partBytes) parts.push(data.subarray(at, Math.min(at + partBytes, data.byteLength)));
  return parts;
}

/** The part a message's headers describe, or undefined when they do not describe one. */
export function parsePart(txid: string | undefined, place: string | undefined): JournalPart | undefined {
  const m = place === undefined ? null : /^(\d{1,9})\/(\d{1,9})$/.exec(place);
  if (txid === undefined || txid === '' || m === null) return undefined;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return index < count ? { txid, index, count } : undefined;
}

/**
 * Collects the parts of one journal as they arrive in stream order and hands back the whole journal with its last
 * part. Anything out of line (another batch's part, a gap in the sequence, a message that is not a part) drops what
 * was collected: the parts of a batch are consecutive in the stream, so a hole means its writer died.
 */
export class JournalAssembler {
  #txid = '';
  #count = 0;
  #lastSeq = 0;
  #firstSeq = 0;
  #pieces: Buffer[] = [];

  /** The sequence of the first part collected, while a batch is incomplete. */
  get pendingSince(): number | undefined {
    return this.#pieces.length > 0 ? this.#firstSeq : undefined;
  }

  /** Takes part `part` found at `seq`; returns the journal's bytes when this was its last part. */
  accept(seq: number, part: JournalPart, data: Uint8Array): Uint8Array | undefined {
    if (part.index === 0) {
      this.reset();
      this.#txid = part.txid;
      this.#count = part.count;
      this.#firstSeq = seq;
    } else if (this.#pieces.length !== part.index || part.txid !== this.#txid || part.count !== this.#count || seq !== this.#lastSeq + 1) {
      this.reset();
      return undefined;
    }
    // A consumed message's data is a view into the client's socket buffer: keep a copy.
    this.#pieces.push(Buffer.from(data));
    this.#lastSeq = seq;
    if (this.#pieces.length < this.#count) return undefined;
    const whole = Buffer.concat(this.#pieces);
    this.reset();
    return whole;
  }

  reset(): void {
    this.#pieces = [];
    this.#txid = '';
    this.#count = 0;
  }
}

function invalid(reason: string) {
  return openFrontError('KVS_INTERNAL', `A batch journal message of the store stream is invalid: ${reason}`);
}
