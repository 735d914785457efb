/**
 * The CloudFront Functions compatibility checker: rejects, per runtime version, what CloudFront would reject at
 * create/update time, so that code accepted here is accepted there. Pure and synchronous (no I/O).
 * The rules and the reasoning behind each choice are in docs/compatibility.md.
 */
import type { ErrorCode } from '../errors.js';
import type { RuntimeVersion } from './event.js';
import { DEFAULT_RUNTIME_LIMITS } from './limits.js';
import { parseForRuntime, parseLatest } from './checker/parse.js';
import { RUNTIME_PROFILES } from './checker/profiles.js';
import { checkHandler, defaultImports } from './checker/structure.js';
import { findUnsupportedSyntax } from './checker/syntax.js';
import type { Program } from 'acorn';

/** One reason CloudFront would reject the code. `line` and `column` are 1-based. */
export interface SourceProblem {
  line: number;
  column: number;
  message: string;
  code: ErrorCode;
}

/** Options shared by {@link checkSource} and {@link prepareSource}. */
export interface CheckOptions {
  /** Size limit in UTF-8 bytes; CloudFront's is 10 KB ({@link DEFAULT_RUNTIME_LIMITS}). */
  maxCodeBytes?: number;
}

/** All problems CloudFront would reject the code for; [] when accepted. Columns are 1-based, lines 1-based. */
export function checkSource(code: string, runtime: RuntimeVersion, options?: CheckOptions): SourceProblem[] {
  return analyse(code, runtime, options).problems;
}

/**
 * The checked code as a classic script for the sandbox, or the problems. `script` is the original text with each
 * top-level `import x from 'm'` replaced in place by `var x = require('m');` (the sandbox provides `require`);
 * line breaks inside an import are kept, so every later line:column of the code is unchanged.
 * Imports become plain statements evaluated where they stand, so top-level code placed above an import sees the
 * binding as `undefined` (CloudFront's docs put imports first).
 */
export type PreparedSource = { ok: true; script: string; imports: Array<{ local: string; module: string }> } | { ok: false; problems: SourceProblem[] };

/** checkSource + turn the code into a classic script the sandbox can run. */
export function prepareSource(code: string, runtime: RuntimeVersion, options?: CheckOptions): PreparedSource {
  const { problems, program } = analyse(code, runtime, options);
  if (problems.length > 0 || program === undefined) return { ok: false, problems };
  let script = '';
  let copiedUpTo = 0;
  const imports: Array<{ local: string; module: string }> = [];
  for (const { node, local, module } of defaultImports(program)) {
    // Module names come from the runtime's fixed list, so quoting them needs no escaping.
    const lineBreaks = code.slice(node.start, node.end).match(/\r\n|[\n\r\u2028\u2029]/g) ?? [];
    script += code.slice(copiedUpTo, node.start) + `var ${local} = require('${module}');` + lineBreaks.join('');
    copiedUpTo = node.end;
    imports.push({ local, module });
  }
  script += code.slice(copiedUpTo);
  return { ok: true, script, imports };
}

function analyse(code: string, runtime: RuntimeVersion, options: CheckOptions = {}): { problems: SourceProblem[]; program?: Program } {
  const profile = RUNTIME_PROFILES[runtime];
  if (profile === undefined) {
    return { problems: [{ line: 1, column: 1, message: `Unknown runtime '${String(runtime)}'`, code: 'FUNCTION_RUNTIME_UNKNOWN' }] };
  }
  const maxCodeBytes = options.maxCodeBytes ?? DEFAULT_RUNTIME_LIMITS.maxCodeBytes;
  const size = Buffer.byteLength(code, 'utf8');
  if (size > maxCodeBytes) {
    return {
      problems: [
        {
          line: 1,
          column: 1,
          message: `The function code is ${size} bytes, more than the limit of ${maxCodeBytes} bytes`,
          code: 'FUNCTION_SIZE_LIMIT_EXCEEDED',
        },
      ],
    };
  }

  const parsed = parseForRuntime(code, profile);
  if (parsed.ok) {
    const problems = [...findUnsupportedSyntax(parsed.program, code, profile), ...checkHandler(parsed.program)];
    return { problems: sortByPosition(problems), program: parsed.program };
  }
  // The runtime's edition could not parse it. If the newest edition can, the code uses a feature the runtime lacks:
  // report that feature by name. Otherwise it is plain invalid JavaScript.
  const latest = parseLatest(code);
  if (latest.ok) {
    const unsupported = findUnsupportedSyntax(latest.program, code, profile);
    if (unsupported.length > 0) return { problems: sortByPosition([...unsupported, ...checkHandler(latest.program)]) };
  }
  return { problems: [parsed.problem] };
}

function sortByPosition(problems: SourceProblem[]): SourceProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}
