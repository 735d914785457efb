/**
 * The dry run's engine (docs/safe-changes.md, "Dry-run against recorded traffic"): every recorded request goes
 * through the distribution's behaviors and viewer functions twice — with the current functions and data, and with
 * the proposed ones — and the two decisions are compared. Nothing is fetched from an origin and nothing is
 * written: a viewer-response function sees a synthetic `200 OK` origin response without headers (recordings hold
 * requests, not responses), and proposed store data is an in-memory overlay.
 *
 * Both sides of one request run with the same frozen clock (the recorded time), the same request id and the same
 * Math.random seed, so only code and data can make them differ. An invocation stopped for CPU time is run again
 * (twice at most) before the stop counts, since a busy machine can cause one. A request whose sides differ is run
 * once more on both sides; if either side then decides otherwise than the first time (the live data changed
 * meanwhile, say), it is reported as unstable rather than as a change.
 */
import { createHash } from 'node:crypto';
import type { BehaviorConfig, DistributionConfig } from '../../config/types.js';
import { ErrorCatalog, isOpenFrontError, type ErrorCode } from '../../errors.js';
import type { RecordedRequest } from '../../observe/recording.js';
import { requestFromEvent, requestToEvent, responseFromEvent, responseToEvent, type HttpRequestParts, type HttpResponseParts } from '../../runtime/codec.js';
import type { CFContext } from '../../runtime/event.js';
import type { CloudFrontFunction, EdgeLocation, FunctionResult, KvsBinding } from '../../runtime/types.js';
import { BehaviorMatcher } from '../behavior.js';
import { buildCacheKey } from '../cache/key.js';
import { OriginDirectory } from '../origins/plan.js';
import type { OriginPlan, ResolvedOrigin } from '../origins/types.js';
import { changedKinds, CHANGE_KINDS, type ChangeKind, type ReplayDecision } from './decision.js';

/** One function as a side of the dry run runs it: loaded code and the stores it reads. */
export interface ReplayFunction {
  fn: CloudFrontFunction;
  kvs: KvsBinding;
}

/** The functions of one side by name; undefined: the function has no LIVE version (the edge answers 503). */
export type ReplaySide = (name: string) => ReplayFunction | undefined;

export interface ReplayInput {
  distribution: DistributionConfig;
  requests: readonly RecordedRequest[];
  before: ReplaySide;
  after: ReplaySide;
  /** Examples of changed requests kept in the report. */
  maxExamples: number;
  /** Epoch ms after which no further request is started (the report then says `complete: false`). */
  deadline: number;
  /** Requests replayed at once (each runs its functions off the event loop). Default 4. */
  concurrency?: number;
  now?: () => number;
}

export interface ReplayExample {
  request: { method: string; uri: string; querystring: string };
  kinds: ChangeKind[];
  before: ReplayDecision;
  after: ReplayDecision;
}

export interface ReplayReport {
  distributionId: string;
  /** Requests replayed (≤ the recording's size when the deadline cut the run short). */
  replayed: number;
  /** Requests whose decision changed. */
  changed: number;
  unchanged: number;
  /** Requests whose decision was not the same twice on one side: not counted as changed. */
  unstable: number;
  /** Requests per kind of change. */
  byKind: Record<ChangeKind, number>;
  examples: ReplayExample[];
  /** False when the deadline stopped the replay before every request ran. */
  complete: boolean;
  elapsedMs: number;
}

/** The `cf.edgeLocation` both sides see. */
const DRY_RUN_LOCATION: EdgeLocation = Object.freeze({ name: 'DRYRUN', serverIp: '127.0.0.1', region: 'local' });
/** Runs more of an invocation stopped for CPU time before the stop is taken as the code's decision. */
const KILL_RETRIES = 2;
/** What a viewer-response function sees as the origin's answer. */
const SYNTHETIC_RESPONSE: HttpResponseParts = Object.freeze({ status: 200, statusText: 'OK', headers: [] });

