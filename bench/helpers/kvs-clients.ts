/**
 * How the KVS bench talks to an API server on 127.0.0.1: the official SDK client (SigV4a, account-prefixed host)
 * and a raw SigV4-signed request for OpenFront's native bulk import, which no SDK knows.
 */
import '@aws-sdk/signature-v4a';
import { type Agent, request } from 'node:http';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { loopbackAgent } from '../../src/devtools/sdk-agent.js';

export { loopbackAgent };

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export function kvsClient(port: number, credentials: Credentials, agent: Agent): CloudFrontKeyValueStoreClient {
  return new CloudFrontKeyValueStoreClient({
    region: 'us-east-1',
    endpoint: `http://localhost:${port}`,
    credentials,
    maxAttempts: 1,
    requestHandler: { httpAgent: agent },
  });
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
