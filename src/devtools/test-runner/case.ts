/**
 * The golden test case format (docs/test.md): what a case file may contain, validated into a {@link TestCase}.
 * Validation is strict and names the field at fault, because a typo in a test file (`"expect": {"reponse": …}`)
 * must not turn into a test that silently checks nothing.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { OpenFrontError } from '../../errors.js';
import { RUNTIMES, type EventType, type RuntimeVersion } from '../../runtime/event.js';
import type { ErrorClass } from '../../runtime/types.js';
import { parseIgnorePath } from './match.js';

/** Where the function under test comes from. */
export type FunctionRef =
  | { kind: 'file'; path: string; runtime?: RuntimeVersion }
  | {
      kind: 'config';
      /** Absolute path of the config file. */
      path: string;
      /** Distribution id; the config's first distribution when absent. */
      distribution?: string;
      /** Path pattern of a behavior (`*` or `default` for the default behavior); matched from the request path when absent. */
      behavior?: string;
    };

/** The event input: a full JSON event, or an HTTP request (and response) in text form. */
export type EventInput = { kind: 'json'; event: unknown } | { kind: 'http'; request: string; response?: string | Record<string, unknown>; viewerIp?: string };

/** KeyValueStore data for the case: inline key → value pairs, or an S3-import-format file. */
export type KvsInput = { kind: 'inline'; items: Record<string, string> } | { kind: 'file'; path: string };

/** What the case expects. */
export interface CaseExpectation {
  /** Partial object the returned request must match (the function returned a request). */
  request?: unknown;
  /** Partial object the returned/generated response must match. */
  response?: unknown;
  /** The function must fail with this error class. */
  error?: ErrorClass;
  /** Text the error message must contain (with `error`). */
  errorMessage?: string;
  /** console.log lines, exactly. */
  logs?: string[];
  /** Partial object the origin change (`cf.updateRequestOrigin` / `selectRequestOriginById` / …) must match; `null`: none. */
  originChange?: unknown;
  /** Paths (`response.headers.date`, `request.querystring.*`) left out of the comparison. */
  ignore: string[];
}

/** One validated golden case. */
export interface TestCase {
  name: string;
  /** Absolute path of the file the case is in. */
  file: string;
  /** Position of the case in its file (0 for a file holding one case). */
  index: number;
  function: FunctionRef;
  eventType?: EventType;
  input: EventInput;
  kvs?: KvsInput;
  /** Frozen clock of the invocation in epoch ms (Date.now() inside the function); the wall clock when absent. */
  now?: number;
  expect: CaseExpectation;
}

const CASE_FIELDS = new Set([
  'name',
  'description',
  'function',
  'config',
  'distribution',
  'behavior',
  'runtime',
  'eventType',
  'event',
  'request',
  'response',
  'viewerIp',
  'kvs',
  'now',
  'expect',
]);
const EXPECT_FIELDS = new Set(['request', 'response', 'error', 'errorMessage', 'logs', 'originChange', 'ignore']);

/** Reads a case file (one case object or an array of them). Throws TEST_CASE_INVALID naming the file and field. */
export function loadCaseFile(file: string): TestCase[] {
  const absolute = resolve(file);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(absolute, 'utf8').replace(/^\uFEFF/, ''));
  } catch (err) {
    throw invalid(absolute, '(file)', (err as Error).message);
  }
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((entry, index) => parseCase(entry, absolute, index, Array.isArray(raw)));
}

