/**
 * `openfront build`: bundle a TypeScript or modern JavaScript entry into ONE CloudFront Functions file.
 *
 * CloudFront takes a plain script, not a module: a top-level `function handler`, no `export`, and the built-in
 * modules pulled in with `import x from 'm'` (2.0) or `require('m')` (1.0). esbuild bundles in ESM form (so it can
 * tree-shake), and the output is then turned into that script:
 *   1. esbuild bundles the entry (format esm), keeping `cloudfront`/`crypto`/`querystring`/`buffer` external and
 *      lowering what it can lower to syntax the runtime accepts (`??`, `?.`, `||=`, `catch {}`, …).
 *   2. every import of a built-in becomes `var x = require('m')` (named imports: `var b = require('m').a`), the
 *      `export` statement goes, and the exported handler becomes a top-level `function handler`.
 *   3. with `minify`, esbuild minifies that script; as a script (no `import`), its top-level names, `handler`
 *      included, are kept.
 *   4. for 2.0, the top-level `var x = require('m')` become `import x from 'm'` lines at the top.
 * The checker then decides, exactly as `openfront check` would. Syntax esbuild cannot lower (destructuring,
 * `for…of`, shorthand properties, `let`/`const` on 1.0…) fails the build at its position in the source.
 */
import { basename, dirname, relative } from 'node:path';
import { parse, type Program, type Node as AcornNode, type ImportDeclaration, type VariableDeclaration } from 'acorn';
import * as esbuild from 'esbuild';
import { OpenFrontError } from '../errors.js';
import { checkSource, type SourceProblem } from '../runtime/checker.js';
import type { RuntimeVersion } from '../runtime/event.js';
import { DEFAULT_RUNTIME } from '../runtime/function.js';
import { DEFAULT_RUNTIME_LIMITS } from '../runtime/limits.js';

/** Modules the CloudFront runtime provides; they are never bundled. */
export const BUILTIN_MODULES = ['cloudfront', 'crypto', 'querystring', 'buffer'] as const;

/** What to build. */
export interface BuildOptions {
  /** Entry file (.ts or .js). It exports the handler: `export function handler(event)` or `export default function`. */
  entry: string;
  /** Runtime the output targets; decides the syntax esbuild may emit and how imports are written. Default 2.0. */
  runtime?: RuntimeVersion;
  /** Minify whitespace, syntax and local names (top-level names, `handler` included, are kept). */
  minify?: boolean;
  /** Size limit in bytes (CloudFront: 10240). */
  maxCodeBytes?: number;
}

/** The built function and the checker's verdict on it. */
export interface BuildResult {
  /** The function code, ready for `openfront check` / CloudFront. */
  code: string;
  /** UTF-8 size of `code`. */
  bytes: number;
  /** The size limit it was checked against. */
  maxCodeBytes: number;
  /** What the checker rejects in `code` ([] when accepted; a size problem when too large). */
  problems: SourceProblem[];
  /** Accepted by the checker (which includes the size limit). */
  ok: boolean;
}

/**
 * Features esbuild must not emit for either runtime. Those it can lower are lowered; for the others it reports an
 * error at the source position instead of passing them through to be rejected later. Object spread stays
 * "supported" on purpose: esbuild lowers it with a helper that uses `for…of`, so the checker reports the `...`.
 */
const UNSUPPORTED_FEATURES: Record<string, false> = {
  'nullish-coalescing': false,
  'optional-chain': false,
  'logical-assignment': false,
  'optional-catch-binding': false,
  'default-argument': false,
  'object-extensions': false,
  destructuring: false,
  'for-of': false,
  class: false,
  'class-field': false,
  'class-static-field': false,
  'class-private-field': false,
  'class-private-method': false,
  'class-static-blocks': false,
  'regexp-dot-all-flag': false,
  'regexp-match-indices': false,
  'regexp-unicode-property-escapes': false,
  'import-meta': false,
  'dynamic-import': false,
  'top-level-await': false,
  bigint: false,
};

