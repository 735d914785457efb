import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatches, isAllowed, MAX_PERMISSION_LENGTH, MAX_POLICY_PERMISSIONS, parsePermission, parsePolicy } from '../../src/control/auth/policy.js';
import { isOpenFrontError } from '../../src/errors.js';

function policyError(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    assert.ok(isOpenFrontError(err), String(err));
    assert.equal(err.code, 'POLICY_INVALID');
    return err.message;
  }
  assert.fail('expected POLICY_INVALID');
}

describe('access-key policies', () => {
  it('parses the string forms', () => {
    assert.deepEqual(parsePermission('kvs:write:redirects-*'), { action: 'kvs:write', resource: 'redirects-*' });
    assert.deepEqual(parsePermission('function:read:*'), { action: 'function:read', resource: '*' });
    assert.deepEqual(parsePermission('audit:read'), { action: 'audit:read', resource: '*' });
    assert.deepEqual(parsePermission('admin'), { action: 'admin', resource: '*' });
    assert.deepEqual(parsePolicy(['kvs:write:flags', 'kvs:write:flags', 'audit:read']), ['kvs:write:flags', 'audit:read:*']);
  });

  it('refuses unknown actions, bad globs and oversized policies with a message naming the problem', () => {
    assert.match(
      policyError(() => parsePolicy(['kvs:delete:flags'])),
      /Unknown permission "kvs:delete:flags".*kvs:read, kvs:write/,
    );
    assert.match(
      policyError(() => parsePolicy(['kvs'])),
      /Unknown permission/,
    );
    assert.match(
      policyError(() => parsePolicy(['admin:x'])),
      /Unknown permission/,
    );
    assert.match(
      policyError(() => parsePolicy(['kvs:write:a/b'])),
      /is not a store or function name glob/,
    );
    assert.match(
      policyError(() => parsePolicy(['kvs:write:a:b'])),
      /Unknown permission/,
    );
    assert.match(
      policyError(() => parsePolicy([])),
      /at least one permission/,
    );
    assert.match(
      policyError(() => parsePolicy([`kvs:read:${'a'.repeat(MAX_PERMISSION_LENGTH)}`])),
      /characters; the limit is/,
    );
    const many = Array.from({ length: MAX_POLICY_PERMISSIONS + 1 }, (_, i) => `kvs:read:s${i}`);
    assert.match(
      policyError(() => parsePolicy(many)),
      /at most 32 permissions/,
    );
    assert.match(
      policyError(() => parsePolicy([42])),
      /must be a string/,
    );
  });

  it('matches globs', () => {
    assert.ok(globMatches('redirects-*', 'redirects-eu'));
    assert.ok(globMatches('redirects-*', 'redirects-'));
    assert.ok(!globMatches('redirects-*', 'redirects'));
    assert.ok(globMatches('*-prod', 'flags-prod'));
    assert.ok(globMatches('a*b*c', 'aXbYc'));
    assert.ok(!globMatches('a*b*c', 'acb'));
    assert.ok(!globMatches('ab*ba', 'aba'), 'the two ends may not overlap');
    assert.ok(globMatches('flags', 'flags'));
    assert.ok(!globMatches('flags', 'flags2'));
  });

  it('decides: no policy is admin; actions include the weaker ones on the same resource', () => {
    assert.ok(isAllowed(undefined, 'admin', '*'));
    const writer = ['kvs:write:flags'];
    assert.ok(isAllowed(writer, 'kvs:write', 'flags'));
    assert.ok(isAllowed(writer, 'kvs:read', 'flags'), 'a write needs the ETag a read gives');
    assert.ok(!isAllowed(writer, 'kvs:write', 'redirects'));
    assert.ok(!isAllowed(writer, 'kvs:manage', 'flags'));
    assert.ok(!isAllowed(writer, 'function:publish', 'flags'));
    assert.ok(!isAllowed(writer, 'kvs:read', '*'), 'a list over every store needs a permission on *');
    assert.ok(isAllowed(['kvs:read:*'], 'kvs:read', '*'));
    assert.ok(isAllowed(['kvs:manage:*'], 'kvs:write', 'anything'));
    assert.ok(isAllowed(['function:publish:edge-*'], 'function:read', 'edge-a'));
    assert.ok(!isAllowed(['function:publish:edge-*'], 'function:update', 'edge-a'), 'publishing does not include writing code');
    assert.ok(!isAllowed(['function:update:edge-*'], 'function:publish', 'edge-a'), 'writing code does not include publishing');
    assert.ok(!isAllowed(['kvs:manage:*', 'function:publish:*', 'function:update:*'], 'audit:read', '*'));
    assert.ok(!isAllowed(['kvs:manage:*'], 'admin', '*'));
    assert.ok(isAllowed(['admin'], 'admin', '*'));
  });
});
