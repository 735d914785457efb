/**
 * The native API of recorded traffic and dry runs (docs/safe-changes.md, "Dry-run against recorded traffic"),
 * signed like every native call:
 *
 * - `GET /openfront/v1/distributions/{id}/recording[?limit=N]` — the distribution's recorded sample, oldest first.
 * - `DELETE /openfront/v1/distributions/{id}/recording` — forgets it.
 * - `POST /openfront/v1/dry-run` — replays the sample through current and proposed function code and store data
 *   and reports which decisions change; `pass` says whether the change count is within the threshold.
 *
 * Every input is bounded here before the node does any work: the body, the code (then the function limits), the
 * change set (src/kvs/change-set.ts), how many requests are replayed, how long the run may take, and one run at a
 * time per node.
 */
import { z } from 'zod';
import { openFrontError } from '../errors.js';
import { MAX_CHANGE_SET_BYTES, parseChangeSet, type ChangeSet } from '../kvs/change-set.js';
import type { RecordedRequest, RecordingCounters, RecordingSettings } from '../observe/recording.js';
import { RUNTIMES, type RuntimeVersion } from '../runtime/event.js';
import { NATIVE_SIGNING_SERVICE } from './auth/sign-request.js';
import { SIGV4_ALGORITHM } from './auth/sigv4.js';
import { access } from './auth/route-access.js';
import { parseJsonObject } from './http/json-body.js';
import type { RouteGroup } from './http/router.js';
import type { Principal } from './auth/verify-request.js';
import { json, NATIVE_API_PREFIX } from './native-api.js';

export const DISTRIBUTIONS_PATH = `${NATIVE_API_PREFIX}/distributions`;
export const DRY_RUN_PATH = `${NATIVE_API_PREFIX}/dry-run`;

/** Most recorded requests one dry run replays (the request may ask for fewer). */
export const MAX_DRY_RUN_REQUESTS = 10_000;
export const DEFAULT_DRY_RUN_REQUESTS = 1000;
/** Longest a dry run may take; the replay stops starting requests after it and reports `complete: false`. */
export const MAX_DRY_RUN_TIMEOUT_MS = 120_000;
export const DEFAULT_DRY_RUN_TIMEOUT_MS = 30_000;
export const MAX_DRY_RUN_EXAMPLES = 100;
export const DEFAULT_DRY_RUN_EXAMPLES = 10;
/** Proposed code is bounded by the function limits when it loads; this only stops an absurd body early. */
const MAX_CODE_CHARS = 1024 * 1024;
const MAX_RECORDING_LIMIT = 100_000;

const DryRunBodySchema = z.strictObject({
  distributionId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/, 'a distribution id: letters, digits, "-" and "_"'),
  function: z
    .strictObject({
      name: z.string().min(1).max(64),
      code: z.string().max(MAX_CODE_CHARS),
      runtime: z.enum(RUNTIMES as [RuntimeVersion, ...RuntimeVersion[]]).optional(),
    })
    .optional(),
  changeSet: z.unknown().optional(),
  maxRequests: z.number().int().min(1).max(MAX_DRY_RUN_REQUESTS).default(DEFAULT_DRY_RUN_REQUESTS),
  maxExamples: z.number().int().min(0).max(MAX_DRY_RUN_EXAMPLES).default(DEFAULT_DRY_RUN_EXAMPLES),
  timeoutMs: z.number().int().min(100).max(MAX_DRY_RUN_TIMEOUT_MS).default(DEFAULT_DRY_RUN_TIMEOUT_MS),
  /** Threshold: at most this many changed requests pass (default 0: any change fails). */
  maxChanged: z.number().int().min(0).optional(),
  /** Threshold: at most this fraction of the replayed requests may change (0–1). */
  maxChangedRatio: z.number().min(0).max(1).optional(),
});

