/**
 * The request path of the edge (docs/architecture.md, "A request"):
 *
 *   Host → distribution → behavior → viewer-request function → [response? send it: never cached, no viewer-response]
 *        → cache lookup → origin fetch (pool, failover) → viewer-response function (not for status >= 400) → send
 *
 * Written as straight-line code over plain arrays: this runs for every request. Each step takes the request's
 * {@link RequestContext}. An observer (metrics) gets each request's {@link RequestFacts}: references to what the
 * pipeline has anyway. A full decision trace is built only when the observer asks for one, someone listens on the
 * trace channel, or a signed debug header asks (docs/observability.md, "Cost").
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { BehaviorConfig } from '../config/types.js';
import { requestFromEvent, requestToEvent, responseFromEvent, responseToEvent, type HttpRequestParts, type HttpResponseParts } from '../runtime/codec.js';
import type { CFContext, CFEvent } from '../runtime/event.js';
import type { EdgeLocation, FunctionRequestResult, FunctionResponseResult, FunctionResult, OriginChange } from '../runtime/types.js';
import { buildCacheKey, type CacheKey } from './cache/key.js';
import { responseTtlSeconds } from './cache/freshness.js';
import type { CacheHit, CachedHead, CachedResponse, ResponseCache, StaleCopy } from './cache/response-cache.js';
import { headerBytes, MAX_STORED_HEADER_BYTES, notModifiedMatches, revalidationHeaders, updatedHeaders } from './cache/revalidate.js';
import { completeFile, DiskFill, readFileSource, type FileSource } from './cache/disk-fill.js';
import type { ChunkedFill } from './cache/chunked-fill.js';
import { answerFromStored, type StoredAnswer, type StoredObject } from './cache/serve-stored.js';
import { CapturedResponse, writeExplainAnswer, type EdgeDebug } from './debug.js';
import type { Distribution, DistributionRouter } from './distribution.js';
import { ErrorCatalog, isOpenFrontError, OpenFrontError, type EdgeErrorCode } from '../errors.js';
import { errorPage } from './errors-page.js';
import { MAX_ERROR_PAGE_BYTES } from './custom-errors.js';
import { compressible, compressResponse, encodingFlagsOn, normaliseAcceptEncoding, type NormalisedEncoding } from './compress.js';
import { nextRequestId } from './request-id.js';
import { admitRequest } from './request-guard.js';
import type { FunctionSource } from './function-source.js';
import type { FunctionThrottle } from './function-throttle.js';
import type { OriginFetcher, OriginOutcome } from './origins/fetch.js';
import { discardBody, originBodyFailure, originFailureOf, type OriginRequest, type OriginResponse } from './origins/types.js';
import { bodyFromBytes, declaredLength, sendStream } from './body-stream.js';
import { readUpTo } from './cache/read-up-to.js';
import { functionTraceOf, type EdgeObserver, type FunctionRun, type RequestFacts } from '../observe/request-facts.js';
import { edgeRequestChannel, type EdgeTrace } from './trace.js';
import { http2HasBody } from './listen/http2-adapter.js';
import { forwardsProto, redirectPage, viewerProtocolAnswer, viewerScheme, withForwardedProto } from './viewer-protocol.js';

/** Header carrying the per-request id (CloudFront's X-Amz-Cf-Id), on the viewer response and the origin request. */
export const REQUEST_ID_HEADER = 'x-openfront-request-id';
/** Header naming the failure class on edge-generated error responses. */
export const ERROR_HEADER = 'x-openfront-error';

/** Headers that describe one connection, not the message: never forwarded in either direction (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Viewer request headers that do not go with the GET for a custom error page. */
const PAGE_REQUEST_DROPPED = new Set(['range', 'request-range', 'content-length', 'content-type', 'transfer-encoding', 'expect']);

export interface PipelineOptions {
  router: DistributionRouter;
  functions: FunctionSource;
  cache: ResponseCache;
  origins: OriginFetcher;
  nodeId: string;
  edgeLocation: EdgeLocation;
  /** Throttles the paths that keep getting a function killed (function-throttle.ts). */
  throttle: FunctionThrottle;
  /** Signed debug header support (`openfront explain`); absent: the header is an ordinary header. */
  debug?: EdgeDebug;
  /** Told about every request (metrics, the decision ring); decides which requests get a full trace. */
  observer?: EdgeObserver;
  /** Port of the HTTPS listener, for `redirect-to-https` Locations (absent or 443: no port in the URL). */
  httpsPort?: number;
}

/** One request on its way through the pipeline: what every step needs, made once per request. */
interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** CloudFront's X-Amz-Cf-Id: on the viewer response, the origin request and the function's event. */
  readonly requestId: string;
  /** The decision trace, present only when someone wants it (observer, trace channel subscriber, `debug`). */
  readonly trace: EdgeTrace | undefined;
  /** What the observer is told once the request is answered; present when there is an observer. */
  readonly facts: RequestFacts | undefined;
  /** A verified `openfront explain` request: `res` is a {@link CapturedResponse}, the decision goes back instead. */
  readonly debug: boolean;
  readonly captured: CapturedResponse | undefined;
}

/** What a viewer function's invocation means for the request: go on with its result, or answer with an edge error. */
type FunctionOutcome = { kind: 'ok'; result: FunctionRequestResult | FunctionResponseResult } | { kind: 'error'; error: EdgeErrorCode };

/** One response about to be written. */
interface Outgoing {
  status: number;
  statusText?: string;
  headers: Array<[string, string]>;
  /** A Buffer (cache hits, generated responses) or a stream piped to the viewer with backpressure. */
  body: Buffer | Readable;
  /** Bytes a streamed body will have, when known (sent as Content-Length); undefined: sent chunked. */
  length?: number;
  xCache: string;
}

