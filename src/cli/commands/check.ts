/**
 * `openfront check <file>`: runs the compatibility checker on a function file, like CloudFront's create/update would.
 * Exit codes: 0 accepted, 1 rejected (one `file:line:col message` per problem on stderr), 2 unusable input.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { RUNTIMES, type RuntimeVersion } from '../../runtime/event.js';
import { checkSource } from '../../runtime/checker.js';
import { DEFAULT_RUNTIME_LIMITS } from '../../runtime/limits.js';

export function register(program: Command): void {
  program
    .command('check')
    .description('Check that a function file would be accepted by CloudFront Functions')
    .argument('<file>', 'function code (JavaScript)')
    .addOption(
      new Option('--runtime <runtime>', 'CloudFront Functions runtime').choices(RUNTIMES).default('cloudfront-js-2.0'),
    )
    .action((file: string, options: { runtime: RuntimeVersion }) => {
      let code: string;
      try {
        code = readFileSync(file, 'utf8');
      } catch (err) {
        process.stderr.write(`openfront check: cannot read ${file}: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const problems = checkSource(code, options.runtime);
      if (problems.length > 0) {
        for (const p of problems) process.stderr.write(`${file}:${p.line}:${p.column} ${p.message}\n`);
        process.exitCode = 1;
        return;
      }
      const size = Buffer.byteLength(code, 'utf8');
      process.stdout.write(`${file}: ok (${size} bytes of ${DEFAULT_RUNTIME_LIMITS.maxCodeBytes})\n`);
    });
}
