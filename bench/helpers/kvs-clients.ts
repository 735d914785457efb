/**
 * How the KVS bench talks to an API server on 127.0.0.1: the official SDK client (SigV4a, account-prefixed host)
 * and a raw SigV4-signed request for OpenFront's native bulk import, which no SDK knows.
 */
import '@aws-sdk/signature-v4a';
import { Agent, request } from 'node:http';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

type LookupCallback = (err: Error | null, address: string | Array<{ address: string; family: number }>, family?: number) => void;

/**
 * A keep-alive agent that connects every host name to 127.0.0.1: the KVS client sends `<account>.localhost:PORT`,
 * which glibc does not resolve; this keeps that Host header while reaching the local server.
 */
export function loopbackAgent(): Agent {
  return new Agent({
    keepAlive: true,
    lookup: ((_hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    }) as never,
  });
}

export function kvsClient(port: number, credentials: Credentials, agent: Agent): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({ region: 'us-east-1', endpoint: `http://localhost:${port}`, credentials, maxAttempts: 1, requestHandler: { httpAgent: agent } });
}

/** POSTs `body` signed with SigV4 for OpenFront's native API; resolves with status and body text. */
export function signedPost(port: number, path: string, body: Buffer, credentials: Credentials, agent: Agent): Promise<{ status: number; body: string }> {
  const url = new URL(`http://127.0.0.1:${port}${path}`);
  const headers = signRequestV4({ method: 'POST', url, body, headers: { 'content-type': 'application/json' }, ...credentials });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