const RUNTIME_FEATURES: Record<RuntimeVersion, Record<string, false>> = {
  'cloudfront-js-1.0': { ...UNSUPPORTED_FEATURES, 'const-and-let': false },
  'cloudfront-js-2.0': UNSUPPORTED_FEATURES,
};

/** Bundles `entry` into one CloudFront Functions script and runs the checker on it. Throws BUILD_FAILED. */
export async function buildFunction(options: BuildOptions): Promise<BuildResult> {
  const runtime = options.runtime ?? DEFAULT_RUNTIME;
  const maxCodeBytes = options.maxCodeBytes ?? DEFAULT_RUNTIME_LIMITS.maxCodeBytes;
  const supported = RUNTIME_FEATURES[runtime];
  const bundled = await runEsbuild(runtime, () =>
    esbuild.build({
      entryPoints: [options.entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'neutral',
      target: 'es2020',
      supported,
      external: [...BUILTIN_MODULES],
      legalComments: 'none',
      charset: 'utf8',
      logLevel: 'silent',
      absWorkingDir: dirname(options.entry),
    }),
  );
  let script = toScript((bundled.outputFiles[0] as esbuild.OutputFile).text, options.entry);
  if (options.minify) {
    const minified = await runEsbuild(runtime, () =>
      esbuild.transform(script, { minify: true, target: 'es2020', supported, charset: 'utf8', logLevel: 'silent' }),
    );
    script = minified.code;
  } else {
    script = `// Built by \`openfront build\` from ${basename(options.entry)}: edit the source, not this file.\n${script}`;
  }
  const code = runtime === 'cloudfront-js-2.0' ? requiresToImports(script) : script;
  const problems = checkSource(code, runtime, { maxCodeBytes });
  return { code, bytes: Buffer.byteLength(code, 'utf8'), maxCodeBytes, problems, ok: problems.length === 0 };
}

async function runEsbuild<T>(runtime: RuntimeVersion, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    const lines = failure.errors.map((e) => {
      const where = e.location ? `${relative(process.cwd(), e.location.file) || e.location.file}:${e.location.line}:${e.location.column + 1} ` : '';
      // esbuild's wording ("the configured target environment (es2020 + 27 overrides)") means: the runtime.
      const text = e.text.replace(
        /^Transforming (.+) to the configured target environment \(.*\) is not supported yet$/,
        `$1 is not supported in ${runtime} and cannot be rewritten automatically (see docs/compatibility.md)`,
      );
      return `${where}${text}`;
    });
    throw new OpenFrontError('BUILD_FAILED', lines.join('\n'), { errors: lines });
  }
}

/** Step 2 of the module comment: the esbuild ESM bundle as a classic script with a top-level `function handler`. */
function toScript(bundle: string, entry: string): string {
  const program = parse(bundle, { ecmaVersion: 'latest', sourceType: 'module' }) as Program;
  const edits: Array<{ start: number; end: number; text: string }> = [];
  let exportedLocal: { handler?: string; default?: string } = {};
  const topLevelFunctions = new Set<string>();
  const topLevelNames = new Set<string>();
  for (const node of program.body) {
    if (node.type === 'ImportDeclaration') {
      edits.push({ start: node.start, end: node.end, text: importAsRequire(node) });
    } else if (node.type === 'ExportNamedDeclaration' && node.declaration == null && node.source == null) {
      for (const spec of node.specifiers) {
        const exported = spec.exported.type === 'Identifier' ? spec.exported.name : String(spec.exported.value);
        if (exported === 'handler' || exported === 'default') exportedLocal = { ...exportedLocal, [exported]: (spec.local as { name: string }).name };
      }
      edits.push({ start: node.start, end: node.end, text: '' });
    } else if (node.type.startsWith('Export')) {
      throw new OpenFrontError('BUILD_FAILED', `${entry}: unexpected ${node.type} in the bundle (re-exports of other modules cannot be built)`);
    } else {
      collectTopLevelNames(node, topLevelNames, topLevelFunctions);
    }
  }
  const local = exportedLocal.handler ?? exportedLocal.default;
  if (local === undefined) {
    throw new OpenFrontError(
      'BUILD_FAILED',
      `${entry}: the entry must export the handler: "export function handler(event) {…}" or "export default function (event) {…}"`,
    );
  }
  let script =
    applyEdits(bundle, edits)
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n';
  if (local !== 'handler' || !topLevelFunctions.has('handler')) {
    if (topLevelNames.has('handler')) {
      throw new OpenFrontError('BUILD_FAILED', `${entry}: a top-level "handler" in the bundle is not the exported handler; rename it`);
    }
    // esbuild renamed the export (a name clash or an anonymous default export): CloudFront needs a declaration
    // literally named `handler`. A forwarding call keeps async handlers async (their promise is returned as is).
    script += `function handler(event) {\n  return ${local}(event);\n}\n`;
  }
  return script;
}

