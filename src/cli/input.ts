/** Reading the files a command was pointed at, with messages that name the file and the problem. */
import { readFileSync } from 'node:fs';
import { isOpenFrontError, OpenFrontError } from '../errors.js';

/** Bad command-line input (CLI_USAGE): the command prints the message and exits 2. */
export function usageError(message: string): OpenFrontError {
  return new OpenFrontError('CLI_USAGE', message);
}

export function isUsageError(err: unknown): err is OpenFrontError {
  return isOpenFrontError(err) && err.code === 'CLI_USAGE';
}

export function readInputFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw usageError(`cannot read ${what} file "${path}": ${reason}`);
  }
}

export function readJsonFile(path: string, what: string): unknown {
  const text = readInputFile(path, what);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw usageError(`${what} file "${path}" is not valid JSON: ${(err as Error).message}`);
  }
}
