/**
 * Preparing a release (docs/safe-changes.md#releases): everything a release carries is validated here, before
 * anything is stored — each function exists and is published, new code passes the compatibility checks AND loads in
 * the engine (an edge that could not load it would keep serving the old code next to the new data), versions exist,
 * the change set is well formed and names existing stores — and the ETags the release is prepared against are
 * recorded: the caller's `ifMatch` (a plan's), else the current ones. An `ifMatch` that is already stale is refused
 * at once. The state backend applies and rolls back (`ReleaseState`).
 */
import { z } from 'zod';
import { openFrontError } from '../errors.js';
import { parseChangeSet, type ChangeSet } from '../kvs/change-set.js';
import { RUNTIMES, type RuntimeVersion } from '../runtime/event.js';
import { loadFunctionSync } from '../runtime/function.js';
import { assertFunctionName } from '../state/functions.js';
import { MAX_RELEASE_DESCRIPTION, MAX_RELEASE_FUNCTIONS, type NewRelease, type ReleaseExpectations, type ReleaseFunction } from '../state/releases.js';
import type { NodeState, ReleaseState } from '../state/types.js';

/** The body of `POST /openfront/v1/releases` (and of `openfront release create <file>`). */
export const releaseInputSchema = z
  .object({
    description: z.string().max(MAX_RELEASE_DESCRIPTION).optional(),
    function: z.unknown().optional(),
    functions: z.array(z.unknown()).max(MAX_RELEASE_FUNCTIONS).optional(),
    changes: z.unknown().optional(),
    ifMatch: z
      .object({
        stores: z.record(z.string(), z.string().max(64)).optional(),
        functions: z.record(z.string(), z.object({ live: z.string().max(64).optional(), development: z.string().max(64).optional() }).strict()).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

const functionPartSchema = z
  .object({
    name: z.string(),
    code: z.string().optional(),
    version: z.number().int().positive().optional(),
    runtime: z.enum(RUNTIMES as [RuntimeVersion, ...RuntimeVersion[]]).optional(),
    store: z.string().nullable().optional(),
  })
  .strict();

export type ReleaseInput = z.infer<typeof releaseInputSchema>;

function invalid(message: string, details?: Record<string, unknown>): never {
  throw openFrontError('INPUT_INVALID', message, details);
}

function zodProblems(error: z.ZodError, root: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${[root, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
}

/** The state's releases, or the clear refusal of a backend that has none. */
export function releasesOf(state: NodeState): ReleaseState {
  if (state.releases === undefined) {
    throw openFrontError(
      'RELEASES_UNAVAILABLE',
      `Releases are not available on the ${state.backend} backend: its edges follow store data and LIVE functions through separate feeds, so a release could not go live as one there yet (docs/safe-changes.md#releases). Apply the function and store changes separately, or use openfront start`,
    );
  }
  return state.releases;
}

/** Validates `raw` (the request body) against the node's state and returns what to store. Writes nothing. */
export async function prepareRelease(state: NodeState, raw: unknown): Promise<NewRelease> {
  const parsed = releaseInputSchema.safeParse(raw);
  if (!parsed.success) invalid(`The release is invalid: ${zodProblems(parsed.error, 'release')}`);
  const input = parsed.data;
  if (input.function !== undefined && input.functions !== undefined) invalid('Give either "function" or "functions", not both');
  const rawFunctions = input.functions ?? (input.function === undefined ? [] : [input.function]);
  const functions: ReleaseFunction[] = rawFunctions.map((item, index) => {
    const part = functionPartSchema.safeParse(item);
    if (!part.success) invalid(`The release is invalid: ${zodProblems(part.error, `functions.${index}`)}`);
    return part.data;
  });
  const changes: ChangeSet = input.changes === undefined ? { stores: {} } : parseChangeSet(input.changes, state.stores.limits);
  if (functions.length === 0 && Object.keys(changes.stores).length === 0) invalid('The release changes nothing: give a function, a change set, or both');

  const expected: ReleaseExpectations = { stores: {}, functions: {} };
  const stale: string[] = [];
  for (const fn of functions) {
    await checkFunctionPart(state, fn, expected);
    const wanted = input.ifMatch?.functions?.[fn.name];
    const seen = expected.functions[fn.name]!;
    if (wanted?.live !== undefined && wanted.live !== seen.live) stale.push(`function ${fn.name} LIVE (${wanted.live} is now ${seen.live})`);
    if (wanted?.development !== undefined && fn.code !== undefined && wanted.development !== seen.development) {
      stale.push(`function ${fn.name} DEVELOPMENT (${wanted.development} is now ${seen.development})`);
    }
  }
  for (const name of Object.keys(changes.stores)) {
    const store = await state.stores.getStore({ name });
    if (store === undefined) invalid(`The change set names store ${name}, which does not exist`, { store: name });
    expected.stores[name] = store.etag;
    const wanted = input.ifMatch?.stores?.[name];
    if (wanted !== undefined && wanted !== store.etag) stale.push(`store ${name} (${wanted} is now ${store.etag})`);
  }
  if (stale.length > 0) {
    throw openFrontError('RELEASE_CONFLICT', `Changed since the release was planned: ${stale.join(', ')}. Plan again`, { stale });
  }
  return { description: input.description ?? '', functions, changes, expected };
}

async function checkFunctionPart(state: NodeState, fn: ReleaseFunction, expected: ReleaseExpectations): Promise<void> {
  assertFunctionName(fn.name);
  if (expected.functions[fn.name] !== undefined) invalid(`Function ${fn.name} appears twice in the release`, { function: fn.name });
  if ((fn.code === undefined) === (fn.version === undefined)) invalid(`Function ${fn.name}: give exactly one of "code" and "version"`, { function: fn.name });
  if (fn.code === undefined && (fn.runtime !== undefined || fn.store !== undefined)) {
    invalid(`Function ${fn.name}: "runtime" and "store" go with new "code" (an existing version keeps its own config)`, { function: fn.name });
  }
  const live = await state.functions.findStage(fn.name, 'LIVE');
  if (live === undefined) invalid(`Function ${fn.name} was never published: publish it once before releasing it`, { function: fn.name });
  if (fn.version !== undefined) {
    await state.functions.version(fn.name, fn.version);
    expected.functions[fn.name] = { live: live.etag };
    return;
  }
  const development = await state.functions.describe(fn.name, 'DEVELOPMENT');
  const runtime: RuntimeVersion = fn.runtime ?? development.config.runtime;
  state.functions.checkCode(fn.name, fn.code!, runtime);
  // The checker accepts what CloudFront accepts; loading proves the engine compiles it too.
  loadFunctionSync(fn.code!, { name: fn.name, runtime }).dispose();
  if (typeof fn.store === 'string' && (await state.stores.getStore({ name: fn.store })) === undefined) {
    invalid(`Function ${fn.name}: store ${fn.store} does not exist`, { function: fn.name, store: fn.store });
  }
  expected.functions[fn.name] = { live: live.etag, development: development.etag };
}