export async function replayRecording(input: ReplayInput): Promise<ReplayReport> {
  const now = input.now ?? Date.now;
  const started = now();
  const distribution = input.distribution;
  const behaviors = new BehaviorMatcher(distribution.behaviors, distribution.defaultBehavior);
  const origins = new OriginDirectory(distribution);
  const byKind = Object.fromEntries(CHANGE_KINDS.map((k) => [k, 0])) as Record<ChangeKind, number>;
  const report: ReplayReport = {
    distributionId: distribution.id,
    replayed: 0,
    changed: 0,
    unchanged: 0,
    unstable: 0,
    byKind,
    examples: [],
    complete: true,
    elapsedMs: 0,
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < input.requests.length) {
      if (now() > input.deadline) {
        report.complete = false;
        return;
      }
      const index = next++;
      const request = input.requests[index]!;
      const replay = new RequestReplay(distribution, behaviors, origins, request, index);
      const before = await replay.decide(input.before);
      const after = await replay.decide(input.after);
      const kinds = changedKinds(before, after);
      if (kinds.length > 0) {
        const [before2, after2] = [await replay.decide(input.before), await replay.decide(input.after)];
        if (changedKinds(before, before2).length > 0 || changedKinds(after, after2).length > 0) {
          report.replayed++;
          report.unstable++;
          continue;
        }
      }
      report.replayed++;
      if (kinds.length === 0) {
        report.unchanged++;
        continue;
      }
      report.changed++;
      for (const kind of kinds) byKind[kind]++;
      if (report.examples.length < input.maxExamples) {
        report.examples.push({ request: { method: request.method, uri: request.uri, querystring: request.querystring }, kinds, before, after });
      }
    }
  };
  const concurrency = Math.max(1, Math.min(input.concurrency ?? 4, 16));
  await Promise.all(Array.from({ length: concurrency }, worker));
  report.elapsedMs = now() - started;
  return report;
}

/** One recorded request, ready to be decided by either side. */
class RequestReplay {
  readonly #distribution: DistributionConfig;
  readonly #behavior: BehaviorConfig;
  readonly #origins: OriginDirectory;
  readonly #viewer: HttpRequestParts;
  readonly #context: CFContext;
  readonly #now: number;
  readonly #seed: number;

