/**
 * What an edge needs to answer `openfront explain`'s signed debug header (docs/observability.md, "explain"): the
 * signature checked against the access keys in the database, and the redacted decision record. The in-process edge
 * and each edge worker (docs/deploy.md) build the same one over their own handle on the database.
 */
import { DEBUG_DATE_HEADER, DEBUG_HEADER, hasDebugHeader, verifyDebugRequest } from '../control/auth/debug-header.js';
import { RequestVerifier } from '../control/auth/verify-request.js';
import type { EdgeDebug } from '../edge/debug.js';
import { toDecisionRecord, type DecisionRecordOptions } from '../observe/decision.js';

export interface EdgeDebugOptions {
  /** The secret of an active access key (the database's `getAccessKeySecret`). */
  lookupSecret: (accessKeyId: string) => string | undefined;
  record: DecisionRecordOptions;
  /** `insecureNoAuth` API: the header is refused (there is no key to verify it with). */
  insecureNoAuth?: boolean;
  now?: () => Date;
}

export function edgeDebug(options: EdgeDebugOptions): EdgeDebug {
  const verifier = options.insecureNoAuth ? undefined : new RequestVerifier({ lookupSecret: options.lookupSecret, now: options.now });
  return {
    authorize: (req) =>
      verifier !== undefined &&
      hasDebugHeader(req.rawHeaders) &&
      verifyDebugRequest(verifier, { method: req.method ?? 'GET', target: req.url ?? '/', rawHeaders: req.rawHeaders }) !== undefined,
    record: (trace) => toDecisionRecord(trace, options.record),
    headers: [DEBUG_HEADER, DEBUG_DATE_HEADER],
  };
}
