/**
 * `openfront recording <distribution>`: the requests an edge recorded for `openfront dry-run`
 * (`GET|DELETE /openfront/v1/distributions/{id}/recording`; docs/safe-changes.md).
 */
import type { Command } from 'commander';
import { DISTRIBUTIONS_PATH, type RecordingView } from '../../control/dry-run-api.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';
import { usageError } from '../input.js';

interface RecordingOptions extends ApiOptions {
  limit?: string;
  clear?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  withApiOptions(program.command('recording'))
    .description('Show (or --clear) the requests a distribution recorded for `openfront dry-run`')
    .argument('<distribution>', 'distribution id')
    .option('--limit <n>', 'only the n newest requests')
    .option('--clear', 'forget the recorded requests')
    .option('--json', 'print JSON')
    .action(async (distribution: string, options: RecordingOptions) => {
      if (options.limit !== undefined && !/^[1-9]\d{0,5}$/.test(options.limit))
        throw usageError(`--limit must be a whole number from 1, got "${options.limit}"`);
      const config = resolveClientConfig(options);
      const path = `${DISTRIBUTIONS_PATH}/${encodeURIComponent(distribution)}/recording`;
      try {
        if (options.clear) {
          const { cleared } = (await nativeRequest(config, 'DELETE', path)) as { cleared: number };
          process.stdout.write(
            options.json ? `${JSON.stringify({ cleared })}\n` : `Forgot ${cleared} recorded request${cleared === 1 ? '' : 's'} of ${distribution}\n`,
          );
          return;
        }
        const view = (await nativeRequest(config, 'GET', options.limit === undefined ? path : `${path}?limit=${options.limit}`)) as RecordingView;
        if (options.json) {
          process.stdout.write(`${JSON.stringify(view)}\n`);
          return;
        }
        if (!view.enabled) {
          process.stdout.write(`${distribution} records no requests (add a recording section to it, or start with --record)\n`);
          return;
        }
        process.stdout.write(`${distribution}: ${view.size} recorded requests, ${view.bytes} bytes\n`);
        for (const r of view.items) {
          const cookies = r.cookies.length === 0 ? '' : `  cookies: ${r.cookies.map(([n, v]) => `${n}=${v}`).join('; ')}`;
          process.stdout.write(`${r.time}  ${r.clientIp}  ${r.method} ${r.uri}${r.querystring === '' ? '' : `?${r.querystring}`}${cookies}\n`);
        }
      } catch (err) {
        throw describeApiError(err, config);
      }
    });
}
