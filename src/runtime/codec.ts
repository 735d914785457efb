/**
 * The event codec: HTTP ⇄ CloudFront Functions event v1.0 (CloudFront Developer Guide, "CloudFront Functions event structure").
 *
 * Raw vs decoded — the choice this module is built around:
 * - Query-string names and values are NOT percent-decoded. CloudFront hands a function the query text exactly as
 *   the viewer sent it (`?q=%E5%AE%B6` arrives as `value: "%E5%AE%B6"`), which is why AWS's own samples rebuild a
 *   query by plain concatenation (`key + "=" + value`). The same goes for `uri` and cookie values.
 * - "Values handed to functions are UTF-8": raw bytes ≥ 0x80 (which node:http hands over as one char per byte) are
 *   decoded as UTF-8 when they form valid UTF-8, otherwise read as ISO-8859-1.
 * - Unchanged uri, query string, header lines and cookies are forwarded byte-identical; changed ones are written as
 *   UTF-8, and characters that cannot appear in a request target (non-ASCII, controls, space, `#`) are
 *   percent-encoded so the target stays valid. `%` sequences a function writes are forwarded as written.
 *
 * Wire strings: header names/values and the request target in {@link HttpRequestParts}/{@link HttpResponseParts}
 * are "binary" strings, one char per byte, exactly as node:http's `rawHeaders`/`url` give them and as it writes
 * them back.
 */
import type { CFBody, CFContext, CFEvent, CFRequest, CFResponse, CFSetCookie, CFValue, CFValueMap } from './event.js';
import { capitalizeHeaderName, isDisallowedHeader } from './headers.js';

export { capitalizeHeaderName } from './headers.js';

/** An incoming viewer request as the edge received it. */
export interface HttpRequestParts {
  method: string;
  /** path + optional "?query", exactly as received */
  target: string;
  /** raw header lines in order, any case, Cookie included */
  headers: Array<[string, string]>;
  clientIp: string;
}

/** An HTTP response head (from the origin or the cache, or produced from a function's response). */
export interface HttpResponseParts {
  status: number;
  statusText?: string;
  headers: Array<[string, string]>;
}

/** One value of a query parameter, header or cookie; `attributes` only for Set-Cookie. */
export interface ValueItem {
  value: string;
  attributes?: string;
}

/** Structural supertype of {@link CFValue} and {@link CFSetCookie}. */
export interface ValueEntry extends ValueItem {
  multiValue?: ValueItem[];
}

/** Builds a viewer-request event from an incoming request. */
export function requestToEvent(req: HttpRequestParts, context: CFContext): CFEvent {
  return {
    version: '1.0',
    context: { ...context, eventType: 'viewer-request' },
    viewer: { ip: viewerIp(req.clientIp) },
    request: requestObject(req),
  };
}

/** Builds a viewer-response event from the viewer's request and the origin's (or cache's) response head. */
export function responseToEvent(req: HttpRequestParts, res: HttpResponseParts, context: CFContext): CFEvent & { response: CFResponse } {
  const headers: CFValueMap = {};
  const cookies: Record<string, CFSetCookie> = {};
  for (const [name, value] of res.headers) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') {
      const cookie = parseSetCookie(value);
      addEntry(cookies, cookie.name, { value: cookie.value, attributes: cookie.attributes });
    } else if (!isDisallowedHeader(lower)) {
      addEntry(headers, lower, { value: wireToText(value) });
    }
  }
  const response: CFResponse = { statusCode: res.status };
  if (res.statusText !== undefined) response.statusDescription = wireToText(res.statusText);
  response.headers = headers;
  response.cookies = cookies;
  return {
    version: '1.0',
    context: { ...context, eventType: 'viewer-response' },
    viewer: { ip: viewerIp(req.clientIp) },
    request: requestObject(req),
    response,
  };
}

/** Raw query string of a target: undefined when no '?', '' when bare '?'. */
export function rawQueryString(target: string): string | undefined {
  return splitTarget(target).query;
}

/**
 * Parses raw query text into the event's querystring map (no percent-decoding, see the module comment).
 * A parameter without `=` gets the value "". Empty `&&` segments are not parameters.
 */
export function parseQueryString(query: string | undefined): CFValueMap {
  const map: CFValueMap = {};
  for (const segment of querySegments(query)) addEntry(map, segment.name, { value: segment.value });
  return map;
}

