/** Picks the cache behavior of a request: the first path pattern that matches, else the default behavior. */
import type { BehaviorConfig } from '../config/types.js';
import { compilePathPattern, type PathMatcher } from './path-pattern.js';

export class BehaviorMatcher {
  readonly #ordered: Array<{ matches: PathMatcher; behavior: BehaviorConfig }>;
  readonly #fallback: BehaviorConfig;

  constructor(behaviors: readonly BehaviorConfig[], defaultBehavior: BehaviorConfig) {
    this.#ordered = behaviors.map((behavior) => ({ matches: compilePathPattern(behavior.pathPattern), behavior }));
    this.#fallback = defaultBehavior;
  }

  /** `path` is the request path as received, without the query string. */
  match(path: string): BehaviorConfig {
    for (const entry of this.#ordered) {
      if (entry.matches(path)) return entry.behavior;
    }
    return this.#fallback;
  }
}
