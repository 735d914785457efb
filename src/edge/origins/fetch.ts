/** Sends a request along an origin plan: primary first, the secondary on a listed status or no response. */
import { CustomOriginClient } from './custom.js';
import { fetchStatic } from './static.js';
import { discardBody, originFailureOf, type OriginPlan, type OriginRequest, type OriginResponse, type ResolvedOrigin } from './types.js';

export interface OriginAttempt {
  originId: string;
  status?: number;
  error?: 'connect' | 'timeout';
}

export interface OriginOutcome {
  response: OriginResponse;
  /** The origin that produced `response`. */
  origin: ResolvedOrigin;
  attempts: OriginAttempt[];
}

/** CloudFront fails over only for requests it can safely repeat. */
const FAILOVER_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class OriginFetcher {
  readonly #custom = new CustomOriginClient();

  /** Resolves with the final response, or rejects with the last origin's failure (EDGE_ORIGIN_CONNECT_ERROR / _TIMEOUT). */
  async fetch(plan: OriginPlan, request: OriginRequest): Promise<OriginOutcome> {
    const attempts: OriginAttempt[] = [];
    const canFailOver = plan.secondary !== undefined && FAILOVER_METHODS.has(request.method);
    try {
      const response = await this.#fetchOne(plan.primary, request);
      attempts.push({ originId: plan.primary.id, status: response.status });
      if (!canFailOver || !plan.failoverStatusCodes.includes(response.status)) return { response, origin: plan.primary, attempts };
      discardBody(response.body);
    } catch (err) {
      const failure = originFailureOf(err);
      if (failure === undefined) throw err;
      attempts.push({ originId: plan.primary.id, error: failure.reason });
      if (!canFailOver) throw err;
    }
    const secondary = plan.secondary!;
    try {
      const response = await this.#fetchOne(secondary, request);
      attempts.push({ originId: secondary.id, status: response.status });
      return { response, origin: secondary, attempts };
    } catch (err) {
      const failure = originFailureOf(err);
      if (failure !== undefined) attempts.push({ originId: secondary.id, error: failure.reason });
      throw err;
    }
  }

  #fetchOne(origin: ResolvedOrigin, request: OriginRequest): Promise<OriginResponse> {
    return origin.kind === 'static' ? fetchStatic(origin, request) : this.#custom.fetch(origin, request);
  }

  close(): Promise<void> {
    return this.#custom.close();
  }
}
