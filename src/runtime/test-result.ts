/** Converts a FunctionResult into CloudFront's TestResult shape (TestFunction, `openfront test-function`). */
import { functionOutputJson } from './test-event.js';
import type { FunctionResult, TestResult } from './types.js';

export function toTestResult(result: FunctionResult): TestResult {
  return {
    FunctionOutput:
      result.kind === 'request'
        ? functionOutputJson('request', result.request)
        : result.kind === 'response'
          ? functionOutputJson('response', result.response)
          : '',
    FunctionErrorMessage: result.kind === 'error' ? result.error.message : '',
    FunctionExecutionLogs: result.logs,
    ComputeUtilization: String(result.computeUtilization),
  };
}
