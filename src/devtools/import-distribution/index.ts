/**
 * `openfront import-distribution`: turns a CloudFront distribution exported with the AWS CLI into an OpenFront
 * config that serves the same behaviors, and says which settings it could not carry over and why.
 *
 * The directory (docs/import-distribution.md):
 *   distribution.json                     get-distribution-config or get-distribution output
 *   cache-policies/<Id>.json              get-cache-policy (AWS managed policies are known by id)
 *   origin-request-policies/<Id>.json     get-origin-request-policy
 *   functions/<Name>.json + <Name>.js     describe-function + the code from get-function
 *   key-value-stores/<Name>.json          describe-key-value-store
 *   key-value-stores/<Name>.data.json     its keys in the S3 import format (optional)
 *
 * It reads files and produces config; it never starts anything. Every file is size-capped (see files.ts).
 */
import { relative, resolve, sep } from 'node:path';
import { OpenFrontError } from '../../errors.js';
import { parseImportJson } from '../../kvs/import-export.js';
import { exists, IMPORT_LIMITS, join, listFiles, readCapped, readJson } from './files.js';
import { CUSTOM_ERROR_CODES, CUSTOM_RESPONSE_CODES, HTTP_VERSIONS, ORIGIN_SETTING_RANGES, VIEWER_PROTOCOL_POLICIES } from '../../config/schema.js';
import type { ViewerProtocolPolicy } from '../../config/types.js';
import { MANAGED_CACHE_POLICIES, MANAGED_ORIGIN_REQUEST_POLICIES, type ImportedCachePolicy } from './managed-policies.js';

export { IMPORT_LIMITS } from './files.js';

/** One setting of the distribution the config does not carry, and why. */
export interface ImportNote {
  /** Where the setting lives, e.g. `DistributionConfig.CacheBehaviors[1].ViewerProtocolPolicy`. */
  setting: string;
  /** The value it had (JSON-able). */
  value?: unknown;
  reason: string;
}

export interface ImportOptions {
  /** Directory the config will be written to: file paths in it are made relative to this. */
  outDir: string;
  /**
   * Replaces where an origin points: origin id (as in AWS) → `http(s)://host[:port][/path]` or a local directory
   * (served as a static origin). For moving a site, testing against local servers, or serving an S3 bucket's files.
   */
  originOverrides?: ReadonlyMap<string, string>;
  /** Distribution id in the config; default: the exported Id, else `imported`. */
  distributionId?: string;
  /**
   * Every behavior's viewer protocol policy (default: each keeps its own). `allow-all` serves plain HTTP on a local
   * machine where the distribution redirects or refuses it; the report names the behaviors it changed.
   */
  viewerProtocolPolicy?: ViewerProtocolPolicy;
}

export interface ImportResult {
  /** The config, ready for `yaml.stringify` (validated by the caller with parseConfig). */
  config: Record<string, unknown>;
  notes: ImportNote[];
}

type Json = Record<string, unknown>;

const NAME = /^[A-Za-z0-9_-]+$/;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown): Json {
  return isObject(value) ? value : {};
}

/** The `Items` of a CloudFront `{Quantity, Items}` list ([] when absent). */
function itemsOf(list: unknown): unknown[] {
  const items = object(list).Items;
  return Array.isArray(items) ? items : [];
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function invalid(message: string, details: Record<string, unknown> = {}): OpenFrontError {
  return new OpenFrontError('INPUT_INVALID', message, details);
}

/** Config names allow `[A-Za-z0-9_-]`, up to 128 characters: other characters become `-`. */
function configName(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 128);
  return cleaned === '' ? 'unnamed' : cleaned;
}

class Importer {
  readonly notes: ImportNote[] = [];
  readonly #dir: string;
  readonly #options: ImportOptions;
  /** AWS origin id → config id. */
  readonly #originIds = new Map<string, string>();
  /** Cache policy id → config name (built-in or emitted). */
  readonly #cachePolicies = new Map<string, string>();
  readonly #emittedPolicies: Json[] = [];
  readonly #functions = new Map<string, Json>();
  readonly #stores: Json[] = [];
  /** Store ARN / id (lowercase) → store name. */
  readonly #storesByRef = new Map<string, string>();

  constructor(dir: string, options: ImportOptions) {
    this.#dir = resolve(dir);
    this.#options = options;
  }

  note(setting: string, value: unknown, reason: string): void {
    this.notes.push({ setting, ...(value === undefined ? {} : { value }), reason });
  }

