/**
 * Finding golden case files: `tests/*.json` (a JSON file directly inside a folder named `tests`) and `*.test.json`
 * anywhere below the given paths, skipping `node_modules` and hidden folders. A path naming a file is taken as is.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { openFrontError } from '../../errors.js';

/** True for the file names `openfront test` picks up when walking a folder. */
export function isCaseFile(file: string): boolean {
  if (!file.endsWith('.json')) return false;
  return file.endsWith('.test.json') || basename(dirname(file)) === 'tests';
}

/** Case files under `paths` (files or folders; the current folder when empty), sorted, without duplicates. */
export function discoverCaseFiles(paths: readonly string[], cwd = process.cwd()): string[] {
  const found = new Set<string>();
  for (const path of paths.length === 0 ? ['.'] : paths) {
    const absolute = resolve(cwd, path);
    const stats = statSync(absolute, { throwIfNoEntry: false });
    if (stats === undefined) throw openFrontError('INPUT_INVALID', `no such file or folder: ${path}`);
    if (stats.isFile()) found.add(absolute);
    else walk(absolute, found);
  }
  return [...found].sort();
}

function walk(dir: string, found: Set<string>): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, found);
    else if (entry.isFile() && isCaseFile(path)) found.add(path);
  }
}
