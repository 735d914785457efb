/**
 * The one-line message an error thrown by user code becomes: "Name: message at line L:C", the position being the
 * first stack frame in the user's script (USER_SCRIPT_FILENAME), so the message points at the user's own line
 * rather than into the runtime.
 */
import { USER_SCRIPT_FILENAME } from '../isolate-contract.js';

const jsonStringify = JSON.stringify;

export function describe(err: unknown): string {
  if (err instanceof Error) {
    let where = '';
    const stack = typeof err.stack === 'string' ? err.stack.split('\n') : [];
    for (let i = 1; i < stack.length; i++) {
      const line = stack[i] as string;
      // A frame "at fn (file:L:C)" or "at file:L:C". The literal stays here, not at module level: creating a regular
      // expression costs tens of µs, which every isolate load would pay, and most functions never throw.
      const m = /\((?:[^()]*?):(\d+):(\d+)\)$|at (?:[^()]*?):(\d+):(\d+)$/.exec(line);
      if (m && line.indexOf(USER_SCRIPT_FILENAME) !== -1) {
        where = ' at line ' + (m[1] || m[3]) + ':' + (m[2] || m[4]);
        break;
      }
    }
    return (err.name || 'Error') + ': ' + err.message + where;
  }
  // A thrown non-Error: its JSON, or its string form when it has none.
  try {
    return 'Uncaught ' + jsonStringify(err);
  } catch {
    return 'Uncaught ' + String(err);
  }
}
