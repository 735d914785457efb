/**
 * `openfront dev --config examples/<name>` serves each example: the dev server starts on its config and one request
 * from the example's README gets the answer the README promises.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '../../src/devtools/dev-server.js';

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

interface Probe {
  path: string;
  headers?: Record<string, string>;
  status: number;
  check?: (reply: { headers: Record<string, string | string[] | undefined>; body: string }) => void;
}

const probes: Record<string, Probe> = {
  demo: { path: '/go/docs', status: 301, check: (r) => assert.equal(r.headers.location, '/docs/') },
  redirects: { path: '/old-page', status: 301, check: (r) => assert.equal(r.headers.location, '/new-page.html') },
  'locale-routing': { path: '/', headers: { 'accept-language': 'de-DE,de;q=0.9' }, status: 200, check: (r) => assert.match(r.body, /<title>de<\/title>/) },
  'feature-flags': { path: '/checkout/', headers: { cookie: 'ff_bucket=10' }, status: 200 },
  'jwt-auth': { path: '/private/', status: 401 },
  'request-normalization': { path: '/Docs//Guide/?b=2&a=1', status: 200 },
  'cache-key': { path: '/?utm_source=a&fbclid=1', headers: { 'user-agent': 'Mozilla/5.0 (iPhone)' }, status: 200 },
  'security-headers': { path: '/index.html', status: 200, check: (r) => assert.ok(r.headers['strict-transport-security']) },
  'tenant-origin': { path: '/', headers: { host: 'nobody.example' }, status: 404 },
};

function get(base: string, probe: Probe): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path: probe.path, headers: probe.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('every example is served by openfront dev', () => {
  for (const [name, probe] of Object.entries(probes)) {
    it(`${name}: GET ${probe.path} → ${probe.status}`, async () => {
      const dev = await startDevServer({ configPath: `${EXAMPLES}${name}/openfront.config.yaml`, edgePort: 0, apiPort: 0 });
      try {
        const reply = await get(dev.edgeUrl, probe);
        assert.equal(reply.status, probe.status, reply.body.slice(0, 200));
        probe.check?.(reply);
      } finally {
        await dev.close();
      }
    });
  }
});
