/**
 * Parsing function code the way the runtime would: at the runtime's ECMAScript edition, always strict, with a
 * second, most-recent-edition parse kept for naming the feature when the first one fails.
 */
import { getLineInfo, parse, type Options, type Program } from 'acorn';
import type { SourceProblem } from '../checker.js';
import type { RuntimeProfile } from './profiles.js';

export type ParseResult = { ok: true; program: Program } | { ok: false; problem: SourceProblem };

/** Parses as the runtime's edition would; a failure becomes a FUNCTION_COMPILE_ERROR at acorn's position. */
export function parseForRuntime(code: string, profile: RuntimeProfile): ParseResult {
  return tryParse(code, {
    ecmaVersion: profile.ecmaVersion,
    sourceType: profile.sourceType,
    // CloudFront runs all code in strict mode; modules are strict already, scripts need telling.
    strict: true,
  });
}

/**
 * Parses with every syntax acorn knows, as a module. Code that fails the runtime's own parse often uses a newer
 * feature (`?.` in 1.0, class fields, top-level await…); this tree lets the syntax pass name it and point at it.
 */
export function parseLatest(code: string): ParseResult {
  return tryParse(code, { ecmaVersion: 'latest', sourceType: 'module', strict: true });
}

function tryParse(code: string, options: Pick<Options, 'ecmaVersion' | 'sourceType' | 'strict'>): ParseResult {
  try {
    // No `locations`: they cost ~15% of the parse and only the few offending nodes need one (see positionAt).
    return { ok: true, program: parse(code, { ...options, locations: false, allowHashBang: false }) };
  } catch (err) {
    return { ok: false, problem: compileProblem(err) };
  }
}

interface AcornSyntaxError extends Error {
  loc?: { line: number; column: number };
}

function compileProblem(err: unknown): SourceProblem {
  if (!(err instanceof SyntaxError)) throw err;
  const loc = (err as AcornSyntaxError).loc ?? { line: 1, column: 0 };
  // acorn appends "(line:column)" to its messages; the problem carries the position separately.
  const message = err.message.replace(/\s*\(\d+:\d+\)$/, '');
  return { line: loc.line, column: loc.column + 1, message, code: 'FUNCTION_COMPILE_ERROR' };
}

/** 1-based line and column of a UTF-16 offset into `code` (columns count UTF-16 code units, like editors and V8). */
export function positionAt(code: string, offset: number): { line: number; column: number } {
  const { line, column } = getLineInfo(code, offset);
  return { line, column: column + 1 };
}
