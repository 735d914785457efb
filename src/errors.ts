/**
 * One registry of every error OpenFront reports (docs/errors.md lists them; test/unit/error-catalog.test.ts keeps the
 * two in step and checks that src/ raises no error outside this catalog).
 *
 * Each entry has a stable code (never reused once retired), the HTTP status an API or the edge answers with, the
 * AWS error type the AWS-compatible APIs put on the wire (for edge errors: the `x-openfront-error` header value), and
 * a default message. Entries with a `page` are what the edge can answer a viewer with: the title and text of its
 * error page. Tests assert codes, not prose.
 */
export const ErrorCatalog = {
  // --- function engine (runtime/) ---
  FUNCTION_SIZE_LIMIT_EXCEEDED: { status: 413, awsType: 'FunctionSizeLimitExceeded', message: 'The function code is larger than the 10 KB limit' },
  FUNCTION_SYNTAX_UNSUPPORTED: { status: 400, awsType: 'InvalidArgument', message: 'The function uses syntax the runtime does not support' },
  FUNCTION_COMPILE_ERROR: { status: 400, awsType: 'InvalidArgument', message: 'The function code does not compile' },
  FUNCTION_NO_HANDLER: { status: 400, awsType: 'InvalidArgument', message: 'The function code does not declare a top-level function named handler' },
  FUNCTION_RUNTIME_UNKNOWN: { status: 400, awsType: 'InvalidArgument', message: 'Unknown function runtime' },
  FUNCTION_EXECUTION_ERROR: {
    status: 503,
    awsType: 'FunctionExecutionError',
    message: 'The function failed while running',
    page: { title: '503 ERROR', detail: 'The CloudFront function associated with the cache behavior failed while running.' },
  },
  FUNCTION_CPU_LIMIT_EXCEEDED: { status: 503, awsType: 'FunctionExecutionError', message: 'The function exceeded its CPU time budget' },
  FUNCTION_MEMORY_LIMIT_EXCEEDED: { status: 503, awsType: 'FunctionExecutionError', message: 'The function exceeded its memory limit' },
  FUNCTION_THROTTLED: {
    status: 503,
    awsType: 'FunctionThrottled',
    message: 'The function keeps exceeding its limits for this input and is throttled',
    page: {
      title: '503 ERROR',
      detail: 'The CloudFront function associated with the cache behavior keeps exceeding its limits for this request and is throttled.',
    },
  },
  FUNCTION_VALIDATION_ERROR: {
    status: 502,
    awsType: 'FunctionValidationError',
    message: 'The function returned an invalid result',
    page: { title: '502 ERROR', detail: 'The CloudFront function returned an invalid value to CloudFront.' },
  },
  FUNCTION_COVERAGE_UNAVAILABLE: { status: 400, awsType: 'InvalidArgument', message: 'Coverage could not be collected' },
  EVENT_INVALID: { status: 400, awsType: 'InvalidArgument', message: 'The event object is invalid' },

  // --- HTTP edge (edge/): the error page and x-openfront-error header a viewer gets ---
  EDGE_DISTRIBUTION_NOT_FOUND: {
    status: 403,
    awsType: 'DistributionNotFound',
    message: 'No distribution answers for this host name',
    page: { title: '403 ERROR', detail: 'Bad request. No distribution answers for this host name.' },
  },
  EDGE_ORIGIN_CONNECT_ERROR: {
    status: 502,
    awsType: 'OriginConnectError',
    message: 'The origin could not be reached',
    page: { title: '502 ERROR', detail: "OpenFront wasn't able to connect to the origin." },
  },
  EDGE_ORIGIN_TIMEOUT: {
    status: 504,
    awsType: 'OriginTimeout',
    message: 'The origin did not respond in time',
    page: { title: '504 Gateway Timeout ERROR', detail: 'The origin did not respond in time.' },
  },
  EDGE_BAD_REQUEST: {
    status: 400,
    awsType: 'BadRequest',
    message: 'The request target or Host header is malformed',
    page: { title: '400 ERROR', detail: 'Bad request. The request target or Host header is malformed.' },
  },
  EDGE_METHOD_NOT_ALLOWED: {
    status: 405,
    awsType: 'MethodNotAllowed',
    message: 'This method is not served by a distribution',
    page: { title: '405 ERROR', detail: 'This method is not served by a distribution.' },
  },
  EDGE_REQUEST_TOO_LARGE: {
    status: 413,
    awsType: 'RequestTooLarge',
    message: 'The request line and headers exceed 20,480 bytes, or the URL exceeds 8,192 bytes',
    page: { title: '413 ERROR', detail: 'Bad request. The request headers or the URL are too large.' },
  },
  EDGE_GET_WITH_BODY: {
    status: 403,
    awsType: 'InvalidRequest',
    message: 'A GET request has a body',
    page: { title: '403 ERROR', detail: 'Bad request. A GET request cannot have a body.' },
  },
  EDGE_HTTPS_REQUIRED: {
    status: 403,
    awsType: 'HttpsRequired',
    message: 'This behavior is served over HTTPS only',
    page: { title: '403 ERROR', detail: 'Bad request. This content is served over HTTPS only.' },
  },
  EDGE_CERTIFICATE_INVALID: {
    status: 400,
    awsType: 'InvalidViewerCertificate',
    message: 'A viewer certificate or its private key cannot be used',
  },
  EDGE_ORIGIN_UNKNOWN: { status: 502, awsType: 'FunctionValidationError', message: 'The function selected an origin the distribution does not have' },

  // --- KeyValueStore data plane (kvs/, control/) ---
  KVS_VALIDATION: { status: 400, awsType: 'ValidationException', message: 'Validation failed' },
  KVS_QUOTA_EXCEEDED: { status: 402, awsType: 'ServiceQuotaExceededException', message: 'A KeyValueStore limit was exceeded' },
  KVS_ACCESS_DENIED: { status: 403, awsType: 'AccessDeniedException', message: 'Access denied' },
  KVS_NOT_FOUND: { status: 404, awsType: 'ResourceNotFoundException', message: 'The resource was not found' },
  KVS_CONFLICT: { status: 409, awsType: 'ConflictException', message: 'Resource is not in expected state' },
  KVS_INTERNAL: { status: 500, awsType: 'InternalServerException', message: 'Internal server error' },
  // history (docs/safe-changes.md): a version before what the store's history keeps, or after its current one.
  KVS_VERSION_EXPIRED: { status: 410, awsType: 'VersionExpired', message: 'The version is no longer kept in the store history' },
  KVS_VERSION_NOT_FOUND: { status: 404, awsType: 'ResourceNotFoundException', message: 'The store has no such version yet' },
  // Value schemas (docs/safe-changes.md, "Value schemas").
  KVS_SCHEMA_VIOLATION: { status: 400, awsType: 'ValidationException', message: "A value does not match the store's value schema" },
  KVS_SCHEMA_INVALID: { status: 400, awsType: 'ValidationException', message: 'The value schema is invalid' },
  KVS_SCHEMA_NONCONFORMING: { status: 409, awsType: 'ConflictException', message: 'Values already stored do not match the new value schema' },

  // --- CloudFront control plane (control/) ---
  CF_ACCESS_DENIED: { status: 403, awsType: 'AccessDenied', message: 'Access denied' },
  AUTH_FAILED: { status: 403, awsType: 'AccessDenied', message: 'The request could not be authenticated' },
  CF_INVALID_ARGUMENT: { status: 400, awsType: 'InvalidArgument', message: 'An argument is invalid' },
  CF_ENTITY_ALREADY_EXISTS: { status: 409, awsType: 'EntityAlreadyExists', message: 'The entity already exists' },
  CF_ENTITY_NOT_FOUND: { status: 404, awsType: 'EntityNotFound', message: 'The entity was not found' },
  CF_ENTITY_LIMIT_EXCEEDED: { status: 400, awsType: 'EntityLimitExceeded', message: 'Too many entities' },
  CF_ENTITY_SIZE_LIMIT_EXCEEDED: { status: 413, awsType: 'EntitySizeLimitExceeded', message: 'The entity is too large' },
  CF_IN_USE: { status: 409, awsType: 'CannotDeleteEntityWhileInUse', message: 'The entity is in use' },
  CF_INVALID_IF_MATCH: { status: 400, awsType: 'InvalidIfMatchVersion', message: 'The If-Match version is missing or not valid' },
  CF_PRECONDITION_FAILED: { status: 412, awsType: 'PreconditionFailed', message: 'The If-Match version does not match the current version' },
  CF_UNSUPPORTED_OPERATION: { status: 400, awsType: 'UnsupportedOperation', message: 'This operation is not supported' },
  CF_FUNCTION_ALREADY_EXISTS: { status: 409, awsType: 'FunctionAlreadyExists', message: 'A function with this name already exists' },
  CF_NO_SUCH_FUNCTION: { status: 404, awsType: 'NoSuchFunctionExists', message: 'The function does not exist' },
  CF_FUNCTION_IN_USE: { status: 409, awsType: 'FunctionInUse', message: 'The function is in use' },
  CF_TOO_MANY_FUNCTIONS: { status: 400, awsType: 'TooManyFunctions', message: 'Too many functions' },
  CF_TEST_FUNCTION_THROTTLED: { status: 429, awsType: 'Throttling', message: 'Too many function test runs at once; retry later' },
  CF_TEST_FUNCTION_FAILED: { status: 500, awsType: 'TestFunctionFailed', message: 'The test could not be run' },
  FUNCTION_VERSION_NOT_FOUND: { status: 404, awsType: 'NoSuchFunctionVersion', message: 'The function version does not exist' },

  // --- native API, config, CLI ---
  NOT_FOUND: { status: 404, awsType: 'NotFound', message: 'Not found' },
  BAD_REQUEST: { status: 400, awsType: 'BadRequest', message: 'Bad request' },
  PAYLOAD_TOO_LARGE: { status: 413, awsType: 'PayloadTooLarge', message: 'The request body is too large' },
  TOO_MANY_STREAMS: { status: 429, awsType: 'TooManyStreams', message: 'Too many live decision streams are open' },
  API_BUSY: { status: 503, awsType: 'ServiceUnavailable', message: 'The API is busy: retry later' },
  PROPAGATION_TIMEOUT: {
    status: 504,
    awsType: 'PropagationTimeout',
    message: 'The write was committed, but not every live edge served it before the wait timed out',
  },
  CONFIG_INVALID: { status: 400, awsType: 'InvalidConfiguration', message: 'The configuration is invalid' },
  RELOAD_IN_PROGRESS: { status: 409, awsType: 'ReloadInProgress', message: 'A config reload is already running; retry when it has finished' },
  RELOAD_UNAVAILABLE: { status: 409, awsType: 'ReloadUnavailable', message: 'This node has no config file to reload' },
  INPUT_INVALID: { status: 400, awsType: 'InvalidInput', message: 'The input is invalid' },
  POLICY_INVALID: { status: 400, awsType: 'InvalidArgument', message: 'The access-key policy is invalid' },
  OWNERSHIP_INVALID: { status: 400, awsType: 'InvalidArgument', message: 'The owner or labels are invalid' },
  TEST_CASE_INVALID: { status: 400, awsType: 'InvalidInput', message: 'The golden test case is invalid' },
  BUILD_FAILED: { status: 400, awsType: 'InvalidInput', message: 'The function could not be built' },
  DATABASE_VERSION_UNSUPPORTED: { status: 500, awsType: 'InternalError', message: 'The database was written by a newer OpenFront' },
  CLI_USAGE: { status: 400, awsType: 'InvalidInput', message: 'The command line is invalid' },
  CLI_API_UNREACHABLE: { status: 503, awsType: 'ServiceUnavailable', message: 'The OpenFront API cannot be reached' },
  CLI_API_ERROR: { status: 502, awsType: 'ApiError', message: 'The OpenFront API refused the request' },
  CLI_EDGE_UNREACHABLE: { status: 503, awsType: 'ServiceUnavailable', message: 'The OpenFront edge cannot be reached' },
  CLI_EDGE_ANSWER_INVALID: { status: 502, awsType: 'InvalidResponse', message: 'The edge did not answer with a decision' },
  CLI_API_RESPONSE_INVALID: { status: 502, awsType: 'InvalidResponse', message: 'The OpenFront API answered with something that is not JSON' },
  DRY_RUN_NO_TRAFFIC: { status: 409, awsType: 'NoRecordedTraffic', message: 'The distribution has no recorded traffic to replay' },
  DRY_RUN_IN_PROGRESS: { status: 429, awsType: 'DryRunInProgress', message: 'A dry run is already running on this node; retry later' },
  RELEASE_NOT_FOUND: { status: 404, awsType: 'ReleaseNotFound', message: 'The release does not exist' },
  RELEASE_CONFLICT: { status: 412, awsType: 'PreconditionFailed', message: 'A store or function changed since the release was prepared' },
  RELEASE_STATE_INVALID: { status: 409, awsType: 'ReleaseStateConflict', message: 'The release is not in a status that allows this' },
  RELEASES_UNAVAILABLE: { status: 501, awsType: 'NotImplemented', message: 'Releases are not available on this state backend' },
  STATE_UNAVAILABLE: { status: 503, awsType: 'ServiceUnavailableException', message: 'The state service (NATS) cannot be reached: retry later' },
  INTERNAL: {
    status: 500,
    awsType: 'InternalError',
    message: 'Internal error',
    page: { title: '500 ERROR', detail: 'The edge failed while handling the request.' },
  },
} as const satisfies Record<string, CatalogEntry>;

