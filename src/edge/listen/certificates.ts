/**
 * The viewer certificates of one HTTPS listener: a SecureContext per distribution that names a `viewerCertificate`,
 * plus the default one, chosen by the SNI name the way a request's Host chooses its distribution. Certificate files
 * are watched by polling their mtime and size (one stat per file per interval, no fs.watch: it misses atomic
 * renames on some file systems and has no bound on events); a changed pair is loaded and swapped in without a
 * restart, and a broken one keeps the old certificate and logs why.
 */
import { open, stat } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { CertificateFiles, SecurityPolicy } from '../../config/types.js';
import { openFrontError } from '../../errors.js';
import type { Distribution, DistributionRouter } from '../distribution.js';
import { tlsPolicy, type TlsPolicy } from './security-policy.js';

/** Largest certificate or key file read: a long chain is a few KB; anything far beyond is not a certificate. */
export const MAX_CERTIFICATE_FILE_BYTES = 256 * 1024;
/** Most certificate/key pairs one listener loads (each distribution with a viewerCertificate, plus the default). */
export const MAX_CERTIFICATE_PAIRS = 256;

export const DEFAULT_ENTRY = '(default)';

export interface CertificateSource {
  /** Distribution id, or {@link DEFAULT_ENTRY}. */
  id: string;
  files: CertificateFiles;
  policy: SecurityPolicy;
}

/** What a handshake for one SNI name gets. */
export interface ViewerTls {
  context: SecureContext;
  policy: TlsPolicy;
  /** The distribution the name belongs to, when one does. */
  distribution: Distribution | undefined;
}

interface Entry {
  source: CertificateSource;
  context: SecureContext;
  policy: TlsPolicy;
  /** `mtimeMs:size` of certificate and key when last looked at (loaded or refused). */
  stamp: string;
  /** Subject of the certificate in use (log lines). */
  subject: string;
  cert: Buffer;
  key: Buffer;
}

export class CertificateBook {
  readonly #entries = new Map<string, Entry>();
  readonly #router: Pick<DistributionRouter, 'match'>;
  readonly #log: (message: string) => void;
  readonly #fallbackPolicy: TlsPolicy;
  #timer: NodeJS.Timeout | undefined;
  #onDefaultChange: ((pem: { cert: Buffer; key: Buffer }) => void) | undefined;
  #checking: Promise<void> | undefined;

  private constructor(router: Pick<DistributionRouter, 'match'>, fallbackPolicy: TlsPolicy, log: (message: string) => void) {
    this.#router = router;
    this.#fallbackPolicy = fallbackPolicy;
    this.#log = log;
  }

  /** Loads every pair; throws EDGE_CERTIFICATE_INVALID naming the first that cannot be used (the edge does not start). */
  static async load(
    router: Pick<DistributionRouter, 'match'>,
    sources: readonly CertificateSource[],
    log: (message: string) => void,
  ): Promise<CertificateBook> {
    if (sources.length > MAX_CERTIFICATE_PAIRS)
      throw openFrontError('EDGE_CERTIFICATE_INVALID', `${sources.length} certificates configured; one listener loads at most ${MAX_CERTIFICATE_PAIRS}`);
    const fallback = sources.find((s) => s.id === DEFAULT_ENTRY);
    if (fallback === undefined) throw openFrontError('EDGE_CERTIFICATE_INVALID', 'the HTTPS listener has no default certificate');
    const book = new CertificateBook(router, tlsPolicy(fallback.policy), log);
    for (const source of sources) book.#entries.set(source.id, await loadEntry(source));
    return book;
  }

