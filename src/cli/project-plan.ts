/**
 * `openfront plan` and `openfront apply` (docs/safe-changes.md#plan-and-apply): a project directory — the config
 * file `openfront start` reads, its function files and its store seed files — compared with a running node. The plan
 * records the ETags it saw; applying it is ONE release (`/openfront/v1/releases`) that names them as If-Match, so a
 * change someone else made in between refuses the apply instead of being overwritten.
 *
 * Functions compare by code, runtime and store association against their LIVE version; stores compare key by key
 * against their seed file, which is authoritative: a key the seed file lacks is deleted.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DescribeKeyValueStoreCommand as DescribeStoreCommand } from '@aws-sdk/client-cloudfront';
import { DescribeKeyValueStoreCommand, paginateListKeys } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { loadConfig } from '../config/index.js';
import type { EdgeConfig } from '../config/types.js';
import { unifiedDiff } from '../control/functions/diff.js';
import type { FunctionVersionJson, StagePointerJson } from '../control/functions/native-routes.js';
import { openFrontError } from '../errors.js';
import type { KeyValue } from '../kvs/types.js';
import { UNLIMITED_KVS_LIMITS } from '../kvs/limits.js';
import { KeyValueBatch } from '../kvs/validate.js';
import { cloudFrontClient, keyValueStoreClient, nativeRequest, type ApiClientConfig } from './client.js';

const CONFIG_FILES = ['openfront.config.yaml', 'openfront.config.yml', 'openfront.config.json'];

export interface FunctionPlan {
  name: string;
  /** `missing`: the node has no published function of that name (apply refuses: create it first). */
  action: 'update' | 'unchanged' | 'missing';
  code?: string;
  runtime?: { from: string; to: string };
  store?: { from: string | null; to: string | null };
  /** Lines added and removed, against LIVE. */
  lines?: { added: number; removed: number };
  live?: { version: number; etag: string };
  development?: { etag: string };
}

export interface StorePlan {
  name: string;
  action: 'update' | 'unchanged' | 'missing' | 'no-seed';
  etag?: string;
  version?: number;
  adds: KeyValue[];
  changes: Array<{ key: string; from: string; to: string }>;
  deletes: string[];
}

export interface ProjectPlan {
  dir: string;
  endpoint: string;
  functions: FunctionPlan[];
  stores: StorePlan[];
  /** True when applying would change something. */
  changes: boolean;
}

export function projectConfigFile(dir: string): string {
  for (const name of CONFIG_FILES) if (existsSync(join(dir, name))) return join(dir, name);
  throw openFrontError('CLI_USAGE', `${dir} has no ${CONFIG_FILES.join(', ')}: point --dir at a project directory`);
}

function readSeed(path: string): KeyValue[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw openFrontError('CLI_USAGE', `cannot read the seed file ${path}: ${(err as Error).message}`);
  }
  const data = (raw as { data?: unknown }).data;
  if (!Array.isArray(data)) throw openFrontError('CLI_USAGE', `the seed file ${path} must be {"data": [{"key": …, "value": …}]}`);
  const batch = new KeyValueBatch(UNLIMITED_KVS_LIMITS, { code: 'CLI_USAGE', label: `${path} item` });
  data.forEach((item, index) => batch.add(item, index));
  return batch.items;
}

function lineCounts(before: string, after: string): { added: number; removed: number } {
  const lines = unifiedDiff(before, after, { from: 'live', to: 'project' }).split('\n');
  return {
    added: lines.filter((l) => l.startsWith('+') && !l.startsWith('+++')).length,
    removed: lines.filter((l) => l.startsWith('-') && !l.startsWith('---')).length,
  };
}

