/** The HTTP edge: `startEdge`, the function-source contract, invalidation and the decision-trace channel. */
export { startEdge, type StartEdgeOptions, type EdgeServer } from './edge-server.js';
export { ConfigFunctionSource, type FunctionSource, type LiveFunction, type StoreResolver, type ConfigFunctionSourceOptions } from './function-source.js';
export { EDGE_REQUEST_CHANNEL, edgeRequestChannel, type EdgeTrace, type FunctionTrace } from './trace.js';
export { REQUEST_ID_HEADER, ERROR_HEADER } from './pipeline.js';
export { FunctionThrottle, DEFAULT_THROTTLE_LIMITS, type ThrottleLimits, type FunctionThrottleStats } from './function-throttle.js';
export { compilePathPattern } from './path-pattern.js';
