/** What the pipeline hands to an origin and gets back. */
import type { Readable } from 'node:stream';
import type { CustomOriginConfig, StaticOriginConfig } from '../../config/types.js';

/** A custom origin after the viewer-request function's origin change (if any) was applied. */
export interface ResolvedCustomOrigin extends CustomOriginConfig {
  /** Host header sent to the origin. */
  hostHeader: string;
}

export type ResolvedOrigin = ResolvedCustomOrigin | StaticOriginConfig;

/** Where a request goes: one origin, or a primary/secondary pair with the statuses that trigger failover. */
export interface OriginPlan {
  primary: ResolvedOrigin;
  secondary?: ResolvedOrigin;
  failoverStatusCodes: readonly number[];
}

export interface OriginRequest {
  method: string;
  /** path + ?query, before the origin path is prefixed. */
  target: string;
  /** Headers to send, hop-by-hop removed; Host is set by the origin client. */
  headers: Array<[string, string]>;
  body?: Readable;
}

export interface OriginResponse {
  status: number;
  statusText: string;
  /** Names lowercase; repeated headers as repeated pairs. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Why an origin gave no HTTP response: `connect` → 502, `timeout` → 504. */
export class OriginUnavailableError extends Error {
  constructor(
    readonly reason: 'connect' | 'timeout',
    readonly originId: string,
    options?: ErrorOptions,
  ) {
    super(`origin "${originId}" ${reason === 'timeout' ? 'timed out' : 'could not be reached'}`, options);
    this.name = 'OriginUnavailableError';
  }
}
