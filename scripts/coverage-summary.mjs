#!/usr/bin/env node
/**
 * Prints line and branch coverage per folder of src/ from c8's json-summary (coverage/coverage-summary.json,
 * written by `npm run test:coverage` or `npx c8 npm test`), weakest folder first by lines.
 *
 *   node scripts/coverage-summary.mjs [--summary coverage/coverage-summary.json] [--repeat-summary-of test.log]
 *
 * --repeat-summary-of prints node:test's closing lines (# tests, # pass, # fail …) from that log once more after
 * the table, so a CI log still ends with the test runner's summary.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    summary: { type: 'string', default: 'coverage/coverage-summary.json' },
    'repeat-summary-of': { type: 'string' },
  },
});

const summaryPath = resolve(values.summary);
if (!existsSync(summaryPath)) {
  process.stderr.write(`coverage-summary: ${values.summary} does not exist (run: npx c8 npm test)\n`);
  process.exit(2);
}
const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
const srcRoot = resolve('src');

/** Folder of src/ a file belongs to: its first folder under src/, or "src/" for the files directly in it. */
function folderOf(file) {
  const parts = relative(srcRoot, file).split(sep);
  return parts.length > 1 ? `src/${parts[0]}/` : 'src/';
}

const folders = new Map();
for (const [file, totals] of Object.entries(summary)) {
  if (file === 'total') continue;
  const folder = folderOf(file);
  const entry = folders.get(folder) ?? { files: 0, lines: { covered: 0, total: 0 }, branches: { covered: 0, total: 0 } };
  entry.files++;
  for (const kind of ['lines', 'branches']) {
    entry[kind].covered += totals[kind].covered;
    entry[kind].total += totals[kind].total;
  }
  folders.set(folder, entry);
}

const percent = ({ covered, total }) => (total === 0 ? 100 : (100 * covered) / total);
const cell = (counts) => `${percent(counts).toFixed(1).padStart(6)}% ${`(${counts.covered}/${counts.total})`.padStart(14)}`;
const rows = [...folders].sort((a, b) => percent(a[1].lines) - percent(b[1].lines));
const width = Math.max(12, ...rows.map(([folder]) => folder.length));

const out = [];
out.push('', `Coverage of src/ per folder (c8; weakest first)`, `${'folder'.padEnd(width)}  files  ${'lines'.padStart(22)}  ${'branches'.padStart(22)}`);
for (const [folder, entry] of rows) out.push(`${folder.padEnd(width)}  ${String(entry.files).padStart(5)}  ${cell(entry.lines)}  ${cell(entry.branches)}`);
const total = summary.total;
out.push(`${'all of src/'.padEnd(width)}  ${String(rows.reduce((n, [, e]) => n + e.files, 0)).padStart(5)}  ${cell(total.lines)}  ${cell(total.branches)}`, '');
process.stdout.write(`${out.join('\n')}\n`);

if (values['repeat-summary-of']) {
  const log = readFileSync(values['repeat-summary-of'], 'utf8').split('\n');
  const closing = log.filter((line) => /^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(line));
  // Only the last block: the runner's own summary.
  process.stdout.write(`${closing.slice(-8).join('\n')}\n`);
}
