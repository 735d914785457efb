/**
 * Coverage of the functions' own code over the golden cases (`openfront test --coverage`, docs/test.md).
 *
 * The isolate reports V8's block counts as ranges of the script the checker prepared (the source with its
 * `import` lines rewritten, line for line the same). Counts are painted onto one number per character and summed
 * over the cases; acorn then names what a reader counts: statements (their lines) and branches (both arms of an
 * `if`, `?:`, `&&`/`||`/`??`, each `case`). With a source map beside the code (`//# sourceMappingURL=` or
 * `<file>.map`), lines and branches are reported at their place in the original sources.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { parse, type Node as AcornNode } from 'acorn';
import { originalPositionFor, TraceMap, type SourceMapInput } from '@jridgewell/trace-mapping';
import type { FunctionCoverage } from '../../runtime/sandbox/isolate-coverage.js';
import { prepareSource } from '../../runtime/checker.js';
import type { RuntimeVersion } from '../../runtime/event.js';

/** One line of a report: how often its statements ran. */
export interface LineHits {
  line: number;
  hits: number;
}

/** One arm of a branch. */
export interface BranchHits {
  line: number;
  column: number;
  /** Which arm: `then`, `else`, `case`, `left`, `right`, `consequent`, `alternate`. */
  arm: string;
  hits: number;
}

/** Coverage of one source file (the function's file, or an original source behind its source map). */
export interface FileCoverage {
  file: string;
  lines: LineHits[];
  branches: BranchHits[];
}

export interface CoverageTotals {
  lines: { covered: number; total: number; percent: number };
  branches: { covered: number; total: number; percent: number };
}

interface Measured {
  path: string;
  script: string;
  counts: Float64Array;
}

/** Sums the counts of every function over a run. */
export class CoverageCollector {
  readonly #measured = new Map<string, Measured>();

  /** Adds the counts of one take (FunctionCoverage offsets are into the prepared script of `path`'s code). */
  add(path: string, code: string, runtime: RuntimeVersion, functions: FunctionCoverage[]): void {
    const key = `${runtime}\0${path}`;
    let measured = this.#measured.get(key);
    if (measured === undefined) {
      const prepared = prepareSource(code, runtime, { maxCodeBytes: Number.POSITIVE_INFINITY });
      if (!prepared.ok) return;
      measured = { path, script: prepared.script, counts: new Float64Array(prepared.script.length) };
      this.#measured.set(key, measured);
    }
    const painted = paint(measured.script.length, functions);
    for (let i = 0; i < painted.length; i++) measured.counts[i] = (measured.counts[i] as number) + (painted[i] as number);
  }

  /** Per source file, sorted by name (a function loaded under two runtimes counts once per runtime). */
  files(): FileCoverage[] {
    const byFile = new Map<string, FileCoverage>();
    for (const measured of this.#measured.values()) {
      for (const file of analyse(measured)) {
        const existing = byFile.get(file.file);
        byFile.set(file.file, existing ? mergeFiles(existing, file) : file);
      }
    }
    return [...byFile.values()].sort((a, b) => a.file.localeCompare(b.file));
  }
}

/**
 * One count per character of the script: V8 reports nested ranges, and a position's count is that of the
 * innermost range around it. Painting outer ranges first and inner ones over them gives exactly that.
 */
function paint(length: number, functions: FunctionCoverage[]): Float64Array {
  const counts = new Float64Array(length);
  const ranges = functions.flatMap((fn) => fn.ranges).sort((a, b) => a.startOffset - b.startOffset || b.endOffset - a.endOffset);
  for (const range of ranges) counts.fill(range.count, Math.min(range.startOffset, length), Math.min(range.endOffset, length));
  return counts;
}

