/**
 * Problems found while (re)loading a dev project, as data and as the one-line form terminals and editors link to:
 * `file:line:col message` for code, `file: path: message` for the config, `file: message` for the rest.
 */
import { relative } from 'node:path';
import { isOpenFrontError } from '../../errors.js';

/** One thing wrong with one file. */
export interface DevProblem {
  /** Absolute path of the file at fault. */
  file: string;
  /** 1-based position in a function's code. */
  line?: number;
  column?: number;
  /** Where in the config file (`distributions[0].behaviors[1].origin`). */
  path?: string;
  /** The offending key of a store seed file. */
  key?: string;
  /** Stable error code, when there is one. */
  code?: string;
  message: string;
}

interface CodeProblem {
  line: number;
  column: number;
  message: string;
  code?: string;
}

interface ConfigProblem {
  path: string;
  message: string;
}

/** The problems `err` describes, attributed to `file` unless the error names its own file. */
export function problemsFromError(err: unknown, file: string): DevProblem[] {
  if (!isOpenFrontError(err)) return [{ file, message: err instanceof Error ? err.message : String(err) }];
  const at = typeof err.details.file === 'string' ? err.details.file : file;
  const listed = err.details.problems;
  if (Array.isArray(listed) && listed.length > 0) {
    return (listed as Array<CodeProblem | ConfigProblem>).map((p) =>
      'line' in p
        ? { file: at, line: p.line, column: p.column, code: p.code ?? err.code, message: p.message }
        : { file: at, path: p.path, code: err.code, message: p.message },
    );
  }
  const key = typeof err.details.key === 'string' ? err.details.key : undefined;
  return [{ file: at, ...(key === undefined ? {} : { key }), code: err.code, message: err.message }];
}

/** One line per problem, paths relative to `cwd`. */
export function formatProblem(problem: DevProblem, cwd: string): string {
  const file = relative(cwd, problem.file) || problem.file;
  if (problem.line !== undefined) return `${file}:${problem.line}:${problem.column ?? 0} ${problem.message}`;
  if (problem.path !== undefined) return `${file}: ${problem.path}: ${problem.message}`;
  return `${file}: ${problem.message}`;
}
