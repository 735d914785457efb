/** `openfront invalidate <distribution> <paths…>`: drop cached objects, with CloudFront's path semantics. */
import type { Command } from 'commander';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';

export function register(program: Command): void {
  withApiOptions(program.command('invalidate'))
    .description('Invalidate cached objects of a distribution (paths like /index.html or /images/*)')
    .argument('<distribution>', 'distribution id from the config')
    .argument('<paths...>', 'paths to invalidate; a trailing * matches a prefix')
    .option('--json', 'print JSON')
    .action(async (distribution: string, paths: string[], options: ApiOptions & { json?: boolean }) => {
      const config = resolveClientConfig(options);
      let result: { invalidated: number };
      try {
        result = (await nativeRequest(config, 'POST', `/openfront/v1/distributions/${encodeURIComponent(distribution)}/invalidations`, {
          body: { paths },
        })) as { invalidated: number };
      } catch (err) {
        throw describeApiError(err, config);
      }
      if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`Invalidated ${result.invalidated} cached object(s) of ${distribution} for ${paths.join(' ')}\n`);
    });
}
