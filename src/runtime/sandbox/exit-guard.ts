/**
 * Lets a process that used isolates exit cleanly while Node writes a profile at exit (NODE_V8_COVERAGE, as c8,
 * `node --experimental-test-coverage` and vitest set it; `--cpu-prof`; `--heap-prof`).
 *
 * Why it is needed: isolated-vm drops its main-thread environment in a Node environment cleanup hook, and Node
 * writes those profiles in an at-exit callback that runs after the cleanup hooks. Building the profile's JSON
 * allocates enough to start a garbage collection; when that collection finalizes an isolated-vm handle (a
 * Reference, Script, Context, ExternalCopy… of an isolate disposed earlier but not yet collected), its weak
 * callback asks for the environment that is gone, and the process aborts (exit 134) after its work was done.
 * (Both isolated-vm 5 and 6 tear down this way.)
 *
 * So on 'exit' — after the work, before the cleanup hooks — the owners release every isolate and handle they
 * still hold, and one full collection finalizes them while isolated-vm can still take them. Nothing is done (and
 * nothing is registered) unless a profile will be written.
 *
 * Disposing the isolates alone is not enough: the handles that abort are garbage already (a Script or Reference of
 * an isolate disposed long before), and only a collection finalizes them. Tried without it, 3–4 of the 5
 * coverage-exit tests abort.
 */
import { getHeapSnapshot } from 'node:v8';

const profiling = writesProfileAtExit();
const releasers = new Set<() => void>();
/** Held weakly: an owner its user forgot to dispose can still be collected before exit. */
const owners = new Set<WeakRef<{ dispose(): void }>>();
const tracked = new WeakSet<object>();
let armed = false;

/**
 * Runs `release` at process exit before the final collection, when a profile will be written at exit.
 * `release` must drop every isolated-vm handle it keeps (a module-level cache, for instance).
 */
export function releaseAtExit(release: () => void): void {
  if (!profiling) return;
  releasers.add(release);
  arm();
}

/**
 * Runs `release` at process exit, then collects once, whether or not a profile will be written. For what attaches
 * an inspector to an isolate (`openfront test --coverage`): on Node 24 such a process aborted at exit with
 * `IsolateEnvironment::GetCurrent(): environment != nullptr` although no profile was being written, so its
 * sessions are closed and the garbage handles finalized on 'exit', while isolated-vm can still take them.
 */
export function releaseAndCollectAtExit(release: () => void): void {
  releasers.add(release);
  arm();
}

/** Disposes `owner` at process exit before the final collection, when a profile will be written at exit. */
export function disposeAtExit(owner: { dispose(): void }): void {
  if (!profiling || tracked.has(owner)) return;
  tracked.add(owner);
  owners.add(new WeakRef(owner));
  arm();
}

/**
 * Collects once at process exit, when a profile will be written at exit: called when isolated-vm is loaded, so that
 * handles of isolates that code (tests, tools) made and disposed directly are finalized before isolated-vm's
 * environment is gone, not during the profile's write.
 */
export function collectAtExit(): void {
  if (profiling) arm();
}

function arm(): void {
  if (armed) return;
  armed = true;
  process.on('exit', collectIsolateHandles);
}

function collectIsolateHandles(): void {
  const releases = [...[...owners].map((ref) => () => ref.deref()?.dispose()), ...releasers];
  owners.clear();
  releasers.clear();
  for (const release of releases) {
    try {
      release();
    } catch {
      // One owner failing to let go must not keep the others from it.
    }
  }
  fullCollection();
}

/**
 * A full, synchronous garbage collection. V8's gc() when the process was started with --expose-gc (the project's
 * coverage runs are: `npm run test:coverage`, .ci/run). Otherwise a heap snapshot, thrown away at once: V8 collects
 * all garbage before it takes one. That costs about as much time and memory as the heap is large (2 s more for a
 * CLI run under coverage on the CI machine), which only a profiled run without --expose-gc pays.
 * Best effort: an exception in an 'exit' listener would end the exit badly.
 */
function fullCollection(): void {
  try {
    const gc = (globalThis as { gc?: unknown }).gc;
    if (typeof gc === 'function') gc();
    else getHeapSnapshot().destroy();
  } catch {
    // No way to collect: the releases above still leave less to finalize.
  }
}

/** Node writes a profile at exit: coverage (NODE_V8_COVERAGE or the test runner's own), or a CPU or heap profile. */
export function writesProfileAtExit(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  if (env.NODE_V8_COVERAGE) return true;
  const flags = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => /^--(experimental-test-coverage|cpu-prof|heap-prof)(=|$)/.test(flag));
}
