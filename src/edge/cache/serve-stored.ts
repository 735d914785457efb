/**
 * The answer to a GET or HEAD from a stored copy (memory, disk, or a file still being filled): the whole object,
 * a 304 for a current conditional request, a 206 for a Range (one part, or multipart/byteranges), or a 416.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { headerValue, ifRangeMatches, isNotModified, notModifiedHeaders } from './conditional.js';
import { multipartLayout, parseRange } from './ranges.js';

export interface StoredAnswer {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  body: Buffer | Readable;
  /** Length of a streamed body. */
  length?: number;
}

export interface StoredObject {
  status: number;
  statusText: string;
  headers: Array<[string, string]>;
  /** Undefined while a chunked body is still being written: then it is sent whole, chunked, and ranges wait. */
  size: number | undefined;
  /** Bytes start..end inclusive; called only for ranges inside the object. */
  bytes(start: number, end: number): Buffer | Readable;
}

const EMPTY = Buffer.alloc(0);

export function answerFromStored(request: ReadonlyArray<readonly [string, string]>, stored: StoredObject): StoredAnswer {
  const { size } = stored;
  // Only a 200 has validators and ranges that mean something; other stored statuses are replayed as they are.
  if (stored.status !== 200) return whole(stored);
  if (isNotModified(request, stored.headers)) {
    return { status: 304, statusText: 'Not Modified', headers: notModifiedHeaders(stored.headers), body: EMPTY };
  }
  const rangeHeader = headerValue(request, 'range');
  if (rangeHeader === undefined || size === undefined || !ifRangeMatches(request, stored.headers)) return whole(stored);
  const range = parseRange(rangeHeader, size);
  if (range.kind === 'whole') return whole(stored);
  const others = stored.headers.filter(([name]) => {
    const lower = name.toLowerCase();
    return lower !== 'content-range' && lower !== 'content-type' && lower !== 'content-length';
  });
  if (range.kind === 'unsatisfiable') {
    others.push(['content-range', `bytes */${size}`]);
    return { status: 416, statusText: 'Range Not Satisfiable', headers: others, body: EMPTY };
  }
  const contentType = headerValue(stored.headers, 'content-type');
  if (range.ranges.length === 1) {
    const [start, end] = range.ranges[0];
    if (contentType !== undefined) others.push(['content-type', contentType]);
    others.push(['content-range', `bytes ${start}-${end}/${size}`]);
    return { status: 206, statusText: 'Partial Content', headers: others, body: stored.bytes(start, end), length: end - start + 1 };
  }
  const layout = multipartLayout(range.ranges, size, contentType, randomBytes(12).toString('hex'));
  others.push(['content-type', layout.contentType]);
  const ranges = range.ranges;
  async function* parts(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ranges.length; i++) {
      yield layout.heads[i];
      const part = stored.bytes(ranges[i][0], ranges[i][1]);
      if (Buffer.isBuffer(part)) yield part;
      else for await (const chunk of part) yield chunk as Buffer;
    }
    yield layout.tail;
  }
  return { status: 206, statusText: 'Partial Content', headers: others, body: Readable.from(parts(), { objectMode: false }), length: layout.length };
}

function whole(stored: StoredObject): StoredAnswer {
  const body = stored.bytes(0, stored.size === undefined ? Number.MAX_SAFE_INTEGER : stored.size - 1);
  return { status: stored.status, statusText: stored.statusText, headers: stored.headers, body, length: stored.size };
}
