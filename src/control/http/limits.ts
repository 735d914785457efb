/**
 * Bounds of the API server on what a client may hold: connections, requests whose signature cannot be checked
 * before their body is read, and how long headers, a whole request and an idle connection may take. One table of
 * defaults; every value can be changed per server (`ApiServerOptions.limits`, the config's `api` section).
 * docs/security.md lists them with the reasons.
 */
export interface ApiLimits {
  /** Open TCP connections at once; more are closed as they arrive. */
  maxConnections: number;
  /**
   * Requests whose signature can only be checked once the body is in (no `x-amz-content-sha256` header), being read
   * at once. More are answered 503 without reading their bodies. Requests with no valid key never get this far.
   */
  maxUnauthenticatedInFlight: number;
  /** Time to receive the request line and headers. */
  headersTimeoutMs: number;
  /** Time to receive a whole request, body included. */
  requestTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  keepAliveTimeoutMs: number;
  /** A connection with no bytes moving either way for this long is closed. */
  idleTimeoutMs: number;
}

export const DEFAULT_API_LIMITS: Readonly<ApiLimits> = {
  maxConnections: 1024,
  maxUnauthenticatedInFlight: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};
