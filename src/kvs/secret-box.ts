/**
 * Access-key secrets at rest: AES-256-GCM with a key that never enters the database, so a copy of `openfront.db`
 * alone reveals no secret (SigV4 verification needs the secret in clear, so it is encrypted, not hashed).
 *
 * The key comes from `OPENFRONT_SECRET_KEY` (32 bytes as 64 hex digits or base64) when set, otherwise from the key
 * file `openfront.key` beside the database, created with mode 0600 on first open. The database records a check
 * value of the key, so opening it with another key fails with a clear message instead of refusing every signature.
 * See docs/security.md.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { OpenFrontError } from '../errors.js';

/** Environment variable holding the key (64 hex digits, or base64 of 32 bytes). */
export const SECRET_KEY_ENV = 'OPENFRONT_SECRET_KEY';
/** Key file name, in the database's directory. */
export const SECRET_KEY_FILE = 'openfront.key';

const PREFIX = 'ofs1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;

function decodeKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new OpenFrontError('CONFIG_INVALID', `${origin} must hold a 32-byte key as 64 hex digits or base64 (e.g. \`openssl rand -hex 32\`)`);
  }
  return key;
}

/**
 * The key a fleet control process is given: `file` (`--secret-key-file`) or else `OPENFRONT_SECRET_KEY`; undefined
 * when neither is set. Never created: every control process of a fleet must use the same key.
 */
export function loadGivenSecretKey(file: string | undefined, env: NodeJS.ProcessEnv = process.env): { key: Buffer; source: string } | undefined {
  if (file !== undefined) return { key: decodeKey(readFileSync(file, 'utf8'), file), source: file };
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { key: decodeKey(fromEnv, SECRET_KEY_ENV), source: SECRET_KEY_ENV };
  return undefined;
}

const ACCESS_KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A new AWS-style key pair: "AKIA" + 16 base32 characters, and a 40-character secret. */
export function newAccessKeyCredentials(): { accessKeyId: string; secretAccessKey: string } {
  const accessKeyId = `AKIA${Array.from(randomBytes(16), (byte) => ACCESS_KEY_ALPHABET[byte & 31]).join('')}`;
  return { accessKeyId, secretAccessKey: randomBytes(30).toString('base64') };
}

/** Where the key comes from: the environment variable, else the key file (created when absent). */
export function loadOrCreateSecretKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): { key: Buffer; source: string } {
  const fromEnv = env[SECRET_KEY_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { key: decodeKey(fromEnv, SECRET_KEY_ENV), source: SECRET_KEY_ENV };
  const file = join(dataDir, SECRET_KEY_FILE);
  try {
    const fd = openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    const key = randomBytes(KEY_BYTES);
    try {
      writeSync(fd, `${key.toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
    return { key, source: file };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return { key: decodeKey(readFileSync(file, 'utf8'), file), source: file };
}

/** Seals and opens secrets with one key; each ciphertext is bound to its access key id. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new OpenFrontError('CONFIG_INVALID', 'The secret key must be 32 bytes');
    this.#key = key;
  }

  /** A value derived from the key that identifies it without revealing it (stored in the database). */
  get check(): string {
    return createHmac('sha256', this.#key).update('openfront access-key secrets v1').digest('hex').slice(0, 32);
  }

  matches(check: string): boolean {
    const a = Buffer.from(this.check);
    const b = Buffer.from(check);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  static isSealed(text: string): boolean {
    return text.startsWith(PREFIX);
  }

  seal(secret: string, accessKeyId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(accessKeyId, 'utf8'));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  /** The secret, or undefined when `sealed` is not a ciphertext this key made for this access key id. */
  open(sealed: string, accessKeyId: string): string | undefined {
    if (!SecretBox.isSealed(sealed)) return undefined;
    const [iv, tag, body] = sealed
      .slice(PREFIX.length)
      .split('.')
      .map((p) => Buffer.from(p, 'base64url'));
    if (!iv || !tag || !body || iv.length !== IV_BYTES || tag.length !== 16) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv);
      decipher.setAAD(Buffer.from(accessKeyId, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}
