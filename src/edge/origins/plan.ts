/**
 * Decides where a request goes: the behavior's origin or origin group, changed by what the viewer-request function
 * asked for through `cf.updateRequestOrigin`, `cf.selectRequestOriginById` or `cf.createRequestOriginGroup`.
 * The engine has already validated the parameters; this applies them (docs/edge.md, "Origins").
 */
import type { DistributionConfig, OriginConfig, OriginGroupConfig } from '../../config/types.js';
import { OpenFrontError } from '../../errors.js';
import type { OriginChange } from '../../runtime/types.js';
import type { OriginPlan, ResolvedCustomOrigin, ResolvedOrigin } from './types.js';

/** A function named an origin the distribution does not have: EDGE_ORIGIN_UNKNOWN, a validation error (502). */
function unknownOrigin(originId: string): OpenFrontError {
  return new OpenFrontError('EDGE_ORIGIN_UNKNOWN', `the distribution has no origin with id "${originId}"`, { originId });
}

/** Origins and groups of one distribution by id, with the unchanged plan of each target precomputed. */
export class OriginDirectory {
  readonly #origins = new Map<string, OriginConfig>();
  readonly #groups = new Map<string, OriginGroupConfig>();
  readonly #plans = new Map<string, OriginPlan>();

  constructor(config: DistributionConfig) {
    for (const origin of config.origins) this.#origins.set(origin.id, origin);
    for (const group of config.originGroups) this.#groups.set(group.id, group);
    for (const id of [...this.#origins.keys(), ...this.#groups.keys()]) this.#plans.set(id, this.#buildPlan(id));
  }

  /** The plan for a behavior's target, with the function's origin change applied. */
  plan(targetId: string, change: OriginChange | undefined): OriginPlan {
    const base = this.#plans.get(targetId);
    if (base === undefined) throw unknownOrigin(targetId);
    if (change === undefined) return base;
    switch (change.kind) {
      case 'update':
        // With an origin group only the primary is changed; failover still applies.
        return { ...base, primary: applyUpdate(base.primary, change.params) };
      case 'select': {
        const origin = this.#origin(change.originId);
        return { primary: withOverrides(origin, change.overrides), failoverStatusCodes: [] };
      }
      case 'group': {
        const ids = change.params.originIds as unknown[];
        const [primary, secondary] = ids.map((entry) => {
          const id = typeof entry === 'string' ? entry : String((entry as { originId: unknown }).originId);
          const overrides = typeof entry === 'object' && entry !== null ? (entry as { originOverrides?: Record<string, unknown> }).originOverrides : undefined;
          return withOverrides(this.#origin(id), overrides);
        });
        const statusCodes = (change.params.failoverCriteria as { statusCodes: number[] }).statusCodes;
        return { primary, secondary, failoverStatusCodes: statusCodes };
      }
    }
  }

  #origin(id: string): ResolvedOrigin {
    const origin = this.#origins.get(id);
    if (origin === undefined) throw unknownOrigin(id);
    return resolveOrigin(origin);
  }

  #buildPlan(id: string): OriginPlan {
    const group = this.#groups.get(id);
    if (group === undefined) return { primary: this.#origin(id), failoverStatusCodes: [] };
    return { primary: this.#origin(group.primary), secondary: this.#origin(group.secondary), failoverStatusCodes: group.failoverStatusCodes };
  }
}

export function resolveOrigin(origin: OriginConfig): ResolvedOrigin {
  if (origin.kind === 'static') return origin;
  return { ...origin, hostHeader: defaultHostHeader(origin.domainName, origin.port, origin.protocol) };
}

function defaultHostHeader(domainName: string, port: number, protocol: 'http' | 'https'): string {
  const host = domainName.includes(':') ? `[${domainName}]` : domainName;
  return port === (protocol === 'https' ? 443 : 80) ? host : `${host}:${port}`;
}

function withOverrides(origin: ResolvedOrigin, overrides: Record<string, unknown> | undefined): ResolvedOrigin {
  if (origin.kind === 'static' || overrides === undefined || typeof overrides.hostHeader !== 'string') return origin;
  return { ...origin, hostHeader: overrides.hostHeader };
}

/** Unspecified fields inherit from the origin the behavior would have used. */
function applyUpdate(base: ResolvedOrigin, params: Record<string, unknown>): ResolvedOrigin {
  const custom = params.customOriginConfig as { port?: number; protocol?: 'http' | 'https' } | undefined;
  const timeouts = params.timeouts as { readTimeout?: number; connectionTimeout?: number } | undefined;
  if (base.kind === 'static' && typeof params.domainName !== 'string') return base;
  const from: ResolvedCustomOrigin =
    base.kind === 'custom'
      ? base
      : {
          kind: 'custom',
          id: base.id,
          protocol: 'https',
          domainName: '',
          port: 443,
          originPath: '',
          connectionAttempts: 3,
          connectTimeoutMs: 10_000,
          readTimeoutMs: 30_000,
          keepaliveTimeoutMs: 5_000,
          maxConnections: 128,
          customHeaders: {},
          hostHeader: '',
        };
  const protocol = custom?.protocol ?? from.protocol;
  const port = custom?.port ?? (custom?.protocol !== undefined && custom.protocol !== from.protocol ? (protocol === 'https' ? 443 : 80) : from.port);
  const domainName = typeof params.domainName === 'string' ? params.domainName : from.domainName;
  const hostHeader =
    typeof params.hostHeader === 'string'
      ? params.hostHeader
      : typeof params.domainName === 'string' || custom !== undefined
        ? defaultHostHeader(domainName, port, protocol)
        : from.hostHeader;
  return {
    ...from,
    protocol,
    port,
    domainName,
    hostHeader,
    originPath: typeof params.originPath === 'string' ? params.originPath : from.originPath,
    customHeaders: params.customHeaders !== undefined ? { ...(params.customHeaders as Record<string, string>) } : from.customHeaders,
    connectionAttempts: typeof params.connectionAttempts === 'number' ? params.connectionAttempts : from.connectionAttempts,
    connectTimeoutMs: timeouts?.connectionTimeout !== undefined ? timeouts.connectionTimeout * 1000 : from.connectTimeoutMs,
    readTimeoutMs: timeouts?.readTimeout !== undefined ? timeouts.readTimeout * 1000 : from.readTimeoutMs,
  };
}