function analyse(measured: Measured): FileCoverage[] {
  const program = parse(measured.script, { ecmaVersion: 'latest', sourceType: 'script', locations: true, allowHashBang: true });
  const hitsAt = (offset: number) => measured.counts[offset] ?? 0;
  const lines = new Map<number, number>();
  const branches: BranchHits[] = [];
  const branch = (node: AcornNode, arm: string, hits: number) => branches.push({ line: node.loc!.start.line, column: node.loc!.start.column, arm, hits });
  walk(program, (node) => {
    if (isCountedStatement(node)) {
      const line = node.loc!.start.line;
      lines.set(line, Math.max(lines.get(line) ?? 0, hitsAt(node.start)));
    }
    const n = node as AcornNode & Record<string, AcornNode & { consequent?: AcornNode[] }>;
    switch (node.type) {
      case 'IfStatement': {
        const then = hitsAt(n.consequent!.start);
        branch(n.consequent!, 'then', then);
        if (n.alternate) branch(n.alternate, 'else', hitsAt(n.alternate.start));
        else branch(node, 'else', Math.max(0, hitsAt(node.start) - then));
        break;
      }
      case 'ConditionalExpression':
        branch(n.consequent!, 'consequent', hitsAt(n.consequent!.start));
        branch(n.alternate!, 'alternate', hitsAt(n.alternate!.start));
        break;
      case 'LogicalExpression':
        branch(n.left!, 'left', hitsAt(n.left!.start));
        branch(n.right!, 'right', hitsAt(n.right!.start));
        break;
      case 'SwitchCase': {
        const first = (n.consequent as unknown as AcornNode[])[0];
        branch(node, 'case', hitsAt((first ?? node).start));
        break;
      }
    }
  });
  const file: FileCoverage = {
    file: relativeIfInside(measured.path),
    lines: [...lines].map(([line, hits]) => ({ line, hits })).sort((a, b) => a.line - b.line),
    branches: branches.sort((a, b) => a.line - b.line || a.column - b.column),
  };
  const map = sourceMapOf(measured.path, measured.script);
  return map ? throughSourceMap(file, map, measured.path) : [file];
}

const NOT_STATEMENTS = new Set(['BlockStatement', 'EmptyStatement', 'FunctionDeclaration', 'ClassDeclaration']);

function isCountedStatement(node: AcornNode): boolean {
  return (node.type.endsWith('Statement') || node.type === 'VariableDeclaration') && !NOT_STATEMENTS.has(node.type);
}

function walk(node: AcornNode, visit: (node: AcornNode) => void): void {
  visit(node);
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) walk(item, visit);
    } else if (isNode(value)) {
      walk(value, visit);
    }
  }
}

function isNode(value: unknown): value is AcornNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string' &&
    typeof (value as { start?: unknown }).start === 'number'
  );
}

