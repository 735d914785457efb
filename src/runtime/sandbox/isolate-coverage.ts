/**
 * V8's precise block coverage of the function's own script, read through the isolate's inspector
 * (`openfront test --coverage`, docs/test.md).
 *
 * Only ever on request: an isolate gets an inspector (`inspector: true`) only when coverage was asked for, because
 * an attached inspector slows every invocation and is a debugging surface. The session is held by the host alone;
 * nothing of it is reachable from inside the isolate.
 */
import type ivm from 'isolated-vm';
import { OpenFrontError } from '../../errors.js';
import { releaseAndCollectAtExit } from './exit-guard.js';

/** One range of V8's block coverage: `count` executions of [startOffset, endOffset) of the script. */
export interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}

/** One function of the script with its ranges; the first range is the whole function. */
export interface FunctionCoverage {
  functionName: string;
  ranges: CoverageRange[];
  isBlockCoverage: boolean;
}

interface ScriptCoverage {
  url: string;
  functions: FunctionCoverage[];
}

interface ProtocolResponse {
  id: number;
  result?: { result?: ScriptCoverage[] };
  error?: { message: string };
}

/** How long an inspector command may take before the coverage is given up as broken. */
const COMMAND_TIMEOUT_MS = 10_000;

/**
 * Sessions not disposed yet. isolated-vm aborts the process when an isolate goes away with an inspector session
 * still attached (https://github.com/laverdet/isolated-vm/issues/497); the exit guard closes whatever is still
 * open at exit, then collects (exit-guard.ts says why a process with sessions needs that even unprofiled).
 */
const openSessions = new Set<InspectorCoverage>();
let closeAtExit = false;

function track(coverage: InspectorCoverage): void {
  openSessions.add(coverage);
  if (closeAtExit) return;
  closeAtExit = true;
  releaseAndCollectAtExit(() => {
    for (const open of [...openSessions]) open.dispose();
  });
}

export class InspectorCoverage {
  readonly #session: ivm.InspectorSession;
  readonly #pending = new Map<number, (response: ProtocolResponse) => void>();
  #lastId = 0;
  #disposed = false;

  private constructor(isolate: ivm.Isolate) {
    this.#session = isolate.createInspectorSession();
    this.#session.onResponse = (callId, message) => {
      const resolve = this.#pending.get(callId);
      this.#pending.delete(callId);
      resolve?.(JSON.parse(message) as ProtocolResponse);
    };
    this.#session.onNotification = () => {};
    track(this);
  }

  /**
   * Starts precise block coverage in `isolate` (created with `inspector: true`). Scripts compiled after the
   * returned promise settles are covered block by block; the function's script must be compiled after it.
   */
  static async start(isolate: ivm.Isolate): Promise<InspectorCoverage> {
    const coverage = new InspectorCoverage(isolate);
    try {
      await coverage.#command('Profiler.enable');
      await coverage.#command('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
    } catch (err) {
      coverage.dispose();
      throw err;
    }
    return coverage;
  }

  /** The counts of the script named `filename` since the previous take (V8 resets them on each take). */
  async take(filename: string): Promise<FunctionCoverage[]> {
    const response = await this.#command('Profiler.takePreciseCoverage');
    return response.result?.result?.find((script) => script.url === filename)?.functions ?? [];
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    openSessions.delete(this);
    try {
      this.#session.dispose();
    } catch {
      // The isolate is already gone, and its sessions with it.
    }
    for (const resolve of this.#pending.values()) resolve({ id: 0, error: { message: 'the coverage session was closed' } });
    this.#pending.clear();
  }

  #command(method: string, params?: object): Promise<ProtocolResponse> {
    if (this.#disposed) return Promise.reject(new OpenFrontError('FUNCTION_COVERAGE_UNAVAILABLE', 'the coverage session was closed'));
    const id = ++this.#lastId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new OpenFrontError('FUNCTION_COVERAGE_UNAVAILABLE', `the isolate's inspector did not answer ${method}`));
      }, COMMAND_TIMEOUT_MS);
      this.#pending.set(id, (response) => {
        clearTimeout(timer);
        if (response.error) reject(new OpenFrontError('FUNCTION_COVERAGE_UNAVAILABLE', `${method}: ${response.error.message}`));
        else resolve(response);
      });
      this.#session.dispatchProtocolMessage(JSON.stringify({ id, method, ...(params ? { params } : {}) }));
    });
  }
}
