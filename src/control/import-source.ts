/**
 * CreateKeyValueStore's `ImportSource`, confined to one directory the operator chose (`--import-dir`,
 * `kvs.importDir`): OpenFront has no S3, so an S3 object is looked up as a file under that directory.
 *
 * A caller holding an access key must not learn anything about the rest of the server's file system, so:
 * - without an import directory the feature is off, with one clear error;
 * - a SourceARN is an S3 ARN (`arn:aws:s3:::bucket/key` → `<dir>/bucket/key`) or a relative path; absolute paths,
 *   URLs, `..`, `.`, empty segments, backslashes and NUL never resolve;
 * - the real path (symlinks followed) must still be inside the real import directory and be a regular file;
 * - every file that is missing, unreadable, outside or not a regular file gets the same error, and a file that is
 *   not a valid import file gets an error that says where (index or byte offset) but quotes nothing of its content.
 * See docs/security.md.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { isOpenFrontError, OpenFrontError } from '../errors.js';
import { readImportFile } from '../kvs/import-export.js';
import type { KeyValue, KvsLimits } from '../kvs/types.js';

const S3_ARN = /^arn:aws[a-z-]*:s3:::(.+)$/;
/** A scheme ("file:", "http:", "C:") — never a relative path inside the import directory. */
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const UNUSABLE = 'ImportSource.SourceARN does not name a readable import file in the import directory';

/** The relative path a SourceARN names inside the import directory, or undefined when it can name nothing there. */
export function importRelativePath(sourceArn: string): string | undefined {
  const arn = S3_ARN.exec(sourceArn);
  const relative = arn ? arn[1] : sourceArn;
  if (relative.length > 1024 || relative.startsWith('/') || URL_LIKE.test(relative) || /[\\\0]/.test(relative)) return undefined;
  const segments = relative.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  return segments.join(sep);
}

/** The real path of the file, checked to be a regular file inside the real import directory. */
async function resolveInside(importDir: string, relative: string): Promise<string> {
  // Missing, unreadable, outside the directory or not a regular file: one answer, so nothing can be probed.
  const unusable = new OpenFrontError('CF_INVALID_ARGUMENT', UNUSABLE);
  let root: string;
  let real: string;
  try {
    root = await realpath(importDir);
    real = await realpath(join(root, relative));
    if (!real.startsWith(root.endsWith(sep) ? root : `${root}${sep}`) || !(await stat(real)).isFile()) throw unusable;
  } catch {
    throw unusable;
  }
  return real;
}

/** A validation error from the file reader, restated with positions only (its message may quote keys or text). */
function withoutContent(err: OpenFrontError): OpenFrontError {
  if (err.code === 'KVS_QUOTA_EXCEEDED' || err.code === 'CF_ENTITY_SIZE_LIMIT_EXCEEDED') return err;
  const { reason, index, offset } = err.details as { reason?: unknown; index?: unknown; offset?: unknown };
  const where = typeof index === 'number' ? ` at item ${index}` : typeof offset === 'number' ? ` at byte ${offset}` : '';
  const what = typeof reason === 'string' ? ` (${reason})` : '';
  return new OpenFrontError('CF_INVALID_ARGUMENT', `The ImportSource file is not a valid import file${what}${where}`, {
    ...(typeof index === 'number' ? { index } : {}),
    ...(typeof offset === 'number' ? { offset } : {}),
  });
}

/** Reads the items an ImportSource names. Throws OpenFrontError only. */
export async function readImportSource(
  source: { sourceType: string | undefined; sourceArn: string | undefined },
  options: { importDir: string | undefined; limits: KvsLimits },
): Promise<KeyValue[]> {
  if (options.importDir === undefined) {
    throw new OpenFrontError(
      'CF_UNSUPPORTED_OPERATION',
      'ImportSource is off on this server: start it with --import-dir <dir> (or set kvs.importDir in the config) to import files from that directory',
    );
  }
  if (source.sourceType !== 'S3') throw new OpenFrontError('CF_INVALID_ARGUMENT', 'ImportSource.SourceType must be S3');
  if (!source.sourceArn) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'ImportSource.SourceARN is required');
  const relative = importRelativePath(source.sourceArn);
  if (relative === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', UNUSABLE);
  const path = await resolveInside(options.importDir, relative);
  try {
    return await readImportFile(path, { limits: options.limits });
  } catch (err) {
    if (isOpenFrontError(err)) throw withoutContent(err);
    // Vanished or became unreadable between the checks and the read: the same answer as any unusable file.
    throw new OpenFrontError('CF_INVALID_ARGUMENT', UNUSABLE);
  }
}
