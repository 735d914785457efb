/**
 * CloudFront's viewer security policies (ViewerCertificate.MinimumProtocolVersion) as TLS settings: the lowest
 * protocol version and the cipher suites each allows, in CloudFront's order of preference (docs/edge.md#https).
 *
 * This edge speaks TLS 1.2 and 1.3 only (OpenSSL 3 refuses TLS 1.0/1.1 at its default security level, and so do
 * current browsers): the policies that allow older versions (SSLv3 … TLSv1.1_2016) are accepted in a config and
 * served as TLSv1.2_2018, the most permissive policy that has no TLS 1.0/1.1.
 */
import type { SecurityPolicy } from '../../config/types.js';

export interface TlsPolicy {
  name: SecurityPolicy;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** TLS 1.2 suites, OpenSSL names, most preferred first. Empty for TLS 1.3-only policies. */
  tls12Ciphers: readonly string[];
  /** TLS 1.3 suites, IANA names (what `getCipher().standardName` reports). */
  tls13Ciphers: readonly string[];
}

const TLS13_ALL = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'] as const;

const ECDHE_GCM = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];
const ECDHE_CHACHA = ['ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'];
const ECDHE_CBC_SHA2 = ['ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384'];
const STATIC_RSA = ['AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256'];

const TLS12_2018: TlsPolicy = {
  name: 'TLSv1.2_2018',
  minVersion: 'TLSv1.2',
  tls12Ciphers: [...ECDHE_GCM, ...ECDHE_CHACHA, ...ECDHE_CBC_SHA2, ...STATIC_RSA],
  tls13Ciphers: TLS13_ALL,
};

const POLICIES: Record<SecurityPolicy, TlsPolicy> = {
  SSLv3: { ...TLS12_2018, name: 'SSLv3' },
  TLSv1: { ...TLS12_2018, name: 'TLSv1' },
  TLSv1_2016: { ...TLS12_2018, name: 'TLSv1_2016' },
  'TLSv1.1_2016': { ...TLS12_2018, name: 'TLSv1.1_2016' },
  'TLSv1.2_2018': TLS12_2018,
  'TLSv1.2_2019': { name: 'TLSv1.2_2019', minVersion: 'TLSv1.2', tls12Ciphers: [...ECDHE_GCM, ...ECDHE_CHACHA, ...ECDHE_CBC_SHA2], tls13Ciphers: TLS13_ALL },
  'TLSv1.2_2021': { name: 'TLSv1.2_2021', minVersion: 'TLSv1.2', tls12Ciphers: [...ECDHE_GCM, ...ECDHE_CHACHA], tls13Ciphers: TLS13_ALL },
  // CloudFront documents the ECDSA rows (GCM only, no CHACHA20); the RSA rows are taken to match them.
  'TLSv1.2_2025': { name: 'TLSv1.2_2025', minVersion: 'TLSv1.2', tls12Ciphers: ECDHE_GCM, tls13Ciphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'] },
  'TLSv1.3_2025': { name: 'TLSv1.3_2025', minVersion: 'TLSv1.3', tls12Ciphers: [], tls13Ciphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'] },
};

export function tlsPolicy(name: SecurityPolicy): TlsPolicy {
  return POLICIES[name];
}

/**
 * What one listener must offer so that every policy in use can be met: OpenSSL fixes the protocol range and the
 * cipher list before the SNI name is known, so the listener offers the union and each connection is checked
 * against its own distribution's policy once the handshake is done ({@link admitsConnection}).
 */
export function listenerTlsSettings(policies: readonly TlsPolicy[]): { minVersion: 'TLSv1.2' | 'TLSv1.3'; ciphers: string } {
  const minVersion = policies.some((p) => p.minVersion === 'TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3';
  const tls12 = new Set<string>();
  const tls13 = new Set<string>();
  // The strictest policies first, so a client that supports their suites gets one of them.
  const strictFirst = [...policies].sort((a, b) => a.tls12Ciphers.length - b.tls12Ciphers.length);
  for (const p of strictFirst) {
    for (const c of p.tls13Ciphers) tls13.add(c);
    for (const c of p.tls12Ciphers) tls12.add(c);
  }
  return { minVersion, ciphers: [...tls13, ...tls12].join(':') };
}

/** Whether a finished handshake (`socket.getProtocol()`, `socket.getCipher()`) meets the policy. */
export function admitsConnection(policy: TlsPolicy, protocol: string | null, cipher: { name: string; standardName?: string } | undefined): boolean {
  if (protocol === 'TLSv1.3') return cipher !== undefined && policy.tls13Ciphers.includes(cipher.standardName ?? cipher.name);
  if (protocol === 'TLSv1.2') return policy.minVersion === 'TLSv1.2' && cipher !== undefined && policy.tls12Ciphers.includes(cipher.name);
  return false;
}
