/**
 * Engine limits. Defaults match CloudFront where CloudFront publishes a number; where it does not, the value is
 * our documented choice (README "Limits").
 */
import type { RuntimeLimits } from './types.js';

export const DEFAULT_RUNTIME_LIMITS = {
  /** CloudFront: "Maximum size of a function: 10 KB" (not adjustable). */
  maxCodeBytes: 10 * 1024,
  /**
   * CloudFront does not publish the budget behind ComputeUtilization; ~1 ms is the commonly quoted figure, so
   * ComputeUtilization 100 means the invocation used 1 ms.
   */
  cpuBudgetMicros: 1_000,
  /** Runaway code is killed at 20x the budget: generous for cold JIT, still short enough to protect the edge. */
  killAfterMicros: 20_000,
  /** CloudFront allows 2 MB; a V8 isolate cannot be capped below 8 MB. */
  memoryLimitMb: 8,
  /** CloudFront truncates function logs at 10 KB per invocation. */
  maxLogBytes: 10 * 1024,
} as const satisfies RuntimeLimits;

export function resolveRuntimeLimits(overrides: Partial<RuntimeLimits> = {}): RuntimeLimits {
  const limits = { ...DEFAULT_RUNTIME_LIMITS, ...overrides };
  if (overrides.cpuBudgetMicros !== undefined && overrides.killAfterMicros === undefined) {
    limits.killAfterMicros = Math.max(limits.cpuBudgetMicros * 20, DEFAULT_RUNTIME_LIMITS.killAfterMicros);
  }
  return limits;
}
