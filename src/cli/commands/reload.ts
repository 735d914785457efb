/** `openfront reload`: the running node re-reads its config file and serves it without a restart (like SIGHUP). */
import type { Command } from 'commander';
import type { ReloadOutcome } from '../../control/reload-api.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';
import { describeReload } from '../operations.js';

export function register(program: Command): void {
  withApiOptions(program.command('reload'))
    .description('Reload the config of a running `openfront start` in place (in-flight requests finish on the old one)')
    .option('--json', 'print JSON')
    .action(async (options: ApiOptions & { json?: boolean }) => {
      const config = resolveClientConfig(options);
      let outcome: ReloadOutcome;
      try {
        outcome = (await nativeRequest(config, 'POST', '/openfront/v1/reload')) as ReloadOutcome;
      } catch (err) {
        throw describeApiError(err, config);
      }
      process.stdout.write(options.json ? `${JSON.stringify(outcome)}\n` : `${describeReload(outcome)}\n`);
    });
}
