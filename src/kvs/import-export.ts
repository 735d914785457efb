/**
 * The S3 import/export file format of CloudFront KeyValueStore: UTF-8 JSON `{"data":[{"key":"…","value":"…"}]}`.
 *
 * `readImportFile` streams: it validates each item as soon as it has been read (so a bad item deep in a large file
 * is reported with its key and index, and a file that is not JSON fails at the first bad character), and it never
 * holds more than one read chunk plus one item of raw text.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { openFrontError } from '../errors.js';
import { DEFAULT_KVS_LIMITS } from './limits.js';
import type { KeyValue, KvsLimits } from './types.js';
import { KeyValueBatch, utf8Bytes } from './validate.js';

const SHAPE = 'An import file must be a JSON object {"data":[{"key":"…","value":"…"}, …]}';
const LABEL = 'import item';

function tooLarge(bytes: number, limits: KvsLimits): never {
  throw openFrontError('KVS_QUOTA_EXCEEDED', `Datasource size exceeds the allowed limit (${bytes} bytes; the limit is ${limits.maxImportFileBytes} bytes)`, {
    bytes,
  });
}

/** Parses a whole import document held in memory. */
export function parseImportJson(text: string, limits: KvsLimits = DEFAULT_KVS_LIMITS): KeyValue[] {
  const bytes = utf8Bytes(text);
  if (bytes > limits.maxImportFileBytes) tooLarge(bytes, limits);
  let document: unknown;
  try {
    document = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (err) {
    throw openFrontError('KVS_VALIDATION', `The import file is not valid JSON: ${(err as Error).message}`);
  }
  const data = typeof document === 'object' && document !== null && !Array.isArray(document) ? (document as Record<string, unknown>).data : undefined;
  if (!Array.isArray(data)) throw openFrontError('KVS_VALIDATION', SHAPE);
  const batch = new KeyValueBatch(limits, { label: LABEL });
  data.forEach((item, index) => batch.add(item, index));
  return batch.items;
}

/** Streams an S3-import-format file of any size, validating as it goes. */
export async function readImportFile(
  path: string,
  options: { limits?: KvsLimits; onProgress?: (bytesRead: number, totalBytes: number) => void } = {},
): Promise<KeyValue[]> {
  const limits = options.limits ?? DEFAULT_KVS_LIMITS;
  const totalBytes = (await stat(path)).size;
  if (totalBytes > limits.maxImportFileBytes) tooLarge(totalBytes, limits);
  const parser = new ImportStreamParser(limits);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytesRead = 0;
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      parser.push(decodeChunk(decoder, chunk, bytesRead));
      bytesRead += chunk.length;
      options.onProgress?.(bytesRead, totalBytes);
    }
    parser.push(decodeChunk(decoder, undefined, bytesRead));
  } finally {
    stream.destroy();
  }
  return parser.end();
}

function decodeChunk(decoder: TextDecoder, chunk: Buffer | undefined, offset: number): string {
  try {
    return chunk === undefined ? decoder.decode() : decoder.decode(chunk, { stream: true });
  } catch {
    throw openFrontError('KVS_VALIDATION', `The import file is not valid UTF-8 (near byte ${offset})`, { offset });
  }
}

/** Writes items in the import format (one item per line), atomically: a temporary file renamed into place. */
export async function writeExportFile(path: string, items: Iterable<KeyValue>): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  const out = createWriteStream(temporary);
  try {
    let pending = '{"data":[';
    let separator = '\n';
    for (const { key, value } of items) {
      pending += separator + JSON.stringify({ key, value });
      separator = ',\n';
      if (pending.length >= 64 * 1024) {
        if (!out.write(pending)) await once(out, 'drain');
        pending = '';
      }
    }
    out.end(`${pending}\n]}\n`);
    await finished(out);
    await rename(temporary, path);
  } catch (err) {
    out.destroy();
    await unlink(temporary).catch(() => undefined);
    throw err;
  }
}

type State = 'start' | 'member' | 'colon' | 'data-open' | 'item' | 'item-sep' | 'skip-value' | 'member-sep' | 'done';

/**
 * An incremental parser for exactly this format. It finds the extent of each value with a small scanner (strings,
 * escapes, nesting) and hands complete items to `JSON.parse`, so JSON semantics stay those of the platform.
 * Members other than "data" are skipped.
 */
class ImportStreamParser {
  readonly #batch: KeyValueBatch;
  /** Largest raw text one valid item can take: every byte escaped as \uXXXX, plus room for the object syntax. */
  readonly #maxItemChars: number;
  #buffer = '';
  #pos = 0;
  /** Characters already dropped from the front of the buffer, for error offsets. */
  #dropped = 0;
  #state: State = 'start';
  #member = '';
  #sawData = false;
  /** After a comma another member/item must follow, not a closing bracket. */
  #needValue = false;
  #index = 0;

