/**
 * Bounds the function runs API callers can start (TestFunction): at most `concurrency` at once, at most `queue`
 * waiting, and every caller beyond that answered at once with a throttling error the AWS SDKs retry with backoff.
 * Without it, any access key could keep every core busy with code under test while the edge serves viewers.
 */
import { OpenFrontError } from '../../errors.js';

export interface RunLimits {
  /** Runs at once. */
  concurrency: number;
  /** Runs waiting for a slot; one more is refused with CF_TEST_FUNCTION_THROTTLED (429 Throttling). */
  queue: number;
}

/**
 * One run at a time leaves the other core(s) to the edge; a few waiting absorb a CI job's burst of golden tests.
 * A waiting run starts within `queue × kill limit` (8 × 20 ms + the loads) of its turn.
 */
export const DEFAULT_TEST_RUN_LIMITS: RunLimits = { concurrency: 1, queue: 8 };

export interface RunLimiterStats {
  running: number;
  queued: number;
  /** Runs refused because the queue was full, since start. */
  throttled: number;
  /** Runs completed (successfully or not), since start. */
  completed: number;
}

export class RunLimiter {
  readonly limits: RunLimits;
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  #throttled = 0;
  #completed = 0;

  constructor(limits: Partial<RunLimits> = {}) {
    this.limits = { ...DEFAULT_TEST_RUN_LIMITS, ...limits };
    if (!(this.limits.concurrency >= 1) || !(this.limits.queue >= 0)) {
      throw new OpenFrontError('CONFIG_INVALID', `Function run limits need concurrency >= 1 and queue >= 0, got ${JSON.stringify(this.limits)}`);
    }
  }

  /** Runs `task` when a slot is free; rejects with CF_TEST_FUNCTION_THROTTLED at once when the queue is full. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.limits.concurrency) {
      if (this.#waiting.length >= this.limits.queue) {
        this.#throttled++;
        throw new OpenFrontError(
          'CF_TEST_FUNCTION_THROTTLED',
          `Too many function test runs: ${this.limits.concurrency} running and ${this.limits.queue} waiting; retry later`,
          { concurrency: this.limits.concurrency, queue: this.limits.queue },
        );
      }
      // The slot is handed over by the run that frees it: #running stays counted for us.
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      this.#completed++;
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#running--;
    }
  }

  stats(): RunLimiterStats {
    return { running: this.#running, queued: this.#waiting.length, throttled: this.#throttled, completed: this.#completed };
  }
}
