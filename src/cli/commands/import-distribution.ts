/**
 * `openfront import-distribution <dir> [--out openfront.config.yaml] [--origin-override id=url|dir]… [--report r.json]
 * [--viewer-protocol-policy allow-all]`:
 * writes a config serving the distribution exported in <dir> (layout in docs/import-distribution.md) and prints every
 * setting it could not carry over. The config is checked with the same loader `openfront start` uses before it is
 * written, so a config that is written is one `start` can serve. Exit codes: 0 written, 2 unusable input.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { parseConfig } from '../../config/index.js';
import { VIEWER_PROTOCOL_POLICIES } from '../../config/schema.js';
import type { ViewerProtocolPolicy } from '../../config/types.js';
import { isOpenFrontError } from '../../errors.js';
import { importDistribution, parseOriginOverrides, type ImportNote } from '../../devtools/import-distribution/index.js';

interface Options {
  out: string;
  originOverride: string[];
  report?: string;
  id?: string;
  force?: boolean;
  viewerProtocolPolicy?: string;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function describeNote(note: ImportNote): string {
  const value = note.value === undefined ? '' : ` = ${JSON.stringify(note.value)}`;
  return `  ${note.setting}${value}\n    ${note.reason}`;
}

export function register(program: Command): void {
  program
    .command('import-distribution')
    .description('Write an OpenFront config from a CloudFront distribution exported with the AWS CLI, and report what did not carry over')
    .argument('<dir>', 'directory with distribution.json, cache-policies/, origin-request-policies/, functions/, key-value-stores/')
    .option('--out <file>', 'config file to write', 'openfront.config.yaml')
    .option('--origin-override <id=url|dir>', 'point an origin (by its AWS id) at another URL or serve a local directory instead (repeatable)', collect, [])
    .option('--report <file>', 'also write the report as JSON')
    .option('--id <id>', 'distribution id in the config (default: the exported Id)')
    .option('--force', 'overwrite --out if it exists')
    .option(
      '--viewer-protocol-policy <policy>',
      `every behavior's viewer protocol policy instead of its own (${VIEWER_PROTOCOL_POLICIES.join(', ')}); allow-all serves plain HTTP on a local machine`,
    )
    .action((dir: string, options: Options) => {
      try {
        const out = resolve(options.out);
        if (existsSync(out) && options.force !== true) {
          process.stderr.write(`openfront import-distribution: ${options.out} exists (use --force to overwrite)\n`);
          process.exitCode = 2;
          return;
        }
        const policy = options.viewerProtocolPolicy;
        if (policy !== undefined && !(VIEWER_PROTOCOL_POLICIES as readonly string[]).includes(policy)) {
          process.stderr.write(
            `openfront import-distribution: --viewer-protocol-policy must be one of ${VIEWER_PROTOCOL_POLICIES.join(', ')}, got ${JSON.stringify(policy)}\n`,
          );
          process.exitCode = 2;
          return;
        }
        const { config, notes } = importDistribution(dir, {
          outDir: dirname(out),
          originOverrides: parseOriginOverrides(options.originOverride, process.cwd()),
          ...(options.id ? { distributionId: options.id } : {}),
          ...(policy !== undefined ? { viewerProtocolPolicy: policy as ViewerProtocolPolicy } : {}),
        });
        // The loader `openfront start` uses: a config that does not pass is never written.
        mkdirSync(dirname(out), { recursive: true });
        parseConfig(config, dirname(out), options.out);
        const header = `# Imported from ${dir} by openfront import-distribution.\n# ${notes.length} setting${notes.length === 1 ? '' : 's'} could not be carried over: see the report.\n`;
        writeFileSync(out, header + stringify(config, { lineWidth: 0 }));
        if (options.report) mkdirSync(dirname(resolve(options.report)), { recursive: true });
        if (options.report) writeFileSync(resolve(options.report), `${JSON.stringify({ config: options.out, notCarriedOver: notes }, null, 2)}\n`);
        process.stdout.write(`Wrote ${options.out}\n`);
        if (notes.length === 0) {
          process.stdout.write('Every setting was carried over.\n');
          return;
        }
        process.stdout.write(`${notes.length} setting${notes.length === 1 ? '' : 's'} not carried over:\n${notes.map(describeNote).join('\n')}\n`);
      } catch (err) {
        if (isOpenFrontError(err)) {
          process.stderr.write(`openfront import-distribution: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
    });
}
