/**
 * Verifies that a request was signed with SigV4 or SigV4a by a known, active access key: the server checklist of
 * AWS Signature Version 4 and SigV4a as the AWS SDK signs them (docs/kvs-api.md). Works on the raw request (path, query, headers as received, body bytes) so that
 * nothing a framework might normalise can change what is verified.
 */
import type { KeyObject } from 'node:crypto';
import { isOpenFrontError, OpenFrontError } from '../../errors.js';
import { parseAuthorization } from './authorization-header.js';
import { canonicalRequest, collectHeaders, parseRawQuery, sha256Hex, stringToSign } from './canonical.js';
import { SIGV4_ALGORITHM, verifySigV4Signature } from './sigv4.js';
import { SIGV4A_ALGORITHM, deriveSigV4aPublicKey, verifySigV4aSignature } from './sigv4a.js';

export type SignatureAlgorithm = typeof SIGV4_ALGORITHM | typeof SIGV4A_ALGORITHM;

/** The caller a verified request belongs to. */
export interface Principal {
  accessKeyId: string;
}

/** The request exactly as received. */
export interface SignedRequest {
  method: string;
  /** Path as sent, still percent-encoded, without the query. */
  rawPath: string;
  /** Query as sent, without "?" ("" when none). */
  rawQuery: string;
  /** Node's `req.rawHeaders`. */
  rawHeaders: readonly string[];
  body: Buffer;
}

/** A request before its body has been read. */
export type RequestHead = Omit<SignedRequest, 'body'>;

/**
 * What the head of a request proved. `verified`: the signature is valid; the body must hash to `payloadHash`
 * (undefined: anything goes, for unauthenticated local mode). `needs-body`: the key and everything else are valid,
 * but the signature covers the body's hash; `finish(sha256 hex of the body)` returns the caller or throws.
 */
export type HeadVerdict = { kind: 'verified'; principal: Principal; payloadHash?: string } | { kind: 'needs-body'; finish: (bodyHash: string) => Principal };

/** What a route group accepts. */
export interface SignatureExpectation {
  /** Signing names accepted in the credential scope (e.g. "cloudfront-keyvaluestore"). */
  services: readonly string[];
  algorithms: readonly SignatureAlgorithm[];
}

/** Why verification failed. Reasons are for logs and messages; all of them answer 403. */
export type AuthFailureReason =
  | 'missing-signature'
  | 'malformed-authorization'
  | 'unsupported-algorithm'
  | 'wrong-service'
  | 'missing-signed-header'
  | 'unsigned-if-match'
  | 'bad-date'
  | 'request-expired'
  | 'region-set-mismatch'
  | 'unsigned-payload'
  | 'payload-hash-mismatch'
  | 'unknown-access-key'
  | 'signature-mismatch';

const MESSAGES: Record<AuthFailureReason, string> = {
  'missing-signature': 'The request is not signed: an AWS Signature Version 4 Authorization header is required',
  'malformed-authorization': 'The Authorization header is malformed',
  'unsupported-algorithm': 'The signing algorithm is not accepted by this API',
  'wrong-service': 'The credential scope names the wrong service for this API',
  'missing-signed-header': 'The signature must cover the host and x-amz-date headers (and x-amz-region-set for SigV4a)',
  'unsigned-if-match': 'The If-Match header must be among the signed headers: a request carrying an unsigned If-Match is refused',
  'bad-date': 'The x-amz-date header is missing, malformed, or does not match the credential scope date',
  'request-expired': 'Signature expired: the request time is more than 15 minutes away from the server time',
  'region-set-mismatch': 'The x-amz-region-set does not include this server',
  'unsigned-payload': 'Unsigned payloads are not accepted',
  'payload-hash-mismatch': 'The x-amz-content-sha256 header does not match the request body',
  'unknown-access-key': 'The access key id is not known or has been revoked',
  'signature-mismatch': 'The request signature does not match the signature the server calculated',
};