  constructor(limits: KvsLimits) {
    this.#batch = new KeyValueBatch(limits, { label: LABEL });
    this.#maxItemChars = (limits.maxKeyBytes + limits.maxValueBytes) * 6 + 1024;
  }

  push(text: string): void {
    this.#buffer = this.#buffer.slice(this.#pos) + text;
    this.#dropped += this.#pos;
    this.#pos = 0;
    while (this.#step());
  }

  end(): KeyValue[] {
    if (this.#state !== 'done') this.#syntax(this.#pos, 'the file ends before the JSON document does');
    return this.#batch.items;
  }

  /** Consumes one token if the buffer holds it completely; false when more text is needed. */
  #step(): boolean {
    this.#skipWhitespace();
    if (this.#pos >= this.#buffer.length) return false;
    const c = this.#buffer[this.#pos];
    switch (this.#state) {
      case 'start':
        this.#expect(c, '{');
        this.#state = 'member';
        return true;
      case 'member': {
        if (c === '}' && !this.#needValue) {
          if (!this.#sawData) throw openFrontError('KVS_VALIDATION', SHAPE);
          return this.#advance('done');
        }
        if (c !== '"') this.#syntax(this.#pos, 'expected a member name');
        const end = this.#scanValue(this.#pos);
        if (end < 0) return false;
        this.#member = JSON.parse(this.#buffer.slice(this.#pos, end)) as string;
        this.#pos = end;
        this.#needValue = false;
        this.#state = 'colon';
        return true;
      }
      case 'colon':
        this.#expect(c, ':');
        if (this.#member !== 'data') this.#state = 'skip-value';
        else if (this.#sawData) this.#syntax(this.#pos, 'the member "data" appears twice');
        else this.#state = 'data-open';
        return true;
      case 'data-open':
        if (c !== '[') throw openFrontError('KVS_VALIDATION', SHAPE);
        this.#sawData = true;
        return this.#advance('item');
      case 'item': {
        if (c === ']' && !this.#needValue) return this.#advance('member-sep');
        const end = this.#scanValue(this.#pos);
        if (end < 0) {
          if (this.#buffer.length - this.#pos > this.#maxItemChars) {
            throw openFrontError('KVS_VALIDATION', `${LABEL} ${this.#index} is larger than any valid item can be`, { index: this.#index });
          }
          return false;
        }
        let item: unknown;
        try {
          item = JSON.parse(this.#buffer.slice(this.#pos, end));
        } catch (err) {
          this.#syntax(this.#pos, `${LABEL} ${this.#index} is not valid JSON (${(err as Error).message})`);
        }
        this.#batch.add(item, this.#index++);
        this.#pos = end;
        this.#needValue = false;
        this.#state = 'item-sep';
        return true;
      }
      case 'item-sep':
        if (c === ',') {
          this.#needValue = true;
          return this.#advance('item');
        }
        this.#expect(c, ']');
        this.#state = 'member-sep';
        return true;
      case 'skip-value': {
        const end = this.#scanValue(this.#pos);
        if (end < 0) return false;
        this.#pos = end;
        this.#state = 'member-sep';
        return true;
      }
      case 'member-sep':
        if (c === ',') {
          this.#needValue = true;
          return this.#advance('member');
        }
        this.#expect(c, '}');
        if (!this.#sawData) throw openFrontError('KVS_VALIDATION', SHAPE);
        this.#state = 'done';
        return true;
      case 'done':
        return this.#syntax(this.#pos, 'unexpected text after the JSON document');
    }
  }

  #advance(next: State): true {
    this.#pos += 1;
    this.#state = next;
    return true;
  }

  #expect(actual: string, expected: string): void {
    if (actual !== expected) this.#syntax(this.#pos, `expected '${expected}' but found '${actual}'`);
    this.#pos += 1;
  }

  #skipWhitespace(): void {
    const buffer = this.#buffer;
    let pos = this.#pos;
    while (pos < buffer.length) {
      const c = buffer.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.#pos = pos;
  }

  /** End (exclusive) of the JSON value starting at `start`, or -1 when the buffer does not hold all of it yet. */
  #scanValue(start: number): number {
    const buffer = this.#buffer;
    let depth = 0;
    let inString = false;
    for (let i = start; i < buffer.length; i++) {
      const c = buffer[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') {
          inString = false;
          if (depth === 0) return i + 1;
        }
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        if (depth === 0) return i; // end of a primitive that sits last in its container
        depth--;
        if (depth === 0) return i + 1;
      } else if (depth === 0 && (c === ',' || c === ' ' || c === '\n' || c === '\r' || c === '\t')) return i;
    }
    return -1;
  }

  #syntax(pos: number, message: string): never {
    const offset = this.#dropped + pos;
    throw openFrontError('KVS_VALIDATION', `The import file is not valid: ${message} (at character ${offset})`, { offset });
  }
}
