/**
 * Runs golden cases through the production engine (`loadFunction` → `run`): the same checker, sandbox, limits and
 * result validation the edge uses. A runner keeps each loaded function (and config) for the whole run and frees
 * the isolates in `close()`.
 */
import { readFileSync } from 'node:fs';
import { isOpenFrontError } from '../../errors.js';
import { loadConfig } from '../../config/load.js';
import type { BehaviorConfig, DistributionConfig, EdgeConfig, FunctionConfig } from '../../config/types.js';
import { BehaviorMatcher } from '../../edge/behavior.js';
import { parseImportJson } from '../../kvs/import-export.js';
import { MapSnapshot, type KvsSnapshot } from '../../kvs/snapshot.js';
import { rawQueryString, requestToEvent, responseToEvent } from '../../runtime/codec.js';
import type { CFContext, CFEvent, EventType, RuntimeVersion } from '../../runtime/event.js';
import { DEFAULT_RUNTIME, loadFunction } from '../../runtime/function.js';
import { DEFAULT_TEST_VIEWER_IP, normalizeTestEvent } from '../../runtime/test-event.js';
import type {
  CloudFrontFunction,
  FunctionErrorResult,
  FunctionRequestResult,
  FunctionResponseResult,
  FunctionResult,
  InvokeOptions,
  KvsInput,
} from '../../runtime/types.js';
import { invalid, type CaseExpectation, type TestCase } from './case.js';
import { parseHttpRequestText, parseHttpResponseText } from './http-text.js';
import { findDifferences, parseIgnorePath, type Difference } from './match.js';
import type { CoverageCollector } from './coverage.js';

/** ComputeUtilization above which a case is flagged, unless the caller says otherwise (CloudFront advises < 70). */
export const DEFAULT_MAX_UTILIZATION = 70;

export type CaseStatus = 'passed' | 'failed' | 'error';

/** The outcome of one case. */
/** What the function produced, as a JSON report shows it. */
export type CaseOutput =
  Pick<FunctionRequestResult, 'kind' | 'request'> | Pick<FunctionResponseResult, 'kind' | 'response'> | Pick<FunctionErrorResult, 'kind' | 'error'>;

function caseOutput(result: FunctionResult): CaseOutput {
  if (result.kind === 'request') return { kind: 'request', request: result.request };
  if (result.kind === 'response') return { kind: 'response', response: result.response };
  return { kind: 'error', error: result.error };
}

export interface CaseResult {
  name: string;
  file: string;
  index: number;
  /** `error`: the case could not be run (invalid case file, code the checker rejects, missing config entry…). */
  status: CaseStatus;
  /** Why the case failed, field by field ([] when it passed or could not run). */
  differences: Difference[];
  /** For `error`: what went wrong. For `failed`: a one-line summary. */
  message?: string;
  /** ComputeUtilization (0–100) of the invocation; absent when the function did not run. */
  computeUtilization?: number;
  /** computeUtilization is above the run's maximum. */
  overUtilization: boolean;
  /** The function's console.log lines. */
  logs: string[];
  durationMs: number;
  /** The function's output, for reporters that print it (JSON). */
  output?: CaseOutput;
}

export interface RunOptions {
  /** Flag cases whose ComputeUtilization is above this (default {@link DEFAULT_MAX_UTILIZATION}). */
  maxUtilization?: number;
  /** Measure the functions' coverage into this collector (the isolates get an inspector: slower). */
  coverage?: CoverageCollector;
}

/** A function ready to run with the inputs a case gives it. */
interface Target {
  fn: CloudFrontFunction;
  kvs?: KvsInput;
}

/** Where a loaded function's code came from, for coverage. */
interface Loaded {
  path: string;
  code: string;
  runtime: RuntimeVersion;
}

export class GoldenRunner {
  readonly #maxUtilization: number;
  readonly #functions = new Map<string, Promise<CloudFrontFunction>>();
  readonly #configs = new Map<string, Promise<EdgeConfig>>();
  readonly #coverage: CoverageCollector | undefined;
  readonly #sources = new WeakMap<CloudFrontFunction, Loaded>();

