/**
 * The signals a long-running `openfront start` answers (docs/deploy.md): SIGHUP reloads the config in place;
 * SIGTERM and SIGINT drain — stop accepting, let requests in flight finish within the grace period, close, exit 0.
 * A second SIGTERM/SIGINT while draining cuts what is left and exits 1.
 */
import type { ReloadOutcome } from '../control/reload-api.js';

export interface Drainable {
  reload(): Promise<ReloadOutcome>;
  drain(graceMs: number): Promise<{ cut: number }>;
}

export function describeReload(outcome: ReloadOutcome): string {
  const lines = ['openfront: config reloaded', ...outcome.changes.map((c) => `  ${c}`)];
  if (outcome.restartNeeded.length > 0) lines.push(`  changed but needs a restart to take effect: ${outcome.restartNeeded.join(', ')}`);
  return lines.join('\n');
}

export function serveUntilStopped(node: Drainable, graceMs: number): void {
  process.on('SIGHUP', () => {
    node.reload().then(
      (outcome) => process.stdout.write(`${describeReload(outcome)}\n`),
      (err: unknown) => {
        const problems = (err as { details?: { problems?: Array<{ path: string; message: string }> } }).details?.problems ?? [];
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`openfront: reload refused, the previous config keeps serving: ${message}\n`);
        for (const p of problems) if (!message.includes(p.message)) process.stderr.write(`  ${p.path}: ${p.message}\n`);
      },
    );
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`openfront: ${signal} again, stopping without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`\nopenfront: ${signal}, draining (up to ${graceMs / 1000} s for requests in flight)\n`);
    node.drain(graceMs).then(
      ({ cut }) => {
        process.stdout.write(cut === 0 ? 'openfront: stopped\n' : `openfront: stopped, ${cut} request(s) cut at the end of the grace period\n`);
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`openfront: failed while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