  run(): ImportResult {
    const { config: dc, id, domainName } = this.#readDistribution();
    this.#readStores();
    this.#readFunctions();
    const origins = itemsOf(dc.Origins).map((origin, i) => this.#origin(object(origin), `DistributionConfig.Origins.Items[${i}]`));
    for (const name of this.#options.originOverrides?.keys() ?? []) {
      if (!this.#originIds.has(name))
        throw invalid(`--origin-override names origin "${name}", which the distribution does not have (origins: ${[...this.#originIds.keys()].join(', ')})`);
    }
    const originGroups = itemsOf(dc.OriginGroups).flatMap((group, i) => this.#originGroup(object(group), `DistributionConfig.OriginGroups.Items[${i}]`));
    const defaultBehavior = this.#behavior(object(dc.DefaultCacheBehavior), 'DistributionConfig.DefaultCacheBehavior');
    const behaviors = itemsOf(dc.CacheBehaviors).map((b, i) => this.#behavior(object(b), `DistributionConfig.CacheBehaviors.Items[${i}]`));
    this.#distributionNotes(dc);

    const aliases = itemsOf(dc.Aliases)
      .filter((a): a is string => typeof a === 'string')
      .map((a) => a.toLowerCase());
    const hostnames = [...aliases, ...(domainName ? [domainName.toLowerCase()] : [])];
    if (hostnames.length === 0)
      this.note('DistributionConfig.Aliases', [], 'the distribution has no alternate domain names: the config answers for any host ("*")');
    const usedFunctions = new Set<string>();
    for (const behavior of [defaultBehavior, ...behaviors]) {
      for (const name of Object.values(object(behavior.functionAssociations))) usedFunctions.add(name as string);
    }
    const usedStores = new Set<string>();
    const functions = [...this.#functions.values()].filter((fn) => usedFunctions.has(fn.name as string));
    for (const fn of this.#functions.values()) {
      if (!usedFunctions.has(fn.name as string))
        this.note(`functions/${fn.name as string}.json`, undefined, 'no cache behavior of the distribution uses this function: left out of the config');
    }
    for (const fn of functions) if (typeof fn.store === 'string') usedStores.add(fn.store);
    const stores = this.#stores.filter((s) => usedStores.has(s.name as string));
    for (const store of this.#stores) {
      if (!usedStores.has(store.name as string))
        this.note(`key-value-stores/${store.name as string}.json`, undefined, 'no imported function is associated with this store: left out of the config');
    }
    const customErrorResponses = this.#customErrorResponses(dc);
    const httpVersion = text(dc.HttpVersion);
    if (httpVersion !== undefined && !isOneOf(HTTP_VERSIONS, httpVersion))
      this.note('DistributionConfig.HttpVersion', httpVersion, 'not a CloudFront HTTP version: http2 is used');
    const distribution: Json = {
      id: this.#options.distributionId ?? (id ? configName(id) : 'imported'),
      hostnames: hostnames.length > 0 ? hostnames : ['*'],
      ...(domainName ? { domainName } : {}),
      origins,
      ...(originGroups.length > 0 ? { originGroups } : {}),
      defaultBehavior,
      ...(behaviors.length > 0 ? { behaviors } : {}),
      ...(customErrorResponses.length > 0 ? { customErrorResponses } : {}),
      ...(httpVersion !== undefined && isOneOf(HTTP_VERSIONS, httpVersion) && httpVersion !== 'http2' ? { httpVersion } : {}),
    };
    const config: Json = {
      ...(stores.length > 0 ? { stores } : {}),
      ...(functions.length > 0 ? { functions } : {}),
      ...(this.#emittedPolicies.length > 0 ? { cachePolicies: this.#emittedPolicies } : {}),
      distributions: [distribution],
    };
    return { config, notes: this.notes };
  }

  /** A path in the config: relative to the config's directory, with `/` separators. */
  #configPath(file: string): string {
    const rel = relative(this.#options.outDir, file).split(sep).join('/');
    return rel.startsWith('.') || rel.startsWith('/') ? rel : `./${rel}`;
  }

  #readDistribution(): { config: Json; id?: string; domainName?: string } {
    const file = join(this.#dir, 'distribution.json');
    const doc = object(readJson(file));
    // get-distribution wraps the config in Distribution (with Id and DomainName); get-distribution-config does not.
    const distribution = isObject(doc.Distribution) ? doc.Distribution : undefined;
    const config = distribution?.DistributionConfig ?? doc.DistributionConfig;
    if (!isObject(config))
      throw invalid(`${file} has no DistributionConfig (expected the output of aws cloudfront get-distribution-config or get-distribution)`, { file });
    if (!isObject(config.DefaultCacheBehavior)) throw invalid(`${file}: DistributionConfig has no DefaultCacheBehavior`, { file });
    if (itemsOf(config.Origins).length === 0) throw invalid(`${file}: DistributionConfig has no Origins`, { file });
    return { config, id: text(distribution?.Id), domainName: text(distribution?.DomainName) };
  }

  #readStores(): void {
    const dir = join(this.#dir, 'key-value-stores');
    for (const file of listFiles(dir)) {
      if (!file.endsWith('.json') || file.endsWith('.data.json')) continue;
      const path = join(dir, file);
      const store = object(object(readJson(path)).KeyValueStore);
      const name = text(store.Name);
      if (name === undefined || !NAME.test(name))
        throw invalid(`${path} has no KeyValueStore.Name (expected the output of aws cloudfront describe-key-value-store)`, { file: path });
      const awsId = text(store.Id);
      const entry: Json = { name };
      if (awsId !== undefined && /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(awsId)) {
        entry.awsId = awsId.toLowerCase();
        this.#storesByRef.set(awsId.toLowerCase(), name);
      } else if (awsId !== undefined) {
        this.note(`${this.#rel(path)}: KeyValueStore.Id`, awsId, 'not a UUID: the store gets a new id, so code naming this id will not find it');
      }
      const arn = text(store.ARN);
      if (arn !== undefined) this.#storesByRef.set(arn.toLowerCase(), name);
      const dataFile = join(dir, `${file.slice(0, -'.json'.length)}.data.json`);
      if (exists(dir, `${file.slice(0, -'.json'.length)}.data.json`)) {
        const data = readCapped(dataFile, IMPORT_LIMITS.maxStoreDataBytes);
        try {
          parseImportJson(data);
        } catch (err) {
          throw invalid(`${dataFile}: ${(err as Error).message}`, { file: dataFile });
        }
        entry.seed = this.#configPath(dataFile);
      } else {
        this.note(
          `${this.#rel(path)}`,
          undefined,
          `no ${file.slice(0, -'.json'.length)}.data.json beside it: the store starts empty (export its keys with aws cloudfront-keyvaluestore list-keys)`,
        );
      }
      this.#stores.push(entry);
    }
  }

  #readFunctions(): void {
    const dir = join(this.#dir, 'functions');
    for (const file of listFiles(dir)) {
      if (!file.endsWith('.json')) continue;
      const path = join(dir, file);
      const summary = object(object(readJson(path)).FunctionSummary);
      const name = text(summary.Name) ?? file.slice(0, -'.json'.length);
      if (!NAME.test(name) || name.length > 64) throw invalid(`${path}: "${name}" is not a CloudFront function name`, { file: path });
      const codeName = `${name}.js`;
      if (!exists(dir, codeName)) {
        this.note(
          `functions/${file}`,
          undefined,
          `no ${codeName} beside it (aws cloudfront get-function --name ${name} --stage LIVE ${codeName}): the function is left out and its associations dropped`,
        );
        continue;
      }
      readCapped(join(dir, codeName), IMPORT_LIMITS.maxCodeBytes);
      const fnConfig = object(summary.FunctionConfig);
      const runtime = text(fnConfig.Runtime) ?? 'cloudfront-js-1.0';
      const entry: Json = { name, code: this.#configPath(join(dir, codeName)), runtime };
      const stage = text(object(summary.FunctionMetadata).Stage);
      if (stage === 'DEVELOPMENT')
        this.note(
          `functions/${file}: FunctionMetadata.Stage`,
          stage,
          'this is the DEVELOPMENT stage; the edge runs what you export, so export the LIVE stage (--stage LIVE) to serve what CloudFront serves',
        );
      const associations = itemsOf(fnConfig.KeyValueStoreAssociations);
      const arn = text(object(associations[0]).KeyValueStoreARN);
      if (arn !== undefined) {
        const store = this.#storesByRef.get(arn.toLowerCase()) ?? this.#storesByRef.get(arn.slice(arn.lastIndexOf('/') + 1).toLowerCase());
        if (store === undefined) {
          this.note(
            `functions/${file}: FunctionConfig.KeyValueStoreAssociations`,
            arn,
            'no key-value-stores/<Name>.json describes this store: the function runs without it (its reads fail)',
          );
        } else {
          entry.store = store;
        }
      }
      this.#functions.set(name, entry);
    }
  }

  #rel(path: string): string {
    return relative(this.#dir, path).split(sep).join('/');
  }

  #origin(origin: Json, at: string): Json {
    const awsId = text(origin.Id);
    const domainName = text(origin.DomainName);
    if (awsId === undefined || domainName === undefined) throw invalid(`distribution.json: ${at} needs Id and DomainName`);
    let id = configName(awsId);
    while ([...this.#originIds.values()].includes(id)) id = `${id}-2`;
    if (id !== awsId)
      this.note(
        `${at}.Id`,
        awsId,
        `renamed to "${id}" (config ids use letters, digits, "-" and "_"); code calling cf.selectRequestOriginById('${awsId}') must use the new id`,
      );
    this.#originIds.set(awsId, id);

    const override = this.#options.originOverrides?.get(awsId);
    const headers: Record<string, string> = {};
    for (const [i, header] of itemsOf(origin.CustomHeaders).entries()) {
      const name = text(object(header).HeaderName);
      if (name !== undefined) headers[name.toLowerCase()] = String(object(header).HeaderValue ?? '');
      else this.note(`${at}.CustomHeaders.Items[${i}]`, header, 'has no HeaderName');
    }
    const originPath = text(origin.OriginPath);
    if (text(origin.OriginAccessControlId))
      this.note(
        `${at}.OriginAccessControlId`,
        origin.OriginAccessControlId,
        'origin requests are not signed (no origin access control): the origin must accept unsigned requests, or serve its files with --origin-override <id>=<directory>',
      );
    if (object(origin.OriginShield).Enabled === true)
      this.note(`${at}.OriginShield`, origin.OriginShield, 'there is no Origin Shield layer: every node fetches from the origin itself');
    if (isObject(origin.VpcOriginConfig))
      this.note(
        `${at}.VpcOriginConfig`,
        origin.VpcOriginConfig,
        'VPC origins are reached like any custom origin: the node must be able to route to the domain name',
      );
    if (typeof origin.ResponseCompletionTimeout === 'number')
      this.note(`${at}.ResponseCompletionTimeout`, origin.ResponseCompletionTimeout, 'no whole-response deadline; readTimeoutMs bounds the time between bytes');

    if (override !== undefined) {
      if (/^https?:\/\//i.test(override)) {
        // The origin path stays the one the distribution had unless the override brings its own.
        const url = new URL(override);
        const withPath = url.pathname === '/' && originPath !== undefined ? `${url.origin}${originPath}` : override;
        return { id, url: withPath, ...(Object.keys(headers).length > 0 ? { customHeaders: headers } : {}) };
      }
      return { id, static: this.#configPath(resolve(override)) };
    }
    const entry: Json = { id, domainName };
    const custom = origin.CustomOriginConfig;
    if (isObject(custom)) {
      const policy = text(custom.OriginProtocolPolicy) ?? 'match-viewer';
      const protocol = policy === 'http-only' ? 'http' : 'https';
      if (policy === 'match-viewer')
        this.note(
          `${at}.CustomOriginConfig.OriginProtocolPolicy`,
          policy,
          'the origin is always reached over HTTPS (there is no viewer protocol to match per request)',
        );
      const port = protocol === 'http' ? custom.HTTPPort : custom.HTTPSPort;
      entry.protocol = protocol;
      if (typeof port === 'number' && port !== (protocol === 'http' ? 80 : 443)) entry.port = port;
      this.#originSetting(entry, 'readTimeout', custom.OriginReadTimeout, ORIGIN_SETTING_RANGES.readTimeout, `${at}.CustomOriginConfig.OriginReadTimeout`);
      this.#originSetting(
        entry,
        'keepaliveTimeout',
        custom.OriginKeepaliveTimeout,
        ORIGIN_SETTING_RANGES.keepaliveTimeout,
        `${at}.CustomOriginConfig.OriginKeepaliveTimeout`,
      );
      const ssl = itemsOf(custom.OriginSslProtocols);
      if (ssl.length > 0 && !(ssl.length === 1 && ssl[0] === 'TLSv1.2'))
        this.note(`${at}.CustomOriginConfig.OriginSslProtocols`, ssl, "TLS versions to the origin are Node.js's defaults (TLS 1.2 and 1.3)");
    } else if (isObject(origin.S3OriginConfig)) {
      entry.protocol = 'https';
      if (text(origin.S3OriginConfig.OriginAccessIdentity))
        this.note(
          `${at}.S3OriginConfig.OriginAccessIdentity`,
          origin.S3OriginConfig.OriginAccessIdentity,
          'requests to the bucket are not signed: the bucket must be readable without them, or serve its files with --origin-override <id>=<directory>',
        );
    } else {
      entry.protocol = 'https';
    }
    this.#originSetting(entry, 'connectionTimeout', origin.ConnectionTimeout, ORIGIN_SETTING_RANGES.connectionTimeout, `${at}.ConnectionTimeout`);
    this.#originSetting(entry, 'connectionAttempts', origin.ConnectionAttempts, ORIGIN_SETTING_RANGES.connectionAttempts, `${at}.ConnectionAttempts`);
    if (originPath !== undefined) entry.originPath = originPath;
    if (Object.keys(headers).length > 0) entry.customHeaders = headers;
    return entry;
  }

  #originGroup(group: Json, at: string): Json[] {
    const awsId = text(group.Id);
    if (awsId === undefined) throw invalid(`distribution.json: ${at} needs an Id`);
    const members = itemsOf(group.Members).map((m) => text(object(m).OriginId));
    const [primary, secondary] = members.map((m) => (m === undefined ? undefined : this.#originIds.get(m)));
    if (members.length !== 2 || primary === undefined || secondary === undefined) {
      throw invalid(`distribution.json: ${at} must have two members that are origins of the distribution, got ${JSON.stringify(members)}`);
    }
    let id = configName(awsId);
    while ([...this.#originIds.values()].includes(id)) id = `${id}-group`;
    if (id !== awsId) this.note(`${at}.Id`, awsId, `renamed to "${id}"`);
    this.#originIds.set(awsId, id);
    const allowed = new Set([400, 403, 404, 416, 500, 502, 503, 504]);
    const codes = itemsOf(object(group.FailoverCriteria).StatusCodes).filter((c): c is number => typeof c === 'number');
    const kept = codes.filter((c) => allowed.has(c));
    if (kept.length !== codes.length) this.note(`${at}.FailoverCriteria.StatusCodes`, codes, `only ${[...allowed].join(', ')} are failover codes`);
    if (text(group.SelectionCriteria) !== undefined && group.SelectionCriteria !== 'default')
      this.note(`${at}.SelectionCriteria`, group.SelectionCriteria, 'the primary is always tried first');
    return [{ id, primary, secondary, ...(kept.length > 0 ? { failoverStatusCodes: kept } : {}) }];
  }

  #behavior(behavior: Json, at: string): Json {
    const target = text(behavior.TargetOriginId);
    const origin = target === undefined ? undefined : this.#originIds.get(target);
    if (origin === undefined)
      throw invalid(`distribution.json: ${at}.TargetOriginId ${JSON.stringify(target)} is not an origin or origin group of the distribution`);
    const entry: Json = {};
    const pathPattern = text(behavior.PathPattern);
    if (at !== 'DistributionConfig.DefaultCacheBehavior') {
      if (pathPattern === undefined) throw invalid(`distribution.json: ${at} has no PathPattern`);
      entry.pathPattern = pathPattern;
    }
    entry.origin = origin;
    entry.cachePolicy = this.#cachePolicyFor(behavior, at);
    const associations: Json = {};
    for (const [i, association] of itemsOf(behavior.FunctionAssociations).entries()) {
      const arn = text(object(association).FunctionARN) ?? '';
      const eventType = text(object(association).EventType);
      const name = arn.slice(arn.lastIndexOf('/') + 1);
      if (eventType !== 'viewer-request' && eventType !== 'viewer-response') {
        this.note(`${at}.FunctionAssociations.Items[${i}]`, association, 'CloudFront Functions run on viewer-request and viewer-response only');
      } else if (!this.#functions.has(name)) {
        this.note(
          `${at}.FunctionAssociations.Items[${i}]`,
          arn,
          `no functions/${name}.json with functions/${name}.js was exported: the behavior runs without this function`,
        );
      } else {
        associations[eventType] = name;
      }
    }
    if (Object.keys(associations).length > 0) entry.functionAssociations = associations;
    if (itemsOf(behavior.LambdaFunctionAssociations).length > 0)
      this.note(`${at}.LambdaFunctionAssociations`, behavior.LambdaFunctionAssociations, 'Lambda@Edge is not run: only CloudFront Functions are');
    const viewerProtocol = text(behavior.ViewerProtocolPolicy);
    const forced = this.#options.viewerProtocolPolicy;
    if (viewerProtocol !== undefined && !isOneOf(VIEWER_PROTOCOL_POLICIES, viewerProtocol)) {
      this.note(`${at}.ViewerProtocolPolicy`, viewerProtocol, 'not a CloudFront viewer protocol policy: allow-all is used');
    } else if (forced !== undefined) {
      if ((viewerProtocol ?? 'allow-all') !== forced)
        this.note(`${at}.ViewerProtocolPolicy`, viewerProtocol, `replaced by ${forced} (--viewer-protocol-policy)`);
      if (forced !== 'allow-all') entry.viewerProtocolPolicy = forced;
    } else if (viewerProtocol !== undefined && viewerProtocol !== 'allow-all') {
      entry.viewerProtocolPolicy = viewerProtocol;
    }
    if (behavior.Compress === true) entry.compress = true;
    const methods = itemsOf(behavior.AllowedMethods);
    if (methods.length > 0 && methods.length < 7) this.note(`${at}.AllowedMethods`, methods, 'every method is forwarded to the origin');
    const cached = itemsOf(object(behavior.AllowedMethods).CachedMethods);
    if (cached.includes('OPTIONS')) this.note(`${at}.AllowedMethods.CachedMethods`, cached, 'only GET and HEAD responses are cached');
    if (itemsOf(behavior.TrustedKeyGroups).length > 0 || itemsOf(behavior.TrustedSigners).length > 0)
      this.note(
        `${at}.TrustedKeyGroups`,
        behavior.TrustedKeyGroups ?? behavior.TrustedSigners,
        'signed URLs and cookies are not checked: the content is served to anyone',
      );
    if (text(behavior.OriginRequestPolicyId)) this.#originRequestPolicyNote(behavior.OriginRequestPolicyId as string, `${at}.OriginRequestPolicyId`);
    if (text(behavior.ResponseHeadersPolicyId))
      this.note(
        `${at}.ResponseHeadersPolicyId`,
        behavior.ResponseHeadersPolicyId,
        'response headers policies are not applied: add the headers in a viewer-response function',
      );
    if (text(behavior.RealtimeLogConfigArn))
      this.note(`${at}.RealtimeLogConfigArn`, behavior.RealtimeLogConfigArn, 'real-time logs are not sent: the decision trace and access logs are local');
    if (text(behavior.FieldLevelEncryptionId))
      this.note(`${at}.FieldLevelEncryptionId`, behavior.FieldLevelEncryptionId, 'field-level encryption is not applied');
    if (behavior.SmoothStreaming === true) this.note(`${at}.SmoothStreaming`, true, 'Microsoft Smooth Streaming is not supported');
    if (isObject(behavior.GrpcConfig) && behavior.GrpcConfig.Enabled === true) this.note(`${at}.GrpcConfig`, behavior.GrpcConfig, 'gRPC is not proxied');
    return entry;
  }

  #originRequestPolicyNote(id: string, at: string): void {
    const managed = MANAGED_ORIGIN_REQUEST_POLICIES.get(id);
    if (managed !== undefined) {
      if (managed.name === 'AllViewerExceptHostHeader') return; // what the edge does anyway
      const host = managed.hostHeader === 'viewer' ? ' The viewer Host header is not forwarded (the origin gets its own domain name).' : '';
      this.note(
        at,
        `${id} (${managed.name})`,
        `the edge forwards every viewer header except Host, every cookie and query string; ${managed.name} forwards ${managed.forwards}.${host}`,
      );
      return;
    }
    const file = join(this.#dir, 'origin-request-policies', `${id}.json`);
    const name = exists(join(this.#dir, 'origin-request-policies'), `${id}.json`)
      ? text(object(object(object(readJson(file)).OriginRequestPolicy).OriginRequestPolicyConfig).Name)
      : undefined;
    this.note(
      at,
      name ? `${id} (${name})` : id,
      'origin request policies are not applied: the edge forwards every viewer header except Host, every cookie and query string',
    );
  }

  /** The config name of the behavior's cache policy: managed, exported, or made from the legacy ForwardedValues. */
  #cachePolicyFor(behavior: Json, at: string): string {
    const id = text(behavior.CachePolicyId);
    if (id === undefined) return this.#legacyPolicy(behavior, at);
    const known = this.#cachePolicies.get(id);
    if (known !== undefined) return known;
    const managed = MANAGED_CACHE_POLICIES.get(id);
    if (managed !== undefined) {
      if (managed.builtIn !== true) this.#emitPolicy({ ...managed });
      this.#cachePolicies.set(id, managed.name);
      return managed.name;
    }
    const dir = join(this.#dir, 'cache-policies');
    if (!exists(dir, `${id}.json`)) {
      this.note(
        `${at}.CachePolicyId`,
        id,
        `no cache-policies/${id}.json (aws cloudfront get-cache-policy --id ${id}) and not an AWS managed policy: CachingDisabled is used, so nothing is cached that should not be`,
      );
      this.#cachePolicies.set(id, 'CachingDisabled');
      return 'CachingDisabled';
    }
    const file = join(dir, `${id}.json`);
    const policy = object(object(object(readJson(file)).CachePolicy).CachePolicyConfig);
    const name = this.#uniquePolicyName(configName(text(policy.Name) ?? id));
    const params = object(policy.ParametersInCacheKeyAndForwardedToOrigin);
    const headers = object(params.HeadersConfig);
    const cookies = object(params.CookiesConfig);
    const queries = object(params.QueryStringsConfig);
    const where = `cache-policies/${id}.json: CachePolicyConfig`;
    this.#emitPolicy({
      name,
      minTtl: numberOr(policy.MinTTL, 0),
      defaultTtl: numberOr(policy.DefaultTTL, 86_400),
      maxTtl: numberOr(policy.MaxTTL, 31_536_000),
      headers: keyItems(headers.HeaderBehavior, headers.Headers, true, `${where}.HeadersConfig`, this),
      cookies: keyItems(cookies.CookieBehavior, cookies.Cookies, false, `${where}.CookiesConfig`, this),
      queryStrings: keyItems(queries.QueryStringBehavior, queries.QueryStrings, false, `${where}.QueryStringsConfig`, this),
      enableAcceptEncodingGzip: params.EnableAcceptEncodingGzip === true,
      enableAcceptEncodingBrotli: params.EnableAcceptEncodingBrotli === true,
    });
    this.#cachePolicies.set(id, name);
    return name;
  }

  /** A behavior without CachePolicyId uses the legacy ForwardedValues and MinTTL/DefaultTTL/MaxTTL fields. */
  #legacyPolicy(behavior: Json, at: string): string {
    const forwarded = object(behavior.ForwardedValues);
    const headerItems = itemsOf(forwarded.Headers).filter((h): h is string => typeof h === 'string');
    const cookies = object(forwarded.Cookies);
    const cookieMode = text(cookies.Forward) ?? 'none';
    const queryKeys = itemsOf(forwarded.QueryStringCacheKeys).filter((q): q is string => typeof q === 'string');
    if (headerItems.includes('*')) {
      this.note(`${at}.ForwardedValues.Headers`, headerItems, 'forwarding all headers makes CloudFront cache nothing: CachingDisabled is used');
      return 'CachingDisabled';
    }
    const name = this.#uniquePolicyName(`legacy-${configName(text(behavior.PathPattern) ?? 'default').replace(/^-+|-+$/g, '') || 'default'}`);
    this.#emitPolicy({
      name,
      minTtl: numberOr(behavior.MinTTL, 0),
      defaultTtl: numberOr(behavior.DefaultTTL, 86_400),
      maxTtl: numberOr(behavior.MaxTTL, 31_536_000),
      headers: headerItems.length > 0 ? { behavior: 'whitelist', names: headerItems.map((h) => h.toLowerCase()) } : { behavior: 'none', names: [] },
      cookies:
        cookieMode === 'all'
          ? { behavior: 'all', names: [] }
          : cookieMode === 'whitelist'
            ? { behavior: 'whitelist', names: itemsOf(cookies.WhitelistedNames).filter((c): c is string => typeof c === 'string') }
            : { behavior: 'none', names: [] },
      queryStrings:
        forwarded.QueryString === true
          ? queryKeys.length > 0
            ? { behavior: 'whitelist', names: queryKeys }
            : { behavior: 'all', names: [] }
          : { behavior: 'none', names: [] },
      // Legacy cache settings compress with gzip only (brotli needs a cache policy).
      enableAcceptEncodingGzip: behavior.Compress === true,
    });
    this.note(`${at}.ForwardedValues`, undefined, `legacy cache settings became cache policy "${name}"`);
    return name;
  }

  #uniquePolicyName(name: string): string {
    const taken = new Set(['CachingOptimized', 'CachingDisabled', ...this.#emittedPolicies.map((p) => p.name as string)]);
    let candidate = name;
    for (let n = 2; taken.has(candidate); n++) candidate = `${name}-${n}`;
    return candidate;
  }

  #emitPolicy(policy: ImportedCachePolicy): void {
    const { name, minTtl, defaultTtl, maxTtl, headers, cookies, queryStrings, enableAcceptEncodingGzip, enableAcceptEncodingBrotli } = policy;
    // Only the fields the config schema knows (managed entries carry a builtIn marker).
    this.#emittedPolicies.push({
      name,
      minTtl,
      defaultTtl: Math.max(defaultTtl, minTtl),
      maxTtl: Math.max(maxTtl, defaultTtl, minTtl),
      headers,
      cookies,
      queryStrings,
      ...(enableAcceptEncodingGzip === true ? { enableAcceptEncodingGzip } : {}),
      ...(enableAcceptEncodingBrotli === true ? { enableAcceptEncodingBrotli } : {}),
    });
  }

  /** CloudFront's CustomErrorResponses as the config's customErrorResponses; entries the config cannot take are reported. */
  #customErrorResponses(dc: Json): Json[] {
    const out: Json[] = [];
    for (const [i, item] of itemsOf(dc.CustomErrorResponses).entries()) {
      const at = `DistributionConfig.CustomErrorResponses.Items[${i}]`;
      const e = object(item);
      const errorCode = Number(e.ErrorCode);
      if (!isOneOf(CUSTOM_ERROR_CODES, errorCode)) {
        this.note(`${at}.ErrorCode`, e.ErrorCode, `not one of CloudFront's error codes (${CUSTOM_ERROR_CODES.join(', ')}): left out`);
        continue;
      }
      const entry: Json = { errorCode };
      const page = text(e.ResponsePagePath);
      // AWS exports ResponseCode as a string, "" when the page is served with the origin's status.
      const responseCode = text(String(e.ResponseCode ?? '')) === undefined ? undefined : Number(e.ResponseCode);
      if (page !== undefined) entry.responsePagePath = page;
      if (responseCode !== undefined) {
        if (isOneOf(CUSTOM_RESPONSE_CODES, responseCode)) entry.responseCode = responseCode;
        else
          this.note(
            `${at}.ResponseCode`,
            e.ResponseCode,
            `not one of CloudFront's response codes (${CUSTOM_RESPONSE_CODES.join(', ')}): the origin's status is kept`,
          );
      }
      if (typeof e.ErrorCachingMinTTL === 'number' && Number.isInteger(e.ErrorCachingMinTTL) && e.ErrorCachingMinTTL >= 0)
        entry.errorCachingMinTtl = Math.min(e.ErrorCachingMinTTL, 31_536_000);
      out.push(entry);
    }
    return out;
  }

  /** An origin setting in CloudFront's seconds (or attempts), carried when it is in CloudFront's range. */
  #originSetting(entry: Json, field: string, value: unknown, range: { min: number; max: number }, at: string): void {
    if (value === undefined) return;
    if (typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max) entry[field] = value;
    else this.note(at, value, `outside CloudFront's range of ${range.min} to ${range.max}: the default is used`);
  }

  #distributionNotes(dc: Json): void {
    const at = 'DistributionConfig';
    if (text(dc.DefaultRootObject))
      this.note(
        `${at}.DefaultRootObject`,
        dc.DefaultRootObject,
        'not applied: a request for "/" goes to the origin as "/" (rewrite it in a viewer-request function)',
      );
    const cert = object(dc.ViewerCertificate);
    if (cert.CloudFrontDefaultCertificate !== true && (text(cert.ACMCertificateArn) || text(cert.IAMCertificateId)))
      this.note(
        `${at}.ViewerCertificate`,
        cert,
        'the certificate stays in AWS: give the distribution a viewerCertificate with your PEM files (docs/edge.md, "HTTPS"); until then it is served with the default certificate',
      );
    if (object(dc.Logging).Enabled === true) this.note(`${at}.Logging`, dc.Logging, 'standard logs are not written to S3');
    if (text(dc.WebACLId)) this.note(`${at}.WebACLId`, dc.WebACLId, 'AWS WAF is not applied');
    const geo = object(object(dc.Restrictions).GeoRestriction);
    if (text(geo.RestrictionType) && geo.RestrictionType !== 'none')
      this.note(`${at}.Restrictions.GeoRestriction`, geo, 'geographic restrictions are not applied');
    if (dc.Enabled === false) this.note(`${at}.Enabled`, false, 'the distribution was disabled; the config serves it');
    if (text(dc.ContinuousDeploymentPolicyId) || dc.Staging === true)
      this.note(
        `${at}.ContinuousDeploymentPolicyId`,
        dc.ContinuousDeploymentPolicyId ?? dc.Staging,
        'continuous deployment (staging distributions) is not supported',
      );
    if (text(dc.PriceClass) && dc.PriceClass !== 'PriceClass_All')
      this.note(`${at}.PriceClass`, dc.PriceClass, 'price classes mean nothing on your own machines');
  }
}

function isOneOf<T extends string | number>(allowed: readonly T[], value: unknown): value is T {
  return (allowed as readonly unknown[]).includes(value);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 ? value : fallback;
}

type KeyItems = { behavior: 'none' | 'whitelist' | 'allExcept' | 'all'; names: string[] };

function keyItems(behavior: unknown, list: unknown, lowercase: boolean, at: string, importer: Importer): KeyItems {
  const names = itemsOf(list)
    .filter((n): n is string => typeof n === 'string')
    .map((n) => (lowercase ? n.toLowerCase() : n));
  switch (behavior) {
    case 'whitelist':
    case 'allExcept':
    case 'all':
      return { behavior, names: behavior === 'all' ? [] : names };
    case 'allViewer':
      return { behavior: 'all', names: [] };
    case 'allViewerAndWhitelistCloudFront':
      importer.note(at, { behavior, names }, 'CloudFront-* headers are not generated; every viewer header is in the cache key');
      return { behavior: 'all', names: [] };
    case undefined:
    case 'none':
      return { behavior: 'none', names: [] };
    default:
      importer.note(at, behavior, 'unknown behavior: nothing of this kind is in the cache key');
      return { behavior: 'none', names: [] };
  }
}

/** Reads the export directory `dir` and returns the config and the report of what did not carry over. */
export function importDistribution(dir: string, options: ImportOptions): ImportResult {
  return new Importer(dir, options).run();
}

/** `name=url-or-directory` pairs of --origin-override, keyed by origin id. */
export function parseOriginOverrides(pairs: readonly string[], baseDir: string): Map<string, string> {
  const overrides = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw invalid(`--origin-override takes <origin id>=<url or directory>, got ${JSON.stringify(pair)}`);
    const value = pair.slice(at + 1);
    overrides.set(pair.slice(0, at), /^https?:\/\//i.test(value) ? value : resolve(baseDir, value));
  }
  return overrides;
}
