/**
 * The scripts that run inside a function's isolate, as the build bundled them (scripts/bundle-sandbox.ts) from
 * the TypeScript in isolate/. They sit next to this module in dist and are read on first use, once per process.
 */
import { readFileSync } from 'node:fs';
import { OpenFrontError } from '../../errors.js';

/**
 * bootstrap: its value is `bootstrap(prelude, host, runtime)` (isolate/bootstrap.ts).
 * prelude-1, prelude-2: their value is `prelude(host)` of runtime 1.0 / 2.0 (isolate/builtins/prelude-*.ts).
 * encode-result: declares the global `encodeResult` alone, for tests.
 */
export type IsolateScriptName = 'bootstrap' | 'prelude-1' | 'prelude-2' | 'encode-result';

const loaded = new Map<IsolateScriptName, string>();

export function isolateScript(name: IsolateScriptName): string {
  let source = loaded.get(name);
  if (source === undefined) {
    try {
      source = readFileSync(new URL(`./isolate/${name}.js`, import.meta.url), 'utf8');
    } catch (err) {
      throw new OpenFrontError('INTERNAL', `The sandbox script "${name}" is missing (run npm run build): ${(err as Error).message}`);
    }
    loaded.set(name, source);
  }
  return source;
}