/** The source map of a function file: an inline or linked `sourceMappingURL`, or `<file>.map` beside it. */
function sourceMapOf(path: string, script: string): TraceMap | undefined {
  const url = /\/\/[#@] sourceMappingURL=(\S+)\s*$/.exec(script)?.[1];
  try {
    if (url?.startsWith('data:')) {
      const base64 = url.slice(url.indexOf(',') + 1);
      return new TraceMap(Buffer.from(base64, 'base64').toString('utf8') as SourceMapInput, path);
    }
    const file = url ? resolve(dirname(path), url) : `${path}.map`;
    if (existsSync(file)) return new TraceMap(readFileSync(file, 'utf8') as SourceMapInput, file);
  } catch {
    // An unreadable map: report the function's own lines.
  }
  return undefined;
}

/** Moves every line and branch to its original source; what has no original position stays in the built file. */
function throughSourceMap(file: FileCoverage, map: TraceMap, builtPath: string): FileCoverage[] {
  const files = new Map<string, FileCoverage>();
  const target = (source: string | null) => {
    const name = source === null ? builtPath : source.startsWith('file://') ? new URL(source).pathname : resolve(dirname(builtPath), source);
    let entry = files.get(name);
    if (entry === undefined) files.set(name, (entry = { file: name, lines: [], branches: [] }));
    return entry;
  };
  const lineHits = new Map<string, Map<number, number>>();
  for (const { line, hits } of file.lines) {
    const original = originalPositionFor(map, { line, column: 0, bias: 1 as never });
    const at = original.line === null ? { name: builtPath, line } : { name: target(original.source).file, line: original.line };
    const perLine = lineHits.get(at.name) ?? new Map<number, number>();
    perLine.set(at.line, Math.max(perLine.get(at.line) ?? 0, hits));
    lineHits.set(at.name, perLine);
  }
  for (const [name, perLine] of lineHits) {
    target(name === builtPath ? null : name).lines.push(...[...perLine].map(([line, hits]) => ({ line, hits })).sort((a, b) => a.line - b.line));
  }
  for (const b of file.branches) {
    const original = originalPositionFor(map, { line: b.line, column: b.column });
    if (original.line === null) target(null).branches.push(b);
    else target(original.source).branches.push({ ...b, line: original.line, column: original.column ?? 0 });
  }
  return [...files.values()].filter((f) => f.lines.length > 0 || f.branches.length > 0).map((f) => ({ ...f, file: relativeIfInside(f.file) }));
}

function relativeIfInside(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith('..') ? path : rel;
}

function mergeFiles(a: FileCoverage, b: FileCoverage): FileCoverage {
  const lines = new Map(a.lines.map((l) => [l.line, l.hits]));
  for (const l of b.lines) lines.set(l.line, (lines.get(l.line) ?? 0) + l.hits);
  return { file: a.file, lines: [...lines].map(([line, hits]) => ({ line, hits })).sort((x, y) => x.line - y.line), branches: [...a.branches, ...b.branches] };
}

export function totals(files: readonly FileCoverage[]): CoverageTotals {
  const count = (items: Array<{ hits: number }>) => {
    const covered = items.filter((i) => i.hits > 0).length;
    return { covered, total: items.length, percent: items.length === 0 ? 100 : (100 * covered) / items.length };
  };
  return { lines: count(files.flatMap((f) => f.lines)), branches: count(files.flatMap((f) => f.branches)) };
}

export const COVERAGE_REPORTERS = ['text', 'lcov', 'json'] as const;
export type CoverageReporterName = (typeof COVERAGE_REPORTERS)[number];

/** The coverage report in one of the formats. */
export function formatCoverage(reporter: CoverageReporterName, files: readonly FileCoverage[]): string {
  if (reporter === 'json')
    return `${JSON.stringify({ total: totals(files), files: files.map((f) => ({ file: f.file, totals: totals([f]), lines: f.lines, branches: f.branches })) }, null, 2)}\n`;
  if (reporter === 'lcov') return files.map(lcovRecord).join('');
  return textReport(files);
}

function lcovRecord(file: FileCoverage): string {
  const out = ['TN:', `SF:${resolve(file.file)}`];
  for (const l of file.lines) out.push(`DA:${l.line},${l.hits}`);
  out.push(`LF:${file.lines.length}`, `LH:${file.lines.filter((l) => l.hits > 0).length}`);
  // Arms of one branch point share a block number: a branch point is the line and column of its first arm's owner.
  file.branches.forEach((b, i) => out.push(`BRDA:${b.line},${i},0,${b.hits}`));
  out.push(`BRF:${file.branches.length}`, `BRH:${file.branches.filter((b) => b.hits > 0).length}`, 'end_of_record');
  return `${out.join('\n')}\n`;
}

function textReport(files: readonly FileCoverage[]): string {
  const pct = (p: number) => `${p.toFixed(1)}%`;
  const rows = files.map((f) => {
    const t = totals([f]);
    const uncoveredLines = ranges(f.lines.filter((l) => l.hits === 0).map((l) => l.line));
    const uncoveredBranches = f.branches.filter((b) => b.hits === 0).map((b) => `${b.line}:${b.column + 1} ${b.arm}`);
    return {
      file: f.file,
      lines: `${pct(t.lines.percent)} (${t.lines.covered}/${t.lines.total})`,
      branches: `${pct(t.branches.percent)} (${t.branches.covered}/${t.branches.total})`,
      uncoveredLines,
      uncoveredBranches,
    };
  });
  const all = totals(files);
  const width = Math.max(5, ...rows.map((r) => r.file.length));
  const out = ['', 'Coverage of the functions over their cases', `${'File'.padEnd(width)}  ${'Lines'.padEnd(18)}  ${'Branches'.padEnd(18)}  Lines not reached`];
  for (const r of rows) out.push(`${r.file.padEnd(width)}  ${r.lines.padEnd(18)}  ${r.branches.padEnd(18)}  ${r.uncoveredLines || '-'}`);
  out.push(
    `${'All'.padEnd(width)}  ${`${pct(all.lines.percent)} (${all.lines.covered}/${all.lines.total})`.padEnd(18)}  ${`${pct(all.branches.percent)} (${all.branches.covered}/${all.branches.total})`}`,
  );
  const missed = rows.filter((r) => r.uncoveredBranches.length > 0);
  if (missed.length > 0) {
    out.push('', 'Branches not taken (line:column arm)');
    for (const r of missed) out.push(`  ${r.file}: ${r.uncoveredBranches.join(', ')}`);
  }
  return `${out.join('\n')}\n`;
}

/** [3, 4, 5, 9] → "3-5, 9". */
function ranges(lines: number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < lines.length;) {
    let j = i;
    while (j + 1 < lines.length && lines[j + 1] === (lines[j] as number) + 1) j++;
    parts.push(i === j ? `${lines[i]}` : `${lines[i]}-${lines[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}
