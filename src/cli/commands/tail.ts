/**
 * `openfront tail`: every edge decision, live (docs/observability.md). A signed server-sent-event stream from the
 * API (`GET /openfront/v1/decisions/stream`), printed one line per request, or as JSON lines with `--json`.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { OpenFrontError } from '../../errors.js';
import { signRequestV4 } from '../../control/auth/sign-request.js';
import type { DecisionRecord } from '../../observe/decision.js';
import { formatDecisionLine } from '../../observe/format.js';
import { describeApiError, resolveClientConfig, withApiOptions, type ApiClientConfig, type ApiOptions } from '../client.js';

interface TailOptions extends ApiOptions {
  distribution?: string;
  function?: string;
  status?: string;
  path?: string;
  sample?: string;
  json?: boolean;
  count?: string;
}

/** One server-sent event. */
interface SseEvent {
  event: string;
  data: string;
}

/** Splits a text/event-stream into events (the subset the API writes: event, id, data; comments skipped). */
export async function* readEvents(stream: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  let buffered = '';
  for await (const chunk of stream) {
    buffered += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let end: number;
    while ((end = buffered.indexOf('\n\n')) !== -1) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) yield { event, data: data.join('\n') };
    }
  }
}

function openStream(config: ApiClientConfig, path: string): Promise<IncomingMessage> {
  const url = new URL(path.replace(/^\//, ''), config.endpoint.href.endsWith('/') ? config.endpoint.href : `${config.endpoint.href}/`);
  const headers = signRequestV4({ method: 'GET', url, headers: { accept: 'text/event-stream' }, ...config.credentials });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'GET', headers }, resolve);
    req.on('error', reject);
    req.end();
  });
}

async function errorText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    const error = (JSON.parse(text) as { error?: { type?: string; message?: string } }).error;
    return `${error?.type ?? `HTTP ${res.statusCode}`}: ${error?.message ?? text}`;
  } catch {
    return `HTTP ${res.statusCode}: ${text}`;
  }
}

export function register(program: Command): void {
  withApiOptions(program.command('tail'))
    .description('Stream every edge decision live (like wrangler tail): one line per request, or JSON lines')
    .option('--distribution <id>', 'only this distribution')
    .option('--function <name>', 'only requests that ran this function')
    .option('--status <code>', 'only this status (404) or class (5xx)')
    .option('--path <glob>', 'only paths matching this glob (* any characters, ? one)')
    .option('--sample <rate>', 'keep this share of matching requests (0 < rate <= 1)')
    .option('--count <n>', 'stop after n decisions')
    .option('--json', 'print each decision record as one JSON line')
    .action(async (options: TailOptions) => {
      const config = resolveClientConfig(options);
      const query = new URLSearchParams();
      for (const name of ['distribution', 'function', 'status', 'path', 'sample'] as const) {
        const value = options[name];
        if (value !== undefined) query.set(name, value);
      }
      let count: number | undefined;
      if (options.count !== undefined) {
        if (!/^\d{1,9}$/.test(options.count) || Number(options.count) < 1)
          throw new OpenFrontError('CLI_USAGE', `--count must be a positive integer, got "${options.count}"`);
        count = Number(options.count);
      }
      const qs = query.toString();
      let res: IncomingMessage;
      try {
        res = await openStream(config, `/openfront/v1/decisions/stream${qs ? `?${qs}` : ''}`);
      } catch (err) {
        throw describeApiError(err, config);
      }
      if (res.statusCode !== 200) throw new OpenFrontError('CLI_API_ERROR', await errorText(res));
      process.once('SIGINT', () => {
        res.destroy();
        process.exit(0);
      });
      let printed = 0;
      for await (const event of readEvents(res)) {
        if (event.event === 'hello') {
          process.stderr.write(`openfront tail: connected to ${config.endpoint.origin}, waiting for requests (Ctrl-C to stop)\n`);
        } else if (event.event === 'dropped') {
          const { count: dropped } = JSON.parse(event.data) as { count: number };
          process.stderr.write(`openfront tail: ${dropped} decision(s) dropped: this terminal reads slower than the edge serves (try --sample)\n`);
        } else if (event.event === 'message') {
          const record = JSON.parse(event.data) as DecisionRecord;
          process.stdout.write(`${options.json ? event.data : formatDecisionLine(record)}\n`);
          if (count !== undefined && ++printed >= count) {
            res.destroy();
            return;
          }
        }
      }
      process.stderr.write('openfront tail: the API closed the stream\n');
      process.exitCode = 1;
    });
}
