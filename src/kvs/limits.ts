/**
 * KeyValueStore limits. `DEFAULT_KVS_LIMITS` matches CloudFront (CloudFront Developer Guide, KeyValueStore quotas; docs/kvs-storage.md); `UNLIMITED_KVS_LIMITS` is the documented
 * opt-out for self-hosting (docs/kvs-storage.md, "Limits").
 */
import type { KvsLimits } from './types.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const DEFAULT_KVS_LIMITS: Readonly<KvsLimits> = Object.freeze({
  /** CloudFront quota table: "Key size: 512 bytes". Enforced on UTF-8 bytes, not characters. */
  maxKeyBytes: 512,
  /** CloudFront quota table: "Value size: 1 KB". */
  maxValueBytes: 1024,
  /** CloudFront: "Maximum size of a key value store: 5 MB" (counted as the sum of key + value bytes). */
  maxStoreBytes: 5 * MiB,
  /** UpdateKeys: 50 keys or 3 MB, whichever comes first. */
  maxKeysPerUpdate: 50,
  maxUpdatePayloadBytes: 3 * MiB,
  /** ListKeys `MaxResults` is 1–50, default 10 (API model). */
  maxListResults: 50,
  defaultListResults: 10,
  /** 50 stores per account (adjustable at AWS; a config switch here). */
  maxStoresPerAccount: 50,
  maxFunctionsPerStore: 10,
  /** Import file (S3 object) size: 5 MB. */
  maxImportFileBytes: 5 * MiB,
});

/**
 * Limits for self-hosting without CloudFront's quotas. Store and import sizes are effectively unbounded (SQLite and
 * memory are the limit). Keys stay ≤ 1024 bytes because the data-plane API model caps `Key` at 1024 characters, so
 * official SDKs keep working; values may be 1 MiB; one UpdateKeys may touch 10 000 keys; ListKeys pages may hold
 * 1000 items while the default page stays at CloudFront's 10.
 */
export const UNLIMITED_KVS_LIMITS: Readonly<KvsLimits> = Object.freeze({
  maxKeyBytes: 1024,
  maxValueBytes: MiB,
  maxStoreBytes: Number.MAX_SAFE_INTEGER,
  maxKeysPerUpdate: 10_000,
  maxUpdatePayloadBytes: 256 * MiB,
  maxListResults: 1000,
  defaultListResults: 10,
  maxStoresPerAccount: 100_000,
  maxFunctionsPerStore: 1000,
  maxImportFileBytes: Number.MAX_SAFE_INTEGER,
});