/** The query text a querystring map (or a string a function assigned) stands for, without the leading '?'. */
export function serializeQueryString(querystring: CFValueMap | string): string {
  if (typeof querystring === 'string') return stripQuestionMark(querystring);
  const parts: string[] = [];
  for (const [name, entry] of Object.entries(querystring)) {
    for (const item of entryItems(entry)) parts.push(`${name}=${item.value}`);
  }
  return parts.join('&');
}

/** Apply a returned request to the original HTTP request using CloudFront's write-back rules → what to forward. */
export function requestFromEvent(original: HttpRequestParts, before: CFRequest, after: CFRequest): { target: string; headers: Array<[string, string]> } {
  const { path, query } = splitTarget(original.target);
  const uri = after.uri === before.uri ? path : encodeTargetText(after.uri, /[?#]/);
  const newQuery = writeBackQuery(query, asMap(before.querystring), after.querystring);
  const target = newQuery === undefined ? uri : `${uri}?${newQuery}`;

  const headerPlan = new WriteBackPlan(before.headers, after.headers);
  const cookiesChanged = !jsonEqual(before.cookies, after.cookies);
  const headers: Array<[string, string]> = [];
  let cookieLineName: string | undefined;
  for (const line of original.headers) {
    const lower = line[0].toLowerCase();
    if (lower === 'cookie') {
      if (!cookiesChanged) headers.push(line);
      else if (cookieLineName === undefined) {
        cookieLineName = line[0];
        pushCookieLine(headers, cookieLineName, original.headers, before.cookies, after.cookies);
      }
    } else if (!isDisallowedHeader(lower)) {
      for (const out of headerPlan.next(lower)) headers.push(out === ORIGINAL ? line : [line[0], textToWire(out.value)]);
    }
  }
  for (const [name, items] of headerPlan.unseen()) {
    for (const item of items) headers.push([capitalizeHeaderName(name), textToWire(item.value)]);
  }
  if (cookiesChanged && cookieLineName === undefined) {
    pushCookieLine(headers, 'Cookie', original.headers, before.cookies, after.cookies);
  }
  return { target, headers };
}

/**
 * Turn a returned/generated response into HTTP; `body` undefined means "keep the origin body".
 *
 * Without `original` (a response generated by a viewer-request function) every header is written with
 * CloudFront's capitalisation and a missing body means an empty one. With `original` unchanged lines are kept
 * byte-identical. Whenever a body is returned, `Content-Length`/`Transfer-Encoding` are dropped: the framing of a
 * replaced body is the HTTP server's job, and a stale origin length would corrupt the connection.
 */
export function responseFromEvent(after: CFResponse, original?: { res: HttpResponseParts; before: CFResponse }): HttpResponseParts & { body?: Buffer } {
  const headers = original ? writeBackResponseHeaders(original.res.headers, original.before, after) : generatedHeaders(after);
  const body = after.body === undefined ? (original ? undefined : Buffer.alloc(0)) : bodyBytes(after.body);
  const result: HttpResponseParts & { body?: Buffer } = {
    status: after.statusCode,
    headers: body === undefined ? headers : headers.filter(([name]) => !isFramingHeader(name)),
  };
  const statusText = responseStatusText(after, original);
  if (statusText !== undefined) result.statusText = statusText;
  if (body !== undefined) result.body = body;
  return result;
}

/** Equality of plain JSON data (what crosses the sandbox boundary), ignoring key order. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((value, i) => jsonEqual(value, b[i]));
  }
  const aKeys = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const bKeys = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  return (
    aKeys.length === bKeys.length &&
    aKeys.every((key) => Object.hasOwn(b, key) && jsonEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]))
  );
}

/** Whether a returned entry differs from the event's entry the way the write-back rules see it. */
export function entryChanged(before: CFValue | CFSetCookie | undefined, after: CFValue | CFSetCookie): boolean {
  return before === undefined || decide(before, after).kind !== 'keep';
}

/** Adds one occurrence to a value map: the first stays in `value`, repeats also produce `multiValue` (all, in order). */
export function addEntry(map: Record<string, ValueEntry>, name: string, item: ValueItem): void {
  const existing = Object.hasOwn(map, name) ? map[name] : undefined;
  if (existing === undefined) {
    const entry: ValueEntry = item.attributes === undefined ? { value: item.value } : { value: item.value, attributes: item.attributes };
    // A parameter literally named `__proto__` must become data, not a prototype (defineProperty is slow: only then).
    if (name === '__proto__') Object.defineProperty(map, name, { value: entry, enumerable: true, writable: true, configurable: true });
    else map[name] = entry;
    return;
  }
  existing.multiValue ??= [itemOf(existing)];
  existing.multiValue.push({ ...item });
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP → event

function requestObject(req: HttpRequestParts): CFRequest {
  const { path, query } = splitTarget(req.target);
  const headers: CFValueMap = {};
  const cookies: CFValueMap = {};
  for (const [name, value] of req.headers) {
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      for (const pair of cookiePairs(value)) addEntry(cookies, pair.name, { value: pair.value });
    } else if (!isDisallowedHeader(lower)) {
      addEntry(headers, lower, { value: wireToText(value) });
    }
  }
  return { method: req.method, uri: wireToText(path), querystring: parseQueryString(query), headers, cookies };
}

/** Dual-stack sockets report IPv4 viewers as `::ffff:a.b.c.d`; CloudFront shows them as plain IPv4. */
function viewerIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped ? mapped[1] : ip;
}

function splitTarget(target: string): { path: string; query: string | undefined } {
  // A proxy-style absolute-form target carries scheme and authority in front of the path.
  const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(target);
  const rest = authority ? target.slice(authority[0].length) : target;
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  return { path: path === '' ? '/' : path, query: q < 0 ? undefined : rest.slice(q + 1) };
}

interface QuerySegment {
  name: string;
  value: string;
  /** The segment's text on the wire; `rawName` is its name part. */
  raw: string;
  rawName: string;
}

function querySegments(query: string | undefined): QuerySegment[] {
  if (!query) return [];
  const segments: QuerySegment[] = [];
  for (const raw of query.split('&')) {
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    const rawName = eq < 0 ? raw : raw.slice(0, eq);
    segments.push({ name: wireToText(rawName), value: eq < 0 ? '' : wireToText(raw.slice(eq + 1)), raw, rawName });
  }
  return segments;
}

interface CookiePair {
  name: string;
  value: string;
  raw: string;
  rawName: string;
}

function cookiePairs(line: string): CookiePair[] {
  const pairs: CookiePair[] = [];
  for (const part of line.split(';')) {
    const raw = part.trim();
    if (raw === '') continue;
    const eq = raw.indexOf('=');
    const rawName = eq < 0 ? raw : raw.slice(0, eq).trimEnd();
    pairs.push({ name: wireToText(rawName), value: eq < 0 ? '' : wireToText(raw.slice(eq + 1).trimStart()), raw, rawName });
  }
  return pairs;
}

/** `name=value; attributes` — everything after the first `;` is kept verbatim (minus surrounding blanks). */
function parseSetCookie(line: string): { name: string; value: string; attributes: string } {
  const text = wireToText(line);
  const semi = text.indexOf(';');
  const pair = (semi < 0 ? text : text.slice(0, semi)).trim();
  const attributes = semi < 0 ? '' : text.slice(semi + 1).trim();
  const eq = pair.indexOf('=');
  if (eq < 0) return { name: pair, value: '', attributes };
  return { name: pair.slice(0, eq).trimEnd(), value: pair.slice(eq + 1).trimStart(), attributes };
}

// ---------------------------------------------------------------------------------------------------------------
// event → HTTP

const ORIGINAL = Symbol('original occurrence');
type Emitted = ValueItem | typeof ORIGINAL;

type Decision =
  | { kind: 'drop' }
  | { kind: 'keep' }
  /** `multiValue` changed (or the entry is new): these items replace every occurrence. */
  | { kind: 'replace-all'; items: ValueItem[] }
  /** only `value` (and `attributes`) changed: the first occurrence is replaced, the rest are kept. */
  | { kind: 'replace-first'; item: ValueItem };

function itemOf(entry: ValueItem): ValueItem {
  return entry.attributes === undefined ? { value: entry.value } : { value: entry.value, attributes: entry.attributes };
}

function normalisedItem(item: ValueItem): ValueItem {
  return { value: item.value, attributes: item.attributes ?? '' };
}

/** `multiValue` as the write-back rules read it: an absent or empty array does not count. */
function multiItems(entry: ValueEntry): ValueItem[] | undefined {
  return Array.isArray(entry.multiValue) && entry.multiValue.length > 0 ? entry.multiValue : undefined;
}

/** Every value an entry stands for, in order. */
function entryItems(entry: ValueEntry): ValueItem[] {
  return multiItems(entry) ?? [itemOf(entry)];
}

const KEEP: Decision = { kind: 'keep' };
const DROP: Decision = { kind: 'drop' };

function decide(before: ValueEntry | undefined, after: ValueEntry | undefined): Decision {
  if (after === undefined) return DROP;
  if (before === undefined) return { kind: 'replace-all', items: entryItems(after) };
  if (before.multiValue === undefined && after.multiValue === undefined) {
    // The common case, a single value on both sides: what the general comparison below concludes, without copies.
    const same = before.value === after.value && (before.attributes ?? '') === (after.attributes ?? '');
    return same ? KEEP : { kind: 'replace-first', item: itemOf(after) };
  }
  const beforeMulti = multiItems(before)?.map(normalisedItem);
  const afterMulti = multiItems(after)?.map(normalisedItem);
  if (!jsonEqual(beforeMulti, afterMulti)) return { kind: 'replace-all', items: entryItems(after) };
  if (!jsonEqual(normalisedItem(before), normalisedItem(after))) return { kind: 'replace-first', item: itemOf(after) };
  return KEEP;
}

/**
 * Walks the original occurrences of a map's names in wire order and says, for each, what to write in its place;
 * names the original never had are collected by {@link unseen}.
 */
class WriteBackPlan<E extends ValueEntry> {
  private readonly decisions = new Map<string, Decision>();
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly before: Record<string, E>,
    private readonly after: Record<string, E>,
  ) {}

  next(name: string): Emitted[] {
    const occurrence = this.seen.get(name) ?? 0;
    this.seen.set(name, occurrence + 1);
    let decision = this.decisions.get(name);
    if (decision === undefined) {
      decision = decide(ownEntry(this.before, name), ownEntry(this.after, name));
      this.decisions.set(name, decision);
    }
    switch (decision.kind) {
      case 'drop':
        return [];
      case 'keep':
        return [ORIGINAL];
      case 'replace-all':
        return occurrence === 0 ? decision.items : [];
      case 'replace-first':
        return occurrence === 0 ? [decision.item] : [ORIGINAL];
    }
  }

  /** Entries of the returned map with no occurrence in the original (added by the function), in key order. */
  unseen(): Array<[string, ValueItem[]]> {
    return Object.keys(this.after)
      .filter((name) => !this.seen.has(name) && this.after[name] !== undefined)
      .map((name) => [name, entryItems(this.after[name])]);
  }
}

