/**
 * A compact wire form for what a handler returns, the other half of event-wire.ts.
 *
 * The host validates the returned object (validate.ts) and uses only its known fields; JSON.parse of a ~300-byte
 * request on the host costs ~1.4 µs, splitting this form ~0.3 µs. The isolate encodes only values whose known
 * fields have exactly the types validation accepts, so that validating the decoded object gives exactly what
 * validating JSON.parse(JSON.stringify(value)) gives; anything else (toJSON, a non-string value, a body object,
 * a separator character…) goes as JSON and is judged there. Unknown keys are left out of both: validation never
 * reads them. isolate/encode-result.ts is the isolate side.
 */
import type { CFSetCookie, CFValueMap } from '../event.js';
import { ABSENT, FIELD, ITEM } from './isolate-contract.js';

function define(map: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(map, name, { value, enumerable: true, writable: true, configurable: true });
  else map[name] = value;
}

function decodeMap(part: string, withAttributes: boolean): CFValueMap | Record<string, CFSetCookie> {
  const map: Record<string, CFSetCookie> = {};
  if (part === '') return map;
  const items = part.split(ITEM);
  for (let i = 0; i < items.length;) {
    const name = items[i] as string;
    const entry: CFSetCookie = { value: items[i + 1] as string };
    i += 2;
    if (withAttributes) {
      const attributes = items[i++] as string;
      if (attributes !== ABSENT) entry.attributes = attributes;
    }
    const count = items[i++] as string;
    if (count !== ABSENT) {
      const n = Number(count);
      const multiValue: Array<{ value: string; attributes?: string }> = new Array(n);
      for (let j = 0; j < n; j++) {
        const item: { value: string; attributes?: string } = { value: items[i++] as string };
        if (withAttributes) {
          const attributes = items[i++] as string;
          if (attributes !== ABSENT) item.attributes = attributes;
        }
        multiValue[j] = item;
      }
      entry.multiValue = multiValue;
    }
    define(map, name, entry);
  }
  return map;
}

/** Host side: the object the isolate encoded (only the fields validation reads). */
export function decodeResult(wire: string): Record<string, unknown> {
  const f = wire.split(FIELD);
  if (f[0] === 'S') {
    const response: Record<string, unknown> = { statusCode: Number(f[1]) };
    if (f[2] !== ABSENT) response.statusDescription = f[2];
    if (f[3] !== ABSENT) response.headers = decodeMap(f[3] as string, false);
    if (f[4] !== ABSENT) response.cookies = decodeMap(f[4] as string, true);
    if (f[5] !== ABSENT) response.body = f[5];
    return response;
  }
  const qs = f[3] as string;
  return {
    method: f[1],
    uri: f[2],
    querystring: qs.charCodeAt(0) === 115 /* s */ ? qs.slice(1) : decodeMap(qs.slice(1), false),
    headers: decodeMap(f[4] as string, false),
    cookies: decodeMap(f[5] as string, false),
  };
}
