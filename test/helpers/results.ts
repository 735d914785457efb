/** Reading a FunctionResult in tests: each accessor checks the kind first, so a wrong kind fails with its reason. */
import assert from 'node:assert/strict';
import type { CFRequest, CFResponse } from '../../src/runtime/event.js';
import type { FunctionError, FunctionResult } from '../../src/runtime/types.js';

function describe(result: FunctionResult | undefined): string {
  if (result === undefined) return 'no result';
  return result.kind === 'error' ? `error ${result.error.code}: ${result.error.message}` : result.kind;
}

/** The request a viewer-request function returned; fails the test on any other kind. */
export function requestOf(result: FunctionResult | undefined): CFRequest {
  assert.ok(result?.kind === 'request', `expected a request, got ${describe(result)}`);
  return result.request;
}

/** The response the function returned; fails the test on any other kind. */
export function responseOf(result: FunctionResult | undefined): CFResponse {
  assert.ok(result?.kind === 'response', `expected a response, got ${describe(result)}`);
  return result.response;
}

/** The function's error; fails the test on any other kind. */
export function errorOf(result: FunctionResult | undefined): FunctionError {
  assert.ok(result?.kind === 'error', `expected an error, got ${describe(result)}`);
  return result.error;
}

/** The error message when the result is an error (for assertion messages), else undefined. */
export function errorText(result: FunctionResult | undefined): string | undefined {
  return result?.kind === 'error' ? result.error.message : undefined;
}
