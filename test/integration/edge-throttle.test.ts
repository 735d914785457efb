/**
 * Issue 12, finding 3: a function that spins until the kill on some input (here the path /slow) used to hold up
 * every other request to the same function. Now the path is run on the function's quarantine isolate after its
 * first kill and throttled after its second: 503 FunctionThrottled at once, without running the function, while
 * the function's other paths keep being served.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startEdge, type EdgeServer } from '../../src/edge/edge-server.js';
import { ConfigFunctionSource } from '../../src/edge/function-source.js';

const MIXED = `function handler(event) {
  if (event.request.uri === '/slow') { while (true) {} }
  return { statusCode: 200, statusDescription: 'OK', body: 'fast ' + event.request.uri };
}`;

interface Reply {
  status: number;
  error: string | undefined;
  body: string;
}

function get(base: string, path: string): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, error: res.headers['x-openfront-error'] as string | undefined, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function tally(replies: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) {
    const key = `${r.status} ${r.error ?? ''}`.trim();
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

describe('edge: a path that keeps getting its function killed is throttled (issue 12, finding 3)', () => {
  let dir: string;
  let functions: ConfigFunctionSource;
  let edge: EdgeServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'openfront-throttle-'));
    writeFileSync(join(dir, 'mixed.js'), MIXED);
    const config = parseConfig(
      {
        functions: [{ name: 'mixed', code: 'mixed.js' }],
        distributions: [
          {
            id: 'd',
            hostnames: ['*'],
            origins: [{ id: 'o', url: 'http://127.0.0.1:9' }],
            defaultBehavior: { origin: 'o', cachePolicy: 'CachingDisabled', functionAssociations: { 'viewer-request': 'mixed' } },
          },
        ],
      },
      dir,
    );
    // Kills at 200 ms: on a loaded machine the fast path must not be killed by the wall-time limit by accident.
    functions = await ConfigFunctionSource.create(config, { limits: { killAfterMicros: 200_000 } });
    // A cooldown far longer than the test: no throttled path comes back mid-test however slow the machine is.
    edge = await startEdge({ config, functions, port: 0, throttle: { cooldownMs: 600_000 } } as Parameters<typeof startEdge>[0]);
  });

  after(async () => {
    await edge.close();
    functions.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the fast paths while /slow is killed twice, then answered 503 FunctionThrottled without running', async () => {
    let slowDone = false;
    const slowReplies: Reply[] = [];
    const slow = (async () => {
      for (let i = 0; i < 10; i++) slowReplies.push(await get(edge.url, '/slow'));
      slowDone = true;
    })();
    const fastReplies: Reply[] = [];
    // Fast requests from 4 clients for as long as /slow is being hammered, and a few more.
    await Promise.all(
      Array.from({ length: 4 }, async (_, client) => {
        for (let i = 0; !slowDone || i < 5; i++) {
          const reply = await get(edge.url, `/fast/${client}/${i}`);
          fastReplies.push(reply);
        }
      }),
    );
    await slow;
    assert.deepEqual(tally(fastReplies), { '200': fastReplies.length }, 'every fast request is served');
    assert.ok(fastReplies.length >= 20);
    assert.deepEqual(tally(slowReplies), { '503 FunctionExecutionError': 2, '503 FunctionThrottled': 8 });
    assert.match(slowReplies[9]?.body ?? '', /The request could not be satisfied/);
    const stats = (edge as EdgeServer & { functionStats?: () => unknown }).functionStats?.();
    assert.deepEqual(stats, { mixed: { kills: 2, throttled: 8, quarantined: 1 } });
  });

  it('keeps throttling /slow while the function still serves its other paths', async () => {
    const replies = await Promise.all([get(edge.url, '/slow'), get(edge.url, '/other'), get(edge.url, '/slow')]);
    assert.deepEqual(
      replies.map((r) => `${r.status} ${r.error ?? r.body}`),
      ['503 FunctionThrottled', '200 fast /other', '503 FunctionThrottled'],
    );
  });
});