interface CatalogEntry {
  status: number;
  awsType: string;
  message: string;
  /** For errors the edge answers a viewer with: the title and text of the error page. */
  page?: { title: string; detail: string };
}

export type ErrorCode = keyof typeof ErrorCatalog;

/** The codes the edge can answer a viewer with (those with an error page). */
export type EdgeErrorCode = { [K in ErrorCode]: (typeof ErrorCatalog)[K] extends { page: object } ? K : never }[ErrorCode];

const OPENFRONT_ERROR = Symbol.for('openfront.error');

/** An error with a stable code from {@link ErrorCatalog}. `isOpenFrontError` survives duplicate module copies. */
export class OpenFrontError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly awsType: string;
  /** Extra machine-readable facts (offending key, line/column, …). */
  readonly details: Record<string, unknown>;
  readonly [OPENFRONT_ERROR] = true;

  constructor(code: ErrorCode, message?: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    const entry = ErrorCatalog[code];
    super(message ?? entry.message, options);
    this.name = 'OpenFrontError';
    this.code = code;
    this.status = entry.status;
    this.awsType = entry.awsType;
    this.details = details;
  }
}

export function isOpenFrontError(err: unknown): err is OpenFrontError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[OPENFRONT_ERROR] === true;
}

export function openFrontError(code: ErrorCode, message?: string, details?: Record<string, unknown>): OpenFrontError {
  return new OpenFrontError(code, message, details);
}

/**
 * An error as the function's own JavaScript sees it (a KVS read with no store, an unsupported digest algorithm …):
 * a plain `Error`, as CloudFront's runtime throws, not a product error. Its stack holds only its message, so host
 * file paths and frames never reach the function.
 */
export function errorForFunction(message: string): Error {
  const err = new Error(message);
  err.stack = `Error: ${message}`;
  return err;
}
