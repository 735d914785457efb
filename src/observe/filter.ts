/**
 * Which decisions a tail or a query wants: by distribution, function, status (exact or class such as `5xx`), path
 * glob and sampling rate. Parsed from query parameters (the API) and CLI flags alike; bad input is a BAD_REQUEST.
 */
import { OpenFrontError } from '../errors.js';
import type { DecisionRecord } from './decision.js';
import type { EdgeTrace } from './decision-trace.js';

export interface DecisionFilterSpec {
  distribution?: string;
  function?: string;
  /** `503`, or a class `5xx`. */
  status?: string;
  /** `*` matches any run of characters (including "/"), `?` one character. */
  path?: string;
  /** 0 < rate ≤ 1. */
  sample?: number;
}

/** Longest path glob accepted: it is compiled into a RegExp. */
const MAX_GLOB_LENGTH = 1024;

export class DecisionFilter {
  readonly spec: DecisionFilterSpec;
  readonly #statusMin: number;
  readonly #statusMax: number;
  readonly #path: RegExp | undefined;
  readonly #random: () => number;

  constructor(spec: DecisionFilterSpec, random: () => number = Math.random) {
    this.spec = spec;
    this.#random = random;
    [this.#statusMin, this.#statusMax] = parseStatus(spec.status);
    this.#path = spec.path === undefined ? undefined : compileGlob(spec.path);
    if (spec.sample !== undefined && !(spec.sample > 0 && spec.sample <= 1))
      throw new OpenFrontError('BAD_REQUEST', `sample must be a number above 0 and at most 1, got ${spec.sample}`);
  }

  /** Checks a raw trace, before the record is built (so unwanted requests cost nothing more). */
  matchesTrace(trace: EdgeTrace): boolean {
    const { spec } = this;
    if (spec.distribution !== undefined && trace.distributionId !== spec.distribution) return false;
    if (spec.function !== undefined && !trace.functions.some((f) => f.name === spec.function)) return false;
    if (trace.status < this.#statusMin || trace.status > this.#statusMax) return false;
    if (this.#path !== undefined) {
      const q = trace.target.indexOf('?');
      if (!this.#path.test(q === -1 ? trace.target : trace.target.slice(0, q))) return false;
    }
    return spec.sample === undefined || spec.sample >= 1 || this.#random() < spec.sample;
  }

  /** The same test on a record already built (no sampling: records in the ring were kept already). */
  matchesRecord(record: DecisionRecord): boolean {
    const { spec } = this;
    if (spec.distribution !== undefined && record.distributionId !== spec.distribution) return false;
    if (spec.function !== undefined && !record.functions.some((f) => f.name === spec.function)) return false;
    if (record.status < this.#statusMin || record.status > this.#statusMax) return false;
    return this.#path === undefined || this.#path.test(record.path);
  }
}

/** Reads a filter from query parameters (`distribution`, `function`, `status`, `path`, `sample`). */
export function filterFromQuery(param: (name: string) => string | undefined): DecisionFilter {
  const spec: DecisionFilterSpec = {};
  for (const name of ['distribution', 'function', 'status', 'path'] as const) {
    const value = param(name);
    if (value !== undefined) spec[name] = value;
  }
  const sample = param('sample');
  if (sample !== undefined) {
    if (!/^(0(\.\d{1,6})?|1(\.0{1,6})?|\.\d{1,6})$/.test(sample))
      throw new OpenFrontError('BAD_REQUEST', `sample must be a number above 0 and at most 1, got "${sample}"`);
    spec.sample = Number(sample);
  }
  return new DecisionFilter(spec);
}

function parseStatus(status: string | undefined): [number, number] {
  if (status === undefined) return [0, 999];
  const cls = /^([1-5])xx$/i.exec(status);
  if (cls) return [Number(cls[1]) * 100, Number(cls[1]) * 100 + 99];
  if (/^[1-5]\d\d$/.test(status)) return [Number(status), Number(status)];
  throw new OpenFrontError('BAD_REQUEST', `status must be a status code (404) or a class (5xx), got "${status}"`);
}

function compileGlob(glob: string): RegExp {
  if (glob.length > MAX_GLOB_LENGTH) throw new OpenFrontError('BAD_REQUEST', `path glob is longer than ${MAX_GLOB_LENGTH} characters`);
  if (!glob.startsWith('/') && !glob.startsWith('*')) throw new OpenFrontError('BAD_REQUEST', `path glob must start with "/" or "*", got "${glob}"`);
  let source = '';
  for (const c of glob) source += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  // Consecutive stars collapse, so a glob cannot build a pattern that backtracks badly.
  return new RegExp(`^${source.replace(/(\.\*)+/g, '.*')}$`);
}
