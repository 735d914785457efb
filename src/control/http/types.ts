/** The shapes route handlers see: a fully read, not yet interpreted request, and a response to write. */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { PropagationResource } from '../../observe/propagation.js';
import type { Principal } from '../auth/verify-request.js';

export type { Principal };

export interface ApiRequest {
  readonly method: string;
  /** Path as received, still percent-encoded. Route params are already decoded per segment. */
  readonly rawPath: string;
  readonly rawQuery: string;
  /** Query parameters, percent-decoded; a name given twice keeps every value in order. */
  readonly query: ReadonlyMap<string, readonly string[]>;
  readonly headers: IncomingHttpHeaders;
  /** The whole body (already size-checked against the route's limit). */
  readonly body: Buffer;
  /** Also sent back as `x-amzn-requestid`. */
  readonly requestId: string;
  /** First value of a query parameter. */
  queryParam(name: string): string | undefined;
  /** A request header, joined with ", " if repeated. */
  header(name: string): string | undefined;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * A long-lived response (server-sent events): instead of `body`, the router writes the status and headers and
   * hands the open response to `stream`, which owns it from then on.
   */
  stream?: (res: ServerResponse) => void;
  /**
   * What a write made current: answered as the `x-openfront-version` header, and waited for with `?wait=all`
   * (src/control/propagation-wait.ts). `served: false` marks a version no edge serves (a function's DEVELOPMENT).
   */
  written?: { resource: PropagationResource; version: number; served?: boolean };
}

/** Path parameters by the names used in the route pattern (`{Name}` → `params.Name`), percent-decoded. */
export type RouteParams = Readonly<Record<string, string>>;

/**
 * Handles one route. Throw an `OpenFrontError` for any client error: the router writes it in the route group's
 * wire style. Anything else thrown is an internal error (500).
 */
export type RouteHandler = (req: ApiRequest, params: RouteParams, principal: Principal) => ApiResponse | Promise<ApiResponse>;
