/**
 * Recorded viewer requests (docs/safe-changes.md, "Dry-run against recorded traffic"): per distribution, a bounded
 * sample of the requests the edge received, kept so that `openfront dry-run` can replay real traffic through
 * proposed function code and data. A record holds what a viewer function's event is made of — method, path,
 * query string, headers, cookies, viewer IP — and never a body (CloudFront Functions never see one).
 *
 * Bounds: a sample rate, a per-second cap, a cap on the bytes of one request (larger ones are skipped, not cut:
 * a truncated request would replay as a different one), and a count and total-byte cap on what is kept (oldest
 * dropped first). Secrets are redacted as the request is copied: Authorization and Proxy-Authorization values and
 * every cookie value, plus any header the config names, unless the config keeps them by name.
 */
import type { RecordingConfig } from '../config/types.js';
import { REDACTED } from './redact.js';

/** One recorded request, as `GET /openfront/v1/distributions/{id}/recording` returns it. */
export interface RecordedRequest {
  /** ISO-8601 time the edge received it (replays run with this frozen clock). */
  time: string;
  method: string;
  /** Path as received, without the query string. */
  uri: string;
  /** Query string as received, without "?" ("" when there was none). */
  querystring: string;
  /** Header name/value pairs in the order received, without Cookie (see `cookies`); secrets redacted. */
  headers: Array<[string, string]>;
  /** Cookie name/value pairs of the Cookie header(s); values redacted unless kept by name. */
  cookies: Array<[string, string]>;
  clientIp: string;
}

/** A distribution's `recording` settings (docs/config.md, defined beside the rest of the config). */
export type RecordingSettings = RecordingConfig;

export const DEFAULT_RECORDING: RecordingSettings = Object.freeze({
  sampleRate: 1,
  maxRequests: 1000,
  maxRequestBytes: 16 * 1024,
  maxTotalBytes: 4 * 1024 * 1024,
  maxPerSecond: 100,
  redactHeaders: [],
  keepHeaders: [],
  keepCookies: [],
  persist: false,
});

/** Redacted by default, whatever else the config names. */
export const RECORDING_SECRET_HEADERS: readonly string[] = ['authorization', 'proxy-authorization'];

/** Headers that belong to the edge, not to the request a function sees: never recorded. */
const NEVER_RECORDED = new Set(['x-openfront-debug', 'x-openfront-debug-date']);

export interface RecordingCounters {
  /** Requests recorded since the start (or the last clear). */
  recorded: number;
  /** Requests skipped by the per-second cap. */
  skippedRate: number;
  /** Requests skipped for being larger than `maxRequestBytes`. */
  skippedSize: number;
  /** Recorded requests dropped later to stay within `maxRequests` / `maxTotalBytes`. */
  evicted: number;
}

export interface RecorderOptions {
  /** The sampling coin (tests pass a fixed sequence). */
  random?: () => number;
  now?: () => number;
}

interface Kept {
  request: RecordedRequest;
  bytes: number;
}

/** The recording of one distribution. */
export class RequestRecorder {
  readonly settings: RecordingSettings;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #secret: ReadonlySet<string>;
  readonly #keepAllCookies: boolean;
  readonly #keptCookies: ReadonlySet<string>;
  /** Oldest first; `#head` is the index of the oldest still kept (compacted now and then). */
  #items: Kept[] = [];
  #head = 0;
  #bytes = 0;
  #second = -1;
  #inSecond = 0;
  #counters: RecordingCounters = { recorded: 0, skippedRate: 0, skippedSize: 0, evicted: 0 };

  constructor(settings: RecordingSettings, options: RecorderOptions = {}) {
    this.settings = settings;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    const keep = new Set(settings.keepHeaders.map((h) => h.toLowerCase()));
    this.#secret = new Set([...RECORDING_SECRET_HEADERS, ...settings.redactHeaders.map((h) => h.toLowerCase())].filter((h) => !keep.has(h)));
    this.#keepAllCookies = settings.keepCookies.includes('*');
    this.#keptCookies = new Set(settings.keepCookies);
  }

