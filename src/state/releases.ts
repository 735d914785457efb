/**
 * Releases as every state backend keeps them (docs/safe-changes.md#releases): function versions and store changes
 * that go LIVE together and are rolled back together. The control plane validates a release and records the ETags it
 * was prepared against (`control/releases.ts`); a backend applies it as one atomic change and refuses it, writing
 * nothing, when any of those ETags moved.
 */
import type { ChangeSet, StoreChange } from '../kvs/change-set.js';
import type { RuntimeVersion } from '../runtime/event.js';

export const RELEASE_STATUSES = ['created', 'applied', 'rolled-back', 'failed'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** Functions one release may move; a release is one deliberate change, not a fleet-wide migration. */
export const MAX_RELEASE_FUNCTIONS = 10;
/** Characters of a release's description. */
export const MAX_RELEASE_DESCRIPTION = 1024;

/** One function of a release: new code (a new version, then LIVE) or an existing version made LIVE. */
export interface ReleaseFunction {
  name: string;
  /** New code; written as a new version with the config of the DEVELOPMENT version (runtime, store association). */
  code?: string;
  /** An existing version to point LIVE at. Exactly one of `code` and `version`. */
  version?: number;
  /** For new code: the runtime to write it with (default: DEVELOPMENT's). */
  runtime?: RuntimeVersion;
  /** For new code: the store to associate, by name; null removes the association (default: DEVELOPMENT's). */
  store?: string | null;
}

/** The ETags a release was prepared against: applying it refuses when any of them moved. */
export interface ReleaseExpectations {
  /** Data ETag of every store the change set touches, by store name. */
  stores: Record<string, string>;
  /** By function name: the LIVE ETag, and the DEVELOPMENT ETag when the release writes new code. */
  functions: Record<string, { live: string; development?: string }>;
}

/** What a function part did when applied (or undid when rolled back). */
export interface ReleaseFunctionResult {
  name: string;
  /** The version LIVE pointed at before. */
  previousVersion: number;
  /** The version LIVE points at after. */
  version: number;
}

/** What a store part did: the data version before and after, and the ETag after. */
export interface ReleaseStoreResult {
  versionBefore: number;
  version: number;
  etag: string;
}

export interface ReleaseOutcome {
  at: Date;
  by: string;
  functions: ReleaseFunctionResult[];
  stores: Record<string, ReleaseStoreResult>;
}

export interface ReleaseRecord {
  /** "rel-" + 12 lower-case alphanumerics. */
  id: string;
  description: string;
  status: ReleaseStatus;
  functions: ReleaseFunction[];
  changes: ChangeSet;
  expected: ReleaseExpectations;
  createdBy: string;
  created: Date;
  applied?: ReleaseOutcome;
  /**
   * Computed when applied: the change set that restores what the release changed (previous values; keys it added
   * are deleted). Rollback writes it as new, audited writes.
   */
  undo?: ChangeSet;
  rolledBack?: ReleaseOutcome;
  /** Why applying failed (status `failed`): the error's code and message. Nothing was written. */
  error?: { code: string; message: string };
}

/** What `ReleaseState.create` stores (the control plane has validated it). */
export type NewRelease = Pick<ReleaseRecord, 'description' | 'functions' | 'changes' | 'expected'>;

/** The store parts of a change set, in a stable (name) order. */
export function storeParts(changes: ChangeSet): Array<[string, StoreChange]> {
  return Object.entries(changes.stores).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The JSON form a backend stores and the API answers: times as ISO-8601. */
export type ReleaseJson = Omit<ReleaseRecord, 'created' | 'applied' | 'rolledBack'> & {
  created: string;
  applied?: Omit<ReleaseOutcome, 'at'> & { at: string };
  rolledBack?: Omit<ReleaseOutcome, 'at'> & { at: string };
};

function outcomeJson(outcome: ReleaseOutcome): Omit<ReleaseOutcome, 'at'> & { at: string } {
  return { ...outcome, at: outcome.at.toISOString() };
}

export function releaseToJson(release: ReleaseRecord): ReleaseJson {
  const { created, applied, rolledBack, ...rest } = release;
  return {
    ...rest,
    created: created.toISOString(),
    ...(applied ? { applied: outcomeJson(applied) } : {}),
    ...(rolledBack ? { rolledBack: outcomeJson(rolledBack) } : {}),
  };
}

export function releaseFromJson(json: ReleaseJson): ReleaseRecord {
  const { created, applied, rolledBack, ...rest } = json;
  return {
    ...rest,
    created: new Date(created),
    ...(applied ? { applied: { ...applied, at: new Date(applied.at) } } : {}),
    ...(rolledBack ? { rolledBack: { ...rolledBack, at: new Date(rolledBack.at) } } : {}),
  };
}

const RELEASE_ID = /^rel-[a-z0-9]{12}$/;

export function isReleaseId(text: string): boolean {
  return RELEASE_ID.test(text);
}
