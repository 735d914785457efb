/**
 * The function lifecycle on the control plane: the durable registry (versions, DEVELOPMENT/LIVE stages, publish,
 * rollback) and its HTTP routes (CloudFront REST-XML and OpenFront's native JSON). What the edge runs is loaded from
 * the registry by `LiveFunctions` in the composition root (`src/node/`).
 */
import type { RuntimeLimits } from '../../runtime/types.js';
import type { RouteGroup } from '../http/router.js';
import { registerFunctionNativeRoutes } from './native-routes.js';
import type { FunctionState } from '../../state/types.js';
import { registerFunctionXmlRoutes } from './rest-xml-routes.js';
import { RunLimiter, type RunLimits } from './run-limiter.js';
import type { StoreReader } from './test-run.js';

export { FunctionRegistry } from '../../state/sqlite/function-registry.js';
export { stageEtag, FUNCTION_STAGES, DEFAULT_MAX_FUNCTIONS } from '../../state/functions.js';
export type { StoreReader } from './test-run.js';
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
export { unifiedDiff } from './diff.js';
export { RunLimiter, DEFAULT_TEST_RUN_LIMITS, type RunLimits, type RunLimiterStats } from './run-limiter.js';
export { FUNCTION_PATH } from './rest-xml-routes.js';
export { NATIVE_FUNCTIONS_PATH, type FunctionVersionJson, type StagePointerJson } from './native-routes.js';

/**
 * The function API as one route group for `startApiServer({ routes })`: the CloudFront operations under
 * `/2020-05-31/function` and the native history routes under `/openfront/v1/functions`. `registry` must be the
 * functions of the state the server is given; TestFunction reads stores through `replicas`.
 */
export function functionRouteGroup(
  registry: FunctionState,
  replicas: StoreReader,
  options: { limits?: Partial<RuntimeLimits>; testRuns?: Partial<RunLimits> } = {},
): RouteGroup {
  const testRuns = new RunLimiter(options.testRuns);
  return (router, { state }) => {
    registerFunctionXmlRoutes(router, { registry, replicas, stores: state.stores, limits: options.limits, testRuns });
    registerFunctionNativeRoutes(router, registry);
  };
}
