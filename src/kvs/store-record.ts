/**
 * The one mapping from what a backend keeps about a store (a SQLite row, a JetStream metadata entry with its data
 * stream's state) to the `StoreRecord` the API answers with, so both backends describe a store the same way.
 */
import { dataEtag } from './etag.js';
import type { StoreRecord } from './types.js';

/** A store as a backend keeps it: everything of a record but the data ETag, which derives from `version`. */
export type StoreFields = Omit<StoreRecord, 'etag' | 'failureReason' | 'owner' | 'labels'> & {
  failureReason?: string | undefined;
  owner?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
};

/** Optional fields appear only when set (records compare equal across backends); labels are copied. */
export function storeRecord(fields: StoreFields): StoreRecord {
  const record: StoreRecord = {
    id: fields.id,
    name: fields.name,
    arn: fields.arn,
    comment: fields.comment,
    status: fields.status,
    created: fields.created,
    lastModified: fields.lastModified,
    metadataEtag: fields.metadataEtag,
    version: fields.version,
    etag: dataEtag(fields.id, fields.version),
    itemCount: fields.itemCount,
    totalSizeInBytes: fields.totalSizeInBytes,
  };
  if (fields.failureReason !== undefined) record.failureReason = fields.failureReason;
  if (fields.owner !== undefined) record.owner = fields.owner;
  if (fields.labels !== undefined) record.labels = { ...fields.labels };
  return record;
}
