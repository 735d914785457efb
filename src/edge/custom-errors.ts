/**
 * CloudFront's custom error responses for one distribution (docs/edge.md, "Custom error responses and error
 * caching"): per error status, the page served instead (fetched through the behavior whose path pattern matches it)
 * with its response code, and how long the origin's error is cached (ErrorCachingMinTTL).
 */
import type { CustomErrorResponseConfig } from '../config/types.js';
import { ERROR_CACHING_TTL_SECONDS } from './cache/freshness.js';

/**
 * Largest custom error page the edge serves, in bytes. CloudFront documents none; an error page is a small document,
 * and this bounds what one error can cost: a bigger page is not read past this size and the viewer gets the
 * original error instead.
 */
export const MAX_ERROR_PAGE_BYTES = 1024 * 1024;

export interface ErrorPageRule {
  /** Path of the page, fetched with GET through the distribution's behaviors. */
  path: string;
  /** The status the viewer gets with the page. */
  responseCode: number;
}

export class CustomErrorResponses {
  readonly #byCode = new Map<number, CustomErrorResponseConfig>();

  constructor(entries: readonly CustomErrorResponseConfig[] = []) {
    for (const entry of entries) this.#byCode.set(entry.errorCode, entry);
  }

  /** The page to serve for `status`, or undefined when the distribution has none for it. */
  page(status: number): ErrorPageRule | undefined {
    const entry = this.#byCode.get(status);
    if (entry?.responsePagePath === undefined || entry.responseCode === undefined) return undefined;
    return { path: entry.responsePagePath, responseCode: entry.responseCode };
  }

  /** Seconds an origin error with `status` is cached at least (CloudFront's ErrorCachingMinTTL, default 10). */
  errorCachingMinTtl(status: number): number {
    return this.#byCode.get(status)?.errorCachingMinTtl ?? ERROR_CACHING_TTL_SECONDS;
  }
}