/** What the leader of a collapsed miss hands its followers: a stored copy to serve, or "fetch your own". */
type CollapsedFill =
  | { kind: 'stored'; outcome: OriginOutcome; head: CachedHead; body: Buffer }
  | { kind: 'fill'; outcome: OriginOutcome; head: CachedHead; fill: DiskFill }
  | { kind: 'chunked'; outcome: OriginOutcome; head: CachedHead; fill: ChunkedFill; leader: Readable }
  | { kind: 'own'; outcome: OriginOutcome; body: Readable }
  /** An expired copy the origin confirmed (304), or served on for a while because the origin failed (5xx, none). */
  | { kind: 'refreshed'; outcome: OriginOutcome | undefined; copy: StaleCopy };

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

export class EdgePipeline {
  readonly #opts: PipelineOptions;
  readonly #via: string;

  constructor(options: PipelineOptions) {
    this.#opts = options;
    this.#via = `1.1 ${options.nodeId} (OpenFront)`;
  }

  /** Handles one request. Never rejects: any failure becomes an error response. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = nextRequestId();
    const debug = this.#opts.debug !== undefined && req.headers['x-openfront-debug'] !== undefined && this.#opts.debug.authorize(req);
    const observer = this.#opts.observer;
    const trace: EdgeTrace | undefined =
      (observer !== undefined && observer.wantsTrace()) || edgeRequestChannel.hasSubscribers || debug
        ? {
            requestId,
            nodeId: this.#opts.nodeId,
            startedAt: Date.now(),
            clientIp: viewerIp(req.socket.remoteAddress ?? ''),
            clientPort: req.socket.remotePort,
            httpVersion: req.httpVersion,
            method: req.method ?? 'GET',
            host: req.headers.host ?? '',
            target: req.url ?? '/',
            functions: [],
            status: 0,
            result: 'edge-error',
            timings: { total: 0 },
          }
        : undefined;
    // A verified explain request: the viewer response is captured and sent back inside the decision.
    const captured = debug ? new CapturedResponse() : undefined;
    const facts: RequestFacts | undefined =
      observer === undefined
        ? undefined
        : {
            requestId,
            nodeId: this.#opts.nodeId,
            startedAt: trace?.startedAt ?? Date.now(),
            method: req.method ?? 'GET',
            target: req.url ?? '/',
            rawHeaders: req.rawHeaders,
            remoteAddress: req.socket.remoteAddress ?? '',
            host: undefined,
            distributionId: undefined,
            behavior: undefined,
            functions: undefined,
            cacheHit: undefined,
            cacheKey: undefined,
            collapsed: false,
            origin: undefined,
            originMicros: undefined,
            status: 0,
            result: 'edge-error',
            error: undefined,
          };
    const ctx: RequestContext = { req, res: captured ? captured.asServerResponse() : res, requestId, trace, facts, debug, captured };
    const started = trace ? performance.now() : 0;
    try {
      await this.#process(ctx);
    } catch (err) {
      this.#sendError(ctx, 'INTERNAL');
      if (trace) trace.error = `InternalError: ${(err as Error).message}`;
      if (facts) facts.error = `InternalError: ${(err as Error).message}`;
    }
    if (trace) {
      trace.timings.total = micros(started);
      if (edgeRequestChannel.hasSubscribers) edgeRequestChannel.publish(trace);
      if (captured) writeExplainAnswer(res, requestId, this.#opts.debug!.record(trace), captured);
    }
    if (facts) {
      try {
        observer!.requestDone(facts, trace);
      } catch {
        // The response is already sent; observing it failing must not turn into an unhandled rejection.
      }
    }
  }

  async #process(ctx: RequestContext): Promise<void> {
    const { req, requestId, trace, facts } = ctx;
    const admitted = admitRequest(req);
    if (!admitted.ok) {
      if (trace) trace.error = admitted.reason;
      if (facts) facts.error = admitted.reason;
      if (admitted.close === true) ctx.res.setHeader('Connection', 'close');
      return this.#sendError(ctx, admitted.error);
    }
    if (facts) facts.host = admitted.host;
    const distribution = this.#opts.router.match(admitted.host);
    if (distribution === undefined) return this.#sendError(ctx, 'EDGE_DISTRIBUTION_NOT_FOUND');
    const dist = distribution.config;
    const method = req.method ?? 'GET';
    const received = admitted.target;
    const q = received.indexOf('?');
    const behavior = distribution.behaviors.match(q === -1 ? received : received.slice(0, q));
    if (trace) {
      trace.distributionId = dist.id;
      trace.behavior = behavior.pathPattern;
    }
    if (facts) {
      facts.distributionId = dist.id;
      facts.behavior = behavior.pathPattern;
    }

    const scheme = viewerScheme(req);
    const protocol = viewerProtocolAnswer(
      behavior.viewerProtocolPolicy,
      scheme,
      { method, httpVersion: req.httpVersion, host: admitted.host ?? dist.domainName, target: received },
      this.#opts.httpsPort,
    );
    if (protocol.kind === 'refuse') return this.#sendError(ctx, 'EDGE_HTTPS_REQUIRED');
    if (protocol.kind === 'redirect') {
      if (trace) trace.result = 'redirect';
      const headers: Array<[string, string]> = [
        ['Location', protocol.location],
        ['Content-Type', 'text/html'],
      ];
      return this.#send(ctx, { status: protocol.status, headers, body: redirectPage(protocol.status), xCache: 'Redirect from openfront' });
    }

    let viewerHeaders = pairs(req.rawHeaders);
    if (forwardsProto(behavior.cachePolicy)) viewerHeaders = withForwardedProto(viewerHeaders, scheme);
    // The explain headers are for the edge: the functions and the origin see the request without them.
    if (ctx.debug) viewerHeaders = viewerHeaders.filter(([name]) => !this.#opts.debug!.headers.includes(name.toLowerCase()));
    if (trace) trace.viewerHeaders = viewerHeaders;
    const viewerRequest: HttpRequestParts = { method, target: received, headers: viewerHeaders, clientIp: req.socket.remoteAddress ?? '' };
    const context: CFContext = { distributionDomainName: dist.domainName, distributionId: dist.id, eventType: 'viewer-request', requestId };
    let forwarded: HttpRequestParts = viewerRequest;
    let originChange: OriginChange | undefined;

    if (behavior.functions.viewerRequest !== undefined) {
      const t = trace ? performance.now() : 0;
      const event = requestToEvent(viewerRequest, context);
      const outcome = await this.#runFunction(ctx, behavior.functions.viewerRequest, 'viewer-request', event);
      if (trace) trace.timings.viewerRequest = micros(t);
      if (outcome.kind === 'error') return this.#sendError(ctx, outcome.error);
      if (outcome.result.kind === 'response') {
        const generated = responseFromEvent(outcome.result.response);
        if (trace) trace.result = 'function-response';
        if (facts) facts.result = 'function-response';
        return await this.#send(ctx, {
          status: generated.status,
          statusText: generated.statusText,
          headers: generated.headers,
          body: generated.body ?? Buffer.alloc(0),
          xCache: 'FunctionGeneratedResponse from openfront',
        });
      }
      const rewritten = requestFromEvent(viewerRequest, event.request, outcome.result.request);
      forwarded = { method, target: rewritten.target, headers: rewritten.headers, clientIp: viewerRequest.clientIp };
      originChange = outcome.result.originChange;
    }

    let fetched: Outgoing;
    try {
      fetched = await this.#fromCacheOrOrigin(ctx, distribution, behavior, forwarded, originChange);
    } catch (err) {
      if (isOpenFrontError(err) && err.code === 'EDGE_ORIGIN_UNKNOWN') {
        if (trace) trace.error = err.message;
        if (facts) facts.error = err.message;
        return this.#sendError(ctx, 'FUNCTION_VALIDATION_ERROR');
      }
      const failure = originFailureOf(err);
      if (failure === undefined) throw err;
      const page = await this.#customErrorPage(ctx, distribution, ErrorCatalog[failure.code].status, viewerHeaders);
      return page === undefined ? this.#sendError(ctx, failure.code) : this.#send(ctx, page);
    }

    if (behavior.functions.viewerResponse !== undefined && fetched.status < 400) {
      const t = trace ? performance.now() : 0;
      const head: HttpResponseParts = { status: fetched.status, statusText: fetched.statusText, headers: fetched.headers };
      const event = responseToEvent(forwarded, head, { ...context, eventType: 'viewer-response' });
      const outcome = await this.#runFunction(ctx, behavior.functions.viewerResponse, 'viewer-response', event);
      if (trace) trace.timings.viewerResponse = micros(t);
      if (outcome.kind === 'error' || outcome.result.kind !== 'response') {
        discardOutgoing(fetched);
        return this.#sendError(ctx, outcome.kind === 'error' ? outcome.error : 'FUNCTION_VALIDATION_ERROR');
      }
      const shaped = responseFromEvent(outcome.result.response, { res: head, before: event.response });
      // The function sees headers only; a body it sets replaces the origin's, which is then released unread.
      if (shaped.body !== undefined) discardOutgoing(fetched);
      fetched = {
        status: shaped.status,
        statusText: shaped.statusText,
        headers: shaped.headers,
        body: shaped.body ?? fetched.body,
        length: shaped.body === undefined ? fetched.length : undefined,
        xCache: fetched.xCache,
      };
    }
    if (fetched.status >= 400) {
      const page = await this.#customErrorPage(ctx, distribution, fetched.status, viewerHeaders);
      if (page !== undefined) {
        discardOutgoing(fetched);
        fetched = page;
      }
    }
    return await this.#send(ctx, fetched);
  }

  /** The function runs off the event loop's thread (runAdaptive): other requests go on while it runs. */
  async #runFunction(ctx: RequestContext, name: string, eventType: 'viewer-request' | 'viewer-response', event: CFEvent): Promise<FunctionOutcome> {
    const { trace, facts } = ctx;
    const live = this.#opts.functions.live(name);
    if (live === undefined) {
      if (trace) trace.error = `function "${name}" has no live version`;
      if (facts) facts.error = `function "${name}" has no live version`;
      return { kind: 'error', error: 'FUNCTION_EXECUTION_ERROR' };
    }
    const throttle = this.#opts.throttle;
    const path = event.request.uri;
    const admission = throttle.admit(name, live.fn.codeHash, path);
    if (admission === 'throttle') {
      const why = `function "${name}" is throttled for ${path}: it keeps exceeding its limits there`;
      if (trace) trace.error = why;
      if (facts) facts.error = why;
      return { kind: 'error', error: 'FUNCTION_THROTTLED' };
    }
    let result: FunctionResult;
    try {
      result = await live.fn.runAdaptive(event, {
        kvs: live.kvs,
        edgeLocation: eventType === 'viewer-request' ? this.#opts.edgeLocation : undefined,
        recordKvsReads: trace !== undefined || (facts !== undefined && this.#opts.observer!.countsKvsReads),
        ...(admission === 'quarantine' ? { lane: 'quarantine' as const } : {}),
      });
      const killed = result.kind === 'error' && (result.error.code === 'FUNCTION_CPU_LIMIT_EXCEEDED' || result.error.code === 'FUNCTION_MEMORY_LIMIT_EXCEEDED');
      throttle.record(name, live.fn.codeHash, path, killed);
    } catch (err) {
      // runAdaptive() returns kind 'error' for a function's own failures; a throw is the engine failing.
      if (trace) trace.error = `engine: ${(err as Error).message}`;
      if (facts) facts.error = `engine: ${(err as Error).message}`;
      return { kind: 'error', error: 'FUNCTION_EXECUTION_ERROR' };
    }
    if (trace || facts) {
      const run: FunctionRun = { eventType, name, version: live.version, codeHash: live.fn.codeHash, result };
      if (trace) trace.functions.push(functionTraceOf(run));
      if (facts) (facts.functions ??= []).push(run);
    }
    if (result.kind === 'error') {
      return { kind: 'error', error: result.error.errorClass === 'validation' ? 'FUNCTION_VALIDATION_ERROR' : 'FUNCTION_EXECUTION_ERROR' };
    }
    if (eventType === 'viewer-response' && result.kind === 'request') return { kind: 'error', error: 'FUNCTION_VALIDATION_ERROR' };
    return { kind: 'ok', result };
  }

