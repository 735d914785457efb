/**
 * The conformance suite: each fixture is event + code + KVS → expected result or error class. The engine, the edge
 * (over HTTP) and TestFunction (over the API) all run these same fixtures.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MapSnapshot } from '../../src/kvs/snapshot.js';
import type { CFEvent, FunctionResult, KvsBinding, RuntimeLimits, RuntimeVersion } from '../../src/runtime/index.js';

/** The source tree's test/conformance folder (fixtures are not compiled, so resolve from dist/ back to test/). */
export const CONFORMANCE_DIR = fileURLToPath(new URL('../../../test/conformance/', import.meta.url));

export interface FixtureExpectation {
  kind: 'request' | 'response' | 'error';
  request?: unknown;
  response?: unknown;
  errorClass?: 'validation' | 'execution';
  code?: string;
  messageIncludes?: string;
  logs?: string[];
  originChange?: unknown;
}

export interface Fixture {
  name: string;
  description: string;
  runtime: RuntimeVersion;
  code: string;
  event: CFEvent;
  kvs?: Record<string, string>;
  /**
   * The store's id (its awsId): with it, every runner opens the store by id and a different id in `cf.kvs(id)` fails
   * the read; without it the data has no id and answers to any id, as in the local tools.
   */
  kvsId?: string;
  /** Engine limits for this fixture (the engine suite applies them; the edge and the API use their defaults). */
  limits?: Partial<RuntimeLimits>;
  expect: FixtureExpectation;
}

/** What a runner passes as the function's store: the plain data, or a binding under the fixture's store id. */
export function fixtureKvs(fixture: Fixture): Record<string, string> | KvsBinding {
  if (fixture.kvsId === undefined) return fixture.kvs ?? {};
  const snapshot = new MapSnapshot(fixture.kvs ?? {}, { id: fixture.kvsId });
  return { defaultStoreId: snapshot.id, stores: new Map([[snapshot.id, { snapshot: () => snapshot }]]) };
}

export function loadFixtures(): Fixture[] {
  const dir = `${CONFORMANCE_DIR}fixtures/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(readFileSync(dir + file, 'utf8')) as Omit<Fixture, 'name' | 'code'> & { function: string };
      return {
        name: file.replace(/\.json$/, ''),
        description: raw.description,
        runtime: raw.runtime,
        code: readFileSync(`${CONFORMANCE_DIR}functions/${raw.function}`, 'utf8'),
        event: raw.event,
        kvs: raw.kvs,
        kvsId: raw.kvsId,
        limits: raw.limits,
        expect: raw.expect,
      };
    });
}

/**
 * Partial deep match: every field in `expected` must be in `actual` with the same value; an empty object or array
 * in `expected` demands an empty one. Returns the path of the first mismatch, or undefined.
 */
export function mismatch(actual: unknown, expected: unknown, path = '$'): string | undefined {
  if (expected === null || typeof expected !== 'object') {
    return Object.is(actual, expected) ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  }
  if (actual === null || typeof actual !== 'object') return `${path}: expected an object, got ${JSON.stringify(actual)}`;
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
    for (let i = 0; i < expected.length; i++) {
      const m = mismatch(actual[i], expected[i], `${path}[${i}]`);
      if (m) return m;
    }
    return undefined;
  }
  const keys = Object.keys(expected);
  if (keys.length === 0 && Object.keys(actual).length !== 0) return `${path}: expected {}, got ${JSON.stringify(actual)}`;
  for (const key of keys) {
    const m = mismatch((actual as Record<string, unknown>)[key], (expected as Record<string, unknown>)[key], `${path}.${key}`);
    if (m) return m;
  }
  return undefined;
}

/** Checks a FunctionResult against a fixture's expectation; returns the first problem or undefined. */
export function checkResult(result: FunctionResult, expect: FixtureExpectation): string | undefined {
  if (result.kind !== expect.kind) {
    return `expected kind ${expect.kind}, got ${result.kind}${result.kind === 'error' ? ` (${result.error.code}: ${result.error.message})` : ''}`;
  }
  if (expect.request !== undefined) {
    const m = mismatch(result.kind === 'request' ? result.request : undefined, expect.request, '$.request');
    if (m) return m;
  }
  if (expect.response !== undefined) {
    const m = mismatch(result.kind === 'response' ? result.response : undefined, expect.response, '$.response');
    if (m) return m;
  }
  const error = result.kind === 'error' ? result.error : undefined;
  if (expect.errorClass && error?.errorClass !== expect.errorClass) return `expected ${expect.errorClass} error, got ${error?.errorClass}`;
  if (expect.code && error?.code !== expect.code) return `expected code ${expect.code}, got ${error?.code}`;
  if (expect.messageIncludes && !error?.message.includes(expect.messageIncludes)) {
    return `expected the error message to mention "${expect.messageIncludes}", got "${error?.message}"`;
  }
  if (expect.logs) {
    const m = mismatch(result.logs, expect.logs, '$.logs');
    if (m) return m;
  }
  if (expect.originChange !== undefined) return mismatch(result.originChange, expect.originChange, '$.originChange');
  return undefined;
}