  constructor(distribution: DistributionConfig, behaviors: BehaviorMatcher, origins: OriginDirectory, request: RecordedRequest, index: number) {
    this.#distribution = distribution;
    this.#behavior = behaviors.match(request.uri);
    this.#origins = origins;
    const headers: Array<[string, string]> = request.headers.map(([name, value]) => [name, value]);
    if (request.cookies.length > 0) headers.push(['cookie', request.cookies.map(([name, value]) => `${name}=${value}`).join('; ')]);
    this.#viewer = {
      method: request.method,
      target: request.querystring === '' ? request.uri : `${request.uri}?${request.querystring}`,
      headers,
      clientIp: request.clientIp,
    };
    const requestId = `dryrun-${index}`;
    this.#context = { distributionDomainName: distribution.domainName, distributionId: distribution.id, eventType: 'viewer-request', requestId };
    const time = Date.parse(request.time);
    this.#now = Number.isNaN(time) ? 0 : time;
    this.#seed = seedOf(`${index}\n${request.time}\n${this.#viewer.target}`);
  }

  /** What `side` decides for this request. */
  async decide(side: ReplaySide): Promise<ReplayDecision> {
    const behavior = this.#behavior;
    let forwarded = this.#viewer;
    let origin: OriginPlan;
    let originChange: Extract<FunctionResult, { kind: 'request' }>['originChange'];
    const requestFn = behavior.functions.viewerRequest;
    if (requestFn !== undefined) {
      const event = requestToEvent(this.#viewer, this.#context);
      const result = await this.#run(side, requestFn, event);
      if (result.kind === 'error') return result.decision;
      if (result.value.kind === 'response') return generatedDecision(result.value.response);
      if (result.value.kind !== 'request') return errorDecision('FUNCTION_VALIDATION_ERROR', 'the viewer-request function returned no request');
      const rewritten = requestFromEvent(this.#viewer, event.request, result.value.request);
      forwarded = { method: this.#viewer.method, target: rewritten.target, headers: rewritten.headers, clientIp: this.#viewer.clientIp };
      originChange = result.value.originChange;
    }
    try {
      origin = this.#origins.plan(behavior.origin, originChange);
    } catch (err) {
      if (isOpenFrontError(err) && err.code === 'EDGE_ORIGIN_UNKNOWN') return errorDecision('FUNCTION_VALIDATION_ERROR', err.message);
      throw err;
    }
    const decision: ReplayDecision = { outcome: 'origin', uri: forwarded.target, origin: describePlan(origin) };
    if (forwarded !== this.#viewer) decision.requestHeaders = headerRecord(forwarded.headers);
    const policy = behavior.cachePolicy;
    if ((forwarded.method === 'GET' || forwarded.method === 'HEAD') && policy.maxTtl > 0) {
      decision.cacheKey = buildCacheKey(this.#distribution.id, forwarded.target, forwarded.headers, policy).key;
    }
    const responseFn = behavior.functions.viewerResponse;
    if (responseFn !== undefined) {
      const event = responseToEvent(forwarded, SYNTHETIC_RESPONSE, { ...this.#context, eventType: 'viewer-response' });
      const result = await this.#run(side, responseFn, event);
      if (result.kind === 'error') return { ...decision, ...result.decision, outcome: 'error' };
      if (result.value.kind !== 'response')
        return { ...decision, ...errorDecision('FUNCTION_VALIDATION_ERROR', 'the viewer-response function returned a request') };
      const shaped = responseFromEvent(result.value.response, { res: SYNTHETIC_RESPONSE, before: event.response });
      if (shaped.status !== SYNTHETIC_RESPONSE.status) decision.status = shaped.status;
      const headers = headerRecord(shaped.headers);
      if (headers.location !== undefined) {
        decision.location = headers.location;
        delete headers.location;
      }
      decision.responseHeaders = headers;
      if (shaped.body !== undefined) decision.body = digest(shaped.body);
    }
    return decision;
  }

  async #run(
    side: ReplaySide,
    name: string,
    event: ReturnType<typeof requestToEvent>,
  ): Promise<{ kind: 'ok'; value: FunctionResult } | { kind: 'error'; decision: ReplayDecision }> {
    const fn = side(name);
    if (fn === undefined) return { kind: 'error', decision: errorDecision('FUNCTION_EXECUTION_ERROR', `function "${name}" has no live version`) };
    const q = this.#viewer.target.indexOf('?');
    const options = {
      kvs: fn.kvs,
      edgeLocation: event.context.eventType === 'viewer-request' ? DRY_RUN_LOCATION : undefined,
      now: this.#now,
      seed: this.#seed,
      rawQueryString: q === -1 ? undefined : this.#viewer.target.slice(q + 1),
      recordKvsReads: false,
    };
    let result = await fn.fn.runOffThread(event, options);
    // A kill can be the machine being busy rather than the code: it counts only when it happens every time.
    for (let retry = 0; retry < KILL_RETRIES && result.kind === 'error' && result.error.code === 'FUNCTION_CPU_LIMIT_EXCEEDED'; retry++) {
      result = await fn.fn.runOffThread(event, options);
    }
    if (result.kind === 'error') {
      const code: ErrorCode = result.error.errorClass === 'validation' ? 'FUNCTION_VALIDATION_ERROR' : 'FUNCTION_EXECUTION_ERROR';
      return { kind: 'error', decision: errorDecision(code, result.error.message) };
    }
    return { kind: 'ok', value: result };
  }
}

function generatedDecision(response: Parameters<typeof responseFromEvent>[0]): ReplayDecision {
  const generated = responseFromEvent(response);
  const headers = headerRecord(generated.headers);
  const decision: ReplayDecision = { outcome: 'response', status: generated.status };
  if (headers.location !== undefined) {
    decision.location = headers.location;
    delete headers.location;
  }
  decision.responseHeaders = headers;
  if (generated.body !== undefined && generated.body.length > 0) decision.body = digest(generated.body);
  return decision;
}

function errorDecision(code: 'FUNCTION_VALIDATION_ERROR' | 'FUNCTION_EXECUTION_ERROR', message: string): ReplayDecision {
  const entry = ErrorCatalog[code];
  return { outcome: 'error', status: entry.status, error: `${entry.awsType}: ${message}` };
}

/** The origin a plan goes to first, as text: the id, and a custom origin's address when a function changed it. */
function describePlan(plan: OriginPlan): string {
  const primary = describeOrigin(plan.primary);
  return plan.secondary === undefined ? primary : `${primary} (failover ${describeOrigin(plan.secondary)})`;
}

function describeOrigin(origin: ResolvedOrigin): string {
  if (origin.kind === 'static') return origin.id;
  return `${origin.id} ${origin.protocol}://${origin.hostHeader}${origin.originPath}`;
}

function headerRecord(headers: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    out[lower] = out[lower] === undefined ? value : `${out[lower]}, ${value}`;
  }
  return out;
}

function digest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

/** A 31-bit seed from the request, the same for both sides (never 0: xorshift would stay there). */
function seedOf(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) % 0x7fffffff || 1;
}
