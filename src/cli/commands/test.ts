/**
 * `openfront test [paths…]`: run golden cases (docs/test.md) through the production engine.
 * Exit codes: 0 every case passed, 1 a case failed or could not run, 2 unusable input (no cases, bad flag).
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { discoverCaseFiles, formatReport, REPORTERS, runGoldenTests, summarize, DEFAULT_MAX_UTILIZATION, type ReporterName } from '../../devtools/test-runner/index.js';

interface TestCommandOptions {
  reporter: ReporterName;
  output?: string;
  maxUtilization: string;
}

export function register(program: Command): void {
  program
    .command('test')
    .description('Run golden test cases (tests/*.json, *.test.json) against functions')
    .argument('[paths...]', 'case files or folders to search (default: the current folder)')
    .addOption(new Option('--reporter <name>', 'report format').choices(REPORTERS).default('human'))
    .option('--output <file>', 'write the report to a file (a one-line summary still goes to stdout)')
    .option('--max-utilization <n>', 'flag cases whose ComputeUtilization is above n (0-100)', String(DEFAULT_MAX_UTILIZATION))
    .action(async (paths: string[], options: TestCommandOptions) => {
      const maxUtilization = Number(options.maxUtilization);
      if (!Number.isFinite(maxUtilization) || maxUtilization < 0 || maxUtilization > 100) {
        process.stderr.write(`openfront test: --max-utilization must be a number from 0 to 100, got "${options.maxUtilization}"\n`);
        process.exitCode = 2;
        return;
      }
      let files: string[];
      try {
        files = discoverCaseFiles(paths);
      } catch (err) {
        process.stderr.write(`openfront test: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      if (files.length === 0) {
        process.stderr.write(`openfront test: no case files (tests/*.json, *.test.json) under ${paths.length === 0 ? 'the current folder' : paths.join(', ')}\n`);
        process.exitCode = 2;
        return;
      }
      const run = await runGoldenTests(files, { maxUtilization });
      const text = formatReport(options.reporter, { results: run.results, maxUtilization, durationMs: run.durationMs, cwd: process.cwd() });
      if (options.output) {
        writeFileSync(options.output, text);
        const s = summarize(run.results);
        process.stdout.write(`${s.total} cases: ${s.passed} passed, ${s.failed} failed, ${s.errors} could not run; report written to ${options.output}\n`);
      } else {
        process.stdout.write(text);
      }
      if (!run.ok) process.exitCode = 1;
    });
}
