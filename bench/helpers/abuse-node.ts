/**
 * Bench child for `npm run bench -- abuse`: a whole node (edge + API, insecure loopback API so the bench sends plain
 * TestFunction calls) whose edge runs one function, `mixed`: fast on every path but `/slow`, where it spins until
 * the kill. A DEVELOPMENT-only function `spin` loops forever, for TestFunction abuse. `{ type: 'info' }` answers
 * the API port and `spin`'s DEVELOPMENT ETag.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { startOpenFrontNode } from '../../src/node/index.js';
import { serveInChild } from './child-runtime.js';

export const MIXED = `function handler(event) {
  if (event.request.uri === '/slow') { while (true) {} }
  return { statusCode: 200, statusDescription: 'OK', body: 'fast' };
}`;

await serveInChild(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-bench-abuse-'));
  writeFileSync(join(dir, 'mixed.js'), MIXED);
  writeFileSync(join(dir, 'spin.js'), 'function handler(event) { while (true) {} }\n');
  const config = parseConfig(
    {
      server: { nodeId: 'bench' },
      functions: [
        { name: 'mixed', code: 'mixed.js' },
        { name: 'spin', code: 'spin.js' },
      ],
      distributions: [
        {
          id: 'EABUSE',
          hostnames: ['*'],
          origins: [{ id: 'none', url: 'http://127.0.0.1:9' }],
          defaultBehavior: { origin: 'none', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'mixed' } },
        },
      ],
    },
    dir,
  );
  const node = await startOpenFrontNode({ dataDir: join(dir, 'data'), config, api: { port: 0, insecureNoAuth: true }, edge: { host: '127.0.0.1', port: 0 } });
  const etag = node.registry.describe('spin', 'DEVELOPMENT').etag;
  process.on('message', (message: { type?: string }) => {
    if (message.type === 'info') process.send?.({ type: 'info', api: node.api.port, etag });
  });
  return {
    port: node.edge.port,
    close: async () => {
      await node.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
