/**
 * The code that runs inside the isolate is code like any other: real TypeScript files under
 * src/runtime/sandbox/isolate/, type-checked by their own tsconfig and bundled at build time, never JavaScript
 * inside template strings (which nothing type-checks, lints or covers).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ivm from '../../src/runtime/sandbox/isolated-vm.js';
import { isolateScript, type IsolateScriptName } from '../../src/runtime/sandbox/isolate-scripts.js';

// The tests run from dist/test/unit; the sources are read from the repository itself.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.[cm]?[jt]s$/.test(entry.name) ? [path] : [];
  });
}

test('no source under src/ holds code in a String.raw template or opts out of type-checking', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    if (/\bString\.raw\s*`/.test(text)) offenders.push(`${relative(ROOT, file)}: String.raw template`);
    if (/@ts-nocheck/.test(text)) offenders.push(`${relative(ROOT, file)}: @ts-nocheck`);
  }
  assert.deepEqual(offenders, []);
});

test('the isolate code has its own tsconfig without Node or DOM types, and the host build leaves it out', () => {
  const strip = (json: string) => JSON.parse(json.replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: Record<string, unknown>; exclude?: string[] };
  const isolate = strip(readFileSync(join(ROOT, 'src/runtime/sandbox/isolate/tsconfig.json'), 'utf8'));
  assert.deepEqual(isolate.compilerOptions.types, []);
  assert.ok(
    (isolate.compilerOptions.lib as string[]).every((lib) => !/dom/i.test(lib)),
    'no DOM lib',
  );
  const host = strip(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'));
  assert.ok(host.exclude?.includes('src/runtime/sandbox/isolate'), 'the host tsconfig excludes the isolate folder');
});

test('each built isolate script is a plain script: its value is the entry function, and it adds no global', () => {
  const isolate = new ivm.Isolate({ memoryLimit: 32 });
  try {
    for (const name of ['bootstrap', 'prelude-1', 'prelude-2'] satisfies IsolateScriptName[]) {
      const context = isolate.createContextSync();
      const before = context.evalSync('Object.getOwnPropertyNames(globalThis).join()') as string;
      const value = isolate.compileScriptSync(isolateScript(name)).runSync(context, { reference: true }) as ivm.Reference;
      assert.equal(value.typeof, 'function', name);
      assert.equal(context.evalSync('Object.getOwnPropertyNames(globalThis).join()'), before, `${name} leaves the globals alone until called`);
      context.release();
    }
  } finally {
    isolate.dispose();
  }
});
