/** Converts a FunctionResult into CloudFront's TestResult shape (TestFunction, `openfront test-function`). */
import { functionOutputJson } from './test-event.js';
import type { FunctionResult, TestResult } from './types.js';

export function toTestResult(result: FunctionResult): TestResult {
  let output = '';
  if (result.kind === 'request' && result.request) output = functionOutputJson('request', result.request);
  if (result.kind === 'response' && result.response) output = functionOutputJson('response', result.response);
  return {
    FunctionOutput: output,
    FunctionErrorMessage: result.error ? result.error.message : '',
    FunctionExecutionLogs: result.logs,
    ComputeUtilization: String(result.computeUtilization),
  };
}
