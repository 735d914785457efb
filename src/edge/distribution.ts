/** Maps the Host of a request to the distribution that answers for it. */
import type { DistributionConfig } from '../config/types.js';
import { BehaviorMatcher } from './behavior.js';
import { CustomErrorResponses } from './custom-errors.js';
import { OriginDirectory } from './origins/plan.js';

/** A distribution with the lookup structures the hot path needs, built once per config. */
export interface Distribution {
  config: DistributionConfig;
  behaviors: BehaviorMatcher;
  /** The origin and origin-group plans, with a function's origin change applied per request. */
  origins: OriginDirectory;
  /** Error pages and error caching per status (CloudFront's CustomErrorResponses). */
  customErrors: CustomErrorResponses;
}

export class DistributionRouter {
  readonly #exact = new Map<string, Distribution>();
  /** `*.example.com` entries as `.example.com`, longest suffix first so the most specific wins. */
  readonly #suffixes: Array<{ suffix: string; distribution: Distribution }> = [];
  #catchAll: Distribution | undefined;
  readonly all: readonly Distribution[];

  constructor(configs: readonly DistributionConfig[]) {
    const all: Distribution[] = [];
    for (const config of configs) {
      const distribution: Distribution = {
        config,
        behaviors: new BehaviorMatcher(config.behaviors, config.defaultBehavior),
        origins: new OriginDirectory(config),
        customErrors: new CustomErrorResponses(config.customErrorResponses),
      };
      all.push(distribution);
      for (const host of config.hostnames) {
        if (host === '*') this.#catchAll ??= distribution;
        else if (host.startsWith('*.')) this.#suffixes.push({ suffix: host.slice(1), distribution });
        else this.#exact.set(host, distribution);
      }
    }
    this.#suffixes.sort((a, b) => b.suffix.length - a.suffix.length);
    this.all = all;
  }

  /** `host` is the Host header as received (any case, optional port). */
  match(host: string | undefined): Distribution | undefined {
    if (host === undefined || host === '') return this.#catchAll;
    const lower = host.toLowerCase();
    const exact = this.#exact.get(lower);
    if (exact !== undefined) return exact;
    const bare = stripPort(lower);
    const exactBare = this.#exact.get(bare);
    if (exactBare !== undefined) return exactBare;
    for (const { suffix, distribution } of this.#suffixes) {
      if (bare.endsWith(suffix) && bare.length > suffix.length) return distribution;
    }
    return this.#catchAll;
  }

  byId(id: string): Distribution | undefined {
    return this.all.find((d) => d.config.id === id);
  }
}

function stripPort(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
