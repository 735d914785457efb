/**
 * Replaced function versions that requests may still hold. Each is freed as soon as its last invocation returns
 * (`retire()`: an idle replaced isolate would otherwise hold ~2.4 MB on Node 24 through the whole grace period, see
 * docs/node-versions.md), and disposed for good once the grace period has passed, which must exceed an
 * invocation's kill-after limit.
 */
import type { CloudFrontFunction } from './types.js';

export const DEFAULT_RETIRE_AFTER_MS = 5_000;

export class RetiredFunctions {
  readonly #graceMs: number;
  readonly #held = new Set<CloudFrontFunction>();

  constructor(graceMs: number = DEFAULT_RETIRE_AFTER_MS) {
    this.#graceMs = graceMs;
  }

  add(fn: CloudFrontFunction): void {
    fn.retire?.();
    this.#held.add(fn);
    const timer = setTimeout(() => {
      this.#held.delete(fn);
      fn.dispose();
    }, this.#graceMs);
    timer.unref();
  }

  /** Disposes every one still held now (the owner is closing). */
  disposeAll(): void {
    for (const fn of this.#held) fn.dispose();
    this.#held.clear();
  }
}
