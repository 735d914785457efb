/**
 * Reads and validates `openfront.config.yaml|.yml|.json`. Every problem in the file is collected and reported at
 * once (one `CONFIG_INVALID` error whose `details.problems` lists `{path, message}`), so a user fixes a file in one
 * round trip instead of one error at a time.
 */
import { constants, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, extname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { OpenFrontError } from '../errors.js';
import type { RuntimeVersion } from '../runtime/event.js';
import { ConfigSchema, CustomOriginSchema, ORIGIN_SETTING_RANGES, StaticOriginSchema, type RawConfig } from './schema.js';
import type {
  BehaviorConfig,
  CachePolicyConfig,
  CertificateFiles,
  ConfigProblem,
  DistributionConfig,
  EdgeConfig,
  OriginConfig,
  OriginGroupConfig,
  RecordingConfig,
  ServerTlsConfig,
} from './types.js';

/** File names `openfront start` looks for, in order, when no path is given. */
export const CONFIG_FILE_NAMES = ['openfront.config.yaml', 'openfront.config.yml', 'openfront.config.json'] as const;

/** CloudFront's default ErrorCachingMinTTL, in seconds. */
export const ERROR_CACHING_MIN_TTL_DEFAULT = 10;

/** CloudFront's managed policies of the same names. */
export const BUILTIN_CACHE_POLICIES: readonly CachePolicyConfig[] = [
  {
    name: 'CachingOptimized',
    minTtl: 1,
    defaultTtl: 86_400,
    maxTtl: 31_536_000,
    headers: { behavior: 'none', names: [] },
    cookies: { behavior: 'none', names: [] },
    queryStrings: { behavior: 'none', names: [] },
    enableAcceptEncodingGzip: true,
    enableAcceptEncodingBrotli: true,
  },
  {
    name: 'CachingDisabled',
    minTtl: 0,
    defaultTtl: 0,
    maxTtl: 0,
    headers: { behavior: 'none', names: [] },
    cookies: { behavior: 'none', names: [] },
    queryStrings: { behavior: 'none', names: [] },
  },
];

/** A config file larger than this is refused before it is parsed (a reload reads it while serving). */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Reads a regular file of at most `maxBytes` (a FIFO or device could block or never end). Reads one byte past the
 * cap, so a file that grew after its size was looked at is refused too.
 */
async function readBoundedFile(file: string, maxBytes: number): Promise<string> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; it has no effect on a regular file.
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new OpenFrontError('CONFIG_INVALID', 'not a regular file');
    if (info.size > maxBytes)
      throw new OpenFrontError('CONFIG_INVALID', `the file is ${info.size} bytes, more than the ${maxBytes}-byte limit for a config file`);
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new OpenFrontError('CONFIG_INVALID', `the file grew past the ${maxBytes}-byte limit for a config file while it was read`);
    }
    return buffer.toString('utf8', 0, length);
  } finally {
    await handle.close();
  }
}

