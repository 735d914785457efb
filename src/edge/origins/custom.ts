/**
 * HTTP(S) origins through undici: one keep-alive Pool per (scheme, host, port, limits), created on first use, so
 * origins a function picks at run time (`cf.updateRequestOrigin`) get pooled connections too.
 */
import { Pool } from 'undici';
import { originUnavailable, type OriginRequest, type OriginResponse, type ResolvedCustomOrigin } from './types.js';

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

export class CustomOriginClient {
  readonly #pools = new Map<string, Pool>();

  async fetch(origin: ResolvedCustomOrigin, request: OriginRequest): Promise<OriginResponse> {
    const pool = this.#pool(origin);
    const headers: string[] = [];
    headers.push('host', origin.hostHeader);
    for (const [name, value] of request.headers) headers.push(name, value);
    for (const name in origin.customHeaders) headers.push(name, origin.customHeaders[name]);
    try {
      const res = await pool.request({
        method: request.method,
        path: origin.originPath + request.target,
        headers,
        body: request.body,
        headersTimeout: origin.readTimeoutMs,
        bodyTimeout: origin.readTimeoutMs,
      });
      const pairs: Array<[string, string]> = [];
      for (const name in res.headers) {
        const value = res.headers[name];
        if (Array.isArray(value)) for (const v of value) pairs.push([name, v]);
        else if (value !== undefined) pairs.push([name, value]);
      }
      return { status: res.statusCode, statusText: res.statusText, headers: pairs, body: res.body };
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      throw originUnavailable(TIMEOUT_CODES.has(code) ? 'timeout' : 'connect', origin.id, err);
    }
  }

  #pool(origin: ResolvedCustomOrigin): Pool {
    const key = `${origin.protocol}://${origin.domainName}:${origin.port}|${origin.connectTimeoutMs}|${origin.maxConnections}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      const host = origin.domainName.includes(':') ? `[${origin.domainName}]` : origin.domainName;
      pool = new Pool(`${origin.protocol}://${host}:${origin.port}`, {
        connections: origin.maxConnections,
        connect: { timeout: origin.connectTimeoutMs },
        keepAliveTimeout: 5_000,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy()));
  }
}
