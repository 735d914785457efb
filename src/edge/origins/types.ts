/** What the pipeline hands to an origin and gets back. */
import type { Readable } from 'node:stream';
import type { CustomOriginConfig, StaticOriginConfig } from '../../config/types.js';
import { isOpenFrontError, OpenFrontError } from '../../errors.js';

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
  /** Stop reading a response body larger than this (EDGE_ORIGIN_RESPONSE_TOO_LARGE); unset: no bound here. */
  maxBodyBytes?: number;
}

export interface OriginResponse {
  status: number;
  statusText: string;
  /** Names lowercase; repeated headers as repeated pairs. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Why an origin gave no HTTP response. */
export type OriginFailureReason = 'connect' | 'timeout';

/** An origin gave no HTTP response: EDGE_ORIGIN_CONNECT_ERROR (502) or EDGE_ORIGIN_TIMEOUT (504). */
export function originUnavailable(reason: OriginFailureReason, originId: string, cause?: unknown): OpenFrontError {
  const code = reason === 'timeout' ? 'EDGE_ORIGIN_TIMEOUT' : 'EDGE_ORIGIN_CONNECT_ERROR';
  return new OpenFrontError(code, `origin "${originId}" ${reason === 'timeout' ? 'timed out' : 'could not be reached'}`, { originId, reason }, { cause });
}

/** The origin failure `err` reports, or undefined when `err` is something else. */
export function originFailureOf(
  err: unknown,
): { code: 'EDGE_ORIGIN_TIMEOUT' | 'EDGE_ORIGIN_CONNECT_ERROR'; originId: string; reason: OriginFailureReason } | undefined {
  if (!isOpenFrontError(err) || (err.code !== 'EDGE_ORIGIN_TIMEOUT' && err.code !== 'EDGE_ORIGIN_CONNECT_ERROR')) return undefined;
  return { code: err.code, originId: String(err.details.originId), reason: err.code === 'EDGE_ORIGIN_TIMEOUT' ? 'timeout' : 'connect' };
}

/** A response body went past the request's `maxBodyBytes`: EDGE_ORIGIN_RESPONSE_TOO_LARGE. */
export function tooLarge(originId: string, maxBodyBytes: number): OpenFrontError {
  return new OpenFrontError('EDGE_ORIGIN_RESPONSE_TOO_LARGE', `origin "${originId}" sent a body larger than ${maxBodyBytes} bytes`, { originId, maxBodyBytes });
}