/** Validates one parsed case; `file` anchors relative paths. */
export function parseCase(raw: unknown, file: string, index = 0, inArray = false): TestCase {
  const at = (field: string) => (inArray ? `[${index}].${field}` : field);
  if (!isObject(raw)) throw invalid(file, at('(case)'), 'must be an object');
  for (const key of Object.keys(raw)) if (!CASE_FIELDS.has(key)) throw invalid(file, at(key), 'is not a case field');
  const dir = dirname(file);
  const name = raw.name ?? (inArray ? `${basename(file, '.json')}[${index}]` : basename(file, '.json'));
  if (typeof name !== 'string') throw invalid(file, at('name'), 'must be a string');

  let fn: FunctionRef;
  if (raw.function !== undefined) {
    if (typeof raw.function !== 'string') throw invalid(file, at('function'), 'must be a path to the function code');
    if (raw.config !== undefined) throw invalid(file, at('config'), 'give either function or config, not both');
    fn = { kind: 'file', path: resolve(dir, raw.function), runtime: runtimeOf(raw.runtime, file, at('runtime')) };
  } else if (raw.config !== undefined) {
    if (typeof raw.config !== 'string') throw invalid(file, at('config'), 'must be a path to a config file');
    if (raw.runtime !== undefined) throw invalid(file, at('runtime'), 'comes from the config; leave it out');
    fn = {
      kind: 'config',
      path: resolve(dir, raw.config),
      distribution: optionalString(raw.distribution, file, at('distribution')),
      behavior: optionalString(raw.behavior, file, at('behavior')),
    };
  } else {
    throw invalid(file, at('function'), 'is required (or config + behavior)');
  }

  const eventType = raw.eventType;
  if (eventType !== undefined && eventType !== 'viewer-request' && eventType !== 'viewer-response') {
    throw invalid(file, at('eventType'), 'must be "viewer-request" or "viewer-response"');
  }

  let input: EventInput;
  if (raw.event !== undefined) {
    if (raw.request !== undefined || raw.response !== undefined) throw invalid(file, at('event'), 'give either event or request (+ response), not both');
    input = { kind: 'json', event: raw.event };
  } else if (raw.request !== undefined) {
    if (typeof raw.request !== 'string') throw invalid(file, at('request'), 'must be HTTP text like "GET /path?x=1\\nHost: example.com"');
    const response = raw.response;
    if (response !== undefined && typeof response !== 'string' && !isObject(response)) {
      throw invalid(file, at('response'), 'must be HTTP text like "200 OK\\nContent-Type: text/html" or a response object');
    }
    input = { kind: 'http', request: raw.request, response, viewerIp: optionalString(raw.viewerIp, file, at('viewerIp')) };
  } else {
    throw invalid(file, at('event'), 'is required (or request in HTTP text form)');
  }

  return {
    name,
    file,
    index,
    function: fn,
    eventType,
    input,
    kvs: kvsOf(raw.kvs, dir, file, at('kvs')),
    now: nowOf(raw.now, file, at('now')),
    expect: expectationOf(raw.expect, file, at('expect')),
  };
}

function expectationOf(raw: unknown, file: string, path: string): CaseExpectation {
  if (!isObject(raw)) throw invalid(file, path, 'is required: an object with request, response or error');
  for (const key of Object.keys(raw)) if (!EXPECT_FIELDS.has(key)) throw invalid(file, `${path}.${key}`, 'is not an expectation field');
  const outcomes = ['request', 'response', 'error'].filter((k) => raw[k] !== undefined);
  if (outcomes.length !== 1) throw invalid(file, path, 'needs exactly one of request, response or error');
  if (raw.error !== undefined && raw.error !== 'validation' && raw.error !== 'execution') {
    throw invalid(file, `${path}.error`, 'must be "validation" or "execution"');
  }
  if (raw.errorMessage !== undefined && raw.error === undefined) throw invalid(file, `${path}.errorMessage`, 'only goes with error');
  const logs = raw.logs;
  if (logs !== undefined && (!Array.isArray(logs) || logs.some((l) => typeof l !== 'string'))) {
    throw invalid(file, `${path}.logs`, 'must be an array of strings');
  }
  const ignore = raw.ignore ?? [];
  if (!Array.isArray(ignore) || ignore.some((p) => typeof p !== 'string')) throw invalid(file, `${path}.ignore`, 'must be an array of paths');
  ignore.forEach((p: string, i) => {
    try {
      parseIgnorePath(p);
    } catch (err) {
      throw invalid(file, `${path}.ignore[${i}]`, (err as Error).message);
    }
  });
  return {
    request: raw.request,
    response: raw.response,
    error: raw.error as ErrorClass | undefined,
    errorMessage: optionalString(raw.errorMessage, file, `${path}.errorMessage`),
    logs: logs as string[] | undefined,
    originChange: raw.originChange,
    ignore: ignore as string[],
  };
}

function kvsOf(raw: unknown, dir: string, file: string, path: string): KvsInput | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw === 'string') return { kind: 'file', path: resolve(dir, raw) };
  if (!isObject(raw) || Object.values(raw).some((v) => typeof v !== 'string')) {
    throw invalid(file, path, 'must be an object of string values or a path to an S3-format file {"data":[…]}');
  }
  return { kind: 'inline', items: raw as Record<string, string> };
}

function nowOf(raw: unknown, file: string, path: string): number | undefined {
  if (raw === undefined) return undefined;
  const ms = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : NaN;
  if (!Number.isFinite(ms)) throw invalid(file, path, 'must be an ISO-8601 date or epoch milliseconds');
  return ms;
}

function runtimeOf(raw: unknown, file: string, path: string): RuntimeVersion | undefined {
  if (raw === undefined) return undefined;
  if (!(RUNTIMES as readonly unknown[]).includes(raw)) throw invalid(file, path, `must be ${RUNTIMES.join(' or ')}`);
  return raw as RuntimeVersion;
}

function optionalString(raw: unknown, file: string, path: string): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw invalid(file, path, 'must be a string');
  return raw;
}

/** TEST_CASE_INVALID with the file and JSON path of the problem. */
export function invalid(file: string, path: string, problem: string): OpenFrontError {
  return new OpenFrontError('TEST_CASE_INVALID', `${file}: ${path} ${problem}`, { file, path });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
