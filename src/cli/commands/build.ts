/**
 * `openfront build <entry.ts|.js> [--runtime …] [--outfile …] [--minify]`: bundle an entry into one CloudFront
 * Functions file (see src/devtools/build.ts), check it, and print `size / limit`.
 * Exit codes: 0 built and accepted, 1 the build failed or the checker rejects the output (too large included),
 * 2 unusable input.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { isOpenFrontError } from '../../errors.js';
import { buildFunction } from '../../devtools/build.js';
import { DEFAULT_RUNTIME } from '../../runtime/function.js';
import { RUNTIMES, type RuntimeVersion } from '../../runtime/event.js';

interface BuildCommandOptions {
  runtime: RuntimeVersion;
  outfile?: string;
  minify?: boolean;
}

export function register(program: Command): void {
  program
    .command('build')
    .description('Bundle a TypeScript/JavaScript entry into one CloudFront Functions file and check it')
    .argument('<entry>', 'entry file exporting the handler (export function handler / export default function)')
    .addOption(new Option('--runtime <runtime>', 'CloudFront Functions runtime').choices(RUNTIMES).default(DEFAULT_RUNTIME))
    .option('--outfile <file>', 'where to write the function (default: <entry name>.js beside it, or stdout with "-")')
    .option('--minify', 'minify the output (local names, whitespace, syntax)')
    .action(async (entry: string, options: BuildCommandOptions) => {
      const entryPath = resolve(entry);
      if (!existsSync(entryPath)) {
        process.stderr.write(`openfront build: cannot read entry file "${entry}": no such file\n`);
        process.exitCode = 2;
        return;
      }
      let result;
      try {
        result = await buildFunction({ entry: entryPath, runtime: options.runtime, minify: options.minify === true });
      } catch (err) {
        if (!isOpenFrontError(err)) throw err;
        process.stderr.write(`openfront build: ${err.message}\n`);
        process.exitCode = 1;
        return;
      }
      const outfile = options.outfile ?? entry.replace(/\.[cm]?[jt]sx?$/, '') + '.js';
      if (resolve(outfile) === entryPath) {
        process.stderr.write(`openfront build: the output would overwrite the entry "${entry}"; pass --outfile\n`);
        process.exitCode = 2;
        return;
      }
      const where = outfile === '-' ? 'stdout' : outfile;
      for (const p of result.problems) process.stderr.write(`${where}:${p.line}:${p.column} ${p.message}\n`);
      if (outfile === '-') {
        process.stdout.write(result.code);
      } else {
        mkdirSync(dirname(resolve(outfile)), { recursive: true });
        writeFileSync(outfile, result.code);
      }
      const verdict = result.ok ? 'ok' : 'rejected';
      // With the code on stdout the summary goes to stderr, so the output stays a clean function file.
      const summary = `${where}: ${result.bytes} / ${result.maxCodeBytes} bytes (${options.runtime}) ${verdict}\n`;
      (outfile === '-' ? process.stderr : process.stdout).write(summary);
      if (!result.ok) process.exitCode = 1;
    });
}