function ownEntry<E>(map: Record<string, E>, name: string): E | undefined {
  return Object.hasOwn(map, name) ? map[name] : undefined;
}

function asMap(querystring: CFValueMap | string): CFValueMap {
  return typeof querystring === 'string' ? parseQueryString(stripQuestionMark(querystring)) : querystring;
}

function stripQuestionMark(query: string): string {
  return query.startsWith('?') ? query.slice(1) : query;
}

/** Returns the new raw query text, or undefined for "no query string at all". */
function writeBackQuery(rawQuery: string | undefined, before: CFValueMap, after: CFValueMap | string): string | undefined {
  if (typeof after === 'string') {
    // AWS's normalize-query-string sample assigns the whole query as a string; it is the raw query text.
    const text = stripQuestionMark(after);
    return text === '' ? undefined : encodeTargetText(text, /#/);
  }
  if (jsonEqual(before, after)) return rawQuery;
  const plan = new WriteBackPlan(before, after);
  const parts: string[] = [];
  for (const segment of querySegments(rawQuery)) {
    for (const out of plan.next(segment.name)) {
      parts.push(out === ORIGINAL ? segment.raw : `${segment.rawName}=${encodeTargetText(out.value, /[#&]/)}`);
    }
  }
  for (const [name, items] of plan.unseen()) {
    for (const item of items) parts.push(`${encodeTargetText(name, /[#&=]/)}=${encodeTargetText(item.value, /[#&]/)}`);
  }
  return parts.length === 0 ? undefined : parts.join('&');
}

/** Rebuilds the request's cookies into one Cookie line (RFC 6265 allows only one); omitted when none are left. */
function pushCookieLine(out: Array<[string, string]>, headerName: string, lines: Array<[string, string]>, before: CFValueMap, after: CFValueMap): void {
  const plan = new WriteBackPlan(before, after);
  const pairs: string[] = [];
  for (const [name, value] of lines) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const pair of cookiePairs(value)) {
      for (const emitted of plan.next(pair.name)) {
        pairs.push(emitted === ORIGINAL ? pair.raw : `${pair.rawName}=${textToWire(emitted.value)}`);
      }
    }
  }
  for (const [name, items] of plan.unseen()) {
    for (const item of items) pairs.push(`${textToWire(name)}=${textToWire(item.value)}`);
  }
  if (pairs.length > 0) out.push([headerName, pairs.join('; ')]);
}