/** Reads a config file (YAML or JSON by extension) and validates it; relative paths resolve against its folder. */
export async function loadConfig(path: string): Promise<EdgeConfig> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readBoundedFile(absolute, MAX_CONFIG_FILE_BYTES);
  } catch (err) {
    throw invalid(absolute, [{ path: '(file)', message: `cannot read ${absolute}: ${(err as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = extname(absolute).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    // yaml's message already names line and column, then adds a code frame we leave out.
    const message = err instanceof YAMLParseError ? err.message.split('\n')[0] : (err as Error).message;
    throw invalid(absolute, [{ path: '(file)', message: `not valid ${extname(absolute).slice(1).toUpperCase()}: ${message}` }]);
  }
  return parseConfig(raw, dirname(absolute), absolute);
}

/**
 * Validates an already-parsed config object. `baseDir` anchors relative paths (code files, seeds, static roots).
 * Throws `OpenFrontError('CONFIG_INVALID')` listing every problem; `details.problems` holds them as data.
 */
export function parseConfig(obj: unknown, baseDir: string, source = 'configuration'): EdgeConfig {
  const problems: ConfigProblem[] = [];
  const parsed = ConfigSchema.safeParse(obj ?? {});
  if (!parsed.success) {
    problems.push(...issuesToProblems(parsed.error.issues, []));
    throw invalid(source, problems);
  }
  const config = resolveConfig(parsed.data, resolve(baseDir), problems);
  if (problems.length > 0) throw invalid(source, problems);
  return config;
}

/** `distributions[0].origins[1].url` */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

function issuesToProblems(issues: readonly z.core.$ZodIssue[], prefix: PropertyKey[]): ConfigProblem[] {
  return issues.map((issue) => ({ path: formatPath([...prefix, ...issue.path]), message: issue.message }));
}

function invalid(source: string, problems: ConfigProblem[]): OpenFrontError {
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
  return new OpenFrontError('CONFIG_INVALID', `${source} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines}`, { problems });
}

function resolveConfig(raw: RawConfig, baseDir: string, problems: ConfigProblem[]): EdgeConfig {
  const report = (path: PropertyKey[], message: string) => problems.push({ path: formatPath(path), message });

  const storeNames = uniqueNames(
    raw.stores.map((s) => s.name),
    ['stores'],
    'name',
    'store',
    report,
  );
  const awsIds = new Map<string, string>();
  raw.stores.forEach((s, i) => {
    if (s.awsId === undefined) return;
    const other = awsIds.get(s.awsId);
    if (other !== undefined) report(['stores', i, 'awsId'], `store "${other}" already has awsId ${s.awsId}`);
    else awsIds.set(s.awsId, s.name);
  });
  const stores = raw.stores.map((s, i) => {
    const seedPath = s.seed === undefined ? undefined : resolve(baseDir, s.seed);
    if (seedPath !== undefined) requireFile(seedPath, ['stores', i, 'seed'], report);
    const schemaPath = typeof s.schema === 'string' ? resolve(baseDir, s.schema) : undefined;
    if (schemaPath !== undefined) requireFile(schemaPath, ['stores', i, 'schema'], report);
    const schema = schemaPath !== undefined ? { path: schemaPath } : typeof s.schema === 'object' ? { inline: s.schema } : undefined;
    return { name: s.name, seedPath, ...(s.awsId === undefined ? {} : { awsId: s.awsId }), ...(schema ? { schema } : {}) };
  });

  const functionNames = uniqueNames(
    raw.functions.map((f) => f.name),
    ['functions'],
    'name',
    'function',
    report,
  );
  const functions = raw.functions.map((f, i) => {
    const codePath = resolve(baseDir, f.code);
    requireFile(codePath, ['functions', i, 'code'], report);
    if (f.store !== undefined && !storeNames.has(f.store)) report(['functions', i, 'store'], `unknown store "${f.store}" (declare it under stores)`);
    return { name: f.name, codePath, runtime: f.runtime as RuntimeVersion, store: f.store };
  });

  const policies = new Map<string, CachePolicyConfig>(BUILTIN_CACHE_POLICIES.map((p) => [p.name, p]));
  raw.cachePolicies.forEach((p, i) => {
    const path = ['cachePolicies', i];
    if (policies.has(p.name))
      report(
        [...path, 'name'],
        `duplicate cache policy name "${p.name}"${BUILTIN_CACHE_POLICIES.some((b) => b.name === p.name) ? ' (a built-in policy has this name)' : ''}`,
      );
    if (p.minTtl > p.defaultTtl) report([...path, 'defaultTtl'], `defaultTtl (${p.defaultTtl}) must be >= minTtl (${p.minTtl})`);
    if (p.defaultTtl > p.maxTtl) report([...path, 'maxTtl'], `maxTtl (${p.maxTtl}) must be >= defaultTtl (${p.defaultTtl})`);
    for (const kind of ['headers', 'cookies', 'queryStrings'] as const) {
      const items = p[kind];
      const needsNames = items.behavior === 'whitelist' || items.behavior === 'allExcept';
      if (needsNames && items.names.length === 0) report([...path, kind, 'names'], `behavior "${items.behavior}" needs at least one name`);
      if (!needsNames && items.names.length > 0) report([...path, kind, 'names'], `behavior "${items.behavior}" takes no names`);
    }
    if (p.headers.behavior === 'all' || p.headers.behavior === 'allExcept')
      report([...path, 'headers', 'behavior'], 'a cache policy can include headers only as "none" or "whitelist" (as in CloudFront)');
    policies.set(p.name, { ...p, headers: { ...p.headers }, cookies: { ...p.cookies }, queryStrings: { ...p.queryStrings } });
  });

  const distributionIds = new Set<string>();
  const hostOwners = new Map<string, string>();
  const distributions: DistributionConfig[] = raw.distributions.map((d, di) => {
    const dPath: PropertyKey[] = ['distributions', di];
    if (distributionIds.has(d.id)) report([...dPath, 'id'], `duplicate distribution id "${d.id}"`);
    distributionIds.add(d.id);
    d.hostnames.forEach((host, hi) => {
      if (!/^(\*|(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d+)?)$/.test(host))
        report([...dPath, 'hostnames', hi], `"${host}" is not a host name, "*.suffix" wildcard or "*"`);
      const owner = hostOwners.get(host);
      if (owner !== undefined) report([...dPath, 'hostnames', hi], `host name "${host}" is already used by distribution "${owner}"`);
      hostOwners.set(host, d.id);
    });

    const origins = d.origins
      .map((o, oi) => resolveOrigin(o, [...dPath, 'origins', oi], baseDir, problems, report))
      .filter((o): o is OriginConfig => o !== undefined);
    const originIds = new Set<string>();
    origins.forEach((o, oi) => {
      if (originIds.has(o.id)) report([...dPath, 'origins', oi, 'id'], `duplicate origin id "${o.id}"`);
      originIds.add(o.id);
    });
    const groups: OriginGroupConfig[] = d.originGroups.map((g, gi) => {
      const gPath = [...dPath, 'originGroups', gi];
      if (originIds.has(g.id)) report([...gPath, 'id'], `"${g.id}" is already an origin or origin group id`);
      if (!origins.some((o) => o.id === g.primary)) report([...gPath, 'primary'], `unknown origin "${g.primary}" (a group's members must be origins)`);
      if (!origins.some((o) => o.id === g.secondary)) report([...gPath, 'secondary'], `unknown origin "${g.secondary}" (a group's members must be origins)`);
      if (g.primary === g.secondary) report([...gPath, 'secondary'], 'primary and secondary must be different origins');
      originIds.add(g.id);
      return { id: g.id, primary: g.primary, secondary: g.secondary, failoverStatusCodes: [...g.failoverStatusCodes] };
    });

    const behavior = (b: RawConfig['distributions'][number]['defaultBehavior'], pathPattern: string, path: PropertyKey[]): BehaviorConfig => {
      if (!originIds.has(b.origin)) report([...path, 'origin'], `unknown origin or origin group "${b.origin}"`);
      const policy = policies.get(b.cachePolicy);
      if (policy === undefined) report([...path, 'cachePolicy'], `unknown cache policy "${b.cachePolicy}"`);
      for (const eventType of ['viewer-request', 'viewer-response'] as const) {
        const fn = b.functionAssociations[eventType];
        if (fn !== undefined && !functionNames.has(fn))
          report([...path, 'functionAssociations', eventType], `unknown function "${fn}" (declare it under functions)`);
      }
      return {
        pathPattern,
        viewerProtocolPolicy: b.viewerProtocolPolicy,
        origin: b.origin,
        cachePolicy: policy ?? BUILTIN_CACHE_POLICIES[0],
        functions: { viewerRequest: b.functionAssociations['viewer-request'], viewerResponse: b.functionAssociations['viewer-response'] },
        ...(b.compress ? { compress: true } : {}),
      };
    };
    const patterns = new Set<string>();
    const behaviors = d.behaviors.map((b, bi) => {
      const bPath = [...dPath, 'behaviors', bi];
      if (patterns.has(b.pathPattern)) report([...bPath, 'pathPattern'], `duplicate path pattern "${b.pathPattern}"`);
      patterns.add(b.pathPattern);
      if (/[^A-Za-z0-9_\-.*$/~"'@:+?&=!,;%]/.test(b.pathPattern))
        report([...bPath, 'pathPattern'], `"${b.pathPattern}" contains characters CloudFront does not allow in a path pattern`);
      return behavior(b, b.pathPattern, bPath);
    });
    const errorCodes = new Set<number>();
    const customErrorResponses = d.customErrorResponses.map((e, ei) => {
      const ePath = [...dPath, 'customErrorResponses', ei];
      if (errorCodes.has(e.errorCode)) report([...ePath, 'errorCode'], `errorCode ${e.errorCode} has more than one entry`);
      errorCodes.add(e.errorCode);
      if ((e.responsePagePath === undefined) !== (e.responseCode === undefined))
        report(ePath, 'responsePagePath and responseCode go together (as in CloudFront): give both or neither');
      return {
        errorCode: e.errorCode,
        ...(e.responsePagePath !== undefined && e.responseCode !== undefined ? { responsePagePath: e.responsePagePath, responseCode: e.responseCode } : {}),
        errorCachingMinTtl: e.errorCachingMinTtl ?? ERROR_CACHING_MIN_TTL_DEFAULT,
      };
    });
    const exactHost = d.hostnames.find((h) => !h.includes('*'));
    const viewerCertificate =
      d.viewerCertificate === undefined
        ? undefined
        : {
            ...certificatePaths(d.viewerCertificate, baseDir, [...dPath, 'viewerCertificate'], report),
            minimumProtocolVersion: d.viewerCertificate.minimumProtocolVersion,
          };
    return {
      id: d.id,
      hostnames: d.hostnames,
      domainName: d.domainName ?? exactHost ?? `${d.id.toLowerCase()}.openfront.local`,
      origins,
      originGroups: groups,
      defaultBehavior: behavior(d.defaultBehavior, '*', [...dPath, 'defaultBehavior']),
      behaviors,
      customErrorResponses,
      httpVersion: d.httpVersion,
      ...(viewerCertificate === undefined ? {} : { viewerCertificate }),
      ...(d.recording === undefined ? {} : { recording: recordingConfig(d.recording) }),
    };
  });

  return {
    baseDir,
    kvsLimits: raw.kvs.limits,
    ...(raw.kvs.importDir === undefined ? {} : { kvsImportDir: resolve(baseDir, raw.kvs.importDir) }),
    ...(raw.kvs.history === undefined ? {} : { kvsHistory: raw.kvs.history }),
    apiLimits: Object.fromEntries(Object.entries(raw.api).filter(([, v]) => v !== undefined)),
    server: {
      host: raw.server.host,
      port: raw.server.port,
      cacheBytes: raw.server.cacheBytes,
      cache: { ...raw.server.cache, ...(raw.server.cache.diskDir === undefined ? {} : { diskDir: resolve(baseDir, raw.server.cache.diskDir) }) },
      nodeId: raw.server.nodeId ?? (hostname() || 'openfront'),
      ...(raw.server.httpsPort === undefined ? {} : { httpsPort: raw.server.httpsPort }),
      ...(raw.server.tls === undefined ? {} : { tls: resolveServerTls(raw.server.tls, baseDir, report) }),
    },
    observability: {
      ...raw.observability,
      accessLog: {
        includeCookies: raw.observability.accessLog.includeCookies,
        ...(raw.observability.accessLog.path === undefined
          ? {}
          : { path: raw.observability.accessLog.path === '-' ? '-' : resolve(baseDir, raw.observability.accessLog.path) }),
      },
    },
    stores,
    functions,
    cachePolicies: [...policies.values()],
    distributions,
  };
}

function resolveOrigin(
  raw: Record<string, unknown>,
  path: PropertyKey[],
  baseDir: string,
  problems: ConfigProblem[],
  report: (path: PropertyKey[], message: string) => void,
): OriginConfig | undefined {
  if ('static' in raw) {
    const parsed = StaticOriginSchema.safeParse(raw);
    if (!parsed.success) {
      problems.push(...issuesToProblems(parsed.error.issues, path));
      return undefined;
    }
    const root = resolve(baseDir, parsed.data.static);
    if (!existsSync(root) || !statSync(root).isDirectory()) report([...path, 'static'], `directory not found: ${root}`);
    return { kind: 'static', id: parsed.data.id, root };
  }
  const parsed = CustomOriginSchema.safeParse(raw);
  if (!parsed.success) {
    problems.push(...issuesToProblems(parsed.error.issues, path));
    return undefined;
  }
  const o = parsed.data;
  let protocol = o.protocol ?? 'http';
  let domainName = o.domainName;
  let port = o.port;
  let originPath = o.originPath ?? '';
  if (o.url !== undefined) {
    if (o.domainName !== undefined) report([...path, 'domainName'], 'give either url or domainName, not both');
    const url = new URL(o.url);
    if (url.search !== '' || url.hash !== '') report([...path, 'url'], 'an origin url takes no query string or fragment');
    protocol = o.protocol ?? (url.protocol === 'https:' ? 'https' : 'http');
    domainName = url.hostname.replace(/^\[|\]$/g, '');
    port = o.port ?? (url.port === '' ? undefined : Number(url.port));
    const urlPath = url.pathname.replace(/\/+$/, '');
    if (urlPath !== '') {
      if (o.originPath !== undefined) report([...path, 'originPath'], 'the url already has a path; give the origin path in one place');
      originPath = urlPath;
    }
  }
  if (domainName === undefined) {
    report([...path], 'a custom origin needs url or domainName (or static for a directory)');
    return undefined;
  }
  return {
    kind: 'custom',
    id: o.id,
    protocol,
    domainName,
    port: port ?? (protocol === 'https' ? 443 : 80),
    originPath,
    connectionAttempts: o.connectionAttempts ?? ORIGIN_SETTING_RANGES.connectionAttempts.default,
    connectTimeoutMs: originMillis(o.connectionTimeout, o.connectTimeoutMs, 'connectionTimeout', 'connectTimeoutMs', path, report),
    readTimeoutMs: originMillis(o.readTimeout, o.readTimeoutMs, 'readTimeout', 'readTimeoutMs', path, report),
    keepaliveTimeoutMs: originMillis(o.keepaliveTimeout, o.keepaliveTimeoutMs, 'keepaliveTimeout', 'keepaliveTimeoutMs', path, report),
    maxConnections: o.maxConnections,
    customHeaders: { ...o.customHeaders },
  };
}

/** One origin setting given in seconds (CloudFront's field) or milliseconds, not both; CloudFront's default if neither. */
function originMillis(
  secondsValue: number | undefined,
  millisValue: number | undefined,
  name: keyof typeof ORIGIN_SETTING_RANGES,
  millisName: string,
  path: PropertyKey[],
  report: (path: PropertyKey[], message: string) => void,
): number {
  if (secondsValue !== undefined && millisValue !== undefined) report([...path, millisName], `give ${name} (seconds) or ${millisName}, not both`);
  return millisValue ?? (secondsValue ?? ORIGIN_SETTING_RANGES[name].default) * 1000;
}

function certificatePaths(
  files: { certificate: string; privateKey: string },
  baseDir: string,
  path: PropertyKey[],
  report: (path: PropertyKey[], message: string) => void,
): CertificateFiles {
  const certificatePath = resolve(baseDir, files.certificate);
  const privateKeyPath = resolve(baseDir, files.privateKey);
  requireFile(certificatePath, [...path, 'certificate'], report);
  requireFile(privateKeyPath, [...path, 'privateKey'], report);
  return { certificatePath, privateKeyPath };
}

function resolveServerTls(
  raw: NonNullable<RawConfig['server']['tls']>,
  baseDir: string,
  report: (path: PropertyKey[], message: string) => void,
): ServerTlsConfig {
  const { defaultCertificate, ...rest } = raw;
  return {
    ...rest,
    ...(defaultCertificate === undefined
      ? {}
      : { defaultCertificate: certificatePaths(defaultCertificate, baseDir, ['server', 'tls', 'defaultCertificate'], report) }),
  };
}

function uniqueNames(names: string[], path: PropertyKey[], field: string, what: string, report: (path: PropertyKey[], message: string) => void): Set<string> {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) report([...path, i, field], `duplicate ${what} name "${n}"`);
    seen.add(n);
  });
  return seen;
}

function requireFile(file: string, path: PropertyKey[], report: (path: PropertyKey[], message: string) => void): void {
  if (!existsSync(file) || !statSync(file).isFile()) report(path, `file not found: ${file}`);
}

function recordingConfig(r: NonNullable<RawConfig['distributions'][number]['recording']>): RecordingConfig {
  return {
    sampleRate: r.sampleRate,
    maxRequests: r.maxRequests,
    maxRequestBytes: r.maxRequestBytes,
    maxTotalBytes: r.maxTotalBytes,
    maxPerSecond: r.maxPerSecond,
    redactHeaders: r.redact.headers,
    keepHeaders: r.redact.keepHeaders,
    keepCookies: r.redact.keepCookies,
    persist: r.persist,
  };
}
