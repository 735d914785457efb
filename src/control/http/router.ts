/**
 * A small router on `node:http` for the control-plane APIs.
 *
 * Routes live in groups. A group names the wire protocol its errors are written in, the path prefix it owns, and
 * the signatures it accepts. For every request the router: finds the group by prefix and the route on the raw path
 * split on "/" (each parameter segment then percent-decoded on its own, so an encoded "/" in an ARN or key never
 * splits a segment); verifies the signature from the head of the request before reading any of the body (a request
 * nobody signed is answered and its connection closed with the body unread); refuses a declared length above the
 * route's cap; reads the body, hashing it and stopping at the cap, and checks it against the signed hash; then calls
 * the handler with the decoded params and the authenticated principal. Between the two, the caller's policy must
 * allow the route's action on its resource (`RouteOptions.access`; admin when a route declares none): a denied call
 * gets the group's access-denied error and never reaches the handler. See docs/security.md.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isOpenFrontError, OpenFrontError, type ErrorCode } from '../../errors.js';
import type { NodeState } from '../../state/types.js';
import { parseRawQuery } from '../auth/canonical.js';
import { ADMIN_ONLY, type RouteAccess } from '../auth/route-access.js';
import { authFailure, authFailureReasonOf, type HeadVerdict, type Principal, type RequestHead, type SignatureExpectation } from '../auth/verify-request.js';
import { bodyTooLarge, declaredBodyLength, readBody } from './body.js';
import { jsonErrorResponse, nativeErrorResponse, xmlErrorResponse } from './error-writers.js';
import type { ApiRequest, ApiResponse, RouteHandler, RouteParams } from './types.js';

/** Wire style of a group's errors: AWS restJson1, AWS restXml (CloudFront), or OpenFront's native JSON. */
export type WireProtocol = 'rest-json' | 'rest-xml' | 'native-json';

export interface RouteGroupOptions {
  protocol: WireProtocol;
  /**
   * Path prefix owned by the group (e.g. "/2020-05-31/function"). Unknown paths under it get 404 in its style, after
   * authentication. Groups may share a prefix; their routes must then not overlap.
   */
  prefix: string;
  /** Signing names and algorithms the group accepts. */
  signing: SignatureExpectation;
  /** Default body cap for the group's routes. Default 1 MiB. */
  maxBodyBytes?: number;
}

export interface RouteOptions {
  /** Body cap for this route, overriding the group's. */
  maxBodyBytes?: number;
  /** What the caller's policy must allow (`auth/route-access.ts`). Default: admin. */
  access?: RouteAccess;
}

/** Adds routes to one group. Patterns are absolute paths; `{Name}` marks a single-segment parameter. */
export interface RouteScope {
  add(method: string, pattern: string, handler: RouteHandler, options?: RouteOptions): RouteScope;
  get(pattern: string, handler: RouteHandler, options?: RouteOptions): RouteScope;
  put(pattern: string, handler: RouteHandler, options?: RouteOptions): RouteScope;
  post(pattern: string, handler: RouteHandler, options?: RouteOptions): RouteScope;
  delete(pattern: string, handler: RouteHandler, options?: RouteOptions): RouteScope;
}

/** What a route group is given when the server starts. */
export interface RouteGroupContext {
  /** The node's state (stores, functions, access keys, audit), whichever backend holds it. */
  state: NodeState;
  now: () => Date;
  /** Directory CreateKeyValueStore may import files from; undefined turns ImportSource off. */
  importDir?: string;
}

/** Registers one family of routes (the KVS data plane, the function API, …). */
export type RouteGroup = (router: Router, ctx: RouteGroupContext) => void;

/**
 * Runs around every route handler, after authentication and body checks: for concerns that span route groups
 * (the version header and `?wait=all` of writes, src/control/propagation-wait.ts). `badRequest` is the group's
 * error code for a bad parameter.
 */
