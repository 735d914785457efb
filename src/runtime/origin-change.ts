/**
 * Validation of the origin changes requested with `cf.updateRequestOrigin`, `cf.selectRequestOriginById` and
 * `cf.createRequestOriginGroup` (CloudFront Developer Guide, "Helper methods for origin modification"; docs/edge.md, "Origins"). The sandbox only records the arguments; this decides whether
 * CloudFront would accept them. A misuse is a validation error (the edge answers 502).
 */
import { isDisallowedHeader } from './headers.js';
import type { OriginChange } from './types.js';

type Params = Record<string, unknown>;

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const IPV4_RE = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function checkHostName(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${field} must be a string`;
  if (value.includes(':')) return `${field} must not contain ':' (got "${value}")`;
  if (IPV4_RE.test(value)) return `${field} must be a DNS name, not an IP address (got "${value}")`;
  if (!HOST_RE.test(value)) return `${field} is not a valid DNS name (got "${value}")`;
  return undefined;
}

function checkIntRange(field: string, value: unknown, min: number, max: number): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return `${field} must be an integer from ${min} to ${max}`;
  }
  return undefined;
}

function checkCertificateNames(value: unknown): string | undefined {
  if (!Array.isArray(value) || value.length > 20) return 'allowedCertificateNames must be an array of at most 20 names';
  for (const name of value) {
    if (typeof name !== 'string' || name.length === 0 || name.length > 64) return 'allowedCertificateNames entries must be strings of 1 to 64 characters';
  }
  return undefined;
}

function checkOverrides(params: Params): string | undefined {
  if (params.hostHeader !== undefined) {
    const problem = checkHostName('hostHeader', params.hostHeader);
    if (problem) return problem;
  }
  if (params.sni !== undefined) {
    const problem = checkHostName('sni', params.sni);
    if (problem) return problem;
  }
  return params.allowedCertificateNames !== undefined ? checkCertificateNames(params.allowedCertificateNames) : undefined;
}

function checkCustomHeaders(value: unknown, incomingHeaders: ReadonlySet<string>): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'customHeaders must be an object of name → value';
  for (const [name, headerValue] of Object.entries(value as Params)) {
    if (name !== name.toLowerCase()) return `customHeaders name "${name}" must be lowercase`;
    if (typeof headerValue !== 'string') return `customHeaders "${name}" must have a string value`;
    if (isDisallowedHeader(name)) return `customHeaders must not set the disallowed header "${name}"`;
    if (incomingHeaders.has(name)) return `customHeaders must not set "${name}": the viewer request already has that header`;
  }
  return undefined;
}

function checkTimeouts(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'timeouts must be an object';
  const t = value as Params;
  const problems = [
    t.readTimeout !== undefined ? checkIntRange('timeouts.readTimeout', t.readTimeout, 1, 120) : undefined,
    t.keepAliveTimeout !== undefined ? checkIntRange('timeouts.keepAliveTimeout', t.keepAliveTimeout, 1, 120) : undefined,
    t.connectionTimeout !== undefined ? checkIntRange('timeouts.connectionTimeout', t.connectionTimeout, 1, 10) : undefined,
    t.responseCompletionTimeout !== undefined && typeof t.responseCompletionTimeout !== 'number'
      ? 'timeouts.responseCompletionTimeout must be a number'
      : undefined,
  ];
  const first = problems.find((p) => p !== undefined);
  if (first) return first;
  if (typeof t.responseCompletionTimeout === 'number' && typeof t.readTimeout === 'number' && t.responseCompletionTimeout < t.readTimeout) {
    return 'timeouts.responseCompletionTimeout must be at least timeouts.readTimeout';
  }
  return undefined;
}

const UPDATE_PARAMETERS: ReadonlySet<string> = new Set([
  'domainName',
  'hostHeader',
  'originPath',
  'customHeaders',
  'connectionAttempts',
  'originShield',
  'originAccessControlConfig',
  'timeouts',
  'customOriginConfig',
  'sni',
  'allowedCertificateNames',
]);

function checkUpdate(params: Params, incomingHeaders: ReadonlySet<string>): string | undefined {
  for (const key of Object.keys(params)) {
    if (!UPDATE_PARAMETERS.has(key)) return `updateRequestOrigin(): unknown parameter "${key}"`;
  }
  if (params.domainName !== undefined) {
    const problem = checkHostName('domainName', params.domainName);
    if (problem) return problem;
  }
  if (params.originPath !== undefined) {
    const path = params.originPath;
    if (typeof path !== 'string' || !path.startsWith('/') || path.endsWith('/') || path.length > 255) {
      return 'originPath must start with "/", must not end with "/" and be at most 255 characters';
    }
  }
  if (params.customHeaders !== undefined) {
    const problem = checkCustomHeaders(params.customHeaders, incomingHeaders);
    if (problem) return problem;
  }
  if (params.connectionAttempts !== undefined) {
    const problem = checkIntRange('connectionAttempts', params.connectionAttempts, 1, 3);
    if (problem) return problem;
  }
  if (params.originShield !== undefined) {
    const shield = params.originShield as Params | null;
    if (shield === null || typeof shield !== 'object' || typeof shield.enabled !== 'boolean') return 'originShield.enabled must be a boolean';
    if (shield.enabled && typeof shield.region !== 'string') return 'originShield.region is required when originShield is enabled';
  }
  if (params.originAccessControlConfig !== undefined) {
    const oac = params.originAccessControlConfig as Params | null;
    if (oac === null || typeof oac !== 'object' || typeof oac.enabled !== 'boolean') return 'originAccessControlConfig.enabled must be a boolean';
    if (oac.enabled) {
      if (!['always', 'never', 'no-override'].includes(oac.signingBehavior as string))
        return 'originAccessControlConfig.signingBehavior must be always, never or no-override';
      if (oac.signingProtocol !== 'sigv4') return 'originAccessControlConfig.signingProtocol must be sigv4';
      if (!['s3', 'mediapackagev2', 'mediastore', 'lambda'].includes(oac.originType as string))
        return 'originAccessControlConfig.originType must be s3, mediapackagev2, mediastore or lambda';
    }
  }
  if (params.timeouts !== undefined) {
    const problem = checkTimeouts(params.timeouts);
    if (problem) return problem;
  }
  if (params.customOriginConfig !== undefined) {
    const custom = params.customOriginConfig as Params | null;
    if (custom === null || typeof custom !== 'object') return 'customOriginConfig must be an object';
    const portProblem = checkIntRange('customOriginConfig.port', custom.port, 1, 65535);
    if (portProblem) return portProblem;
    if (custom.protocol !== 'http' && custom.protocol !== 'https') return 'customOriginConfig.protocol must be http or https';
    if (custom.sslProtocols !== undefined && !Array.isArray(custom.sslProtocols)) return 'customOriginConfig.sslProtocols must be an array';
  }
  return checkOverrides(params);
}

function checkGroup(params: Params): string | undefined {
  const ids = params.originIds;
  if (!Array.isArray(ids) || ids.length !== 2) return 'createRequestOriginGroup(): originIds must list exactly two origins, primary first';
  for (const entry of ids) {
    const id = typeof entry === 'string' ? entry : (entry as Params | null)?.originId;
    if (typeof id !== 'string' || id === '') return 'createRequestOriginGroup(): each originIds entry must be an origin id or {originId}';
  }
  const criteria = params.failoverCriteria as Params | undefined;
  const codes = criteria?.statusCodes;
  if (!Array.isArray(codes) || codes.length === 0 || !codes.every((c) => Number.isInteger(c) && c >= 400 && c <= 599)) {
    return 'createRequestOriginGroup(): failoverCriteria.statusCodes must be a non-empty list of 4xx/5xx status codes';
  }
  if (params.selectionCriteria !== undefined && params.selectionCriteria !== 'default' && params.selectionCriteria !== 'media-quality-score') {
    return 'createRequestOriginGroup(): selectionCriteria must be "default" or "media-quality-score"';
  }
  return undefined;
}

/** Returns the problem with a requested origin change, or undefined when CloudFront would accept it. */
export function originChangeProblem(change: OriginChange, incomingHeaders: ReadonlySet<string>): string | undefined {
  switch (change.kind) {
    case 'update':
      return checkUpdate(change.params, incomingHeaders);
    case 'select':
      if (change.originId === '') return 'selectRequestOriginById(): originId must not be empty';
      return change.overrides ? checkOverrides(change.overrides) : undefined;
    case 'group':
      return checkGroup(change.params);
  }
}