async function storeArnByName(config: ApiClientConfig, name: string): Promise<string | undefined> {
  try {
    return (await cloudFrontClient(config).send(new DescribeStoreCommand({ Name: name }))).KeyValueStore!.ARN!;
  } catch (err) {
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}

async function planFunction(config: ApiClientConfig, fn: EdgeConfig['functions'][number], storeNames: Map<string, string>): Promise<FunctionPlan> {
  const code = readFileSync(fn.codePath, 'utf8');
  let versions: { stages: { DEVELOPMENT: StagePointerJson; LIVE?: StagePointerJson }; versions: FunctionVersionJson[] };
  try {
    versions = (await nativeRequest(config, 'GET', `/openfront/v1/functions/${encodeURIComponent(fn.name)}/versions`)) as typeof versions;
  } catch (err) {
    if ((err as { details?: { status?: number } }).details?.status === 404) return { name: fn.name, action: 'missing' };
    throw err;
  }
  const live = versions.stages.LIVE;
  if (live === undefined) return { name: fn.name, action: 'missing' };
  const liveVersion = (await nativeRequest(
    config,
    'GET',
    `/openfront/v1/functions/${encodeURIComponent(fn.name)}/versions/${live.version}`,
  )) as FunctionVersionJson & {
    code: string;
  };
  const liveStore =
    liveVersion.config.keyValueStoreArn === undefined
      ? null
      : (storeNames.get(liveVersion.config.keyValueStoreArn.toLowerCase()) ?? liveVersion.config.keyValueStoreArn);
  const wantedStore = fn.store ?? null;
  const plan: FunctionPlan = {
    name: fn.name,
    action: 'unchanged',
    live: { version: live.version, etag: live.etag },
    development: { etag: versions.stages.DEVELOPMENT.etag },
  };
  if (liveVersion.code !== code) {
    plan.code = code;
    plan.lines = lineCounts(liveVersion.code, code);
  }
  if (liveVersion.config.runtime !== fn.runtime) plan.runtime = { from: liveVersion.config.runtime, to: fn.runtime };
  if (liveStore !== wantedStore) plan.store = { from: liveStore, to: wantedStore };
  if (plan.code !== undefined || plan.runtime !== undefined || plan.store !== undefined) {
    plan.action = 'update';
    plan.code = code;
  }
  return plan;
}

async function planStore(config: ApiClientConfig, store: EdgeConfig['stores'][number]): Promise<StorePlan> {
  const empty = { adds: [], changes: [], deletes: [] };
  if (store.seedPath === undefined) return { name: store.name, action: 'no-seed', ...empty };
  const seed = readSeed(store.seedPath);
  const arn = await storeArnByName(config, store.name);
  if (arn === undefined) return { name: store.name, action: 'missing', ...empty };
  const client = keyValueStoreClient(config);
  // The ETag is read before and after the listing: equal, the listing is that version's content.
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await client.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
    const current = new Map<string, string>();
    for await (const page of paginateListKeys({ client, pageSize: 50 }, { KvsARN: arn })) {
      for (const item of page.Items ?? []) current.set(item.Key!, item.Value!);
    }
    const after = await client.send(new DescribeKeyValueStoreCommand({ KvsARN: arn }));
    if (before.ETag !== after.ETag) continue;
    const plan: StorePlan = { name: store.name, action: 'unchanged', etag: after.ETag!, ...empty, adds: [], changes: [], deletes: [] };
    const seedKeys = new Set<string>();
    for (const { key, value } of seed) {
      seedKeys.add(key);
      const was = current.get(key);
      if (was === undefined) plan.adds.push({ key, value });
      else if (was !== value) plan.changes.push({ key, from: was, to: value });
    }
    for (const key of current.keys()) if (!seedKeys.has(key)) plan.deletes.push(key);
    if (plan.adds.length + plan.changes.length + plan.deletes.length > 0) plan.action = 'update';
    return plan;
  }
  throw openFrontError('CLI_API_ERROR', `store ${store.name} kept changing while it was read: plan again`);
}

