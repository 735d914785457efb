/**
 * console inside the isolate: only console.log exists, as in CloudFront, and an invocation's output is capped
 * (host.maxLogBytes, CloudFront's 10 KB) with a final line saying it was cut.
 */
import type { IsolateHost } from '../isolate-contract.js';

const jsonStringify = JSON.stringify;

/** The current invocation's lines (the dispatcher reads them when it finishes). */
export let logs: string[] = [];
let logBytes = 0;
let logTruncated = false;

/** Starts the log of a new invocation. */
export function startLogs(): void {
  logs = [];
  logBytes = 0;
  logTruncated = false;
}

function formatArg(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return '[Function]';
  try {
    const s = jsonStringify(v) as string | undefined;
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

/** The frozen console object; `host.maxLogBytes` is read at each call. */
export function createConsole(host: IsolateHost): { log: (...args: unknown[]) => void } {
  function log(...args: unknown[]): void {
    if (logTruncated) return;
    const parts: string[] = [];
    for (let i = 0; i < args.length; i++) parts.push(formatArg(args[i]));
    const line = parts.join(' ');
    // +1: the newline each line ends with in CloudFront's log.
    const size = line.length + 1;
    const maxLogBytes = host.maxLogBytes;
    if (logBytes + size > maxLogBytes) {
      const room = maxLogBytes - logBytes;
      if (room > 0) logs.push(line.slice(0, room));
      logs.push('[logs truncated at ' + maxLogBytes + ' bytes]');
      logTruncated = true;
      return;
    }
    logBytes += size;
    logs.push(line);
  }
  return Object.freeze({ log: log });
}
