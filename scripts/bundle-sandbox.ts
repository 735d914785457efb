/**
 * Build step (npm run build, after tsc): bundles the code that runs inside a function's isolate
 * (src/runtime/sandbox/isolate/) with esbuild into the scripts the host loads, written next to the compiled host
 * code in dist/src/runtime/sandbox/isolate/ and read by src/runtime/sandbox/isolate-scripts.ts.
 *
 * The isolate runs scripts, not modules: each entry's single export becomes what its script gives. esbuild
 * bundles the entry as ES module (scope-hoisted: no module wrappers, no runtime cost), then the export statement is
 * replaced by a strict function that returns the exported binding:
 * - 'value': the script's completion value is the exported function (compileScript(...).run() hands it over);
 *   nothing is added to the isolate's globals.
 * - 'global': the script declares one global variable named after the export (for tests that load a part alone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, type Node } from 'acorn';
import { build } from 'esbuild';

interface Entry {
  /** The output file name, without .js; isolate-scripts.ts loads it by this name. */
  name: string;
  /** Relative to src/runtime/sandbox/isolate/. */
  source: string;
  form: 'value' | 'global';
}

export const ENTRIES: readonly Entry[] = [
  { name: 'bootstrap', source: 'bootstrap.ts', form: 'value' },
  { name: 'prelude-1', source: 'builtins/prelude-1.ts', form: 'value' },
  { name: 'prelude-2', source: 'builtins/prelude-2.ts', form: 'value' },
  // Only the result-wire test loads this one: the encoder on its own.
  { name: 'encode-result', source: 'encode-result.ts', form: 'global' },
];

interface ExportNode extends Node {
  declaration: Node | null;
  source: Node | null;
  specifiers: Array<{ local: { name: string }; exported: { name: string } }>;
}

/** The bundle as a script: its one export statement replaced by a function that returns the exported binding. */
export function toScript(bundle: string, entry: Entry): string {
  const program = Parser.parse(bundle, { ecmaVersion: 'latest', sourceType: 'module' }) as unknown as { body: Node[] };
  const exports = program.body.filter((node) => node.type.startsWith('Export') || node.type === 'ImportDeclaration') as ExportNode[];
  const only = exports[0];
  if (
    exports.length !== 1 ||
    only === undefined ||
    only.type !== 'ExportNamedDeclaration' ||
    only.declaration !== null ||
    only.source !== null ||
    only.specifiers.length !== 1
  ) {
    throw new Error(`${entry.source}: an isolate entry must bundle to exactly one local export, found ${exports.map((node) => node.type).join(', ')}`);
  }
  const specifier = only.specifiers[0] as ExportNode['specifiers'][number];
  if (bundle.includes('Dynamic require of')) throw new Error(`${entry.source}: a require() call was left unbundled`);
  const body = (bundle.slice(0, only.start) + bundle.slice(only.end)).trimEnd();
  const wrapped = `(function () {\n'use strict';\n${body}\nreturn ${specifier.local.name};\n})()`;
  return entry.form === 'value' ? `${wrapped}\n` : `var ${specifier.exported.name} = ${wrapped};\n`;
}

export async function bundleSandbox(root: string): Promise<Array<{ file: string; bytes: number }>> {
  const isolateDir = join(root, 'src/runtime/sandbox/isolate');
  const outDir = join(root, 'dist/src/runtime/sandbox/isolate');
  mkdirSync(outDir, { recursive: true });
  const written: Array<{ file: string; bytes: number }> = [];
  for (const entry of ENTRIES) {
    const result = await build({
      entryPoints: [join(isolateDir, entry.source)],
      tsconfig: join(isolateDir, 'tsconfig.json'),
      bundle: true,
      write: false,
      format: 'esm',
      // The bare language: nothing is external, and the npm `buffer` package is bundled (its "main" file).
      platform: 'neutral',
      mainFields: ['main'],
      // What V8 in isolated-vm runs natively: class private fields stay private fields (lowering them would need
      // WeakMap, which lockdown removes).
      target: 'es2022',
      // The license notices of the bundled npm packages stay next to their code.
      legalComments: 'inline',
      logLevel: 'warning',
      // Paths in the bundle's comments are relative to the repository, wherever the build runs from.
      absWorkingDir: root,
    });
    const output = result.outputFiles[0];
    if (output === undefined) throw new Error(`${entry.source}: esbuild wrote nothing`);
    const script = toScript(output.text, entry);
    const file = join(outDir, `${entry.name}.js`);
    writeFileSync(file, script);
    written.push({ file, bytes: Buffer.byteLength(script) });
  }
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
  for (const { file, bytes } of await bundleSandbox(root)) console.log(`sandbox: ${file.slice(root.length + 1)} (${bytes} bytes)`);
}
