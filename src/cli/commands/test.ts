/**
 * `openfront test [paths…]`: run golden cases (docs/test.md) through the production engine.
 * Exit codes: 0 every case passed, 1 a case failed or could not run, 2 unusable input (no cases, bad flag).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import {
  COVERAGE_REPORTERS,
  coverageTotals,
  discoverCaseFiles,
  formatCoverage,
  formatReport,
  REPORTERS,
  runGoldenTests,
  summarize,
  DEFAULT_MAX_UTILIZATION,
  type CoverageReporterName,
  type FileCoverage,
  type ReporterName,
} from '../../devtools/test-runner/index.js';

interface TestCommandOptions {
  reporter: ReporterName;
  output?: string;
  maxUtilization: string;
  coverage?: boolean;
  coverageReporter: CoverageReporterName;
  coverageOutput?: string;
  coverageThreshold?: string;
}

/** Where lcov and json coverage go unless --coverage-output says otherwise. */
const COVERAGE_FILES: Record<Exclude<CoverageReporterName, 'text'>, string> = { lcov: 'coverage/lcov.info', json: 'coverage/coverage.json' };

export function register(program: Command): void {
  program
    .command('test')
    .description('Run golden test cases (tests/*.json, *.test.json) against functions')
    .argument('[paths...]', 'case files or folders to search (default: the current folder)')
    .addOption(new Option('--reporter <name>', 'report format').choices(REPORTERS).default('human'))
    .option('--output <file>', 'write the report to a file (a one-line summary still goes to stdout)')
    .option('--max-utilization <n>', 'flag cases whose ComputeUtilization is above n (0-100)', String(DEFAULT_MAX_UTILIZATION))
    .option('--coverage', "report line and branch coverage of the functions' code over the cases (slower)")
    .addOption(
      new Option('--coverage-reporter <name>', 'coverage format: text (after the report), lcov or json (to a file)')
        .choices(COVERAGE_REPORTERS)
        .default('text'),
    )
    .option('--coverage-output <file>', 'where lcov/json coverage goes (default coverage/lcov.info, coverage/coverage.json)')
    .option('--coverage-threshold <percent>', 'fail (exit 1) when line or branch coverage is below this (implies --coverage)')
    .action(async (paths: string[], options: TestCommandOptions) => {
      const maxUtilization = Number(options.maxUtilization);
      if (!Number.isFinite(maxUtilization) || maxUtilization < 0 || maxUtilization > 100) {
        process.stderr.write(`openfront test: --max-utilization must be a number from 0 to 100, got "${options.maxUtilization}"\n`);
        process.exitCode = 2;
        return;
      }
      const threshold = options.coverageThreshold === undefined ? undefined : Number(options.coverageThreshold);
      if (threshold !== undefined && !(Number.isFinite(threshold) && threshold >= 0 && threshold <= 100)) {
        process.stderr.write(`openfront test: --coverage-threshold must be a number from 0 to 100, got "${options.coverageThreshold}"\n`);
        process.exitCode = 2;
        return;
      }
      const coverage = options.coverage === true || threshold !== undefined || options.coverageOutput !== undefined;
      let files: string[];
      try {
        files = discoverCaseFiles(paths);
      } catch (err) {
        process.stderr.write(`openfront test: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (files.length === 0) {
        process.stderr.write(
          `openfront test: no case files (tests/*.json, *.test.json) under ${paths.length === 0 ? 'the current folder' : paths.join(', ')}\n`,
        );
        process.exitCode = 2;
        return;
      }
      const run = await runGoldenTests(files, { maxUtilization, coverage });
      const text = formatReport(options.reporter, { results: run.results, maxUtilization, durationMs: run.durationMs, cwd: process.cwd() });
      if (options.output) {
        writeFileSync(options.output, text);
        const s = summarize(run.results);
        process.stdout.write(`${s.total} cases: ${s.passed} passed, ${s.failed} failed, ${s.errors} could not run; report written to ${options.output}\n`);
      } else {
        process.stdout.write(text);
      }
      if (!run.ok) process.exitCode = 1;
      if (run.coverage) reportCoverage(run.coverage, options, threshold);
    });
}

function reportCoverage(files: FileCoverage[], options: TestCommandOptions, threshold: number | undefined): void {
  const text = formatCoverage(options.coverageReporter, files);
  const total = coverageTotals(files);
  const figures = `lines ${total.lines.percent.toFixed(1)}% (${total.lines.covered}/${total.lines.total}), branches ${total.branches.percent.toFixed(1)}% (${total.branches.covered}/${total.branches.total})`;
  if (options.coverageReporter === 'text') {
    process.stdout.write(text);
  } else {
    const file = options.coverageOutput ?? COVERAGE_FILES[options.coverageReporter];
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    process.stdout.write(`coverage: ${figures}; ${options.coverageReporter} written to ${file}\n`);
  }
  if (threshold === undefined) return;
  const below = [total.lines.percent < threshold ? 'lines' : '', total.branches.percent < threshold ? 'branches' : ''].filter(Boolean);
  if (below.length > 0) {
    process.stderr.write(`openfront test: coverage below the threshold of ${threshold}% (${below.join(' and ')}): ${figures}\n`);
    process.exitCode = 1;
  }
}
