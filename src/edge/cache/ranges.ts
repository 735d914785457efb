/**
 * `Range: bytes=…` against an object of known size, as CloudFront answers it from cache (docs/edge.md, "Ranges"):
 * one satisfiable range is a 206 with its Content-Range; several are a 206 multipart/byteranges only when they are
 * ascending, non-overlapping and each valid, otherwise the whole object is sent (200); a range that starts past
 * the end is a 416 with `Content-Range: bytes *\/size`. Anything that is not a bytes range is ignored (200).
 */

/** Most ranges one request may ask for; more and the request gets the whole object (bounds the parts written). */
export const MAX_RANGES = 16;

export type RangeAnswer = { kind: 'whole' } | { kind: 'unsatisfiable' } | { kind: 'ranges'; ranges: Array<[start: number, end: number]> };

export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const value = header.trim();
  if (!/^bytes\s*=/i.test(value)) return { kind: 'whole' };
  const specs = value.slice(value.indexOf('=') + 1).split(',');
  if (specs.length > MAX_RANGES) return { kind: 'whole' };
  const ranges: Array<[number, number]> = [];
  let unsatisfiable = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    const m = /^(\d{0,15})-(\d{0,15})$/.exec(spec);
    if (m === null || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
    let start: number;
    let end: number;
    if (m[1] === '') {
      // A suffix: the last n bytes.
      const n = Number(m[2]);
      if (n === 0) {
        unsatisfiable++;
        continue;
      }
      start = Math.max(0, size - n);
      end = size - 1;
    } else {
      start = Number(m[1]);
      end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (m[2] !== '' && Number(m[2]) < start) return { kind: 'whole' };
      if (start >= size) {
        unsatisfiable++;
        continue;
      }
    }
    ranges.push([start, end]);
  }
  if (ranges.length === 0) return unsatisfiable > 0 ? { kind: 'unsatisfiable' } : { kind: 'whole' };
  if (specs.length > 1) {
    // CloudFront: several ranges only when each is valid, ascending and non-overlapping; otherwise the whole object.
    if (unsatisfiable > 0) return { kind: 'whole' };
    for (let i = 1; i < ranges.length; i++) if (ranges[i][0] <= ranges[i - 1][1]) return { kind: 'whole' };
  }
  return { kind: 'ranges', ranges };
}

/** The head and tail of each part of a multipart/byteranges body, and the body's total length. */
export interface Multipart {
  boundary: string;
  contentType: string;
  /** Per range: the part's header block (delimiter, Content-Type, Content-Range, blank line). */
  heads: Buffer[];
  /** Closing delimiter. */
  tail: Buffer;
  length: number;
}

export function multipartLayout(ranges: ReadonlyArray<readonly [number, number]>, size: number, contentType: string | undefined, boundary: string): Multipart {
  const heads: Buffer[] = [];
  let length = 0;
  for (let i = 0; i < ranges.length; i++) {
    const [start, end] = ranges[i];
    const lines = [`${i === 0 ? '' : '\r\n'}--${boundary}`];
    if (contentType !== undefined) lines.push(`Content-Type: ${contentType}`);
    lines.push(`Content-Range: bytes ${start}-${end}/${size}`, '', '');
    const head = Buffer.from(lines.join('\r\n'), 'latin1');
    heads.push(head);
    length += head.length + (end - start + 1);
  }
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1');
  length += tail.length;
  return { boundary, contentType: `multipart/byteranges; boundary=${boundary}`, heads, tail, length };
}