  /** The certificate for an SNI name (none, or one no distribution with a certificate answers: the default). */
  forServerName(servername: string | false | null | undefined): ViewerTls {
    // Node passes `false` or undefined when the viewer sent no SNI (an IP address in the URL).
    const distribution = typeof servername !== 'string' || servername === '' ? undefined : this.#router.match(servername);
    const own = distribution === undefined ? undefined : this.#entries.get(distribution.config.id);
    const entry = own ?? (this.#entries.get(DEFAULT_ENTRY) as Entry);
    return { context: entry.context, policy: own === undefined ? this.#fallbackPolicy : own.policy, distribution };
  }

  /** The default pair as PEM: what a listener serves to connections without an SNI name. */
  defaultPem(): { cert: Buffer; key: Buffer } {
    const entry = this.#entries.get(DEFAULT_ENTRY) as Entry;
    return { cert: entry.cert, key: entry.key };
  }

  /** Called with the new default pair after it is reloaded. */
  onDefaultChange(listener: (pem: { cert: Buffer; key: Buffer }) => void): void {
    this.#onDefaultChange = listener;
  }

  /** Every policy a connection may be held to (the listener offers their union). */
  policies(): TlsPolicy[] {
    return [...this.#entries.values()].map((e) => e.policy);
  }

  /** Subjects in use, by entry id (banner, tests). */
  subjects(): Record<string, string> {
    return Object.fromEntries([...this.#entries].map(([id, e]) => [id, e.subject]));
  }

  /** Starts polling the files every `intervalMs`; the timer does not keep the process alive. */
  watch(intervalMs: number): void {
    this.#timer = setInterval(() => void this.checkForChanges(), intervalMs);
    this.#timer.unref();
  }

  /**
   * Looks at every file once and reloads the pairs that changed. Concurrent calls share one pass. Resolves when the
   * pass is done (tests await it instead of sleeping).
   */
  checkForChanges(): Promise<void> {
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<void> {
    for (const [id, entry] of this.#entries) {
      let current: string;
      try {
        current = await stampOf(entry.source.files);
      } catch (err) {
        if (entry.stamp !== 'missing') this.#log(`certificate for ${id}: ${(err as Error).message}; still serving ${entry.subject}`);
        entry.stamp = 'missing';
        continue;
      }
      if (current === entry.stamp) continue;
      try {
        const next = await loadEntry(entry.source);
        this.#entries.set(id, next);
        if (id === DEFAULT_ENTRY) this.#onDefaultChange?.({ cert: next.cert, key: next.key });
        this.#log(`certificate for ${id} reloaded: now serving ${next.subject}`);
      } catch (err) {
        entry.stamp = current;
        this.#log(`certificate for ${id} not reloaded: ${(err as Error).message}; still serving ${entry.subject}`);
      }
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }
}

async function loadEntry(source: CertificateSource): Promise<Entry> {
  // The stamp is taken before reading: a write that lands during the read changes it again and is picked up next time.
  const stamp = await stampOf(source.files).catch(() => 'missing');
  const cert = await readPem(source.files.certificatePath, 'certificate', source.id);
  const key = await readPem(source.files.privateKeyPath, 'private key', source.id);
  let subject: string;
  try {
    const parsed = new X509Certificate(cert);
    subject = parsed.subject.replace(/\n/g, ', ');
  } catch (err) {
    throw openFrontError('EDGE_CERTIFICATE_INVALID', `${source.files.certificatePath} (${source.id}): not a PEM certificate: ${(err as Error).message}`);
  }
  let context: SecureContext;
  try {
    // Also checks that the key belongs to the certificate.
    context = createSecureContext({ cert, key });
  } catch (err) {
    throw openFrontError(
      'EDGE_CERTIFICATE_INVALID',
      `${source.files.privateKeyPath} (${source.id}): cannot be used with its certificate: ${(err as Error).message}`,
    );
  }
  return { source, context, policy: tlsPolicy(source.policy), stamp, subject, cert, key };
}

async function stampOf(files: CertificateFiles): Promise<string> {
  const [c, k] = await Promise.all([stat(files.certificatePath), stat(files.privateKeyPath)]);
  return `${c.mtimeMs}:${c.size}:${k.mtimeMs}:${k.size}`;
}

/** Reads at most MAX_CERTIFICATE_FILE_BYTES + 1 bytes, whatever size the file claims or grows to while read. */
async function readPem(path: string, what: string, id: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw openFrontError('EDGE_CERTIFICATE_INVALID', `${path} (${id} ${what}): cannot be read: ${(err as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(MAX_CERTIFICATE_FILE_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length)
        throw openFrontError('EDGE_CERTIFICATE_INVALID', `${path} (${id} ${what}): larger than ${MAX_CERTIFICATE_FILE_BYTES} bytes; not a certificate file`);
    }
    const pem = buffer.subarray(0, length);
    if (!pem.includes('-----BEGIN ')) throw openFrontError('EDGE_CERTIFICATE_INVALID', `${path} (${id} ${what}): not PEM (no "-----BEGIN" line)`);
    return pem;
  } finally {
    await handle.close();
  }
}
