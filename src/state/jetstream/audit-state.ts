/**
 * The audit log as the stream `OF_AUDIT` (docs/fleet.md): one JSON record per message on `of.audit.<operation>`,
 * its id the stream sequence. Records are appended after the write they describe has committed (JetStream has no
 * transaction spanning the two); a query reads the newest part of the stream and filters it here.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { openFrontError } from '../../errors.js';
import { DEFAULT_AUDIT_LIMIT } from '../audit.js';
import type { AuditQuery, AuditRecord, NewAuditRecord } from '../../observe/audit.js';
import type { AuditState } from '../types.js';
import { AUDIT_STREAM, AUDIT_SUBJECTS, natsCall, type JetStreamContext } from './buckets.js';

/** The newest records a query looks through: filters narrower than this window may find fewer than their limit. */
export const AUDIT_SCAN_WINDOW = 10_000;

type AuditJson = Omit<AuditRecord, 'id' | 'at'> & { at: string };

/** NATS's default max_payload, for a connection that has not announced one yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room left below max_payload for the message's headers and subject. */
const HEADER_ROOM = 4096;

/**
 * The record as one message: a write of thousands of keys (a 5 MB import) has before→after values far beyond one
 * message. Such a record keeps its first changes and keys and says how many there were (`detail.changesTotal`,
 * `detail.keysTotal`); every value of the write stays in the store's history (`OF_HISTORY`, docs/safe-changes.md).
 */
function fitToMessage(json: AuditJson, maxBytes: number): string {
  let text = JSON.stringify(json);
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let keep = json.changes.length;
  let keepKeys = json.keys.length;
  while (Buffer.byteLength(text) > maxBytes && (keep > 0 || keepKeys > 0)) {
    keep = Math.floor(keep / 2);
    keepKeys = Math.floor(keepKeys / 2);
    const detail = { ...json.detail, changesTotal: json.changes.length, keysTotal: json.keys.length };
    text = JSON.stringify({ ...json, changes: json.changes.slice(0, keep), keys: json.keys.slice(0, keepKeys), detail });
  }
  return text;
}

export class JetStreamAuditState implements AuditState {
  readonly #ctx: JetStreamContext;
  #ready: Promise<void> | undefined;
  readonly #enrichers: Array<(record: NewAuditRecord) => Promise<Record<string, unknown> | undefined>> = [];

  constructor(ctx: JetStreamContext) {
    this.#ctx = ctx;
  }

  /**
   * perms (issue 15): `enrich` may add fields to the detail of each record appended from now on (the owner and
   * labels of the store or function written).
   */
  addEnricher(enrich: (record: NewAuditRecord) => Promise<Record<string, unknown> | undefined>): void {
    this.#enrichers.push(enrich);
  }

  async append(record: NewAuditRecord): Promise<void> {
    for (const enrich of this.#enrichers) {
      const extra = await enrich(record);
      if (extra !== undefined) record = { ...record, detail: { ...record.detail, ...extra } };
    }
    await this.#ensureStream();
    const { conn } = this.#ctx;
    const text = fitToMessage({ ...record, at: this.#ctx.now().toISOString() }, (conn.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD) - HEADER_ROOM);
    await natsCall(conn, () => conn.js.publish(`of.audit.${subjectToken(record.operation)}`, text, { timeout: conn.timeoutMs }));
  }

  async list(query: AuditQuery = {}): Promise<AuditRecord[]> {
    const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw openFrontError('INPUT_INVALID', `Audit query limit must be a positive integer, got ${limit}`);
    await this.#ensureStream();
    const { conn } = this.#ctx;
    const info = await natsCall(conn, () => conn.jsm.streams.info(AUDIT_STREAM));
    const last = info.state.last_seq;
    if (info.state.messages === 0 || last === 0) return [];
    const first = Math.max(info.state.first_seq, last - AUDIT_SCAN_WINDOW + 1);
    const matched: AuditRecord[] = [];
    await natsCall(conn, async () => {
      const consumer = await conn.js.consumers.get(AUDIT_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: first });
      const messages = await consumer.consume({ max_messages: 500 });
      try {
        for await (const m of messages) {
          const record = toRecord(m.seq, m.json<AuditJson>());
          if (matches(record, query)) matched.push(record);
          if (m.seq >= last) break;
        }
      } finally {
        messages.stop();
      }
    });
    return matched.reverse().slice(0, limit);
  }

  #ensureStream(): Promise<void> {
    this.#ready ??= natsCall(this.#ctx.conn, async () => {
      const { jsm } = this.#ctx.conn;
      try {
        await jsm.streams.info(AUDIT_STREAM);
      } catch {
        try {
          await jsm.streams.add({ name: AUDIT_STREAM, subjects: [AUDIT_SUBJECTS], num_replicas: this.#ctx.replicas });
        } catch (err) {
          // Another control process created it between the two calls.
          await jsm.streams.info(AUDIT_STREAM).catch(() => {
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

/** Operations are identifiers; anything else would split or widen the subject. */
function subjectToken(operation: string): string {
  return /^[A-Za-z0-9_-]{1,64}$/.test(operation) ? operation : 'Other';
}

function toRecord(seq: number, json: AuditJson): AuditRecord {
  const { at, ...rest } = json;
  return { ...rest, id: seq, at: new Date(at) };
}

function matches(record: AuditRecord, query: AuditQuery): boolean {
  if (query.storeId !== undefined && record.storeId !== query.storeId) return false;
  if (query.storeName !== undefined && record.storeName !== query.storeName) return false;
  if (query.accessKeyId !== undefined && record.accessKeyId !== query.accessKeyId) return false;
  if (query.since !== undefined && record.at.getTime() < query.since.getTime()) return false;
  if (query.until !== undefined && record.at.getTime() >= query.until.getTime()) return false;
  if (query.key !== undefined && !record.keys.includes(query.key)) return false;
  return true;
}
