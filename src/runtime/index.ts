/** The function engine: load CloudFront Functions code and run it per event. */
export { loadFunction, loadFunctionSync, loadFunctionOffThread, DEFAULT_RUNTIME, assertRuntime } from './function.js';
export { toTestResult } from './test-result.js';
export { DEFAULT_RUNTIME_LIMITS, resolveRuntimeLimits } from './limits.js';
export { normalizeTestEvent } from './test-event.js';
export { checkSource, prepareSource, type SourceProblem } from './checker.js';
export type * from './types.js';
export type * from './event.js';