  async #fromCacheOrOrigin(
    ctx: RequestContext,
    distribution: Distribution,
    behavior: BehaviorConfig,
    forwarded: HttpRequestParts,
    originChange: OriginChange | undefined,
  ): Promise<Outgoing> {
    const { req, trace, facts } = ctx;
    const dist = distribution.config;
    const plan = distribution.origins.plan(behavior.origin, originChange);
    const policy = behavior.cachePolicy;
    const cache = this.#opts.cache;
    const method = forwarded.method;
    const originRequest = {
      method,
      target: forwarded.target,
      headers: this.#originHeaders(ctx, forwarded, behavior),
      body: method === 'GET' || method === 'HEAD' || !hasBody(req) ? undefined : req,
    };
    const encoding = viewerEncoding(ctx, forwarded.headers, policy);
    const compress = behavior.compress === true && encoding !== undefined && method === 'GET' && policy.maxTtl > 0;
    const timed = trace !== undefined || facts !== undefined;
    // Records the origin's answer in this request's trace and facts (a collapsed miss records the shared one below).
    const fetchOrigin = async (request: OriginRequest = originRequest): Promise<OriginOutcome> => {
      const t = timed ? performance.now() : 0;
      try {
        const outcome = await this.#opts.origins.fetch(plan, request);
        if (timed) this.#noteOrigin(ctx, outcome);
        const response = outcome.response;
        if (!compress || !compressible(response.status, response.headers)) return outcome;
        return { ...outcome, response: { ...response, ...compressResponse(response.headers, response.body, encoding) } };
      } catch (err) {
        if (timed) this.#noteOriginFailure(ctx, err);
        throw err;
      } finally {
        if (timed) {
          const took = micros(t);
          if (trace) trace.timings.origin = took;
          if (facts) facts.originMicros = took;
        }
      }
    };

    if ((method !== 'GET' && method !== 'HEAD') || policy.maxTtl === 0) {
      const outcome = await fetchOrigin();
      return fromOrigin(outcome.response, 'Miss from openfront');
    }

    const t = trace ? performance.now() : 0;
    const plainKey = buildCacheKey(dist.id, forwarded.target, forwarded.headers, policy);
    // The normalised Accept-Encoding is part of the key when the policy's encoding flags are on (docs/edge.md).
    const key = encoding === undefined ? plainKey : { ...plainKey, key: `${plainKey.key}\nae:${encoding}` };
    const hit = cache.lookup(key.key);
    const answer = hit === undefined ? undefined : this.#fromHit(key.key, hit, forwarded.headers);
    if (trace) {
      trace.timings.cache = micros(t);
      trace.cache = { key: key.key, objectPath: key.objectPath, status: answer ? 'hit' : 'miss', collapsed: hit?.tier === 'filling' };
    }
    if (facts) {
      facts.cacheKey = key;
      facts.cacheHit = answer !== undefined;
    }
    if (answer !== undefined) {
      if (trace) trace.result = 'cache';
      if (facts) facts.result = 'cache';
      return { ...answer, xCache: 'Hit from openfront' };
    }
    if (method === 'HEAD') {
      // A HEAD response has no body to cache; only GET fills the cache.
      const outcome = await fetchOrigin();
      return fromOrigin(outcome.response, 'Miss from openfront');
    }
    const generation = cache.generation(dist.id);
    // An expired copy with a validator is revalidated with the origin instead of fetched again (docs/edge.md).
    const stale = hit === undefined ? cache.stale(key.key) : undefined;
    const { result, collapsed } = cache.collapse(key.key, async (): Promise<CollapsedFill> => {
      if (stale !== undefined) {
        const revalidated = await this.#revalidate(key, distribution, stale, originRequest, fetchOrigin, policy, generation);
        if (revalidated !== undefined) return revalidated;
      }
      const outcome = await fetchOrigin();
      return this.#fill(key, dist.id, outcome, policy, generation, distribution.customErrors.errorCachingMinTtl(outcome.response.status));
    });
    if (trace && trace.cache) trace.cache.collapsed = collapsed;
    if (facts) facts.collapsed = collapsed;
    let shared: CollapsedFill;
    try {
      shared = await result;
    } catch (err) {
      if (collapsed && timed) this.#noteOriginFailure(ctx, err);
      throw err;
    }
    // The leader's fetch noted its own origin; a follower notes the one it shared.
    if (collapsed && timed && shared.outcome !== undefined) this.#noteOrigin(ctx, shared.outcome);
    if (shared.kind === 'refreshed') {
      const refreshed = this.#fromHit(key.key, shared.copy, forwarded.headers);
      if (refreshed !== undefined) {
        if (trace) {
          trace.result = 'cache';
          if (trace.cache) trace.cache.status = 'refresh-hit';
        }
        if (facts) {
          facts.result = 'cache';
          facts.cacheHit = true;
          facts.cacheRefresh = true;
        }
        return { ...refreshed, xCache: 'RefreshHit from openfront' };
      }
      // The copy's file went (removed from outside) after it was revalidated: this request asks the origin itself.
      const own = await fetchOrigin();
      return fromOrigin(own.response, 'Miss from openfront');
    }
    if (trace && trace.cache) trace.cache.stored = shared.kind !== 'own';
    if (shared.kind === 'chunked' && !collapsed) {
      const head = shared.head;
      return { status: head.status, statusText: head.statusText, headers: head.headers, body: shared.leader, xCache: 'Miss from openfront' };
    }
    if (shared.kind !== 'own') {
      // The leader's viewer gets the whole object, as the origin sent it; a follower's own Range or validators apply.
      const viewerHeaders = collapsed ? forwarded.headers : NO_HEADERS;
      if (shared.kind === 'stored') return { ...answerFromStored(viewerHeaders, memoryObject(shared.head, shared.body, 0)), xCache: 'Miss from openfront' };
      try {
        return { ...answerFromStored(viewerHeaders, fillObject(shared.head, shared.fill, 0)), xCache: 'Miss from openfront' };
      } catch (err) {
        // The fill failed (and its file went) before this viewer opened it: the origin's failure, as for a reader.
        if (shared.fill.failure !== undefined || shared.kind === 'fill') throw originBodyFailure(shared.outcome.origin.id, shared.fill.failure ?? err);
        // A chunked fill that stopped (too big, no room) before this viewer joined: it asks the origin itself.
      }
    }
    if (!collapsed && shared.kind === 'own') return fromOrigin({ ...shared.outcome.response, body: shared.body }, 'Miss from openfront');
    // The leader's response could not be shared (not storable, too big): this request asks the origin itself.
    const own = await fetchOrigin();
    return fromOrigin(own.response, 'Miss from openfront');
  }

  /**
   * The leader of a miss: stores the response when the cache may keep it and its body fits the memory tier, read
   * whole (it is small); otherwise streams it to this viewer only (the followers fetch their own).
   */
  async #fill(
    key: CacheKey,
    distributionId: string,
    outcome: OriginOutcome,
    policy: BehaviorConfig['cachePolicy'],
    generation: number,
    errorCachingMinTtl: number,
  ): Promise<CollapsedFill> {
    const response = outcome.response;
    const cache = this.#opts.cache;
    const limit = cache.maxObjectBytes;
    const length = declaredLength(response.headers);
    const ttl = this.#ttlOf(response, policy, errorCachingMinTtl);
    if (ttl <= 0 || (length !== undefined && length > Math.max(limit, cache.maxDiskObjectBytes))) return { kind: 'own', outcome, body: response.body };
    if (length !== undefined && length > limit) {
      // Too big for memory, with a known length: written to disk, read by every viewer as it arrives.
      const head = diskFillHead(response, distributionId, key.objectPath, cache.now(), ttl);
      const fill = await cache.startFill(key.key, head, length, response.body, generation);
      return fill === undefined ? { kind: 'own', outcome, body: response.body } : { kind: 'fill', outcome, head, fill };
    }
    // Only a disk tier that keeps objects larger than the memory tier's can take a chunked body past that limit.
    const chunkedToDisk = length === undefined && cache.maxDiskObjectBytes > limit;
    if (limit === 0 && !chunkedToDisk) return { kind: 'own', outcome, body: response.body };
    let body = response.body;
    if (limit > 0) {
      let read;
      try {
        read = await readUpTo(response.body, limit);
      } catch (err) {
        throw originBodyFailure(outcome.origin.id, err);
      }
      if (read.kind === 'whole') {
        const stored = this.#store(key, distributionId, response, read.bytes, policy, generation, errorCachingMinTtl);
        return stored ? { kind: 'stored', outcome, head: stored, body: read.bytes } : { kind: 'own', outcome, body: bodyFromBytes(read.bytes) };
      }
      body = read.body;
    }
    if (!chunkedToDisk) return { kind: 'own', outcome, body };
    // Chunked and past the memory tier's limit: on into the disk tier, its room reserved as it grows.
    const head = diskFillHead(response, distributionId, key.objectPath, cache.now(), ttl);
    const chunked = await cache.startChunkedFill(key.key, head, body, generation);
    return chunked === undefined ? { kind: 'own', outcome, body } : { kind: 'chunked', outcome, head, fill: chunked.fill, leader: chunked.leader };
  }

  /**
   * The leader's revalidation of an expired copy (docs/edge.md, "Revalidation"): a conditional GET with the copy's
   * validators. A 304 refreshes the copy's headers and TTL; a 5xx or no answer serves the copy on for the error
   * caching minimum TTL of that status; anything else replaces the copy as a miss's answer does (a 4xx goes to the
   * viewer). Undefined when the 304 names another ETag or would grow the copy's headers past
   * MAX_STORED_HEADER_BYTES: the object is then fetched again.
   */
  async #revalidate(
    key: CacheKey,
    distribution: Distribution,
    copy: StaleCopy,
    originRequest: OriginRequest,
    fetchOrigin: (request: OriginRequest) => Promise<OriginOutcome>,
    policy: BehaviorConfig['cachePolicy'],
    generation: number,
  ): Promise<CollapsedFill | undefined> {
    const cache = this.#opts.cache;
    const head = copy.tier === 'memory' ? copy.entry : copy.head;
    const servedOn = (status: number, outcome: OriginOutcome | undefined): CollapsedFill => {
      const ttl = distribution.customErrors.errorCachingMinTtl(status);
      const refreshed = cache.refresh(key.key, copy, { headers: head.headers, storedAt: head.storedAt, expiresAt: cache.now() + ttl * 1000 }, generation);
      return { kind: 'refreshed', outcome, copy: refreshed };
    };
    let outcome: OriginOutcome;
    try {
      outcome = await fetchOrigin({ ...originRequest, headers: revalidationHeaders(originRequest.headers, head.headers) });
    } catch (err) {
      const failure = originFailureOf(err);
      if (failure === undefined) throw err;
      return servedOn(ErrorCatalog[failure.code].status, undefined);
    }
    const response = outcome.response;
    if (response.status === 304) {
      discardBody(response.body);
      const fresh = forwardableResponseHeaders(response.headers);
      const headers = notModifiedMatches(head.headers, fresh) ? updatedHeaders(head.headers, fresh) : undefined;
      if (headers === undefined || headerBytes(headers) > MAX_STORED_HEADER_BYTES) {
        cache.drop(key.key, copy);
        return undefined;
      }
      const ttl = this.#ttlOf({ ...response, status: head.status, headers }, policy, distribution.customErrors.errorCachingMinTtl(head.status));
      const now = cache.now();
      return {
        kind: 'refreshed',
        outcome,
        copy: cache.refresh(key.key, copy, { headers, storedAt: now, expiresAt: now + Math.max(0, ttl) * 1000 }, generation),
      };
    }
    if (response.status >= 500) {
      discardBody(response.body);
      return servedOn(response.status, outcome);
    }
    cache.drop(key.key, copy);
    return this.#fill(key, distribution.config.id, outcome, policy, generation, distribution.customErrors.errorCachingMinTtl(response.status));
  }

  /** The answer from a stored object, or undefined when its file has gone (then it is a miss). */
  #fromHit(key: string, hit: CacheHit, request: ReadonlyArray<readonly [string, string]>): StoredAnswer | undefined {
    const now = this.#opts.cache.now();
    if (hit.tier === 'memory') return answerFromStored(request, memoryObject(hit.entry, hit.entry.body, now));
    try {
      if (hit.tier === 'disk') return answerFromStored(request, fileObject(hit.head, completeFile(hit.path, hit.size), hit.size, now));
      return answerFromStored(request, fillObject(hit.head, hit.fill, now));
    } catch {
      if (hit.tier === 'disk') this.#opts.cache.forgetDisk(key);
      return undefined;
    }
  }

  #noteOrigin(ctx: RequestContext, outcome: OriginOutcome): void {
    const { trace, facts } = ctx;
    const origin = { id: outcome.origin.id, attempts: outcome.attempts };
    if (trace) {
      trace.result = 'origin';
      trace.origin = origin;
    }
    if (facts) {
      facts.result = 'origin';
      facts.origin = origin;
    }
  }

  #noteOriginFailure(ctx: RequestContext, err: unknown): void {
    const failure = originFailureOf(err);
    const origin = failure === undefined ? undefined : { id: failure.originId, attempts: [{ originId: failure.originId, error: failure.reason }] };
    for (const record of [ctx.trace, ctx.facts]) {
      if (record === undefined) continue;
      record.result = 'origin-error';
      if (origin) record.origin = origin;
    }
  }

  #ttlOf(response: OriginResponse, policy: BehaviorConfig['cachePolicy'], errorCachingMinTtl: number): number {
    const headerMap: Record<string, string | string[]> = {};
    let setsCookie = false;
    for (const [name, value] of response.headers) {
      if (name === 'set-cookie') setsCookie = true;
      const existing = headerMap[name];
      headerMap[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
    }
    // A Set-Cookie answer to one viewer must not be replayed to others unless cookies are part of the key.
    if (setsCookie && policy.cookies.behavior === 'none') return 0;
    return responseTtlSeconds(policy, response.status, headerMap, errorCachingMinTtl);
  }

  #store(
    key: CacheKey,
    distributionId: string,
    response: OriginResponse,
    body: Buffer,
    policy: BehaviorConfig['cachePolicy'],
    generation: number,
    errorCachingMinTtl: number,
  ): CachedResponse | undefined {
    const ttl = this.#ttlOf(response, policy, errorCachingMinTtl);
    if (ttl <= 0) return undefined;
    const now = this.#opts.cache.now();
    const entry: CachedResponse = {
      status: response.status,
      statusText: response.statusText,
      headers: forwardableResponseHeaders(response.headers),
      body,
      distributionId,
      objectPath: key.objectPath,
      storedAt: now,
      expiresAt: now + ttl * 1000,
    };
    return this.#opts.cache.set(key.key, entry, generation) ? entry : undefined;
  }

  /**
   * The distribution's custom error page for `status` (CloudFront's CustomErrorResponses), or undefined when it has
   * none or the page cannot be had (unreachable, larger than MAX_ERROR_PAGE_BYTES, read no further): the viewer then gets the error
   * itself. The page is fetched with GET through the behavior its path matches, from that behavior's cache and
   * origin, without running functions; a page its origin answers with an error is sent as that error.
   */
  async #customErrorPage(
    ctx: RequestContext,
    distribution: Distribution,
    status: number,
    viewerHeaders: Array<[string, string]>,
  ): Promise<Outgoing | undefined> {
    const rule = distribution.customErrors.page(status);
    if (rule === undefined) return undefined;
    const { trace } = ctx;
    const dist = distribution.config;
    const behavior = distribution.behaviors.match(rule.path);
    const policy = behavior.cachePolicy;
    // A full, unconditional representation of the page: the viewer's range and validators were for the failed object.
    const headers = viewerHeaders.filter(([name]) => !PAGE_REQUEST_DROPPED.has(name.toLowerCase()) && !name.toLowerCase().startsWith('if-'));
    const forwarded: HttpRequestParts = { method: 'GET', target: rule.path, headers, clientIp: ctx.req.socket.remoteAddress ?? '' };
    const key = policy.maxTtl > 0 ? buildCacheKey(dist.id, rule.path, headers, policy) : undefined;
    let page: { status: number; statusText: string; headers: Array<[string, string]>; body: Buffer } | undefined = key && this.#opts.cache.get(key.key);
    if (page === undefined) {
      const generation = this.#opts.cache.generation(dist.id);
      try {
        const outcome = await this.#opts.origins.fetch(distribution.origins.plan(behavior.origin, undefined), {
          method: 'GET',
          target: rule.path,
          headers: this.#originHeaders(ctx, forwarded, behavior),
        });
        const read = await readUpTo(outcome.response.body, MAX_ERROR_PAGE_BYTES);
        if (read.kind === 'more') {
          discardBody(read.body);
          if (trace) trace.error = `${trace.error === undefined ? '' : `${trace.error}; `}custom error page ${rule.path} is over ${MAX_ERROR_PAGE_BYTES} bytes`;
          return undefined;
        }
        page = { ...outcome.response, body: read.bytes };
        const minTtl = distribution.customErrors.errorCachingMinTtl(page.status);
        if (key) this.#store(key, dist.id, outcome.response, read.bytes, policy, generation, minTtl);
      } catch (err) {
        if (trace) trace.error = `${trace.error === undefined ? '' : `${trace.error}; `}custom error page ${rule.path}: ${(err as Error).message}`;
        return undefined;
      }
    }
    if (trace) trace.error = `${trace.error === undefined ? '' : `${trace.error}; `}status ${status} answered with custom error page ${rule.path}`;
    const pageHeaders = forwardableResponseHeaders(page.headers).filter(([name]) => name.toLowerCase() !== 'age');
    if (page.status >= 400) return { status: page.status, statusText: page.statusText, headers: pageHeaders, body: page.body, xCache: 'Error from openfront' };
    return { status: rule.responseCode, statusText: STATUS_CODES[rule.responseCode], headers: pageHeaders, body: page.body, xCache: 'Error from openfront' };
  }

  /** What CloudFront sends the origin: the viewer's end-to-end headers, X-Forwarded-For appended, Via, request id. */
  #originHeaders(ctx: RequestContext, forwarded: HttpRequestParts, behavior: BehaviorConfig): Array<[string, string]> {
    const hopByHop = connectionTokens(ctx.req.headers.connection);
    const out: Array<[string, string]> = [];
    let xff: string | undefined;
    let via: string | undefined;
    const keepEncoding = behavior.cachePolicy.headers.behavior === 'whitelist' && behavior.cachePolicy.headers.names.includes('accept-encoding');
    // With the policy's encoding flags on, the origin gets the normalised value (or identity) instead of the viewer's.
    const encodingFlags = !keepEncoding && encodingFlagsOn(behavior.cachePolicy);
    for (const pair of forwarded.headers) {
      const lower = pair[0].toLowerCase();
      if (HOP_BY_HOP.has(lower) || lower === 'host' || hopByHop?.has(lower)) continue;
      if (lower === 'x-forwarded-for') xff = xff === undefined ? pair[1] : `${xff}, ${pair[1]}`;
      else if (lower === 'via') via = via === undefined ? pair[1] : `${via}, ${pair[1]}`;
      // The cache keeps one representation per key: without accept-encoding in the key, ask for identity.
      else if (lower === 'accept-encoding' && !keepEncoding) continue;
      else if (lower === REQUEST_ID_HEADER) continue;
      else out.push(pair);
    }
    const ip = viewerIp(forwarded.clientIp);
    out.push(['x-forwarded-for', xff === undefined ? ip : `${xff}, ${ip}`]);
    out.push(['via', via === undefined ? this.#via : `${via}, ${this.#via}`]);
    out.push([REQUEST_ID_HEADER, ctx.requestId]);
    if (encodingFlags) out.push(['accept-encoding', viewerEncoding(ctx, forwarded.headers, behavior.cachePolicy) ?? 'identity']);
    return out;
  }

  async #send(ctx: RequestContext, out: Outgoing): Promise<void> {
    const { req, res, requestId, trace, facts } = ctx;
    const flat: string[] = [];
    let via: string | undefined;
    let declared: string | undefined;
    for (const [name, value] of out.headers) {
      const lower = name.toLowerCase();
      if (trace && lower === 'content-type') trace.contentType = value;
      if (lower === 'content-length' || lower === 'via' || lower === 'x-cache' || lower === REQUEST_ID_HEADER || HOP_BY_HOP.has(lower)) {
        if (lower === 'via') via = via === undefined ? value : `${via}, ${value}`;
        else if (lower === 'content-length') declared = value;
        continue;
      }
      flat.push(name, value);
    }
    flat.push('Via', via === undefined ? this.#via : `${via}, ${this.#via}`);
    flat.push('X-Cache', out.xCache);
    flat.push(REQUEST_ID_HEADER, requestId);
    const body = out.body;
    const buffered = Buffer.isBuffer(body);
    const noBody = req.method === 'HEAD' || out.status === 204 || out.status === 304 || (out.status >= 100 && out.status < 200);
    if (out.status !== 204 && out.status !== 304 && !(out.status >= 100 && out.status < 200)) {
      // The origin's answer to a HEAD has no body but declares the length of the GET's.
      if (req.method === 'HEAD' && (buffered ? body.length === 0 : true) && declared !== undefined) flat.push('Content-Length', declared);
      else if (buffered) flat.push('Content-Length', String(body.length));
      else if (out.length !== undefined) flat.push('Content-Length', String(out.length));
    }
    try {
      res.writeHead(out.status, out.statusText, flat);
    } catch (err) {
      // A header value node:http refuses (from a function or an origin): the response cannot be written as is.
      if (trace) trace.error = `invalid response header: ${(err as Error).message}`;
      if (facts) facts.error = `invalid response header: ${(err as Error).message}`;
      discardOutgoing(out);
      return this.#sendError(ctx, 'FUNCTION_VALIDATION_ERROR');
    }
    if (trace) trace.status = out.status;
    if (facts) facts.status = out.status;
    if (buffered || noBody) {
      if (!buffered) discardBody(body);
      res.end(noBody || !buffered ? undefined : body);
      if (trace) trace.bodyBytes = noBody ? 0 : (body as Buffer).length;
      return;
    }
    const sending = ctx.captured ? ctx.captured.consume(body) : sendStream(body, res, out.length);
    // A small body that had arrived whole is sent at once (body-stream.ts): no turn of the event loop to wait for.
    const sent = sending instanceof Promise ? await sending : sending;
    if (trace) {
      trace.bodyBytes = sent.bytes;
      if (sent.error !== undefined) trace.error = `body: ${sent.error}`;
    }
  }

  #sendError(ctx: RequestContext, code: EdgeErrorCode): void {
    const { req, res, requestId, trace, facts } = ctx;
    const { status, awsType: name } = ErrorCatalog[code];
    if (trace || facts) {
      const result: EdgeTrace['result'] =
        code === 'FUNCTION_VALIDATION_ERROR' || code === 'FUNCTION_EXECUTION_ERROR'
          ? 'function-error'
          : code === 'EDGE_ORIGIN_CONNECT_ERROR' || code === 'EDGE_ORIGIN_TIMEOUT'
            ? 'origin-error'
            : 'edge-error';
      for (const record of [trace, facts]) {
        if (record === undefined) continue;
        record.status = status;
        record.result = result;
        record.error = record.error === undefined ? name : `${name}: ${record.error}`;
      }
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = errorPage(code, requestId);
    if (trace) {
      trace.bodyBytes = req.method === 'HEAD' ? 0 : body.length;
      trace.contentType = 'text/html; charset=utf-8';
    }
    // The reason phrase is given: a writeHead that failed in #send has already set the refused response's.
    res.writeHead(status, STATUS_CODES[status] ?? '', {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Length': String(body.length),
      Via: this.#via,
      'X-Cache': 'Error from openfront',
      [REQUEST_ID_HEADER]: requestId,
      [ERROR_HEADER]: name,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }
}

function fromOrigin(response: OriginResponse, xCache: string): Outgoing {
  return {
    status: response.status,
    statusText: response.statusText,
    headers: forwardableResponseHeaders(response.headers),
    body: response.body,
    length: declaredLength(response.headers),
    xCache,
  };
}

/**
 * The viewer's Accept-Encoding normalised under the policy's flags (compress.ts); undefined when the flags are off,
 * when the policy keys on Accept-Encoding itself, or for an HTTP/1.0 viewer (CloudFront drops its Accept-Encoding).
 */
function viewerEncoding(
  ctx: RequestContext,
  headers: ReadonlyArray<readonly [string, string]>,
  policy: BehaviorConfig['cachePolicy'],
): NormalisedEncoding | undefined {
  if (!encodingFlagsOn(policy) || ctx.req.httpVersion === '1.0') return undefined;
  if (policy.headers.behavior === 'whitelist' && policy.headers.names.includes('accept-encoding')) return undefined;
  const values: string[] = [];
  for (const [name, value] of headers) if (name.length === 15 && name.toLowerCase() === 'accept-encoding') values.push(value);
  return values.length === 0 ? undefined : normaliseAcceptEncoding(values, policy);
}

/** A memory-tier object as {@link answerFromStored} reads it; `now` 0: no Age (a response that was just fetched). */
function memoryObject(head: CachedHead, body: Buffer, now: number): StoredObject {
  const last = body.length - 1;
  return {
    status: head.status,
    statusText: head.statusText,
    headers: withAge(head, now),
    size: body.length,
    bytes: (start, end) => (start === 0 && end === last ? body : body.subarray(start, end + 1)),
  };
}

/** A disk-tier object (complete, or still being filled) as {@link answerFromStored} reads it. */
function fileObject(head: CachedHead, source: FileSource, size: number, now: number): StoredObject {
  return { status: head.status, statusText: head.statusText, headers: withAge(head, now), size, bytes: (start, end) => readFileSource(source, start, end) };
}

/** An object still being written to the disk tier, with a declared length or chunked. */
function fillObject(head: CachedHead, fill: DiskFill | ChunkedFill, now: number): StoredObject {
  if (fill instanceof DiskFill) return fileObject(head, fill, fill.length, now);
  const bytes = (): Readable => {
    const reader = fill.reader();
    if (reader === undefined) throw new OpenFrontError('INTERNAL', 'the chunked fill stopped before this viewer joined it');
    return reader;
  };
  return { status: head.status, statusText: head.statusText, headers: withAge(head, now), size: undefined, bytes };
}

function withAge(head: CachedHead, now: number): Array<[string, string]> {
  if (now === 0) return head.headers;
  const headers = head.headers.filter(([name]) => name !== 'age');
  headers.push(['age', String(Math.max(0, Math.floor((now - head.storedAt) / 1000)))]);
  return headers;
}

function discardOutgoing(out: Outgoing): void {
  if (!Buffer.isBuffer(out.body)) discardBody(out.body);
}

/** The stored head of an origin response that goes to the disk tier as it arrives (known length or chunked). */
function diskFillHead(response: OriginResponse, distributionId: string, objectPath: string, now: number, ttlSeconds: number): CachedHead {
  return {
    status: response.status,
    statusText: response.statusText,
    headers: forwardableResponseHeaders(response.headers),
    distributionId,
    objectPath,
    storedAt: now,
    expiresAt: now + ttlSeconds * 1000,
  };
}

function forwardableResponseHeaders(headers: Array<[string, string]>): Array<[string, string]> {
  const tokens = connectionHeaderTokens(headers);
  return headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return !HOP_BY_HOP.has(lower) && !tokens?.has(lower);
  });
}

/** Header names a Connection header declares hop-by-hop. */
function connectionHeaderTokens(headers: ReadonlyArray<readonly [string, string]>): Set<string> | undefined {
  let tokens: Set<string> | undefined;
  for (const [name, value] of headers) {
    if (name.length === 10 && name.toLowerCase() === 'connection') tokens = connectionTokens(value, tokens);
  }
  return tokens;
}

function connectionTokens(value: string | undefined, into?: Set<string>): Set<string> | undefined {
  if (value === undefined) return into;
  let tokens = into;
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive') (tokens ??= new Set()).add(t);
  }
  return tokens;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = new Array(raw.length >> 1);
  for (let i = 0; i < raw.length; i += 2) out[i >> 1] = [raw[i], raw[i + 1]];
  return out;
}

function hasBody(req: IncomingMessage): boolean {
  const http2 = http2HasBody(req);
  if (http2 !== undefined) return http2;
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

function viewerIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function micros(since: number): number {
  return Math.round((performance.now() - since) * 1000);
}
