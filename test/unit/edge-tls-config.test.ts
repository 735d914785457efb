/** The HTTPS parts of the config and the pure decisions behind them: security policies and viewerProtocolPolicy. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { admitsConnection, listenerTlsSettings, tlsPolicy } from '../../src/edge/listen/security-policy.js';
import { viewerProtocolAnswer, withForwardedProto } from '../../src/edge/viewer-protocol.js';
import { isOpenFrontError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'openfront-tls-config-'));
writeFileSync(join(dir, 'site.crt'), '-----BEGIN CERTIFICATE-----\n');
writeFileSync(join(dir, 'site.key'), '-----BEGIN PRIVATE KEY-----\n');

function distribution(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { id: 'd', hostnames: ['site.test'], origins: [{ id: 'o', url: 'http://127.0.0.1:9' }], defaultBehavior: { origin: 'o' }, ...extra };
}

function problems(raw: unknown): Array<{ path: string; message: string }> {
  try {
    parseConfig(raw, dir);
  } catch (err) {
    assert.ok(isOpenFrontError(err) && err.code === 'CONFIG_INVALID');
    return err.details.problems as Array<{ path: string; message: string }>;
  }
  return [];
}

describe('HTTPS config', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("fills CloudFront's defaults: http2, allow-all, TLSv1.2_2021", () => {
    const config = parseConfig(
      { server: { httpsPort: 0 }, distributions: [distribution({ viewerCertificate: { certificate: 'site.crt', privateKey: 'site.key' } })] },
      dir,
    );
    const d = config.distributions[0]!;
    assert.equal(d.httpVersion, 'http2');
    assert.equal(d.defaultBehavior.viewerProtocolPolicy, 'allow-all');
    assert.equal(d.viewerCertificate?.minimumProtocolVersion, 'TLSv1.2_2021');
    assert.equal(d.viewerCertificate?.certificatePath, join(dir, 'site.crt'));
    assert.equal(config.server.httpsPort, 0);
  });

  it('names missing certificate files and unknown policies, versions and protocol policies', () => {
    const found = problems({
      server: { tls: { defaultCertificate: { certificate: 'nope.crt', privateKey: 'site.key' } } },
      distributions: [distribution({ viewerCertificate: { certificate: 'site.crt', privateKey: 'missing.key' } })],
    });
    assert.deepEqual(
      found.map((p) => p.path),
      ['distributions[0].viewerCertificate.privateKey', 'server.tls.defaultCertificate.certificate'],
    );
    const invalid = problems({
      distributions: [
        distribution({
          httpVersion: 'http4',
          viewerCertificate: { certificate: 'site.crt', privateKey: 'site.key', minimumProtocolVersion: 'TLSv1.4_2030' },
          defaultBehavior: { origin: 'o', viewerProtocolPolicy: 'https-maybe' },
        }),
      ],
    });
    assert.deepEqual(invalid.map((p) => p.path).sort(), [
      'distributions[0].defaultBehavior.viewerProtocolPolicy',
      'distributions[0].httpVersion',
      'distributions[0].viewerCertificate.minimumProtocolVersion',
    ]);
  });
});

describe('security policies', () => {
  it('refuses TLS 1.1 and older under every policy, and TLS 1.2 under TLSv1.3_2025', () => {
    const gcm = { name: 'ECDHE-ECDSA-AES128-GCM-SHA256' };
    for (const name of ['TLSv1', 'TLSv1.2_2021', 'TLSv1.3_2025'] as const) assert.equal(admitsConnection(tlsPolicy(name), 'TLSv1.1', gcm), false, name);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2021'), 'TLSv1.2', gcm), true);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.3_2025'), 'TLSv1.2', gcm), false);
  });

  it('narrows the TLS 1.2 and 1.3 suites as CloudFront does', () => {
    const cbc = { name: 'ECDHE-RSA-AES128-SHA256' };
    const staticRsa = { name: 'AES128-GCM-SHA256' };
    const chacha13 = { name: 'TLS_CHACHA20_POLY1305_SHA256', standardName: 'TLS_CHACHA20_POLY1305_SHA256' };
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2018'), 'TLSv1.2', staticRsa), true);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2019'), 'TLSv1.2', staticRsa), false);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2019'), 'TLSv1.2', cbc), true);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2021'), 'TLSv1.2', cbc), false);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.2_2021'), 'TLSv1.3', chacha13), true);
    assert.equal(admitsConnection(tlsPolicy('TLSv1.3_2025'), 'TLSv1.3', chacha13), false);
  });

  it('offers the union of the policies in use, the strictest suites first', () => {
    const settings = listenerTlsSettings([tlsPolicy('TLSv1.2_2018'), tlsPolicy('TLSv1.3_2025')]);
    assert.equal(settings.minVersion, 'TLSv1.2');
    const suites = settings.ciphers.split(':');
    assert.ok(suites.includes('AES128-SHA256'));
    assert.equal(suites[0], 'TLS_AES_128_GCM_SHA256');
    assert.equal(listenerTlsSettings([tlsPolicy('TLSv1.3_2025')]).minVersion, 'TLSv1.3');
  });
});

describe('viewerProtocolPolicy', () => {
  const request = { method: 'GET', httpVersion: '1.1', host: 'site.test:8080', target: '/a?b=1' };
  it('serves HTTPS and allow-all as they come', () => {
    assert.deepEqual(viewerProtocolAnswer('https-only', 'https', request, 8443), { kind: 'serve' });
    assert.deepEqual(viewerProtocolAnswer('allow-all', 'http', request, 8443), { kind: 'serve' });
    assert.deepEqual(viewerProtocolAnswer(undefined, 'http', request, 8443), { kind: 'serve' });
  });
  it('redirects to the HTTPS port, without it when it is 443, and keeps IPv6 literals', () => {
    assert.deepEqual(viewerProtocolAnswer('redirect-to-https', 'http', request, 8443), {
      kind: 'redirect',
      status: 301,
      location: 'https://site.test:8443/a?b=1',
    });
    assert.deepEqual(viewerProtocolAnswer('redirect-to-https', 'http', { ...request, method: 'HEAD' }, 443), {
      kind: 'redirect',
      status: 301,
      location: 'https://site.test/a?b=1',
    });
    assert.deepEqual(viewerProtocolAnswer('redirect-to-https', 'http', { ...request, host: '[::1]:8080' }, undefined), {
      kind: 'redirect',
      status: 301,
      location: 'https://[::1]/a?b=1',
    });
    assert.deepEqual(viewerProtocolAnswer('redirect-to-https', 'http', { ...request, method: 'DELETE' }, 443), {
      kind: 'redirect',
      status: 307,
      location: 'https://site.test/a?b=1',
    });
    assert.deepEqual(viewerProtocolAnswer('redirect-to-https', 'http', { ...request, method: 'PUT', httpVersion: '1.0' }, 443), { kind: 'refuse' });
    assert.deepEqual(viewerProtocolAnswer('https-only', 'http', request, 443), { kind: 'refuse' });
  });
  it('replaces a CloudFront-Forwarded-Proto the viewer sent, whatever its case', () => {
    assert.deepEqual(
      withForwardedProto(
        [
          ['Host', 'x'],
          ['CLOUDFRONT-FORWARDED-PROTO', 'https'],
        ],
        'http',
      ),
      [
        ['Host', 'x'],
        ['CloudFront-Forwarded-Proto', 'http'],
      ],
    );
  });
});