  constructor(options: RunOptions = {}) {
    this.#maxUtilization = options.maxUtilization ?? DEFAULT_MAX_UTILIZATION;
    this.#coverage = options.coverage;
  }

  /** Runs one case. Never throws for a problem with the case: that is a result with status `error`. */
  async run(testCase: TestCase): Promise<CaseResult> {
    const started = performance.now();
    const base = { name: testCase.name, file: testCase.file, index: testCase.index, differences: [], overUtilization: false, logs: [] };
    let prepared: { target: Target; event: CFEvent; options: InvokeOptions };
    try {
      prepared = await this.#prepare(testCase);
    } catch (err) {
      return { ...base, status: 'error', message: messageOf(err), durationMs: performance.now() - started };
    }
    const invoke = () => prepared.target.fn.run(prepared.event, { ...prepared.options, kvs: prepared.target.kvs });
    const result = await invoke();
    const differences = compareResult(result, testCase.expect);
    // A function's first invocation pays one-time costs (lazy compilation in a fresh isolate) that CloudFront's
    // figure does not show: before flagging a case, measure it once more on the warm isolate.
    let utilization = result.computeUtilization;
    if (utilization > this.#maxUtilization) utilization = Math.min(utilization, (await invoke()).computeUtilization);
    await this.#measureCoverage(prepared.target.fn);
    return {
      ...base,
      status: differences.length === 0 ? 'passed' : 'failed',
      differences,
      ...(differences.length > 0 ? { message: failureSummary(result, testCase.expect) } : {}),
      computeUtilization: utilization,
      overUtilization: utilization > this.#maxUtilization,
      logs: result.logs,
      durationMs: performance.now() - started,
      output: caseOutput(result),
    };
  }

  /** Frees every loaded function. */
  async close(): Promise<void> {
    const loaded = await Promise.allSettled(this.#functions.values());
    for (const entry of loaded) if (entry.status === 'fulfilled') entry.value.dispose();
    this.#functions.clear();
  }

  async #measureCoverage(fn: CloudFrontFunction): Promise<void> {
    const source = this.#sources.get(fn);
    if (this.#coverage === undefined || source === undefined || fn.takeCoverage === undefined) return;
    this.#coverage.add(source.path, source.code, source.runtime, await fn.takeCoverage());
  }

  async #prepare(testCase: TestCase): Promise<{ target: Target; event: CFEvent; options: InvokeOptions }> {
    const ref = testCase.function;
    const options: InvokeOptions = testCase.now === undefined ? {} : { now: testCase.now };
    if (ref.kind === 'file') {
      const built = buildEvent(testCase, {});
      if (built.rawQueryString !== undefined || testCase.input.kind === 'http') options.rawQueryString = built.rawQueryString;
      const fn = await this.#load(ref.path, ref.runtime ?? DEFAULT_RUNTIME);
      return { target: { fn, kvs: testCase.kvs ? loadKvs(testCase) : undefined }, event: built.event, options };
    }
    const config = await this.#config(ref.path);
    const distribution = pickDistribution(config, ref.distribution, testCase);
    const built = buildEvent(testCase, { distributionDomainName: distribution.domainName, distributionId: distribution.id });
    if (testCase.input.kind === 'http') options.rawQueryString = built.rawQueryString;
    const behavior = pickBehavior(distribution, ref.behavior, built.event.request.uri, testCase);
    const fnConfig = associatedFunction(config, behavior, built.event.context.eventType, testCase);
    const fn = await this.#load(fnConfig.codePath, fnConfig.runtime);
    return { target: { fn, kvs: configKvs(config, fnConfig, testCase) }, event: built.event, options };
  }

  #load(path: string, runtime: RuntimeVersion): Promise<CloudFrontFunction> {
    const key = `${runtime}\0${path}`;
    let loading = this.#functions.get(key);
    if (loading === undefined) {
      const coverage = this.#coverage !== undefined;
      loading = Promise.resolve().then(async () => {
        const code = readFileSync(path, 'utf8');
        const fn = await loadFunction(code, { runtime, name: path, coverage });
        this.#sources.set(fn, { path, code, runtime });
        return fn;
      });
      this.#functions.set(key, loading);
    }
    return loading;
  }

