/** What the pipeline hands to an origin and gets back. */
import { Readable } from 'node:stream';
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
}

export interface OriginResponse {
  status: number;
  statusText: string;
  /** Names lowercase; repeated headers as repeated pairs. */
  headers: Array<[string, string]>;
  /**
   * The body as it arrives: read it with backpressure (pipe it) or destroy it. Never buffered whole here, so a
   * response of any size costs the edge a stream's high-water mark, not its length.
   */
  body: Readable;
}

/** A small body the edge made itself (static-origin errors), as a stream like any origin body. */
export function bodyOf(bytes: Buffer): Readable {
  return Readable.from([bytes], { objectMode: false });
}

/** Releases a body nobody will read (a failed-over primary's, a response replaced by an error). */
export function discardBody(body: Readable): void {
  // Destroying an origin body aborts its request, which the body reports as an error nobody else listens for.
  body.on('error', ignore);
  if (!body.destroyed) body.destroy();
}

function ignore(): void {}

/** Why an origin gave no HTTP response. */
export type OriginFailureReason = 'connect' | 'timeout';

/** An origin gave no HTTP response: EDGE_ORIGIN_CONNECT_ERROR (502) or EDGE_ORIGIN_TIMEOUT (504). */
export function originUnavailable(reason: OriginFailureReason, originId: string, cause?: unknown): OpenFrontError {
  const code = reason === 'timeout' ? 'EDGE_ORIGIN_TIMEOUT' : 'EDGE_ORIGIN_CONNECT_ERROR';
  return new OpenFrontError(code, `origin "${originId}" ${reason === 'timeout' ? 'timed out' : 'could not be reached'}`, { originId, reason }, { cause });
}

/** A body that failed while the edge read it whole (to cache it): the origin's failure, as if no response came. */
export function originBodyFailure(originId: string, err: unknown): OpenFrontError {
  const code = (err as { code?: string }).code;
  return originUnavailable(code === 'UND_ERR_BODY_TIMEOUT' ? 'timeout' : 'connect', originId, err);
}

/** The origin failure `err` reports, or undefined when `err` is something else. */
export function originFailureOf(
  err: unknown,
): { code: 'EDGE_ORIGIN_TIMEOUT' | 'EDGE_ORIGIN_CONNECT_ERROR'; originId: string; reason: OriginFailureReason } | undefined {
  if (!isOpenFrontError(err) || (err.code !== 'EDGE_ORIGIN_TIMEOUT' && err.code !== 'EDGE_ORIGIN_CONNECT_ERROR')) return undefined;
  return { code: err.code, originId: String(err.details.originId), reason: err.code === 'EDGE_ORIGIN_TIMEOUT' ? 'timeout' : 'connect' };
}
