/**
 * `openfront start`'s HTTPS without a configured certificate: a self-signed one for localhost and 127.0.0.1 is made
 * in the data directory at the first start and reused afterwards.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { startOpenFrontNode } from '../../src/node/index.js';

function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on('error', reject);
  });
}

describe('self-signed certificate of openfront start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'openfront-selfsigned-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = parseConfig(
    { distributions: [{ id: 'd', hostnames: ['*'], origins: [{ id: 'o', url: 'http://127.0.0.1:9' }], defaultBehavior: { origin: 'o' } }] },
    dir,
  );

  it('is made for localhost and 127.0.0.1 at the first start, trusted by a client that pins it, and reused at the next start', async () => {
    const dataDir = join(dir, 'data');
    const first = await startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0, httpsPort: 0 } });
    let fingerprint: string;
    try {
      const made = first.selfSignedCertificate;
      assert.ok(made !== undefined && made.created);
      const cert = new X509Certificate(readFileSync(made.certificatePath));
      assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      assert.equal(statSync(join(dataDir, 'tls', 'localhost.key')).mode & 0o777, 0o600);
      fingerprint = await peerFingerprint(first.edge.httpsPort!);
      assert.equal(fingerprint, cert.fingerprint256);
      // A client that trusts exactly this certificate verifies the edge as 127.0.0.1.
      await new Promise<void>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: first.edge.httpsPort!, ca: readFileSync(made.certificatePath) }, () => {
          socket.end();
          resolve();
        });
        socket.on('error', reject);
      });
    } finally {
      await first.close();
    }
    const second = await startOpenFrontNode({ dataDir, config, api: { port: 0 }, edge: { port: 0, httpsPort: 0 } });
    try {
      assert.equal(second.selfSignedCertificate?.created, false);
      assert.equal(await peerFingerprint(second.edge.httpsPort!), fingerprint);
    } finally {
      await second.close();
    }
  });
});
