/**
 * Issue 12, finding 1: unauthenticated memory exhaustion. The attack as reported: 80 unsigned
 * `POST /openfront/v1/key-value-stores/x/import` requests declaring `content-length: 11000000` and holding the last
 * byte, against a real server in a child process. The child reports its memory and the bytes it read over IPC, so
 * measuring adds no HTTP traffic; nothing here depends on timings.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { signRequestV4 } from '../../src/control/auth/sign-request.js';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { startHarness } from './fixtures/kvs-api-harness.js';

const CHILD = fileURLToPath(new URL('./fixtures/api-pressure-child.js', import.meta.url));
const MiB = 1024 * 1024;
const DECLARED = 11_000_000;
const IMPORT_PATH = '/openfront/v1/key-value-stores/x/import';

interface Probe {
  memory: NodeJS.MemoryUsage;
  bytesRead: number;
}

interface ChildServer {
  port: number;
  probe(): Promise<Probe>;
  stop(): Promise<void>;
}

async function startChild(dataDir: string, limits?: Record<string, number>): Promise<ChildServer> {
  const child: ChildProcess = fork(CHILD, [dataDir, ...(limits ? [JSON.stringify(limits)] : [])], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [ready] = (await Promise.race([once(child, 'message'), once(child, 'exit').then(() => Promise.reject(new Error(`child exited: ${stderr}`)))])) as [
    { port: number },
  ];
  return {
    port: ready.port,
    probe: async () => {
      child.send('memory');
      const [message] = (await once(child, 'message')) as [Probe];
      return message;
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.send('close');
      await exited;
    },
  };
}

/** How a held request ended: the server answered (with this status) and/or closed, or it is still being held. */
interface Outcome {
  status?: number;
  closed: boolean;
  socket: Socket;
}

/**
 * Sends `head`, then body bytes up to one short of `declared`, as fast as the server takes them. Resolves when the
 * server closed the connection, or when everything but the last byte has been handed over (the attack's hold).
 */
function holdRequest(port: number, head: string, declared: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const outcome: Outcome = { closed: false, socket };
    let response = '';
    let remaining = declared - 1;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (remaining > 0 && !socket.destroyed) {
        const piece = remaining >= chunk.length ? chunk : chunk.subarray(0, remaining);
        remaining -= piece.length;
        if (remaining === 0) {
          socket.write(piece, () => resolve(outcome));
          return;
        }
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    socket.on('data', (c: Buffer) => {
      response += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(response);
      if (m) outcome.status = Number(m[1]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      outcome.closed = true;
      resolve(outcome);
    });
    socket.write(head);
    pump();
  });
}

function unsignedHead(port: number): string {
  return `POST ${IMPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${DECLARED}\r\n\r\n`;
}

function signedRequest(port: number, method: string, path: string, body = ''): Promise<{ status: number; body: string }> {
  const credentials = signedRequest.credentials!;
  const bytes = Buffer.from(body);
  const headers = signRequestV4({ method, url: new URL(`http://127.0.0.1:${port}${path}`), body: bytes, ...credentials });
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { ...headers, 'content-length': String(bytes.length) }, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(bytes);
  });
}
signedRequest.credentials = undefined as { accessKeyId: string; secretAccessKey: string } | undefined;