function importAsRequire(node: ImportDeclaration): string {
  const module = String(node.source.value);
  if (node.specifiers.length === 0) return '';
  const required = `require(${JSON.stringify(module)})`;
  return node.specifiers
    .map((spec) => {
      if (spec.type === 'ImportSpecifier') {
        const imported = spec.imported.type === 'Identifier' ? spec.imported.name : String(spec.imported.value);
        return `var ${spec.local.name} = ${required}.${imported};`;
      }
      // Default and namespace imports both mean "the module object": the runtime's modules have no other default.
      return `var ${spec.local.name} = ${required};`;
    })
    .join('\n');
}

function collectTopLevelNames(node: AcornNode, names: Set<string>, functions: Set<string>): void {
  if (node.type === 'FunctionDeclaration' || node.type === 'ClassDeclaration') {
    const id = (node as unknown as { id: { name: string } | null }).id;
    if (id) {
      names.add(id.name);
      if (node.type === 'FunctionDeclaration') functions.add(id.name);
    }
  } else if (node.type === 'VariableDeclaration') {
    for (const d of (node as VariableDeclaration).declarations) if (d.id.type === 'Identifier') names.add(d.id.name);
  }
}

/** Step 4: top-level `var x = require('m')` declarators become `import x from 'm'` lines placed first. */
function requiresToImports(script: string): string {
  const program = parse(script, { ecmaVersion: 'latest', sourceType: 'script' }) as Program;
  const imports: string[] = [];
  const edits: Array<{ start: number; end: number; text: string }> = [];
  for (const node of program.body) {
    if (node.type !== 'VariableDeclaration') continue;
    const kept: string[] = [];
    let changed = false;
    for (const d of node.declarations) {
      const module = d.id.type === 'Identifier' ? requiredModule(d.init) : undefined;
      if (module !== undefined && d.id.type === 'Identifier') {
        imports.push(`import ${d.id.name} from ${JSON.stringify(module)};`);
        changed = true;
      } else {
        kept.push(script.slice(d.start, d.end));
      }
    }
    if (!changed) continue;
    edits.push({ start: node.start, end: node.end, text: kept.length === 0 ? '' : `${node.kind} ${kept.join(',')};` });
  }
  if (imports.length === 0) return script;
  const body = applyEdits(script, edits).replace(/^\s*;?\s*/, '');
  return `${imports.join('\n')}\n${body}`;
}

function requiredModule(init: AcornNode | null | undefined): string | undefined {
  if (!init || init.type !== 'CallExpression') return undefined;
  const call = init as unknown as { callee: AcornNode & { name?: string }; arguments: Array<AcornNode & { value?: unknown }> };
  if (call.callee.type !== 'Identifier' || call.callee.name !== 'require' || call.arguments.length !== 1) return undefined;
  const arg = call.arguments[0] as AcornNode & { value?: unknown };
  return arg.type === 'Literal' && typeof arg.value === 'string' && (BUILTIN_MODULES as readonly string[]).includes(arg.value) ? arg.value : undefined;
}

function applyEdits(text: string, edits: Array<{ start: number; end: number; text: string }>): string {
  let out = '';
  let at = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    out += text.slice(at, edit.start) + edit.text;
    at = edit.end;
  }
  return out + text.slice(at);
}
