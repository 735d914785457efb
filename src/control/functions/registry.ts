/**
 * The function registry moved to the state layer (`state/functions.ts` for the types and rules,
 * `state/sqlite/function-registry.ts` for the embedded backend); this module keeps the old import path working.
 */
export { FunctionRegistry } from '../../state/sqlite/function-registry.js';
export { DEFAULT_MAX_FUNCTIONS, FUNCTION_STAGES, isFunctionStage, stageEtag } from '../../state/functions.js';
export type {
  FunctionConfig,
  FunctionConfigInput,
  FunctionRegistryOptions,
  FunctionStage,
  FunctionStageView,
  FunctionStatus,
  FunctionVersion,
  LiveChangeListener,
  LiveVersion,
} from '../../state/functions.js';