describe('API bodies under an unauthenticated flood (issue 12, finding 1)', () => {
  let dataDir: string;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'openfront-pressure-'));
    const db = openSqliteState(join(dataDir, 'openfront.db'));
    signedRequest.credentials = db.keys.createAccessKey('pressure test');
    db.kvs.createStore({ name: 'x' }, { accessKeyId: 'test' });
    db.database.close();
  });
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('answers 80 unsigned 11 MB imports holding their last byte with 403 (or a close) without reading them; RSS stays flat and signed calls are served', async () => {
    const server = await startChild(dataDir);
    const held: Socket[] = [];
    try {
      const before = await server.probe();
      const outcomes = await Promise.all(Array.from({ length: 80 }, () => holdRequest(server.port, unsignedHead(server.port), DECLARED)));
      held.push(...outcomes.map((o) => o.socket));
      // A signed call while every attacking connection is still open or just closed.
      const audit = await signedRequest(server.port, 'GET', '/openfront/v1/audit?store=x');
      assert.equal(audit.status, 200, audit.body);
      const imported = await signedRequest(server.port, 'POST', `${IMPORT_PATH}?mode=merge`, JSON.stringify({ data: [{ key: 'k', value: 'v' }] }));
      assert.equal(imported.status, 200, imported.body);
      const during = await server.probe();

      const growth = during.memory.rss - before.memory.rss;
      assert.ok(growth < 64 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB (from ${(before.memory.rss / MiB).toFixed(1)} MiB)`);
      for (const outcome of outcomes) {
        assert.ok(outcome.status === undefined || outcome.status === 403, `an unsigned request got ${outcome.status}`);
        assert.ok(outcome.closed, 'the server closed the connection instead of reading the body');
      }
      // Headers plus whatever arrived before the close: far from the 880 MB the attack declared.
      const read = during.bytesRead - before.bytesRead;
      assert.ok(read < 80 * MiB, `the server read ${(read / MiB).toFixed(1)} MiB from the attackers`);
    } finally {
      for (const socket of held) socket.destroy();
      await server.stop();
    }
  });

  it('refuses a signed request declaring more than the route cap with 413 before reading it', async () => {
    const server = await startChild(dataDir);
    try {
      const before = await server.probe();
      const headers = signRequestV4({
        method: 'POST',
        url: new URL(`http://127.0.0.1:${server.port}${IMPORT_PATH}`),
        body: Buffer.alloc(0),
        ...signedRequest.credentials!,
      });
      // Signed (with the empty-body hash), declaring 40 MB: the import cap (11 MiB) refuses it before the hash matters.
      const head = `POST ${IMPORT_PATH} HTTP/1.1\r\n${Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\ncontent-length: ${4 * DECLARED}\r\n\r\n`;
      const outcome = await holdRequest(server.port, head, 4 * DECLARED);
      outcome.socket.destroy();
      assert.ok(outcome.closed);
      assert.ok(outcome.status === undefined || outcome.status === 413, `got ${outcome.status}`);
      const after = await server.probe();
      assert.ok(after.bytesRead - before.bytesRead < 16 * MiB, `read ${after.bytesRead - before.bytesRead} bytes`);
    } finally {
      await server.stop();
    }
  });

  it('reads at most maxUnauthenticatedInFlight bodies whose signature needs the body; the others get 503 unread', async () => {
    const server = await startChild(dataDir, { maxUnauthenticatedInFlight: 2 });
    const held: Socket[] = [];
    try {
      const before = await server.probe();
      // A real key id but no x-amz-content-sha256 and a made-up signature: only the body's hash can settle it.
      const { accessKeyId } = signedRequest.credentials!;
      const date = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      const head =
        `POST ${IMPORT_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nx-amz-date: ${date}\r\nContent-Length: ${DECLARED}\r\n` +
        `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/${date.slice(0, 8)}/us-east-1/openfront/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}\r\n\r\n`;
      // Two are taken in and held; the next ones find no slot.
      const first = await Promise.all([holdRequest(server.port, head, DECLARED), holdRequest(server.port, head, DECLARED)]);
      held.push(...first.map((o) => o.socket));
      assert.deepEqual(
        first.map((o) => o.closed),
        [false, false],
        'the first two are being read',
      );
      const rest = await Promise.all(Array.from({ length: 20 }, () => holdRequest(server.port, head, DECLARED)));
      held.push(...rest.map((o) => o.socket));
      for (const outcome of rest) {
        assert.ok(outcome.closed, 'refused without reading');
        assert.ok(outcome.status === undefined || outcome.status === 503, `got ${outcome.status}`);
      }
      assert.ok(
        rest.some((o) => o.status === 503),
        'at least one client read the 503 before the close',
      );
      const during = await server.probe();
      const growth = during.memory.rss - before.memory.rss;
      assert.ok(growth < 2 * 11 * MiB + 48 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
    } finally {
      for (const socket of held) socket.destroy();
      await server.stop();
    }
  });
});

describe('API connection timeouts (issue 12, finding 1)', () => {
  // The test's own timeout is the bound under test: Node's defaults (60 s for headers, 30 s sweeps) would exceed it.
  it(
    'closes a connection whose headers do not arrive in headersTimeoutMs, and an idle kept-alive one after keepAliveTimeoutMs',
    { timeout: 15_000 },
    async () => {
      const h = await startHarness({ server: { limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 200 } } });
      try {
        const slow = connect(h.server.port, '127.0.0.1');
        slow.on('error', () => {});
        slow.write('GET /openfront/v1/audit HTTP/1.1\r\nHost: x\r\n');
        let answer = '';
        slow.on('data', (c: Buffer) => (answer += c.toString()));
        await once(slow, 'close');
        assert.match(answer, /^HTTP\/1\.1 408/);

        const idle = connect(h.server.port, '127.0.0.1');
        idle.on('error', () => {});
        idle.write('GET /openfront/v1/audit HTTP/1.1\r\nHost: x\r\n\r\n');
        let reply = '';
        idle.on('data', (c: Buffer) => (reply += c.toString()));
        await once(idle, 'close');
        assert.match(reply, /^HTTP\/1\.1 403/, 'answered, then closed once idle');
      } finally {
        await h.close();
      }
    },
  );
});
