/**
 * Secrets in a decision record: the values of `Authorization`, `Proxy-Authorization` and `Cookie` (cookie names
 * stay, their values go) and of any header the operator names. Everything that leaves the process (the live stream,
 * the decisions API, explain, access logs) is redacted; `redact: false` in the config turns it off for a
 * development machine (docs/observability.md, "Redaction").
 *
 * A secret can also travel on: a function may log a cookie or use a token as a KVS key, and a cache key may hold a
 * header or cookie value. So besides the headers themselves, every occurrence of a secret value in log lines, KVS
 * keys and the cache key is replaced too.
 */

export const REDACTED = '[redacted]';

/** Always redacted, whatever the configuration says. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'cookie', 'x-openfront-debug'];

/** Shorter secret values are only replaced where they are a whole value, not inside longer text. */
const MIN_SUBSTRING_SECRET = 6;

export interface RedactionOptions {
  /** Default true. */
  enabled?: boolean;
  /** More header names whose values are secret (case-insensitive), e.g. `x-api-key`. */
  headers?: readonly string[];
}

/** The redaction applied to one request's headers and to text derived from them. */
export interface RequestRedaction {
  /** Headers as a plain object, secrets replaced (repeated headers joined with ", "). */
  headers: Record<string, string>;
  /** Replaces each secret value inside `text`. */
  text(text: string): string;
}

export class Redactor {
  readonly enabled: boolean;
  readonly #names: ReadonlySet<string>;

  constructor(options: RedactionOptions = {}) {
    this.enabled = options.enabled ?? true;
    this.#names = new Set([...ALWAYS_REDACTED_HEADERS, ...(options.headers ?? []).map((h) => h.toLowerCase())]);
  }

  /** True when `name` (any case) is a header whose value is redacted. */
  isSecretHeader(name: string): boolean {
    return this.enabled && this.#names.has(name.toLowerCase());
  }

  forRequest(rawHeaders: ReadonlyArray<readonly [string, string]>): RequestRedaction {
    const headers: Record<string, string> = {};
    const secrets: string[] = [];
    for (const [name, value] of rawHeaders) {
      const lower = name.toLowerCase();
      let shown = value;
      if (this.enabled && this.#names.has(lower)) {
        if (lower === 'cookie') {
          shown = redactCookieHeader(value, secrets);
        } else {
          shown = REDACTED;
          collectSecret(value, secrets);
          // "Bearer abc…": the credential alone may also show up elsewhere.
          const space = value.indexOf(' ');
          if (space > 0) collectSecret(value.slice(space + 1).trim(), secrets);
        }
      }
      headers[lower] = headers[lower] === undefined ? shown : `${headers[lower]}, ${shown}`;
    }
    // Longest first, so a secret that contains another is replaced whole.
    secrets.sort((a, b) => b.length - a.length);
    return { headers, text: secrets.length === 0 ? identity : (text) => replaceSecrets(text, secrets) };
  }
}

function identity(text: string): string {
  return text;
}

function collectSecret(value: string, into: string[]): void {
  if (value !== '' && !into.includes(value)) into.push(value);
}

/** `a=1; b=2` → `a=[redacted]; b=[redacted]`; the values are collected as secrets. */
function redactCookieHeader(header: string, secrets: string[]): string {
  return header
    .split(';')
    .map((part) => {
      const cookie = part.trim();
      const eq = cookie.indexOf('=');
      if (eq === -1) return cookie;
      collectSecret(cookie.slice(eq + 1), secrets);
      return `${cookie.slice(0, eq)}=${REDACTED}`;
    })
    .join('; ');
}

function replaceSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (out === secret) return REDACTED;
    if (secret.length >= MIN_SUBSTRING_SECRET && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}