function renderSetCookie(name: string, item: ValueItem): string {
  const attributes = item.attributes ? `; ${item.attributes}` : '';
  return textToWire(`${name}=${item.value}${attributes}`);
}

function writeBackResponseHeaders(lines: Array<[string, string]>, before: CFResponse, after: CFResponse): Array<[string, string]> {
  const headerPlan = new WriteBackPlan(before.headers ?? {}, after.headers ?? {});
  const cookiePlan = new WriteBackPlan(before.cookies ?? {}, after.cookies ?? {});
  const out: Array<[string, string]> = [];
  for (const line of lines) {
    const lower = line[0].toLowerCase();
    if (lower === 'set-cookie') {
      const name = parseSetCookie(line[1]).name;
      for (const emitted of cookiePlan.next(name)) out.push(emitted === ORIGINAL ? line : [line[0], renderSetCookie(name, emitted)]);
    } else if (!isDisallowedHeader(lower)) {
      for (const emitted of headerPlan.next(lower)) out.push(emitted === ORIGINAL ? line : [line[0], textToWire(emitted.value)]);
    }
  }
  for (const [name, items] of headerPlan.unseen()) {
    for (const item of items) out.push([capitalizeHeaderName(name), textToWire(item.value)]);
  }
  for (const [name, items] of cookiePlan.unseen()) {
    for (const item of items) out.push(['Set-Cookie', renderSetCookie(name, item)]);
  }
  return out;
}

