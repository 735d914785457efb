/** What a failing call threw, checked to be the kind of error the project throws. */
import assert from 'node:assert/strict';
import { authFailureReasonOf } from '../../src/control/auth/verify-request.js';
import { isOpenFrontError, type OpenFrontError } from '../../src/errors.js';

/** The OpenFrontError `fn` throws; fails the test when it throws something else or nothing. */
export function openFrontErrorFrom(fn: () => unknown): OpenFrontError {
  try {
    fn();
  } catch (err) {
    assert.ok(isOpenFrontError(err), `expected an OpenFrontError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to throw an OpenFrontError');
}

/** The OpenFrontError `promise` rejects with; fails the test when it rejects with something else or resolves. */
export async function openFrontRejectionOf(promise: Promise<unknown>): Promise<OpenFrontError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isOpenFrontError(err), `expected an OpenFrontError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the promise to reject with an OpenFrontError');
}

/** Why request verification refused (AUTH_FAILED's `details.reason`), or 'accepted'. */
export function authFailureReason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    const reason = authFailureReasonOf(err);
    if (reason !== undefined) return reason;
    throw err;
  }
  return 'accepted';
}
