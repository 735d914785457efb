/**
 * ETags of a KeyValueStore. Both are opaque to clients but deterministic here, so that any node (and a restarted
 * node) derives the same ETag from the same committed state without storing it.
 */
import { createHash } from 'node:crypto';

/** 13 base-36 digits hold 36^13 ≈ 1.7e20 > 2^64, so a 64-bit digest prefix always fits. */
function alphanumericDigest(input: string, length: number): string {
  const digest = createHash('sha256').update(input).digest();
  const n = digest.readBigUInt64BE(0);
  return n.toString(36).toUpperCase().padStart(13, '0').slice(-length);
}

/** Data-plane ETag: "KV" + 13 upper-case alphanumerics from (store id, data version). */
export function dataEtag(storeId: string, version: number): string {
  return `KV${alphanumericDigest(`data:${storeId}:${version}`, 13)}`;
}

/** Control-plane ETag: "ETV" + 10 upper-case alphanumerics from (store id, metadata version), like "ETVPDKIKX0DER". */
export function metadataEtag(storeId: string, metadataVersion: number): string {
  return `ETV${alphanumericDigest(`meta:${storeId}:${metadataVersion}`, 10)}`;
}