  /**
   * Offers one request the edge answered. The sample coin is thrown first, so a request not sampled costs one
   * random number; a sampled one is copied (headers redacted) only if the per-second cap and size allow.
   */
  offer(method: string, target: string, rawHeaders: readonly string[], remoteAddress: string): void {
    if (this.settings.sampleRate < 1 && this.#random() >= this.settings.sampleRate) return;
    const now = this.#now();
    const second = Math.floor(now / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#inSecond = 0;
    }
    if (this.#inSecond >= this.settings.maxPerSecond) {
      this.#counters.skippedRate++;
      return;
    }
    // Measured before copying: an oversized request costs a sum of lengths, nothing more.
    let bytes = method.length + target.length + remoteAddress.length;
    for (let i = 0; i < rawHeaders.length; i++) bytes += Buffer.byteLength(rawHeaders[i]!);
    if (bytes > this.settings.maxRequestBytes || bytes > this.settings.maxTotalBytes) {
      this.#counters.skippedSize++;
      return;
    }
    this.#inSecond++;
    this.#keep({ request: this.#copy(new Date(now).toISOString(), method, target, rawHeaders, remoteAddress), bytes });
  }

  /** Kept requests, oldest first (at most `limit`, the newest ones). */
  list(limit?: number): RecordedRequest[] {
    const from = limit === undefined ? this.#head : Math.max(this.#head, this.#items.length - limit);
    return this.#items.slice(from).map((kept) => kept.request);
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get counters(): RecordingCounters {
    return { ...this.#counters };
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#counters = { recorded: 0, skippedRate: 0, skippedSize: 0, evicted: 0 };
  }

  /** Puts back requests read from a saved recording (already redacted); the bounds apply as for new ones. */
  restore(requests: readonly RecordedRequest[]): void {
    for (const request of requests) {
      const bytes = recordedBytes(request);
      if (bytes > this.settings.maxRequestBytes) continue;
      this.#keep({ request, bytes });
    }
  }

  #keep(kept: Kept): void {
    this.#items.push(kept);
    this.#bytes += kept.bytes;
    this.#counters.recorded++;
    while (this.size > this.settings.maxRequests || this.#bytes > this.settings.maxTotalBytes) {
      const oldest = this.#items[this.#head]!;
      this.#items[this.#head] = undefined as unknown as Kept;
      this.#head++;
      this.#bytes -= oldest.bytes;
      this.#counters.evicted++;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  #copy(time: string, method: string, target: string, raw: readonly string[], remoteAddress: string): RecordedRequest {
    const q = target.indexOf('?');
    const headers: Array<[string, string]> = [];
    const cookies: Array<[string, string]> = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (NEVER_RECORDED.has(lower)) continue;
      if (lower === 'cookie') {
        for (const part of raw[i + 1]!.split(';')) {
          const cookie = part.trim();
          if (cookie === '') continue;
          const eq = cookie.indexOf('=');
          const cookieName = eq === -1 ? cookie : cookie.slice(0, eq);
          const value = eq === -1 ? '' : cookie.slice(eq + 1);
          cookies.push([cookieName, this.#keepAllCookies || this.#keptCookies.has(cookieName) ? value : REDACTED]);
        }
        continue;
      }
      headers.push([name, this.#secret.has(lower) ? REDACTED : raw[i + 1]!]);
    }
    return {
      time,
      method,
      uri: q === -1 ? target : target.slice(0, q),
      querystring: q === -1 ? '' : target.slice(q + 1),
      headers,
      cookies,
      clientIp: viewerIp(remoteAddress),
    };
  }
}

/** What a recorded request counts against the byte bounds (the same measure as a live one, near enough). */
export function recordedBytes(request: RecordedRequest): number {
  let bytes = request.method.length + request.uri.length + request.querystring.length + 1 + request.clientIp.length;
  for (const [name, value] of request.headers) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  // "Cookie" plus "name=value; " per cookie.
  if (request.cookies.length > 0) bytes += 6;
  for (const [name, value] of request.cookies) bytes += Buffer.byteLength(name) + Buffer.byteLength(value) + 3;
  return bytes;
}

/**
 * The recorders of every distribution that has recording on. Only distributions with a `recording` section get one,
 * so for the others the edge's observer finds nothing and does nothing.
 */
export class RecordingSet {
  readonly #options: RecorderOptions;
  #recorders = new Map<string, RequestRecorder>();

  constructor(options: RecorderOptions = {}) {
    this.#options = options;
  }

  /** Follows a (re)loaded config: distributions keep their sample when their settings did not change. */
  configure(distributions: ReadonlyArray<{ id: string; recording?: RecordingSettings }>): void {
    const next = new Map<string, RequestRecorder>();
    for (const d of distributions) {
      if (d.recording === undefined) continue;
      const current = this.#recorders.get(d.id);
      next.set(d.id, current !== undefined && sameSettings(current.settings, d.recording) ? current : new RequestRecorder(d.recording, this.#options));
    }
    this.#recorders = next;
  }

  /** True when no distribution records: the edge's observer then skips recording altogether. */
  get empty(): boolean {
    return this.#recorders.size === 0;
  }

  get(distributionId: string): RequestRecorder | undefined {
    return this.#recorders.get(distributionId);
  }

  entries(): IterableIterator<[string, RequestRecorder]> {
    return this.#recorders.entries();
  }
}

function sameSettings(a: RecordingSettings, b: RecordingSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function viewerIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
