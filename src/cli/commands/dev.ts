/**
 * `openfront dev`: the local development loop — the edge and an unauthenticated API on loopback, reloading the
 * config, function code and store seed files on every save. Unlike `start` there is no demo fallback: dev serves
 * your project, so a config must be given or found in the working directory.
 */
import { relative } from 'node:path';
import type { Command } from 'commander';
import { CONFIG_FILE_NAMES } from '../../config/index.js';
import { isOpenFrontError, openFrontError } from '../../errors.js';
import { startDevServer, type DevServer } from '../../devtools/dev-server.js';
import { formatProblem, problemsFromError } from '../../devtools/dev/problems.js';
import { parsePort, resolveConfigPath } from './start.js';
import { closeOnSignals } from '../signals.js';

interface DevOptions {
  config?: string;
  data?: string;
  edgePort?: string;
  apiPort?: string;
}

function describeRole(role: ReturnType<DevServer['watched']>[number]['role']): string {
  return role.kind === 'config' ? 'config' : `${role.kind} ${role.name}`;
}

function describeDev(dev: DevServer, configPath: string): string {
  const rel = (file: string) => relative(process.cwd(), file) || file;
  const lines = [
    `OpenFront dev (config ${rel(configPath)}, data ${dev.temporaryData ? `${dev.dataDir}, fresh for this session` : dev.dataDir})`,
    `  edge  ${dev.edgeUrl}`,
    `  api   ${dev.apiUrl}  (unauthenticated: any request is accepted; it listens on loopback only)`,
    'Watching:',
  ];
  for (const { file, role } of dev.watched()) lines.push(`  ${rel(file)}  (${describeRole(role)})`);
  lines.push('Save a file to reload it. Stop with Ctrl-C.');
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('dev')
    .description('Serve a project locally and reload functions, store seed files and the config on every save')
    .option('--config <file>', `config file or folder (default: ./${CONFIG_FILE_NAMES[0]})`)
    .option('--data <dir>', 'data directory to keep (default: a fresh temporary one per session)')
    .option('--edge-port <port>', "edge port (default: the config's server.port, 8080; 0 = any free port)")
    .option('--api-port <port>', 'API port (default 8787; 0 = any free port)')
    .action(async (options: DevOptions) => {
      let dev: DevServer;
      let configPath: string | undefined;
      try {
        const resolved = resolveConfigPath(options.config);
        if (resolved.demo) {
          throw openFrontError(
            'CLI_USAGE',
            `no ${CONFIG_FILE_NAMES.join(', ')} here: pass --config <file|folder> (\`openfront start\` serves the bundled demo)`,
          );
        }
        configPath = resolved.path;
        dev = await startDevServer({
          configPath,
          dataDir: options.data,
          edgePort: parsePort(options.edgePort, '--edge-port'),
          apiPort: parsePort(options.apiPort, '--api-port'),
          log: (line, level) => (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`),
        });
      } catch (err) {
        if (isOpenFrontError(err) && configPath !== undefined) {
          const problems = problemsFromError(err, configPath);
          process.stderr.write(`openfront dev: cannot start (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n`);
          for (const problem of problems) process.stderr.write(`${formatProblem(problem, process.cwd())}\n`);
        } else {
          process.stderr.write(`openfront dev: ${err instanceof Error ? err.message : String(err)}\n`);
        }
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${describeDev(dev, configPath)}\n`);
      closeOnSignals('openfront dev', () => dev.close());
    });
}
