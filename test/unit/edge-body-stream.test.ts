/**
 * The edge's body pump (src/edge/body-stream.ts) between a body stream and a real node:http response on 127.0.0.1:
 * bytes and backpressure, a viewer that is gone, a body that fails. And the young-generation collections paced by
 * streamed bytes (src/edge/stream-garbage.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { sendStream, type StreamSent } from '../../src/edge/body-stream.js';

/** Serves one request with `serve`, makes it, and returns what the pump reported and what the viewer got. */
async function exchange(
  serve: (res: ServerResponse) => Promise<StreamSent>,
  viewer: (res: IncomingMessage) => Promise<number> = readAll,
): Promise<{ sent: StreamSent; received: number | Error }> {
  let sent!: Promise<StreamSent>;
  const server = createServer((_req, res) => {
    sent = serve(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const received = await new Promise<number | Error>((resolve) => {
      const req = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, agent: false }, (res) => {
        viewer(res).then(resolve, resolve);
      });
      req.on('error', resolve);
      req.end();
    });
    return { sent: await sent, received };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

function readAll(res: IncomingMessage): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    res.on('data', (chunk: Buffer) => (bytes += chunk.length));
    res.on('end', () => resolve(bytes));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('aborted')));
  });
}

describe('sendStream', () => {
  it('moves a body much larger than the sockets buffer, pausing the body while the viewer is behind', async () => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const count = 256; // 16 MiB
    let paused = 0;
    const { sent, received } = await exchange(async (res) => {
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < count; i++) yield chunk;
        })(),
        { objectMode: false },
      );
      body.on('pause', () => paused++);
      res.writeHead(200, { 'content-length': String(count * chunk.length) });
      return sendStream(body, res, count * chunk.length);
    });
    assert.deepEqual(sent, { bytes: count * chunk.length });
    assert.equal(received, count * chunk.length);
    assert.ok(paused > 0, 'the body was never paused: nothing held it back to the viewer’s pace');
  });

  it('sends a small body that has arrived whole at once, without the pump, and lets its stream end', async () => {
    const body = new PassThrough();
    body.end(Buffer.from('hello from the origin'));
    let returned: StreamSent | Promise<StreamSent> | undefined;
    const { sent, received } = await exchange(async (res) => {
      res.writeHead(200, { 'content-length': '21' });
      returned = sendStream(body, res, 21);
      return returned;
    });
    assert.equal(returned instanceof Promise, false, 'a body already buffered whole went through the pump');
    assert.deepEqual(sent, { bytes: 21 });
    assert.equal(received, 21);
    if (!body.readableEnded) await once(body, 'end');
  });

  it('pumps a body whose declared length has not all arrived yet', async () => {
    const body = new PassThrough();
    body.write(Buffer.from('hello from '));
    let returned: StreamSent | Promise<StreamSent> | undefined;
    const { sent, received } = await exchange(async (res) => {
      res.writeHead(200, { 'content-length': '21' });
      returned = sendStream(body, res, 21);
      setImmediate(() => body.end(Buffer.from('the origin')));
      return returned;
    });
    assert.equal(returned instanceof Promise, true);
    assert.deepEqual(sent, { bytes: 21 });
    assert.equal(received, 21);
  });

  it('sends a body with no declared length whole (chunked)', async () => {
    const { sent, received } = await exchange(async (res) => {
      res.writeHead(200);
      return sendStream(Readable.from([Buffer.from('abc'), Buffer.from('defg')], { objectMode: false }), res);
    });
    assert.deepEqual(sent, { bytes: 7 });
    assert.equal(received, 7);
  });

  it('cuts the response when the body fails midway, so the viewer never sees a complete message', async () => {
    const { sent, received } = await exchange(async (res) => {
      const body = new PassThrough();
      res.writeHead(200, { 'content-length': '100' });
      const pumping = sendStream(body, res, 100);
      body.write(Buffer.alloc(10));
      setImmediate(() => body.destroy(new Error('origin reset')));
      return pumping;
    });
    assert.equal(sent.error, 'origin reset');
    assert.ok(received instanceof Error, `the viewer got a complete response of ${String(received)} bytes`);
  });

  it('destroys the body when the viewer is already gone before the first byte', async () => {
    const body = new PassThrough();
    const { sent } = await exchange(
      async (res) => {
        res.writeHead(200, { 'content-length': '10' });
        // The head goes out; the viewer hangs up while the body waits (a viewer-response function still running).
        res.flushHeaders();
        await once(res, 'close');
        return sendStream(body, res, 10);
      },
      async (res) => {
        res.destroy();
        return 0;
      },
    );
    assert.match(sent.error ?? '', /viewer closed/);
    assert.equal(body.destroyed, true);
  });

  it('destroys a body that arrived whole when the viewer is already gone', async () => {
    const body = new PassThrough();
    body.end(Buffer.alloc(10));
    const { sent } = await exchange(
      async (res) => {
        res.writeHead(200, { 'content-length': '10' });
        res.flushHeaders();
        await once(res, 'close');
        return sendStream(body, res, 10);
      },
      async (res) => {
        res.destroy();
        return 0;
      },
    );
    assert.match(sent.error ?? '', /viewer closed/);
    assert.equal(body.destroyed, true);
  });

  it('destroys the body when the viewer goes away midway', async () => {
    const body = new PassThrough();
    const { sent } = await exchange(
      async (res) => {
        res.writeHead(200, { 'content-length': String(1024 * 1024) });
        const pumping = sendStream(body, res, 1024 * 1024);
        body.write(Buffer.alloc(1024));
        return pumping;
      },
      (res) =>
        new Promise((resolve) => {
          res.once('data', () => {
            res.destroy();
            resolve(0);
          });
        }),
    );
    assert.match(sent.error ?? '', /viewer closed/);
    assert.equal(body.destroyed, true);
  });
});

describe('noteStreamedBytes', () => {
  // V8's gc() exists only under --expose-gc (as the openfront command starts Node), so each case runs in a child.
  const module = new URL('../../src/edge/stream-garbage.js', import.meta.url).href;
  const countMinorCollections = `
    import { PerformanceObserver, constants } from 'node:perf_hooks';
    import { COLLECT_EVERY_BYTES, noteStreamedBytes } from ${JSON.stringify(module)};
    let minor = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    observer.observe({ entryTypes: ['gc'] });
    // One byte short of a budget: no collection is due yet; then ten budgets in a loop that allocates nothing, where
    // V8 would not collect ten times on its own.
    noteStreamedBytes(COLLECT_EVERY_BYTES - 1);
    noteStreamedBytes(1);
    for (let i = 0; i < 9; i++) noteStreamedBytes(COLLECT_EVERY_BYTES);
    // The observer hears of collections asynchronously.
    setTimeout(() => { observer.disconnect(); console.log(minor); }, 200);
  `;
  // NODE_OPTIONS may carry --expose-gc itself (the coverage run sets it), so the child gets only the flags given here.
  const nodeOptions = (process.env.NODE_OPTIONS ?? '').replace(/--expose[-_]gc\b/g, '').trim();
  const run = (flags: string[]) =>
    Number(
      execFileSync(process.execPath, [...flags, '--input-type=module', '-e', countMinorCollections], {
        encoding: 'utf8',
        timeout: 10_000,
        env: { ...process.env, NODE_OPTIONS: nodeOptions },
      }).trim(),
    );

  it('runs a young-generation collection for every COLLECT_EVERY_BYTES streamed under --expose-gc', () => {
    assert.ok(run(['--expose-gc']) >= 10);
  });

  it('streams on without collections of its own when gc() is not exposed', () => {
    assert.ok(run([]) < 10);
  });
});
