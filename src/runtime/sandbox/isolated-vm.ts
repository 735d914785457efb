/**
 * The isolated-vm build that fits the running Node. isolated-vm 5 compiles against Node 20's headers but not Node 24's
 * (C++20), isolated-vm 6 needs Node 22 or newer; so package.json lists both as npm aliases under
 * optionalDependencies, npm installs the ones that build here (docs/node-versions.md), and this module loads the
 * newest that is present. Everything else imports isolated-vm from here, never by package name.
 */
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import type IsolatedVM from 'isolated-vm';
import { OpenFrontError } from '../../errors.js';
import { collectAtExit } from './exit-guard.js';

const require = createRequire(import.meta.url);

/** Newest first: on Node 22 both may be installed and 6 is the one made for it. Literal names keep imports readable. */
const BUILDS = [
  { build: 'isolated-vm-6', load: () => require('isolated-vm-6') as typeof IsolatedVM },
  { build: 'isolated-vm-5', load: () => require('isolated-vm-5') as typeof IsolatedVM },
] as const;

function loadIsolatedVm(): { build: (typeof BUILDS)[number]['build']; ivm: typeof IsolatedVM } {
  const failures: string[] = [];
  for (const { build, load } of BUILDS) {
    try {
      return { build, ivm: load() };
    } catch (err) {
      failures.push(`${build}: ${String((err as Error).message).split('\n')[0]}`);
    }
  }
  throw new OpenFrontError(
    'INTERNAL',
    `No isolated-vm build loads on Node ${process.version}; reinstall with "npm ci" on this Node version ` +
      `(isolated-vm 5 is used on Node 20, 6 on Node 22 and newer). Tried ${failures.join('; ')}`,
  );
}

/**
 * V8 flags an engine build needs before its first isolate compiles anything (V8 flags are per process).
 *
 * isolated-vm 6 runs on the V8 of Node 22/24, whose Turboshaft loop unrolling can drop the interrupt check of a hot
 * allocating loop (`for (;;) { var a = new Array(1000); a[0] = {}; }`) once on-stack replacement swaps it to
 * optimized code: neither the timeout nor `dispose()` stops it then (about half the runs on Node 24; the same loop in
 * a Node worker ignores `worker.terminate()`). Unrolling only saves a few loop-counter compares in the rare hot
 * loop of a CloudFront function; docs/node-versions.md says what is still open.
 */
const ENGINE_FLAGS: Record<(typeof BUILDS)[number]['build'], readonly string[]> = {
  'isolated-vm-6': ['--no-turboshaft-loop-unrolling'],
  'isolated-vm-5': [],
};

const loaded = loadIsolatedVm();
for (const flag of ENGINE_FLAGS[loaded.build]) setFlagsFromString(flag);
collectAtExit();
/** Which of the aliased packages was loaded (what `openfront` runs functions on, for diagnostics and tests). */
export const isolatedVmBuild = loaded.build;
const ivm = loaded.ivm;
export default ivm;

/** The types callers name as `ivm.X`, next to the value, as with `import ivm from 'isolated-vm'`. */
/* eslint-disable @typescript-eslint/no-explicit-any -- the defaults mirror isolated-vm's own declarations */
// eslint-disable-next-line @typescript-eslint/no-namespace -- type-only, merges with the value as isolated-vm's does
declare namespace ivm {
  export type Isolate = IsolatedVM.Isolate;
  export type Context = IsolatedVM.Context;
  export type Script = IsolatedVM.Script;
  export type CachedDataResult = IsolatedVM.CachedDataResult;
  export type Reference<T = any> = IsolatedVM.Reference<T>;
  export type ExternalCopy<T = any> = IsolatedVM.ExternalCopy<T>;
  export type Callback<T extends (...args: any[]) => any = any> = IsolatedVM.Callback<T>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
