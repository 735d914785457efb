/**
 * `openfront explain <url>`: sends one request through the edge with a signed debug header and prints the edge's
 * decision as a tree (docs/observability.md). The edge honours the header only with a valid signature by an active
 * access key, so explain needs the same credentials as the API commands.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Command } from 'commander';
import { OpenFrontError } from '../../errors.js';
import { signDebugHeaders } from '../../control/auth/debug-header.js';
import { EXPLAIN_CONTENT_TYPE } from '../../edge/debug.js';
import type { DecisionRecord } from '../../observe/decision.js';
import { formatDecisionTree } from '../../observe/format.js';
import { resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';

interface ExplainOptions extends ApiOptions {
  header: string[];
  method: string;
  json?: boolean;
}

interface ExplainAnswer {
  decision?: DecisionRecord;
  response: { status: number; statusText?: string; headers: Array<[string, string]>; bodyBytes: number; bodyPreview: string };
}

/** Most bytes of an explain answer read: the edge caps the body preview, so a real answer is far smaller. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

function collectHeader(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseHeaders(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new OpenFrontError('CLI_USAGE', `-H expects 'Name: value', got "${line}"`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) throw new OpenFrontError('CLI_USAGE', `-H: "${line.slice(0, colon)}" is not a valid header name`);
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return headers;
}

function send(url: URL, method: string, headers: Record<string, string>): Promise<{ status: number; contentType: string; body: Buffer }> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > MAX_ANSWER_BYTES) res.destroy(new OpenFrontError('CLI_EDGE_ANSWER_INVALID', `the edge's answer is larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function register(program: Command): void {
  withApiOptions(program.command('explain'))
    .description('Send one request through the edge and print its decision as a tree (needs an access key)')
    .argument('<url>', 'the edge URL to request, e.g. http://127.0.0.1:8080/go/docs')
    .option('-H, --header <line>', "a request header 'Name: value' (repeatable)", collectHeader, [])
    .option('--method <method>', 'request method', 'GET')
    .option('--json', 'print the decision record and the response as JSON')
    .action(async (target: string, options: ExplainOptions) => {
      const { credentials } = resolveClientConfig(options);
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        throw new OpenFrontError('CLI_USAGE', `"${target}" is not a URL (expected e.g. http://127.0.0.1:8080/go/docs)`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OpenFrontError('CLI_USAGE', `the URL must be http:// or https://, got ${target}`);
      const method = options.method.toUpperCase();
      if (!/^[A-Z]{1,20}$/.test(method)) throw new OpenFrontError('CLI_USAGE', `--method: "${options.method}" is not an HTTP method`);
      if (method === 'HEAD')
        throw new OpenFrontError('CLI_USAGE', '--method HEAD cannot be explained: an answer to HEAD has no body to carry the decision (use GET)');
      const headers = { ...parseHeaders(options.header), ...signDebugHeaders({ method, url, ...credentials }) };
      let answer: { status: number; contentType: string; body: Buffer };
      try {
        answer = await send(url, method, headers);
      } catch (err) {
        const code = (err as { code?: string }).code;
        throw new OpenFrontError('CLI_EDGE_UNREACHABLE', `cannot reach the edge at ${url.origin}${code ? ` (${code})` : ''}: is \`openfront start\` running?`);
      }
      if (!answer.contentType.startsWith(EXPLAIN_CONTENT_TYPE)) {
        throw new OpenFrontError(
          'CLI_EDGE_ANSWER_INVALID',
          `the edge answered ${answer.status} without a decision: it did not accept the debug signature (is the access key active on this node, and the clock right?) or it is not an OpenFront edge`,
        );
      }
      const parsed = JSON.parse(answer.body.toString('utf8')) as ExplainAnswer;
      if (options.json) {
        process.stdout.write(`${JSON.stringify(parsed, null, 2)}\n`);
        return;
      }
      if (parsed.decision !== undefined) process.stdout.write(`${formatDecisionTree(parsed.decision)}\n`);
      const r = parsed.response;
      const shown = r.headers.filter(([name]) => ['location', 'content-type', 'cache-control', 'x-cache'].includes(name.toLowerCase()));
      process.stdout.write(`\nviewer response: ${r.status}${r.statusText ? ` ${r.statusText}` : ''}, ${r.bodyBytes} body bytes\n`);
      for (const [name, value] of shown) process.stdout.write(`  ${name}: ${value}\n`);
    });
}
