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

function invalid(reason: string) {
  return openFrontError('KVS_INTERNAL', `A batch journal message of the store stream is invalid: ${reason}`);
}
