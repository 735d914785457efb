/**
 * Functions as every state backend keeps them: CloudFront Functions with immutable versions and two stages
 * (DEVELOPMENT, LIVE). The types and the rules shared by the backends (names, configs, code checks, stage ETags)
 * live here so that the SQLite registry and the JetStream registry refuse the same input with the same error.
 */
import { createHash } from 'node:crypto';
import { openFrontError } from '../errors.js';
import { checkSource } from '../runtime/checker.js';
import { RUNTIMES, type RuntimeVersion } from '../runtime/event.js';
import { sourceProblemsError } from '../runtime/function.js';

export const FUNCTION_STAGES = ['DEVELOPMENT', 'LIVE'] as const;
export type FunctionStage = (typeof FUNCTION_STAGES)[number];

/** FunctionSummary.Status as CloudFront reports it. */
export type FunctionStatus = 'UNPUBLISHED' | 'UNASSOCIATED' | 'DEPLOYED';

/** CloudFront's FunctionConfig: what a version was written with. */
export interface FunctionConfig {
  comment: string;
  runtime: RuntimeVersion;
  /** ARN of the associated KeyValueStore (CloudFront allows at most one). */
  keyValueStoreArn?: string;
}

/** FunctionConfig as received from a client, before validation. */
export interface FunctionConfigInput {
  comment?: string;
  runtime: string;
  /** KeyValueStoreAssociations items: at most one ARN, of an existing store. */
  keyValueStoreArns?: readonly string[];
}

/** One immutable version of a function. */
export interface FunctionVersion {
  version: number;
  /** sha256 of the UTF-8 code, hex. */
  sha256: string;
  /** UTF-8 bytes of the code. */
  size: number;
  config: FunctionConfig;
  /** Access key id of the writer. */
  createdBy: string;
  created: Date;
  /** Stages pointing at this version now. */
  stages: FunctionStage[];
}

/** A function as seen through one stage: what DescribeFunction returns. */
export interface FunctionStageView {
  name: string;
  arn: string;
  stage: FunctionStage;
  status: FunctionStatus;
  /** The version the stage points at. */
  version: number;
  /** The stage's ETag (If-Match value for writes addressed to this stage). */
  etag: string;
  config: FunctionConfig;
  sha256: string;
  /** When the function was created. */
  created: Date;
  /** When this stage last moved. */
  lastModified: Date;
  /** perms (issue 15): who answers for the function (default: the access key that created it) and its labels. */
  owner?: string;
  labels?: Record<string, string>;
}

/** The LIVE version of a function, for the edge. */
export interface LiveVersion {
  version: number;
  code: string;
  runtime: RuntimeVersion;
  /** Id of the associated store, when there is one. */
  kvsStoreId?: string;
}

/** Called after LIVE of `name` moved to `version` (undefined: the function was deleted). */
export type LiveChangeListener = (name: string, version: number | undefined) => void;

export interface FunctionRegistryOptions {
  /** Functions per account; CloudFront's quota is 100. */
  maxFunctions?: number;
  /** Largest accepted code in UTF-8 bytes; CloudFront's is 10 KB. */
  maxCodeBytes?: number;
  /** Whether the edge configuration uses the function (DeleteFunction then fails with FunctionInUse). */
  isFunctionInUse?: (name: string) => boolean;
  now?: () => Date;
}

export const DEFAULT_MAX_FUNCTIONS = 100;

const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Stage ETag: "E" + 13 upper-case alphanumerics, like CloudFront's "E3JWKAKR8XB7XF"; derived, never stored. */
export function stageEtag(functionId: string, stage: FunctionStage, generation: number): string {
  const digest = createHash('sha256').update(`${functionId}:${stage}:${generation}`).digest();
  return `E${digest.readBigUInt64BE(0).toString(36).toUpperCase().padStart(13, '0').slice(-13)}`;
}

export function isFunctionStage(value: string): value is FunctionStage {
  return (FUNCTION_STAGES as readonly string[]).includes(value);
}

export function assertFunctionName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
    throw openFrontError('CF_INVALID_ARGUMENT', `Function name must be 1-64 characters of [a-zA-Z0-9-_], got ${JSON.stringify(name)}`);
  }
}

/** A client's FunctionConfig, checked: a known runtime, at most one store association (runtime 2.0 only). */
export function validateFunctionConfig(input: FunctionConfigInput): FunctionConfig {
  const runtime = input.runtime;
  if (!(RUNTIMES as readonly string[]).includes(runtime)) {
    throw openFrontError('FUNCTION_RUNTIME_UNKNOWN', `Unknown runtime "${runtime}" (expected ${RUNTIMES.join(' or ')})`);
  }
  const config: FunctionConfig = { comment: input.comment ?? '', runtime: runtime as RuntimeVersion };
  const arns = input.keyValueStoreArns ?? [];
  if (arns.length > 1) throw openFrontError('CF_INVALID_ARGUMENT', `A function can be associated with at most 1 KeyValueStore, got ${arns.length}`);
  if (arns.length === 1) {
    if (config.runtime !== 'cloudfront-js-2.0') throw openFrontError('CF_INVALID_ARGUMENT', 'KeyValueStore associations need runtime cloudfront-js-2.0');
    config.keyValueStoreArn = arns[0];
  }
  return config;
}

/** Refuses, with every line:col, code the engine's checker rejects (FunctionSizeLimitExceeded over `maxCodeBytes`). */
export function checkFunctionCode(name: string, code: string, runtime: RuntimeVersion, maxCodeBytes: number): void {
  if (code.length === 0) throw openFrontError('CF_INVALID_ARGUMENT', 'FunctionCode must not be empty');
  const problems = checkSource(code, runtime, { maxCodeBytes });
  if (problems.length > 0) throw sourceProblemsError(name, problems);
}

/** CloudFront's precondition order, step one: If-Match present (400). */
export function assertIfMatchPresent(ifMatch: string | undefined, stage: FunctionStage): asserts ifMatch is string {
  if (ifMatch === undefined || ifMatch === '') {
    throw openFrontError('CF_INVALID_IF_MATCH', `The If-Match header is required: send the ${stage} ETag from DescribeFunction`);
  }
}
