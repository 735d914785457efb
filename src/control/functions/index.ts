/**
 * The function lifecycle on the control plane: the durable registry (versions, DEVELOPMENT/LIVE stages, publish,
 * rollback) and its HTTP routes (CloudFront REST-XML and OpenFront's native JSON). What the edge runs is loaded from
 * the registry by `LiveFunctions` in the composition root (`src/node/`).
 */
import type { ReplicaSet } from '../../kvs/replica.js';
import type { RuntimeLimits } from '../../runtime/types.js';
import type { RouteGroup } from '../http/router.js';
import { registerFunctionNativeRoutes } from './native-routes.js';
import type { FunctionRegistry } from './registry.js';
import { registerFunctionXmlRoutes } from './rest-xml-routes.js';

export { FunctionRegistry, stageEtag, FUNCTION_STAGES, DEFAULT_MAX_FUNCTIONS } from './registry.js';
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
} from './registry.js';
export { unifiedDiff } from './diff.js';
export { FUNCTION_PATH } from './rest-xml-routes.js';
export { NATIVE_FUNCTIONS_PATH, type FunctionVersionJson, type StagePointerJson } from './native-routes.js';

/**
 * The function API as one route group for `startApiServer({ routes })`: the CloudFront operations under
 * `/2020-05-31/function` and the native history routes under `/openfront/v1/functions`. `registry` must be built on
 * the same database the server is given; TestFunction reads stores through `replicas`.
 */
export function functionRouteGroup(registry: FunctionRegistry, replicas: ReplicaSet, options: { limits?: Partial<RuntimeLimits> } = {}): RouteGroup {
  return (router, { db }) => {
    registerFunctionXmlRoutes(router, { registry, replicas, db, limits: options.limits });
    registerFunctionNativeRoutes(router, registry);
  };
}