/** A validated dry-run request. */
export interface DryRunRequest {
  distributionId: string;
  function?: { name: string; code: string; runtime?: RuntimeVersion };
  changeSet?: ChangeSet;
  maxRequests: number;
  maxExamples: number;
  timeoutMs: number;
  maxChanged?: number;
  maxChangedRatio?: number;
}

/** What `GET …/recording` answers. */
export interface RecordingView {
  distributionId: string;
  /** False when the distribution has no `recording` section (nothing is recorded). */
  enabled: boolean;
  settings?: RecordingSettings;
  size: number;
  bytes: number;
  counters?: RecordingCounters;
  items: RecordedRequest[];
}

/** What the node does behind these routes (src/node/dry-run-service.ts). */
export interface DryRunService {
  /** NOT_FOUND when no distribution has this id. */
  recording(distributionId: string, limit: number | undefined): RecordingView;
  /** Forgets the sample; answers how many requests were dropped. */
  clearRecording(distributionId: string): number;
  /** The dry-run report (an object of the replay's report shape plus the verdict). */
  dryRun(request: DryRunRequest, principal: Principal): Promise<object>;
}

export function dryRunRouteGroup(service: DryRunService): RouteGroup {
  return (router, { state }) => {
    const signing = { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] } as const;
    router
      .group({ protocol: 'native-json', prefix: DISTRIBUTIONS_PATH, signing, maxBodyBytes: 0 })
      .get(
        `${DISTRIBUTIONS_PATH}/{Id}/recording`,
        (req, { Id }) => {
          const limitText = req.queryParam('limit');
          let limit: number | undefined;
          if (limitText !== undefined) {
            if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_RECORDING_LIMIT) {
              throw openFrontError('BAD_REQUEST', `limit must be an integer from 1 to ${MAX_RECORDING_LIMIT}`);
            }
            limit = Number(limitText);
          }
          return json(200, service.recording(Id, limit));
        },
        // Recorded viewer requests are what the decisions API shows: an operator's view of every distribution.
        { access: access.all('audit:read') },
      )
      .delete(
        `${DISTRIBUTIONS_PATH}/{Id}/recording`,
        (_req, { Id }) => json(200, { distributionId: Id, cleared: service.clearRecording(Id) }),
        // Forgetting the sample changes what every later dry run of the distribution sees.
        { access: access.all('function:update') },
      );

    // A change set's JSON may be up to twice its byte bound; the code and the rest are small beside it.
    const maxBody = 2 * MAX_CHANGE_SET_BYTES + 2 * MAX_CODE_CHARS;
    router.group({ protocol: 'native-json', prefix: DRY_RUN_PATH, signing, maxBodyBytes: maxBody }).post(
      DRY_RUN_PATH,
      async (req, _params, principal) => {
        const request = parseDryRunRequest(parseJsonObject(req.body, 'BAD_REQUEST'), state.stores.limits);
        return json(200, await service.dryRun(request, principal));
      },
      // Reads every function of the distribution and writes nothing (docs/safe-changes.md).
      { access: access.all('function:read') },
    );
  };
}

/** Validates a dry-run body (INPUT_INVALID naming the field; the change set's own errors name its item). */
export function parseDryRunRequest(body: Record<string, unknown>, limits: Parameters<typeof parseChangeSet>[1]): DryRunRequest {
  const parsed = DryRunBodySchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || 'body'}: ${issue.message}`);
    throw openFrontError('INPUT_INVALID', `The dry-run request is invalid: ${problems.slice(0, 5).join('; ')}`, { problems });
  }
  const { changeSet, ...rest } = parsed.data;
  const request: DryRunRequest = { ...rest };
  if (changeSet !== undefined && changeSet !== null) request.changeSet = parseChangeSet(changeSet, limits);
  if (request.function === undefined && request.changeSet === undefined) {
    throw openFrontError('INPUT_INVALID', 'A dry run needs something to try: "function" (name and code), "changeSet", or both');
  }
  return request;
}
