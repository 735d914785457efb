/**
 * The certificate `openfront start` serves HTTPS with when the config names none: self-signed for `localhost` and
 * `127.0.0.1`, made once in the data directory and reused afterwards, so a browser exception or a `curl --cacert`
 * keeps working across restarts. Made with `selfsigned` (X.509 in JavaScript; node:crypto makes keys but not
 * certificates), loaded only when a certificate has to be made.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateFiles } from '../config/types.js';

export const SELF_SIGNED_NAMES = ['localhost', '127.0.0.1'] as const;

/** `<dataDir>/tls/localhost.crt` and `.key`; made (key 0600) when either is missing. */
export async function ensureSelfSignedCertificate(dataDir: string, now: Date = new Date()): Promise<CertificateFiles & { created: boolean }> {
  const dir = join(dataDir, 'tls');
  const certificatePath = join(dir, 'localhost.crt');
  const privateKeyPath = join(dir, 'localhost.key');
  if (existsSync(certificatePath) && existsSync(privateKeyPath)) return { certificatePath, privateKeyPath, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: now,
    // 825 days: the longest validity Apple's clients accept for a TLS server certificate.
    notAfterDate: new Date(now.getTime() + 825 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  writeFileSync(privateKeyPath, pems.private, { mode: 0o600 });
  writeFileSync(certificatePath, pems.cert, { mode: 0o644 });
  return { certificatePath, privateKeyPath, created: true };
}