  #config(path: string): Promise<EdgeConfig> {
    let loading = this.#configs.get(path);
    if (loading === undefined) {
      loading = loadConfig(path);
      this.#configs.set(path, loading);
    }
    return loading;
  }
}

/** The event of a case, in the form TestFunction / the edge would hand it to the function. */
function buildEvent(testCase: TestCase, context: Omit<CFContext, 'eventType'>): { event: CFEvent; rawQueryString?: string } {
  const input = testCase.input;
  try {
    if (input.kind === 'json') {
      const raw = input.event as Record<string, unknown>;
      const rawContext =
        typeof raw === 'object' && raw !== null && typeof raw.context === 'object' && raw.context !== null ? (raw.context as Record<string, unknown>) : {};
      const withContext =
        typeof raw === 'object' && raw !== null
          ? { ...raw, context: { ...context, ...(testCase.eventType ? { eventType: testCase.eventType } : {}), ...rawContext } }
          : raw;
      const event = normalizeTestEvent(withContext);
      if (testCase.eventType !== undefined && event.context.eventType !== testCase.eventType) {
        throw invalid(testCase.file, 'eventType', `is ${testCase.eventType} but the event says ${event.context.eventType}`);
      }
      return { event };
    }
    const request = parseHttpRequestText(input.request, input.viewerIp ?? DEFAULT_TEST_VIEWER_IP);
    const query = rawQueryString(request.target);
    const eventType: EventType = testCase.eventType ?? (input.response !== undefined ? 'viewer-response' : 'viewer-request');
    if (eventType === 'viewer-request') {
      if (input.response !== undefined) throw invalid(testCase.file, 'response', 'only goes with eventType viewer-response');
      return { event: requestToEvent(request, { ...context, eventType }), rawQueryString: query };
    }
    if (input.response === undefined) throw invalid(testCase.file, 'response', 'is required for a viewer-response case');
    if (typeof input.response === 'string') {
      return { event: responseToEvent(request, parseHttpResponseText(input.response), { ...context, eventType }), rawQueryString: query };
    }
    const viewerRequest = requestToEvent(request, { ...context, eventType: 'viewer-request' });
    const event = normalizeTestEvent({ ...viewerRequest, context: { ...viewerRequest.context, eventType }, response: input.response });
    return { event, rawQueryString: query };
  } catch (err) {
    if (isOpenFrontError(err) && err.code === 'TEST_CASE_INVALID') throw err;
    throw invalid(testCase.file, testCase.input.kind === 'json' ? 'event' : 'request', `cannot be used: ${messageOf(err)}`);
  }
}

function pickDistribution(config: EdgeConfig, id: string | undefined, testCase: TestCase): DistributionConfig {
  if (id === undefined) {
    const first = config.distributions[0];
    if (first === undefined) throw invalid(testCase.file, 'config', 'declares no distribution');
    return first;
  }
  const found = config.distributions.find((d) => d.id === id);
  if (found === undefined) throw invalid(testCase.file, 'distribution', `"${id}" is not in the config (${config.distributions.map((d) => d.id).join(', ')})`);
  return found;
}

function pickBehavior(distribution: DistributionConfig, pattern: string | undefined, uri: string, testCase: TestCase): BehaviorConfig {
  // Without a named behavior, pick it the way the edge does: by the request path.
  if (pattern === undefined) return new BehaviorMatcher(distribution.behaviors, distribution.defaultBehavior).match(uri);
  if (pattern === '*' || pattern === 'default') return distribution.defaultBehavior;
  const normalize = (p: string) => (p.startsWith('/') || p.startsWith('*') ? p : `/${p}`);
  const found = distribution.behaviors.find((b) => normalize(b.pathPattern) === normalize(pattern));
  if (found === undefined) {
    const known = ['default', ...distribution.behaviors.map((b) => b.pathPattern)].join(', ');
    throw invalid(testCase.file, 'behavior', `"${pattern}" is not a behavior of distribution ${distribution.id} (${known})`);
  }
  return found;
}

