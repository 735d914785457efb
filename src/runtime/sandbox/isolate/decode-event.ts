/**
 * The isolate side of event-wire.ts: rebuilds the event object from its compact form. The result must be
 * indistinguishable from JSON.parse(JSON.stringify(event)) — same keys, same order — which is why maps are built
 * by assignment in wire order and a name "__proto__" becomes an own data property, as JSON.parse makes it.
 * A JSON wire (starting with "{") is parsed as JSON.
 */
import { ABSENT, FIELD, ITEM } from '../isolate-contract.js';

const jsonParse = JSON.parse,
  defineProperty = Object.defineProperty;

interface Entry {
  value: string;
  attributes?: string;
  multiValue?: Array<{ value: string; attributes?: string }>;
}
type ValueMap = Record<string, Entry>;

export type DecodedEvent = Record<string, unknown> & { request?: object };

/** Adds one entry; a name literally "__proto__" must stay data, as JSON.parse makes it. */
export function defineValue(map: ValueMap, name: string, entry: Entry): void {
  if (name === '__proto__') defineProperty(map, name, { value: entry, enumerable: true, writable: true, configurable: true });
  else map[name] = entry;
}

/** name I value I (ABSENT | count (I value)…) … */
function decodeValues(part: string): ValueMap {
  const map: ValueMap = {};
  if (part === '') return map;
  const items = part.split(ITEM);
  for (let i = 0; i < items.length;) {
    const name = items[i] as string,
      entry: Entry = { value: items[i + 1] as string },
      count = items[i + 2];
    i += 3;
    if (count !== ABSENT) {
      const n = +(count as string),
        mv = new Array<{ value: string }>(n);
      for (let j = 0; j < n; j++) mv[j] = { value: items[i++] as string };
      entry.multiValue = mv;
    }
    defineValue(map, name, entry);
  }
  return map;
}

/** Cookies of a response: like decodeValues, with an attributes slot after each value. */
function decodeCookies(part: string): ValueMap {
  const map: ValueMap = {};
  if (part === '') return map;
  const items = part.split(ITEM);
  for (let i = 0; i < items.length;) {
    const name = items[i] as string,
      entry: Entry = { value: items[i + 1] as string },
      attributes = items[i + 2],
      count = items[i + 3];
    i += 4;
    if (attributes !== ABSENT) entry.attributes = attributes;
    if (count !== ABSENT) {
      const n = +(count as string),
        mv = new Array<{ value: string; attributes?: string }>(n);
      for (let j = 0; j < n; j++) {
        const item: { value: string; attributes?: string } = { value: items[i++] as string },
          itemAttributes = items[i++];
        if (itemAttributes !== ABSENT) item.attributes = itemAttributes;
        mv[j] = item;
      }
      entry.multiValue = mv;
    }
    defineValue(map, name, entry);
  }
  return map;
}

export function decodeEvent(wire: string): DecodedEvent {
  if (wire.charCodeAt(0) === 123 /* { */) return jsonParse(wire) as DecodedEvent;
  const f = wire.split(FIELD) as string[];
  const context: Record<string, string> = {};
  if (f[2] !== '') {
    const pairs = (f[2] as string).split(ITEM);
    for (let k = 0; k < pairs.length; k += 2) context[pairs[k] as string] = pairs[k + 1] as string;
  }
  const event: DecodedEvent = {
    version: f[1],
    context: context,
    viewer: { ip: f[3] },
    request: {
      method: f[4],
      uri: f[5],
      querystring: decodeValues(f[6] as string),
      headers: decodeValues(f[7] as string),
      cookies: decodeValues(f[8] as string),
    },
  };
  if (f.length > 9) {
    const response: Record<string, unknown> = { statusCode: +(f[9] as string) };
    if (f[10] !== ABSENT) response.statusDescription = f[10];
    if (f[11] !== ABSENT) response.headers = decodeValues(f[11] as string);
    if (f[12] !== ABSENT) response.cookies = decodeCookies(f[12] as string);
    event.response = response;
  }
  return event;
}
