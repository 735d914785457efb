/**
 * Access logs: one JSON line per viewer request (pino) with CloudFront's standard log field names, and the
 * functions' console.log lines next to it, each naming its function, version and request. Field reference and the
 * reasons for the defaults: docs/observability.md, "Access logs".
 */
import type { Channel } from 'node:diagnostics_channel';
import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger } from 'pino';
import type { EdgeTrace } from './decision-trace.js';
import type { Redactor } from './redact.js';

export interface AccessLogOptions {
  /** A file path (appended to, created 0640), or "-" for stdout. */
  destination: string;
  redactor: Redactor;
  /** CloudFront's "include cookies" switch: off logs `cs(Cookie)` as "-". Redaction still applies to values. */
  includeCookies?: boolean;
  /** `x-edge-location` (the POP code). */
  edgeLocation?: string;
}

/** CloudFront's `x-edge-result-type` for our result kinds. */
function resultType(trace: EdgeTrace): string {
  if (trace.status >= 400 || trace.result === 'function-error' || trace.result === 'origin-error' || trace.result === 'edge-error') return 'Error';
  if (trace.result === 'cache') return trace.cache?.status === 'refresh-hit' ? 'RefreshHit' : 'Hit';
  if (trace.result === 'redirect') return 'Redirect';
  if (trace.result === 'function-response') return 'FunctionGeneratedResponse';
  return 'Miss';
}

function header(trace: EdgeTrace, name: string): string | undefined {
  const headers = trace.viewerHeaders;
  if (headers === undefined) return undefined;
  for (const [n, v] of headers) if (n.length === name.length && n.toLowerCase() === name) return v;
  return undefined;
}

function dash(value: string | number | undefined): string | number {
  return value === undefined || value === '' ? '-' : value;
}

/** The access-log fields of one request, in CloudFront's order. */
export function accessLogFields(
  trace: EdgeTrace,
  options: { redactor: Redactor; includeCookies?: boolean; edgeLocation?: string },
): Record<string, string | number> {
  const started = trace.startedAt ?? Date.now();
  const finished = new Date(started + trace.timings.total / 1000);
  const iso = finished.toISOString();
  const q = trace.target.indexOf('?');
  const result = resultType(trace);
  const cookie = options.includeCookies ? header(trace, 'cookie') : undefined;
  const redaction = cookie !== undefined && options.redactor.enabled ? options.redactor.forRequest([['cookie', cookie]]).headers.cookie : cookie;
  const detailed = trace.error !== undefined ? trace.error.split(':')[0] : result;
  return {
    date: iso.slice(0, 10),
    time: iso.slice(11, 19),
    'x-edge-location': dash(options.edgeLocation),
    'sc-bytes': dash(trace.bodyBytes),
    'c-ip': dash(trace.clientIp),
    'cs-method': trace.method,
    'cs(Host)': dash(trace.host),
    'cs-uri-stem': q === -1 ? trace.target : trace.target.slice(0, q),
    'sc-status': trace.status === 0 ? '000' : trace.status,
    'cs(Referer)': dash(header(trace, 'referer')),
    'cs(User-Agent)': dash(header(trace, 'user-agent')),
    'cs-uri-query': q === -1 || q === trace.target.length - 1 ? '-' : trace.target.slice(q + 1),
    'cs(Cookie)': dash(redaction),
    'x-edge-result-type': result,
    'x-edge-request-id': trace.requestId,
    'x-host-header': dash(header(trace, 'host')),
    'cs-protocol': 'http',
    'time-taken': Number((trace.timings.total / 1e6).toFixed(3)),
    'x-forwarded-for': dash(header(trace, 'x-forwarded-for')),
    'ssl-protocol': '-',
    'ssl-cipher': '-',
    'x-edge-response-result-type': result,
    'cs-protocol-version': trace.httpVersion === undefined ? '-' : `HTTP/${trace.httpVersion}`,
    'fle-status': '-',
    'fle-encrypted-fields': '-',
    'c-port': dash(trace.clientPort),
    'x-edge-detailed-result-type': detailed,
    'sc-content-type': dash(trace.contentType),
    'sc-content-len': dash(trace.bodyBytes),
    'sc-range-start': '-',
    'sc-range-end': '-',
    // OpenFront's own, after CloudFront's.
    distribution: dash(trace.distributionId),
    behavior: dash(trace.behavior),
  };
}

export class AccessLog {
  readonly #logger: Logger;
  readonly #options: AccessLogOptions;
  readonly #destination: ReturnType<typeof pino.destination>;
  readonly #channels: Channel[] = [];
  readonly #onTrace = (message: unknown): void => this.write(message as EdgeTrace);

  constructor(options: AccessLogOptions) {
    this.#options = options;
    // Opened here, synchronously: a bad path fails at start, not at the first request.
    let fd = 1;
    if (options.destination !== '-') {
      mkdirSync(dirname(options.destination), { recursive: true });
      fd = openSync(options.destination, 'a', 0o640);
    }
    this.#destination = pino.destination({ fd, sync: false });
    // CloudFront's date/time fields carry the time; pino's own time, pid and hostname would only repeat it.
    this.#logger = pino({ base: undefined, timestamp: false, formatters: { level: (label) => ({ level: label }) } }, this.#destination);
  }

  follow(channel: Channel): void {
    channel.subscribe(this.#onTrace);
    this.#channels.push(channel);
  }

  write(trace: EdgeTrace): void {
    this.#logger.info({ type: 'access', ...accessLogFields(trace, this.#options) });
    let redaction: ((text: string) => string) | undefined;
    for (const fn of trace.functions) {
      if (fn.logs === undefined || fn.logs.length === 0) continue;
      redaction ??= this.#options.redactor.enabled ? this.#options.redactor.forRequest(trace.viewerHeaders ?? []).text : (t: string) => t;
      for (const line of fn.logs) {
        this.#logger.info({
          type: 'function-log',
          'x-edge-request-id': trace.requestId,
          function: fn.name,
          version: fn.version,
          'event-type': fn.eventType,
          message: redaction(line),
        });
      }
    }
  }

  /** Stops following and flushes what is buffered. */
  async close(): Promise<void> {
    for (const channel of this.#channels) channel.unsubscribe(this.#onTrace);
    this.#channels.length = 0;
    const destination = this.#destination;
    if (this.#options.destination === '-') {
      await new Promise<void>((resolve) => destination.flush(() => resolve()));
      return;
    }
    await new Promise<void>((resolve) => {
      destination.once('close', () => resolve());
      destination.end();
    });
  }
}
