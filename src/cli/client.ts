/**
 * How CLI commands reach the OpenFront API: the endpoint and credentials (flags, then OPENFRONT_* variables, then
 * the standard AWS_* variables), the official AWS SDK clients pointed at it, and a signed client for the native
 * JSON API. Errors come back as one clear sentence for the terminal.
 */
import '@aws-sdk/signature-v4a';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import type { Command } from 'commander';
import { signRequestV4 } from '../control/auth/sign-request.js';
import { openFrontError } from '../errors.js';

// The SDK warns on every run that its future releases need Node 22; OpenFront pins its SDK version, so the notice
// says nothing to a CLI user. An explicit setting by the user still wins.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:8787';

/** The options `withApiOptions` adds to a command. */
export interface ApiOptions {
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
}

export interface ApiClientConfig {
  endpoint: URL;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

/** Adds --endpoint, --access-key-id and --secret-access-key to a command that talks to the API. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--endpoint <url>', `API endpoint (env OPENFRONT_ENDPOINT; default ${DEFAULT_ENDPOINT})`)
    .option('--access-key-id <id>', 'access key id (env OPENFRONT_ACCESS_KEY_ID or AWS_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'secret access key (env OPENFRONT_SECRET_ACCESS_KEY or AWS_SECRET_ACCESS_KEY)');
}

export function resolveClientConfig(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClientConfig {
  const endpointText = options.endpoint ?? env.OPENFRONT_ENDPOINT ?? DEFAULT_ENDPOINT;
  let endpoint: URL;
  try {
    endpoint = new URL(endpointText);
  } catch {
    throw openFrontError('CLI_USAGE', `the endpoint ${JSON.stringify(endpointText)} is not a URL (expected e.g. ${DEFAULT_ENDPOINT})`);
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:')
    throw openFrontError('CLI_USAGE', `the endpoint must be an http:// or https:// URL, got ${endpointText}`);
  const accessKeyId = options.accessKeyId ?? env.OPENFRONT_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = options.secretAccessKey ?? env.OPENFRONT_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw openFrontError(
      'CLI_USAGE',
      'no credentials: pass --access-key-id and --secret-access-key, or set OPENFRONT_ACCESS_KEY_ID and OPENFRONT_SECRET_ACCESS_KEY (create a key with `openfront keys create`)',
    );
  }
  return { endpoint, credentials: { accessKeyId, secretAccessKey } };
}

export function cloudFrontClient(config: ApiClientConfig): CloudFrontClient {
  return new CloudFrontClient({ region: 'us-east-1', endpoint: config.endpoint.href, credentials: config.credentials, maxAttempts: 1 });
}

/**
 * The KVS data-plane client. Its endpoint rules would prefix the account id to the host, which needs wildcard DNS;
 * a fixed endpoint provider sends requests to the endpoint as given (still signed with SigV4a).
 */
export function keyValueStoreClient(config: ApiClientConfig): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    credentials: config.credentials,
    maxAttempts: 1,
    endpointProvider: () => ({ url: new URL(config.endpoint.href) }),
  });
}

/** A JSON request to the native API, signed with SigV4. Resolves with the parsed body; rejects with a clear error. */
export async function nativeRequest(
  config: ApiClientConfig,
  method: string,
  pathAndQuery: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<unknown> {
  const url = new URL(pathAndQuery.replace(/^\//, ''), config.endpoint.href.endsWith('/') ? config.endpoint.href : `${config.endpoint.href}/`);
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(options.body), 'utf8');
  const headers = signRequestV4({
    method,
    url,
    body,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...config.credentials,
  });
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = send(url, { method, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  let parsed: unknown;
  try {
    parsed = response.text === '' ? {} : JSON.parse(response.text);
  } catch {
    throw openFrontError('CLI_API_RESPONSE_INVALID', `the API at ${config.endpoint.origin} answered ${response.status} with a body that is not JSON`);
  }
  if (response.status >= 300) {
    const error = (parsed as { error?: { type?: string; message?: string } }).error;
    throw openFrontError('CLI_API_ERROR', `${error?.type ?? `HTTP ${response.status}`}: ${error?.message ?? response.text}`, { status: response.status });
  }
  return parsed;
}

/**
 * A commander action with the API client config resolved from its options: any failure becomes one clear error
 * for main.ts to print (a usage error passes through describeApiError unchanged).
 */
export function apiAction<O extends ApiOptions, A extends unknown[]>(run: (config: ApiClientConfig, options: O, ...args: A) => Promise<void>) {
  return async (...args: [...A, O, Command]): Promise<void> => {
    const options = args[args.length - 2] as O;
    const config = resolveClientConfig(options);
    try {
      await run(config, options, ...(args.slice(0, -2) as A));
    } catch (err) {
      throw describeApiError(err, config);
    }
  };
}

/** One sentence for an error from an SDK call or a native request. */
export function describeApiError(err: unknown, config: ApiClientConfig): Error {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ECONNRESET' || e.code === 'EHOSTUNREACH') {
    return openFrontError(
      'CLI_API_UNREACHABLE',
      `cannot reach the OpenFront API at ${config.endpoint.origin} (${e.code}): is \`openfront start\` running? Set --endpoint or OPENFRONT_ENDPOINT`,
    );
  }
  if (e.$metadata?.httpStatusCode !== undefined && e.name)
    return openFrontError('CLI_API_ERROR', `${e.name}: ${e.message ?? ''}`, { status: e.$metadata.httpStatusCode });
  return err instanceof Error ? err : openFrontError('INTERNAL', String(err));
}
