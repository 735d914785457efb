/**
 * The HTTP text form of a test request or response, as written in a case file:
 *   "GET /path?x=1\nHost: example.com\nAccept-Language: de"      (an `HTTP/1.1` after the target is optional)
 *   "200 OK\nContent-Type: text/html"                            (a leading `HTTP/1.1` is optional)
 * Everything after the first blank line (a body) is ignored: functions never see bodies.
 */
import type { HttpRequestParts, HttpResponseParts } from '../../runtime/codec.js';
import { openFrontError } from '../../errors.js';

export function parseHttpRequestText(text: string, clientIp: string): HttpRequestParts {
  const [first, headers] = splitHead(text);
  const match = /^([A-Za-z]+)\s+(\S+)(?:\s+HTTP\/\d(?:\.\d)?)?$/.exec(first);
  if (match === null) throw openFrontError('TEST_CASE_INVALID', `the request line "${first}" is not "METHOD /path[?query]"`);
  const target = match[2] as string;
  if (!target.startsWith('/')) throw openFrontError('TEST_CASE_INVALID', `the request target "${target}" must start with "/"`);
  return { method: (match[1] as string).toUpperCase(), target: toWire(target), headers, clientIp };
}

export function parseHttpResponseText(text: string): HttpResponseParts {
  const [first, headers] = splitHead(text);
  const match = /^(?:HTTP\/\d(?:\.\d)?\s+)?(\d{3})(?:\s+(.*))?$/.exec(first);
  if (match === null) throw openFrontError('TEST_CASE_INVALID', `the status line "${first}" is not "200 OK"`);
  return { status: Number(match[1]), ...(match[2] ? { statusText: toWire(match[2]) } : {}), headers };
}

function splitHead(text: string): [string, Array<[string, string]>] {
  const lines = text.replace(/^\s+/, '').split(/\r?\n/);
  const blank = lines.findIndex((line) => line.trim() === '');
  const head = blank === -1 ? lines : lines.slice(0, blank);
  const headers = head.slice(1).map((line): [string, string] => {
    const colon = line.indexOf(':');
    if (colon <= 0) throw openFrontError('TEST_CASE_INVALID', `the header line "${line}" is not "Name: value"`);
    return [toWire(line.slice(0, colon).trim()), toWire(line.slice(colon + 1).trim())];
  });
  return [(head[0] ?? '').trim(), headers];
}

/** The codec takes wire strings (one char per byte, as node:http gives them): encode the text as UTF-8 bytes. */
function toWire(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}