function associatedFunction(config: EdgeConfig, behavior: BehaviorConfig, eventType: EventType, testCase: TestCase): FunctionConfig {
  const name = eventType === 'viewer-request' ? behavior.functions.viewerRequest : behavior.functions.viewerResponse;
  if (name === undefined) throw invalid(testCase.file, 'behavior', `"${behavior.pathPattern}" has no ${eventType} function`);
  const fn = config.functions.find((f) => f.name === name);
  if (fn === undefined) throw invalid(testCase.file, 'config', `has no function "${name}"`);
  return fn;
}

/** A case's own KVS data wins; otherwise the function's store starts from its seed file, as `openfront start` would. */
/**
 * The data a config-based case reads: the case's own, else the store's seed. A store with an `awsId` answers to
 * that id only (as it will on `openfront start`); one without answers to whatever id the code names.
 */
function configKvs(config: EdgeConfig, fn: FunctionConfig, testCase: TestCase): KvsInput | undefined {
  if (fn.store === undefined) {
    if (testCase.kvs !== undefined) throw invalid(testCase.file, 'kvs', `is given but function "${fn.name}" has no store in the config`);
    return undefined;
  }
  const store = config.stores.find((s) => s.name === fn.store);
  const snapshot =
    testCase.kvs !== undefined
      ? loadKvs(testCase, store?.awsId)
      : new MapSnapshot(store?.seedPath === undefined ? {} : readImportItems(store.seedPath), { id: store?.awsId });
  if (store?.awsId === undefined) return snapshot;
  return { defaultStoreId: snapshot.id, stores: new Map([[snapshot.id, { snapshot: () => snapshot }]]) };
}

function loadKvs(testCase: TestCase, id?: string): KvsSnapshot {
  const kvs = testCase.kvs!;
  if (kvs.kind === 'inline') return new MapSnapshot(kvs.items, { id });
  try {
    return new MapSnapshot(readImportItems(kvs.path), { id });
  } catch (err) {
    throw invalid(testCase.file, 'kvs', `cannot be read from ${kvs.path}: ${messageOf(err)}`);
  }
}

function readImportItems(path: string): Map<string, string> {
  return new Map(parseImportJson(readFileSync(path, 'utf8')).map((item) => [item.key, item.value]));
}

/** Every difference between the function's result and the expectation. */
export function compareResult(result: FunctionResult, expect: CaseExpectation): Difference[] {
  const expectedKind = expect.error !== undefined ? 'error' : expect.request !== undefined ? 'request' : 'response';
  if (result.kind !== expectedKind) {
    return [{ path: 'kind', expected: expectedKind, actual: result.kind }];
  }
  const ignore = expect.ignore.map(parseIgnorePath);
  const differences: Difference[] = [];
  if (result.kind === 'error') {
    if (result.error.errorClass !== expect.error) differences.push({ path: 'error.errorClass', expected: expect.error, actual: result.error.errorClass });
    if (expect.errorMessage !== undefined && !result.error.message.includes(expect.errorMessage)) {
      differences.push({ path: 'error.message', expected: `(containing) ${expect.errorMessage}`, actual: result.error.message });
    }
  } else if (result.kind === 'request') {
    differences.push(...findDifferences(result.request, expect.request, ignore, ['request']));
  } else {
    differences.push(...findDifferences(result.response, expect.response, ignore, ['response']));
  }
  if (expect.logs !== undefined) differences.push(...findDifferences(result.logs, expect.logs, ignore, ['logs']));
  if (expect.originChange !== undefined) differences.push(...findDifferences(result.originChange, expect.originChange, ignore, ['originChange']));
  return differences;
}

function failureSummary(result: FunctionResult, expect: CaseExpectation): string {
  if (result.kind === 'error' && expect.error === undefined) return `the function failed (${result.error.errorClass} error): ${result.error.message}`;
  return 'the result differs from the expectation';
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