function generatedHeaders(response: CFResponse): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, entry] of Object.entries(response.headers ?? {})) {
    for (const item of entryItems(entry)) out.push([capitalizeHeaderName(name), textToWire(item.value)]);
  }
  for (const [name, entry] of Object.entries(response.cookies ?? {})) {
    for (const item of entryItems(entry)) out.push(['Set-Cookie', renderSetCookie(name, item)]);
  }
  return out;
}

/**
 * The reason phrase: the function's own when it set or changed one; the origin's when the status is untouched;
 * none (the server's default) when only the status code changed, so a 404 is not sent as "404 OK".
 */
function responseStatusText(after: CFResponse, original?: { res: HttpResponseParts; before: CFResponse }): string | undefined {
  if (original && after.statusDescription === original.before.statusDescription) {
    return after.statusCode === original.before.statusCode ? original.res.statusText : undefined;
  }
  return after.statusDescription === undefined ? undefined : textToWire(after.statusDescription);
}

function bodyBytes(body: CFBody): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(body.data, body.encoding === 'base64' ? 'base64' : 'utf8');
}

function isFramingHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'content-length' || lower === 'transfer-encoding';
}

// ---------------------------------------------------------------------------------------------------------------
// text ⇄ wire

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Wire (one char per byte) → text: UTF-8 when the bytes are valid UTF-8, ISO-8859-1 otherwise. */
export function wireToText(wire: string): string {
  if (!/[^\x00-\x7f]/.test(wire) || /[^\x00-\xff]/.test(wire)) return wire;
  try {
    return utf8.decode(Buffer.from(wire, 'latin1'));
  } catch {
    return wire;
  }
}

/** Text → wire: its UTF-8 bytes, one char per byte. */
export function textToWire(text: string): string {
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/**
 * Percent-encodes (as UTF-8) what cannot stand in a request target — controls, space, DEL, non-ASCII — plus the
 * given delimiters; everything else, `%` included, is written as the function wrote it.
 */
function encodeTargetText(text: string, delimiters: RegExp): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && !delimiters.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