/** Compares the project directory `dir` with the node behind `config`. Reads only. */
export async function planProject(dir: string, config: ApiClientConfig): Promise<ProjectPlan> {
  const project = await loadConfig(projectConfigFile(resolve(dir)));
  const storeNames = new Map<string, string>();
  for (const store of project.stores) {
    const arn = await storeArnByName(config, store.name);
    if (arn !== undefined) storeNames.set(arn.toLowerCase(), store.name);
  }
  const functions: FunctionPlan[] = [];
  for (const fn of project.functions) functions.push(await planFunction(config, fn, storeNames));
  const stores: StorePlan[] = [];
  for (const store of project.stores) stores.push(await planStore(config, store));
  const changes = functions.some((f) => f.action !== 'unchanged') || stores.some((s) => s.action === 'update' || s.action === 'missing');
  return { dir: resolve(dir), endpoint: config.endpoint.origin, functions, stores, changes };
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** The plan as people read it; `keysShown` keys per store at most. */
export function renderPlan(plan: ProjectPlan, keysShown = 20): string {
  const out = [`Plan for ${plan.dir} against ${plan.endpoint}:`];
  for (const fn of plan.functions) {
    if (fn.action === 'unchanged') continue;
    if (fn.action === 'missing') {
      out.push(`  ! function ${fn.name}: not published on the node (create and publish it first: openfront function create)`);
      continue;
    }
    const what = [
      ...(fn.lines ? [`code +${fn.lines.added} -${fn.lines.removed} lines`] : []),
      ...(fn.runtime ? [`runtime ${fn.runtime.from} → ${fn.runtime.to}`] : []),
      ...(fn.store ? [`store ${fn.store.from ?? 'none'} → ${fn.store.to ?? 'none'}`] : []),
    ];
    out.push(`  ~ function ${fn.name}: ${what.join(', ')} (LIVE version ${fn.live!.version} → a new version)`);
  }
  for (const store of plan.stores) {
    if (store.action === 'missing') out.push(`  ! store ${store.name}: does not exist on the node (create it first: openfront kvs create)`);
    if (store.action !== 'update') continue;
    out.push(`  ~ store ${store.name}: ${store.adds.length} to add, ${store.changes.length} to change, ${store.deletes.length} to delete`);
    const lines = [
      ...store.adds.map((item) => `      + ${quote(item.key)} = ${quote(item.value)}`),
      ...store.changes.map((c) => `      ~ ${quote(c.key)}: ${quote(c.from)} → ${quote(c.to)}`),
      ...store.deletes.map((key) => `      - ${quote(key)}`),
    ];
    out.push(...lines.slice(0, keysShown));
    if (lines.length > keysShown) out.push(`      … and ${lines.length - keysShown} more`);
  }
  const fnCount = plan.functions.filter((f) => f.action === 'update').length;
  const storeCount = plan.stores.filter((s) => s.action === 'update').length;
  out.push(plan.changes ? `Plan: ${fnCount} function(s) and ${storeCount} store(s) to change.` : 'No changes: the node matches the project.');
  return out.join('\n');
}

/** The release body that makes the node match `plan`, with every ETag the plan saw as If-Match. */
export function releaseOfPlan(plan: ProjectPlan, description: string): Record<string, unknown> {
  const missing = [
    ...plan.functions.filter((f) => f.action === 'missing').map((f) => `function ${f.name}`),
    ...plan.stores.filter((s) => s.action === 'missing').map((s) => `store ${s.name}`),
  ];
  if (missing.length > 0) {
    throw openFrontError('CLI_USAGE', `the node has no ${missing.join(', ')}: apply changes existing functions and stores; create them first`);
  }
  const functions = plan.functions
    .filter((f) => f.action === 'update')
    .map((f) => ({ name: f.name, code: f.code!, ...(f.runtime ? { runtime: f.runtime.to } : {}), ...(f.store ? { store: f.store.to } : {}) }));
  const stores = plan.stores.filter((s) => s.action === 'update');
  return {
    description,
    ...(functions.length > 0 ? { functions } : {}),
    ...(stores.length > 0
      ? {
          changes: {
            stores: Object.fromEntries(
              stores.map((s) => [s.name, { puts: [...s.adds, ...s.changes.map((c) => ({ key: c.key, value: c.to }))], deletes: s.deletes }]),
            ),
          },
        }
      : {}),
    ifMatch: {
      stores: Object.fromEntries(stores.map((s) => [s.name, s.etag!])),
      functions: Object.fromEntries(
        plan.functions.filter((f) => f.action === 'update').map((f) => [f.name, { live: f.live!.etag, development: f.development!.etag }]),
      ),
    },
  };
}