/** Verification refused: AUTH_FAILED with `details.reason`; each API answers it as its own access-denied error. */
export function authFailure(reason: AuthFailureReason): OpenFrontError {
  return new OpenFrontError('AUTH_FAILED', MESSAGES[reason], { reason });
}

/** The reason of an AUTH_FAILED error, or undefined for any other error. */
export function authFailureReasonOf(err: unknown): AuthFailureReason | undefined {
  return isOpenFrontError(err) && err.code === 'AUTH_FAILED' ? (err.details.reason as AuthFailureReason) : undefined;
}

export interface RequestVerifierOptions {
  /**
   * Secret of an active access key; undefined for unknown or revoked keys. Consulted on every request by the
   * synchronous checks; {@link RequestVerifier.verifyHeadAsync} takes an async lookup instead. Default: no key.
   */
  lookupSecret?: (accessKeyId: string) => string | undefined;
  now?: () => Date;
  /** Allowed distance between x-amz-date and the server clock. Default 15 minutes, as AWS. */
  maxClockSkewMs?: number;
  /** Region this server answers for in a SigV4a region set, besides "*". Default "us-east-1". */
  region?: string;
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value === undefined ? null : AMZ_DATE.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export class RequestVerifier {
  readonly #lookupSecret: (accessKeyId: string) => string | undefined;
  readonly #now: () => Date;
  readonly #maxSkewMs: number;
  readonly #region: string;
  /** Public keys are costly to derive (an EC point multiplication); keyed by access key, invalidated by secret. */
  readonly #publicKeys = new Map<string, { secret: string; key: KeyObject }>();

  constructor(options: RequestVerifierOptions) {
    this.#lookupSecret = options.lookupSecret ?? (() => undefined);
    this.#now = options.now ?? (() => new Date());
    this.#maxSkewMs = options.maxClockSkewMs ?? 15 * 60 * 1000;
    this.#region = options.region ?? 'us-east-1';
  }

  /** Returns the verified caller or throws {@link authFailure AUTH_FAILED}. The whole body must be at hand. */
  verify(request: SignedRequest, expectation: SignatureExpectation): Principal {
    const verdict = this.verifyHead(request, expectation);
    const bodyHash = sha256Hex(request.body);
    if (verdict.kind === 'needs-body') return verdict.finish(bodyHash);
    if (verdict.payloadHash !== undefined && verdict.payloadHash !== bodyHash) throw authFailure('payload-hash-mismatch');
    return verdict.principal;
  }

  /**
   * Checks everything the head of a request (method, path, query, headers) can prove, before a byte of the body is
   * read: who signed, for which service, when, with which headers. When the client sent `x-amz-content-sha256` (the
   * AWS SDKs always do) the signature itself is checked here too and the caller must only compare the body's hash;
   * without it the signature covers the body's hash, so `finish` completes the check once the body is in.
   * Throws {@link authFailure AUTH_FAILED}.
   */
  verifyHead(request: RequestHead, expectation: SignatureExpectation): HeadVerdict {
    return this.#verifyHead(request, expectation, this.#lookupSecret);
  }

  /**
   * {@link verifyHead} with the secret looked up asynchronously first (keys held by a state backend across the
   * network). Lookup failures (the backend unavailable) propagate as they are.
   */
  async verifyHeadAsync(
    request: RequestHead,
    expectation: SignatureExpectation,
    lookupSecret: (accessKeyId: string) => Promise<string | undefined>,
  ): Promise<HeadVerdict> {
    const auth = parseAuthorization(collectHeaders(request.rawHeaders).get('authorization'));
    const secret = auth === undefined ? undefined : await lookupSecret(auth.accessKeyId);
    return this.#verifyHead(request, expectation, () => secret);
  }

  #verifyHead(request: RequestHead, expectation: SignatureExpectation, lookupSecret: (accessKeyId: string) => string | undefined): HeadVerdict {
    const headers = collectHeaders(request.rawHeaders);
    const auth = parseAuthorization(headers.get('authorization'));
    if (!auth) throw authFailure(headers.has('authorization') ? 'malformed-authorization' : 'missing-signature');
    const algorithm = auth.algorithm as SignatureAlgorithm;
    if (!expectation.algorithms.includes(algorithm)) throw authFailure('unsupported-algorithm');

    const scopeLength = algorithm === SIGV4_ALGORITHM ? 4 : 3;
    if (auth.scope.length !== scopeLength) throw authFailure('malformed-authorization');
    const shortDate = auth.scope[0];
    const service = auth.scope[scopeLength - 2];
    if (!expectation.services.includes(service)) throw authFailure('wrong-service');

    const required = algorithm === SIGV4A_ALGORITHM ? ['host', 'x-amz-date', 'x-amz-region-set'] : ['host', 'x-amz-date'];
    if (!required.every((h) => auth.signedHeaders.includes(h) && headers.has(h))) throw authFailure('missing-signed-header');
    // If-Match decides which version a write applies to: unsigned, a captured request could be replayed with a
    // fresh one and overwrite later changes within the signature's time window (docs/security.md).
    if (headers.has('if-match') && !auth.signedHeaders.includes('if-match')) throw authFailure('unsigned-if-match');

    const amzDateText = headers.get('x-amz-date');
    const amzDate = parseAmzDate(amzDateText);
    if (!amzDate || amzDateText?.slice(0, 8) !== shortDate) throw authFailure('bad-date');
    if (Math.abs(amzDate.getTime() - this.#now().getTime()) > this.#maxSkewMs) throw authFailure('request-expired');

    if (algorithm === SIGV4A_ALGORITHM) {
      const regions = (headers.get('x-amz-region-set') ?? '').split(',').map((r) => r.trim());
      if (!regions.includes('*') && !regions.includes(this.#region)) throw authFailure('region-set-mismatch');
    }

    const claimedHash = headers.get('x-amz-content-sha256');
    if (claimedHash !== undefined) {
      if (claimedHash.startsWith('UNSIGNED-PAYLOAD') || claimedHash.startsWith('STREAMING-')) throw authFailure('unsigned-payload');
      if (!/^[0-9a-fA-F]{64}$/.test(claimedHash)) throw authFailure('payload-hash-mismatch');
    }

    const secret = lookupSecret(auth.accessKeyId);
    if (secret === undefined) throw authFailure('unknown-access-key');

    let queryPairs: Array<[string, string]>;
    try {
      queryPairs = parseRawQuery(request.rawQuery);
    } catch {
      throw authFailure('signature-mismatch');
    }
    const check = (payloadHash: string): Principal => {
      const canonical = canonicalRequest({
        method: request.method,
        rawPath: request.rawPath,
        queryPairs,
        headers,
        signedHeaders: auth.signedHeaders,
        payloadHash,
      });
      const toSign = stringToSign(algorithm, amzDateText, auth.scope.join('/'), canonical);
      const valid =
        algorithm === SIGV4_ALGORITHM
          ? verifySigV4Signature(secret, shortDate, auth.scope[1], service, toSign, auth.signature)
          : verifySigV4aSignature(this.#publicKey(auth.accessKeyId, secret), toSign, auth.signature);
      if (!valid) throw authFailure('signature-mismatch');
      return { accessKeyId: auth.accessKeyId };
    };
    if (claimedHash === undefined) return { kind: 'needs-body', finish: check };
    return { kind: 'verified', principal: check(claimedHash), payloadHash: claimedHash.toLowerCase() };
  }

  #publicKey(accessKeyId: string, secret: string): KeyObject {
    const cached = this.#publicKeys.get(accessKeyId);
    if (cached && cached.secret === secret) return cached.key;
    const key = deriveSigV4aPublicKey(accessKeyId, secret);
    this.#publicKeys.set(accessKeyId, { secret, key });
    return key;
  }
}