export type AroundHandler = (
  req: ApiRequest,
  route: { protocol: WireProtocol; badRequest: ErrorCode },
  next: () => Promise<ApiResponse>,
) => Promise<ApiResponse>;

/** Whether the caller may call a route: `denied` carries the message and details of the access-denied answer. */
export type AccessDecision = { allowed: true } | { allowed: false; message: string; details: Record<string, unknown> };

/** Decides a route's access for an authenticated caller (after authentication, before the handler). */
export type Authorize = (principal: Principal, access: RouteAccess, req: ApiRequest, params: RouteParams) => Promise<AccessDecision>;

/** Checks who sent a request from its head; throws {@link authFailure AUTH_FAILED} when nobody verifiable did. */
export type Authenticate = (head: RequestHead, expectation: SignatureExpectation) => HeadVerdict | Promise<HeadVerdict>;

interface Route {
  method: string;
  segments: string[];
  handler: RouteHandler;
  maxBodyBytes?: number;
  access: RouteAccess;
}

interface Group extends RouteGroupOptions {
  routes: Route[];
}

const PROTOCOL_ERRORS: Record<WireProtocol, { accessDenied: ErrorCode; badRequest: ErrorCode; tooLarge: ErrorCode; internal: ErrorCode }> = {
  'rest-json': { accessDenied: 'KVS_ACCESS_DENIED', badRequest: 'KVS_VALIDATION', tooLarge: 'KVS_VALIDATION', internal: 'KVS_INTERNAL' },
  'rest-xml': { accessDenied: 'CF_ACCESS_DENIED', badRequest: 'CF_INVALID_ARGUMENT', tooLarge: 'CF_ENTITY_SIZE_LIMIT_EXCEEDED', internal: 'INTERNAL' },
  'native-json': { accessDenied: 'KVS_ACCESS_DENIED', badRequest: 'BAD_REQUEST', tooLarge: 'PAYLOAD_TOO_LARGE', internal: 'INTERNAL' },
};

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

function splitPath(path: string): string[] {
  return path.split('/').slice(1);
}

/** Matches raw segments against a pattern; returns raw (still encoded) params. */
function matchSegments(pattern: readonly string[], raw: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== raw.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith('{') && p.endsWith('}')) {
      if (raw[i] === '') return undefined;
      params[p.slice(1, -1)] = raw[i];
    } else if (p !== raw[i]) {
      return undefined;
    }
  }
  return params;
}

