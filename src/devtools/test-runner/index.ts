/**
 * The golden test runner behind `openfront test`: find case files, run every case through the production engine,
 * report. Usable from code as well as from the CLI.
 */
import { discoverCaseFiles } from './discover.js';
import { loadCaseFile, type TestCase } from './case.js';
import { GoldenRunner, DEFAULT_MAX_UTILIZATION, type CaseResult, type RunOptions } from './run.js';
import { summarize } from './reporters.js';
import { CoverageCollector, type FileCoverage } from './coverage.js';

export { discoverCaseFiles, isCaseFile } from './discover.js';
export { loadCaseFile, parseCase, type TestCase, type CaseExpectation, type FunctionRef, type EventInput } from './case.js';
export { GoldenRunner, compareResult, DEFAULT_MAX_UTILIZATION, type CaseResult, type CaseStatus, type RunOptions } from './run.js';
export { findDifferences, parseIgnorePath, formatPath, type Difference } from './match.js';
export { formatReport, summarize, REPORTERS, type ReporterName, type RunReport } from './reporters.js';
export {
  CoverageCollector,
  COVERAGE_REPORTERS,
  formatCoverage,
  totals as coverageTotals,
  type CoverageReporterName,
  type CoverageTotals,
  type FileCoverage,
} from './coverage.js';

/** The outcome of {@link runGoldenTests}. */
export interface GoldenRun {
  results: CaseResult[];
  /** No case failed or errored. */
  ok: boolean;
  durationMs: number;
  maxUtilization: number;
  /** With `coverage: true`: line and branch coverage of the functions' code over the cases, per source file. */
  coverage?: FileCoverage[];
}

/**
 * Runs every case found under `paths` (files or folders; see {@link discoverCaseFiles}). A case file that cannot
 * be read is one `error` result, so one broken file does not hide the results of the others.
 */
export async function runGoldenTests(
  paths: readonly string[],
  options: Omit<RunOptions, 'coverage'> & { cwd?: string; coverage?: boolean } = {},
): Promise<GoldenRun> {
  const started = performance.now();
  const coverage = options.coverage ? new CoverageCollector() : undefined;
  const runner = new GoldenRunner({ ...options, coverage });
  const results: CaseResult[] = [];
  try {
    for (const file of discoverCaseFiles(paths, options.cwd)) {
      let cases: TestCase[];
      try {
        cases = loadCaseFile(file);
      } catch (err) {
        results.push({
          name: '(case file)',
          file,
          index: 0,
          status: 'error',
          message: (err as Error).message,
          differences: [],
          overUtilization: false,
          logs: [],
          durationMs: 0,
        });
        continue;
      }
      for (const testCase of cases) results.push(await runner.run(testCase));
    }
  } finally {
    await runner.close();
  }
  return {
    results,
    ok: summarize(results).ok,
    durationMs: performance.now() - started,
    maxUtilization: options.maxUtilization ?? DEFAULT_MAX_UTILIZATION,
    ...(coverage ? { coverage: coverage.files() } : {}),
  };
}
export { loopbackAgent } from '../sdk-agent.js';
