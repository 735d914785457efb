/**
 * `--wait` on the CLI's write commands: the write is sent with `?wait=all[&timeout=…]`, so the command returns once
 * every live edge serves it (docs/fleet.md), and the version it made (`x-openfront-version`) is read back.
 */
import type { Command } from 'commander';
import { openFrontError } from '../errors.js';

export const VERSION_HEADER = 'x-openfront-version';

/** Adds `--wait [timeout]` to a write command. */
export function withWaitOption(command: Command): Command {
  return command.option('--wait [timeout]', 'return once every live edge serves the write (timeout like 5s or 500ms; default 10s)');
}

/** `--wait` → the query parameters to send; undefined without it. */
export function waitQuery(wait: string | boolean | undefined): Record<string, string> | undefined {
  if (wait === undefined || wait === false) return undefined;
  if (wait === true) return { wait: 'all' };
  if (!/^\d{1,6}(ms|s)?$/.test(wait)) throw openFrontError('CLI_USAGE', `--wait takes a timeout like 5s or 500ms, got "${wait.slice(0, 40)}"`);
  return { wait: 'all', timeout: wait };
}

/** `pathAndQuery` with the wait parameters added. */
export function withWaitParams(pathAndQuery: string, query: Record<string, string> | undefined): string {
  if (query === undefined) return pathAndQuery;
  const params = new URLSearchParams(query).toString();
  return `${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}${params}`;
}

/** The part of an SDK client's middleware stack used here (the SDK's own types differ per client). */
interface MiddlewareStack {
  add(
    middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>,
    options: { step: 'build' | 'deserialize'; name: string },
  ): void;
}

/**
 * Makes an AWS SDK client send the wait parameters (added before signing, so they are signed) and record the
 * version each write answers with. Returns a reader of the last version seen.
 */
export function sdkWait(client: { middlewareStack: object }, query: Record<string, string> | undefined): () => number | undefined {
  const stack = client.middlewareStack as MiddlewareStack;
  let version: number | undefined;
  if (query !== undefined) {
    stack.add(
      (next) => async (args) => {
        const request = (args as { request?: { query?: Record<string, string> } }).request;
        if (request) request.query = { ...request.query, ...query };
        return next(args);
      },
      { step: 'build', name: 'openfrontWait' },
    );
  }
  stack.add(
    (next) => async (args) => {
      const result = await next(args);
      const header = (result as { response?: { headers?: Record<string, string> } }).response?.headers?.[VERSION_HEADER];
      if (header !== undefined && /^\d+$/.test(header)) version = Number(header);
      return result;
    },
    { step: 'deserialize', name: 'openfrontVersion' },
  );
  return () => version;
}