function ownsPath(prefix: string, rawPath: string): boolean {
  return rawPath === prefix || rawPath.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

export class Router {
  readonly #groups: Group[] = [];
  readonly #authenticate: Authenticate;
  readonly #onInternalError: (err: unknown, requestId: string) => void;
  readonly #maxUnauthenticatedInFlight: number;
  readonly #around: AroundHandler | undefined;
  readonly #authorize: Authorize | undefined;
  #unauthenticatedInFlight = 0;

  constructor(options: {
    authenticate: Authenticate;
    onInternalError?: (err: unknown, requestId: string) => void;
    /** Bodies read before their signature can be checked, at once (see `ApiLimits`). Default 32. */
    maxUnauthenticatedInFlight?: number;
    around?: AroundHandler;
    /** Without it every authenticated caller may call every route (tests of the HTTP layer alone). */
    authorize?: Authorize;
  }) {
    this.#authenticate = options.authenticate;
    this.#authorize = options.authorize;
    this.#around = options.around;
    this.#maxUnauthenticatedInFlight = options.maxUnauthenticatedInFlight ?? 32;
    this.#onInternalError =
      options.onInternalError ??
      ((err, requestId) =>
        process.stderr.write(`openfront api: internal error in request ${requestId}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`));
  }

  /** Starts a route group. Prefixes may nest; the longest matching prefix owns a path. */
  group(options: RouteGroupOptions): RouteScope {
    const group: Group = { ...options, routes: [] };
    this.#groups.push(group);
    this.#groups.sort((a, b) => b.prefix.length - a.prefix.length);
    const scope: RouteScope = {
      add: (method, pattern, handler, routeOptions) => {
        group.routes.push({
          method: method.toUpperCase(),
          segments: splitPath(pattern),
          handler,
          maxBodyBytes: routeOptions?.maxBodyBytes,
          access: routeOptions?.access ?? ADMIN_ONLY,
        });
        return scope;
      },
      get: (pattern, handler, o) => scope.add('GET', pattern, handler, o),
      put: (pattern, handler, o) => scope.add('PUT', pattern, handler, o),
      post: (pattern, handler, o) => scope.add('POST', pattern, handler, o),
      delete: (pattern, handler, o) => scope.add('DELETE', pattern, handler, o),
    };
    return scope;
  }

  /** Every route with what a client needs to call it, for tools that must visit them all (the API fuzz suite). */
  routes(): Array<{ method: string; pattern: string; protocol: WireProtocol; service: string; maxBodyBytes: number; access: RouteAccess }> {
    return this.#groups.flatMap((g) =>
      g.routes.map((r) => ({
        method: r.method,
        pattern: `/${r.segments.join('/')}`,
        protocol: g.protocol,
        service: g.signing.services[0],
        maxBodyBytes: r.maxBodyBytes ?? g.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        access: r.access,
      })),
    );
  }

  /** The `node:http` request listener. */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = randomUUID();
    this.#handle(req, requestId).then(
      (response) => writeResponse(req, res, response, requestId),
      (err: unknown) => {
        // Only a broken connection (client gone mid-body, or a timeout) gets here; there is nobody to answer, and a
        // client that went away is not an internal error worth a log line.
        if (!req.destroyed) this.#onInternalError(err, requestId);
        res.destroy();
      },
    );
  };

  async #handle(req: IncomingMessage, requestId: string): Promise<ApiResponse> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    // Several groups may share a prefix (e.g. "/openfront/v1"): the route decides; otherwise the longest prefix.
    const owners = this.#groups.filter((g) => ownsPath(g.prefix, rawPath));
    if (owners.length === 0) return nativeErrorResponse(new OpenFrontError('NOT_FOUND', `No API at ${method} ${rawPath}`));
    const rawSegments = splitPath(rawPath);
    let matched: { group: Group; route: Route; rawParams: Record<string, string> } | undefined;
    for (const group of owners) {
      for (const route of group.routes) {
        const rawParams = route.method === method ? matchSegments(route.segments, rawSegments) : undefined;
        if (rawParams) {
          matched = { group, route, rawParams };
          break;
        }
      }
      if (matched) break;
    }
    const group = matched?.group ?? owners[0];
    const errors = PROTOCOL_ERRORS[group.protocol];
    const fail = (err: OpenFrontError): ApiResponse =>
      group.protocol === 'rest-json' ? jsonErrorResponse(err) : group.protocol === 'rest-xml' ? xmlErrorResponse(err, requestId) : nativeErrorResponse(err);

    // Who signed, from the head alone: an unsigned or wrongly signed request is answered before its body is read.
    let verdict: HeadVerdict;
    try {
      verdict = await this.#authenticate({ method, rawPath, rawQuery, rawHeaders: req.rawHeaders }, group.signing);
    } catch (err) {
      if (authFailureReasonOf(err) !== undefined)
        return fail(new OpenFrontError(errors.accessDenied, (err as Error).message, { reason: authFailureReasonOf(err) }));
      // The keys could not be read (a state backend unavailable): answered as such, before the body is read.
      if (isOpenFrontError(err)) return fail(err);
      throw err;
    }

    const maxBodyBytes = matched?.route.maxBodyBytes ?? group.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const declared = declaredBodyLength(req);
    if (declared !== 'chunked' && declared > maxBodyBytes) return fail(new OpenFrontError(errors.tooLarge, bodyTooLarge(maxBodyBytes).message));

    // Without a signed payload hash the signature can only be checked after the body: such reads are few at once.
    const unauthenticatedRead = verdict.kind === 'needs-body' && declared !== 0;
    if (unauthenticatedRead && this.#unauthenticatedInFlight >= this.#maxUnauthenticatedInFlight) {
      return fail(
        new OpenFrontError('API_BUSY', 'Too many requests whose signature is not yet checked are in progress: send x-amz-content-sha256 or retry later'),
      );
    }
    let body: Buffer;
    let bodyHash: string;
    if (unauthenticatedRead) this.#unauthenticatedInFlight++;
    try {
      ({ body, sha256: bodyHash } = await readBody(req, maxBodyBytes));
    } catch (err) {
      if (isOpenFrontError(err) && err.code === 'PAYLOAD_TOO_LARGE') return fail(new OpenFrontError(errors.tooLarge, err.message));
      throw err;
    } finally {
      if (unauthenticatedRead) this.#unauthenticatedInFlight--;
    }

    let principal: Principal;
    try {
      if (verdict.kind === 'needs-body') principal = verdict.finish(bodyHash);
      else if (verdict.payloadHash !== undefined && verdict.payloadHash !== bodyHash) throw authFailure('payload-hash-mismatch');
      else principal = verdict.principal;
    } catch (err) {
      if (authFailureReasonOf(err) !== undefined)
        return fail(new OpenFrontError(errors.accessDenied, (err as Error).message, { reason: authFailureReasonOf(err) }));
      throw err;
    }

    if (!matched) return fail(new OpenFrontError('NOT_FOUND', `No operation at ${method} ${rawPath}`));

    let params: RouteParams;
    let query: Map<string, string[]>;
    try {
      params = Object.fromEntries(Object.entries(matched.rawParams).map(([k, v]) => [k, decodeURIComponent(v)]));
      query = new Map();
      for (const [name, value] of parseRawQuery(rawQuery)) query.set(name, [...(query.get(name) ?? []), value]);
    } catch {
      return fail(new OpenFrontError(errors.badRequest, 'The request path or query string is not valid percent-encoded UTF-8'));
    }

    const apiRequest: ApiRequest = {
      method,
      rawPath,
      rawQuery,
      query,
      headers: req.headers,
      body,
      requestId,
      queryParam: (name) => query.get(name)?.[0],
      header: (name) => {
        const value = req.headers[name.toLowerCase()];
        return Array.isArray(value) ? value.join(', ') : value;
      },
    };
    const route = matched.route;
    try {
      if (this.#authorize !== undefined) {
        const decision = await this.#authorize(principal, route.access, apiRequest, params);
        if (!decision.allowed) return fail(new OpenFrontError(errors.accessDenied, decision.message, decision.details));
      }
      const run = async () => route.handler(apiRequest, params, principal);
      return await (this.#around === undefined ? run() : this.#around(apiRequest, { protocol: group.protocol, badRequest: errors.badRequest }, run));
    } catch (err) {
      if (isOpenFrontError(err)) return fail(err);
      this.#onInternalError(err, requestId);
      return fail(new OpenFrontError(errors.internal));
    }
  }
}

/**
 * Writes the response. When the request body was not read to its end (refused before or while reading), the
 * connection is closed once the response is out: the rest of the body is never read.
 */
function writeResponse(req: IncomingMessage, res: ServerResponse, response: ApiResponse, requestId: string): void {
  if (response.stream !== undefined) {
    res.writeHead(response.status, { ...response.headers, 'x-amzn-requestid': requestId });
    response.stream(res);
    return;
  }
  const body = response.body === undefined ? undefined : Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body, 'utf8');
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
  res.setHeader('x-amzn-requestid', requestId);
  res.setHeader('content-length', body?.length ?? 0);
  if (!req.complete) {
    res.setHeader('connection', 'close');
    res.once('finish', () => req.socket.destroy());
  }
  res.end(body);
}
