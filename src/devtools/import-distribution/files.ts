/**
 * Reading the export directory: every file is size-capped before it is read and every directory listing is
 * count-capped, so a wrong or hostile directory gives a clear error instead of exhausting memory.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { OpenFrontError } from '../../errors.js';

/** Caps on what the importer reads (bytes per file, entries per directory). */
export const IMPORT_LIMITS = {
  /** distribution.json and the policy / function / store descriptions: AWS's own documents are a few KB. */
  maxJsonBytes: 1024 * 1024,
  /** Function code: CloudFront's API takes at most 40,960 bytes (the runtime then limits it to 10 KB). */
  maxCodeBytes: 40_960,
  /** A store's data: CloudFront's import file limit. */
  maxStoreDataBytes: 5 * 1024 * 1024,
  /** Entries per sub-directory (CloudFront allows 100 functions / 50 stores / 20 cache policies per account by default). */
  maxDirectoryEntries: 1000,
} as const;

function invalid(message: string, details: Record<string, unknown> = {}): OpenFrontError {
  return new OpenFrontError('INPUT_INVALID', message, details);
}

/** The text of `path`, refused when larger than `maxBytes` (checked on the open file, then while reading). */
export function readCapped(path: string, maxBytes: number): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { file: path });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw invalid(`${path} is not a file`, { file: path });
    if (stat.size > maxBytes)
      throw invalid(`${path} is ${stat.size} bytes, more than the ${maxBytes} bytes the importer reads`, { file: path, limit: maxBytes });
    // Read one byte past the cap so a file that grew after the stat is still refused.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > maxBytes) throw invalid(`${path} is more than the ${maxBytes} bytes the importer reads`, { file: path, limit: maxBytes });
      if (length === buffer.length) break;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The parsed JSON of `path` (size-capped). */
export function readJson(path: string): unknown {
  const text = readCapped(path, IMPORT_LIMITS.maxJsonBytes);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`${path} is not valid JSON: ${(err as Error).message}`, { file: path });
  }
}

/** File names in `dir` (sorted), or [] when it does not exist; refused past the entry cap. */
export function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw invalid(`cannot list ${dir}: ${(err as Error).message}`, { file: dir });
  }
  if (names.length > IMPORT_LIMITS.maxDirectoryEntries) {
    throw invalid(`${dir} has ${names.length} entries, more than the ${IMPORT_LIMITS.maxDirectoryEntries} the importer reads`, { file: dir });
  }
  return names.sort();
}

export function exists(dir: string, name: string): boolean {
  return listFiles(dir).includes(name);
}

export { join };
