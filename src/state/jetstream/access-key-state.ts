/**
 * Access keys in the KV bucket `of_access_keys` (docs/fleet.md): key = access key id, value
 * `{accessKeyId, created, revoked?, description?, secretBox}`. The secret is sealed with the key every control
 * process is given (`--secret-key-file` / `OPENFRONT_SECRET_KEY`); no plain secret ever reaches NATS.
 */
import { openFrontError } from '../../errors.js';
import { newAccessKeyCredentials, type SecretBox } from '../../kvs/secret-box.js';
import type { AccessKeyRecord, Actor } from '../../kvs/types.js';
import type { AccessKeyState, AuditState } from '../types.js';
import { ACCESS_KEYS_BUCKET, listKeys, readJson, writeJson, type Buckets, type JetStreamContext } from './buckets.js';

interface AccessKeyJson {
  accessKeyId: string;
  created: string;
  revoked?: string;
  description?: string;
  secretBox: string;
  /** perms (issue 15): the key's permissions; absent = admin. */
  policy?: string[];
}

const LOCAL_ACTOR: Actor = { accessKeyId: 'local' };
/** Attempts of a revoke racing other writes of the same key. */
const MAX_ATTEMPTS = 5;

export class JetStreamAccessKeyState implements AccessKeyState {
  readonly #ctx: JetStreamContext;
  readonly #buckets: Buckets;
  readonly #secrets: SecretBox;
  readonly #audit: AuditState;

  constructor(ctx: JetStreamContext, buckets: Buckets, secrets: SecretBox, audit: AuditState) {
    this.#ctx = ctx;
    this.#buckets = buckets;
    this.#secrets = secrets;
    this.#audit = audit;
  }

  async create(
    description: string | undefined,
    actor: Actor = LOCAL_ACTOR,
    policy?: readonly string[],
  ): Promise<{ accessKeyId: string; secretAccessKey: string }> {
    const kv = await this.#buckets.get(ACCESS_KEYS_BUCKET);
    const credentials = newAccessKeyCredentials();
    const record: AccessKeyJson = {
      accessKeyId: credentials.accessKeyId,
      created: this.#ctx.now().toISOString(),
      ...(description === undefined ? {} : { description }),
      secretBox: this.#secrets.seal(credentials.secretAccessKey, credentials.accessKeyId),
      // One record: the key never exists without the policy that limits it.
      ...(policy === undefined ? {} : { policy: [...policy] }),
    };
    const revision = await writeJson(this.#ctx.conn, kv, credentials.accessKeyId, record, undefined);
    if (revision === undefined) throw openFrontError('INTERNAL', `Access key id ${credentials.accessKeyId} was generated twice`);
    await this.#audit.append({
      accessKeyId: actor.accessKeyId,
      operation: 'CreateAccessKey',
      keys: [],
      changes: [],
      detail: { createdAccessKeyId: credentials.accessKeyId, ...(policy === undefined ? {} : { policy: [...policy] }) },
    });
    return credentials;
  }

  async list(): Promise<AccessKeyRecord[]> {
    const kv = await this.#buckets.get(ACCESS_KEYS_BUCKET);
    const records: AccessKeyRecord[] = [];
    for (const id of await listKeys(this.#ctx.conn, kv)) {
      const found = await readJson<AccessKeyJson>(this.#ctx.conn, kv, id);
      if (found !== undefined) records.push(toRecord(found.value));
    }
    return records.sort((a, b) => a.created.getTime() - b.created.getTime() || (a.accessKeyId < b.accessKeyId ? -1 : 1));
  }

  async revoke(accessKeyId: string, actor: Actor = LOCAL_ACTOR): Promise<void> {
    const kv = await this.#buckets.get(ACCESS_KEYS_BUCKET);
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const found = validId(accessKeyId) ? await readJson<AccessKeyJson>(this.#ctx.conn, kv, accessKeyId) : undefined;
      if (found === undefined) throw openFrontError('NOT_FOUND', `Access key ${accessKeyId} does not exist`, { accessKeyId });
      if (found.value.revoked !== undefined) return;
      const revoked = { ...found.value, revoked: this.#ctx.now().toISOString() };
      if ((await writeJson(this.#ctx.conn, kv, accessKeyId, revoked, found.revision)) === undefined) continue;
      await this.#audit.append({
        accessKeyId: actor.accessKeyId,
        operation: 'RevokeAccessKey',
        keys: [],
        changes: [],
        detail: { revokedAccessKeyId: accessKeyId },
      });
      return;
    }
    throw openFrontError('CF_PRECONDITION_FAILED', `Access key ${accessKeyId} kept changing while it was being revoked; retry`, { accessKeyId });
  }

  async secret(accessKeyId: string): Promise<string | undefined> {
    if (!validId(accessKeyId)) return undefined;
    const kv = await this.#buckets.get(ACCESS_KEYS_BUCKET);
    const found = await readJson<AccessKeyJson>(this.#ctx.conn, kv, accessKeyId);
    if (found === undefined || found.value.revoked !== undefined) return undefined;
    return this.#secrets.open(found.value.secretBox, accessKeyId);
  }

  async lookupPolicy(accessKeyId: string): Promise<{ policy?: readonly string[] } | undefined> {
    if (!validId(accessKeyId)) return undefined;
    const kv = await this.#buckets.get(ACCESS_KEYS_BUCKET);
    const found = await readJson<AccessKeyJson>(this.#ctx.conn, kv, accessKeyId);
    if (found === undefined || found.value.revoked !== undefined) return undefined;
    return found.value.policy === undefined ? {} : { policy: found.value.policy };
  }
}

/** Only ids a NATS key can be: anything else was never issued (and must not reach the server as a subject). */
function validId(accessKeyId: string): boolean {
  return /^[A-Za-z0-9]{1,128}$/.test(accessKeyId);
}

function toRecord(json: AccessKeyJson): AccessKeyRecord {
  const record: AccessKeyRecord = { accessKeyId: json.accessKeyId, created: new Date(json.created) };
  if (json.revoked !== undefined) record.revoked = new Date(json.revoked);
  if (json.description !== undefined) record.description = json.description;
  if (json.policy !== undefined) record.policy = [...json.policy];
  return record;
}
