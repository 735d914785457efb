/**
 * What stands behind the recording and dry-run routes of one node (docs/safe-changes.md, "Dry-run against recorded
 * traffic"): the edge's recordings, the distributions it serves now, the LIVE functions of the registry and the
 * stores' replicas. A dry run loads its own copies of the functions (the current LIVE code and the proposed code)
 * with the edge's runtime limits, so replaying never queues behind, or in front of, the requests the edge serves;
 * proposed store data is an overlay in memory over the live replica. Nothing is written.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DistributionConfig } from '../config/types.js';
import type { DryRunRequest, DryRunService, RecordingView } from '../control/dry-run-api.js';
import { replayRecording, type ReplayFunction, type ReplayReport, type ReplaySide } from '../edge/dry-run/replay.js';
import { openFrontError } from '../errors.js';
import { OverlaySnapshotSource } from '../kvs/overlay-snapshot.js';
import type { KvsSnapshotSource } from '../kvs/snapshot.js';
import { recordedBytes, type RecordedRequest, type RecordingSet } from '../observe/recording.js';
import { DEFAULT_RUNTIME, loadFunctionOffThread } from '../runtime/function.js';
import type { CloudFrontFunction, KvsBinding, RuntimeLimits } from '../runtime/types.js';
import type { NodeState } from '../state/types.js';

export interface DryRunServiceOptions {
  recordings: RecordingSet;
  /** The distributions the edge serves now (they change on reload). */
  distributions: () => readonly DistributionConfig[];
  state: NodeState;
  /** The replica a store's functions read (the one the edge reads). */
  storeSource: (storeId: string) => KvsSnapshotSource;
  /** The edge's runtime limits: proposed code runs under the same ones. */
  limits?: Partial<RuntimeLimits>;
  now?: () => number;
}

/** What a dry run answers: the replay's report, what was tried, and the verdict against the threshold. */
export interface DryRunAnswer extends ReplayReport {
  function?: { name: string; currentVersion?: number };
  stores: Array<{ name: string; puts: number; deletes: number }>;
  threshold: { maxChanged?: number; maxChangedRatio?: number };
  /** True when the run completed and the changes are within the threshold (the CLI exits 0). */
  pass: boolean;
  /** Why `pass` is false. */
  reasons: string[];
}

export function dryRunService(options: DryRunServiceOptions): DryRunService {
  let running = false;
  const now = options.now ?? Date.now;
  const distribution = (id: string): DistributionConfig => {
    const found = options.distributions().find((d) => d.id === id);
    if (found === undefined) throw openFrontError('NOT_FOUND', `No distribution has the id ${id}`);
    return found;
  };
  return {
    recording(distributionId, limit): RecordingView {
      distribution(distributionId);
      const recorder = options.recordings.get(distributionId);
      if (recorder === undefined) return { distributionId, enabled: false, size: 0, bytes: 0, items: [] };
      return {
        distributionId,
        enabled: true,
        settings: recorder.settings,
        size: recorder.size,
        bytes: recorder.bytes,
        counters: recorder.counters,
        items: recorder.list(limit),
      };
    },
    clearRecording(distributionId) {
      distribution(distributionId);
      const recorder = options.recordings.get(distributionId);
      const size = recorder?.size ?? 0;
      recorder?.clear();
      return size;
    },
    async dryRun(request) {
      if (running) throw openFrontError('DRY_RUN_IN_PROGRESS', 'A dry run is already running on this node; retry when it has finished');
      running = true;
      try {
        return await runDryRun(options, distribution(request.distributionId), request, now);
      } finally {
        running = false;
      }
    },
  };
}

async function runDryRun(options: DryRunServiceOptions, dist: DistributionConfig, request: DryRunRequest, now: () => number): Promise<DryRunAnswer> {
  const started = now();
  const recorder = options.recordings.get(dist.id);
  if (recorder === undefined) {
    throw openFrontError('DRY_RUN_NO_TRAFFIC', `Distribution ${dist.id} records no traffic: add a recording section to it (or start with --record)`);
  }
  const requests = recorder.list(request.maxRequests);
  if (requests.length === 0) throw openFrontError('DRY_RUN_NO_TRAFFIC', `Distribution ${dist.id} has recorded no request yet: send it some traffic first`);

  const names = new Set<string>();
  for (const behavior of [dist.defaultBehavior, ...dist.behaviors]) {
    if (behavior.functions.viewerRequest !== undefined) names.add(behavior.functions.viewerRequest);
    if (behavior.functions.viewerResponse !== undefined) names.add(behavior.functions.viewerResponse);
  }
  const proposed = request.function;
  if (proposed !== undefined && !names.has(proposed.name)) {
    throw openFrontError(
      'INPUT_INVALID',
      `Function ${proposed.name} is not associated with distribution ${dist.id} (its functions: ${[...names].join(', ') || 'none'})`,
    );
  }

  // Proposed data: an overlay per store the change set names.
  const overlays = new Map<string, OverlaySnapshotSource>();
  const stores: DryRunAnswer['stores'] = [];
  for (const [name, change] of Object.entries(request.changeSet?.stores ?? {})) {
    const store = await options.state.stores.getStore({ name });
    if (store === undefined) throw openFrontError('KVS_NOT_FOUND', `The change set names store ${name}, which does not exist`);
    overlays.set(store.id, new OverlaySnapshotSource(options.storeSource(store.id), change));
    stores.push({ name, puts: change.puts.length, deletes: change.deletes.length });
  }

  const loaded: CloudFrontFunction[] = [];
  const before = new Map<string, ReplayFunction>();
  const after = new Map<string, ReplayFunction>();
  let currentVersion: number | undefined;
  try {
    for (const name of names) {
      const live = await options.state.functions.live(name);
      if (name === proposed?.name) currentVersion = live?.version;
      let current: CloudFrontFunction | undefined;
      if (live !== undefined) {
        current = await loadFunctionOffThread(live.code, { name, runtime: live.runtime, limits: options.limits });
        loaded.push(current);
        before.set(name, { fn: current, kvs: binding(options, live.kvsStoreId, undefined) });
      }
      let next = current;
      if (name === proposed?.name) {
        // The proposed code is checked like an upload: size and syntax errors come back as FUNCTION_* (4xx).
        next = await loadFunctionOffThread(proposed.code, { name, runtime: proposed.runtime ?? live?.runtime ?? DEFAULT_RUNTIME, limits: options.limits });
        loaded.push(next);
      }
      if (next !== undefined) after.set(name, { fn: next, kvs: binding(options, live?.kvsStoreId, overlays) });
    }
    const sideOf =
      (map: Map<string, ReplayFunction>): ReplaySide =>
      (name) =>
        map.get(name);
    const report = await replayRecording({
      distribution: dist,
      requests,
      before: sideOf(before),
      after: sideOf(after),
      maxExamples: request.maxExamples,
      deadline: started + request.timeoutMs,
      now,
    });
    return withVerdict(report, request, stores, proposed === undefined ? undefined : { name: proposed.name, currentVersion });
  } finally {
    for (const fn of loaded) fn.dispose();
  }
}

function binding(options: DryRunServiceOptions, storeId: string | undefined, overlays: Map<string, OverlaySnapshotSource> | undefined): KvsBinding {
  if (storeId === undefined) return { stores: new Map() };
  const source = overlays?.get(storeId) ?? options.storeSource(storeId);
  return { defaultStoreId: storeId, stores: new Map([[storeId, source]]) };
}

/** The threshold: `maxChanged` (default 0 when no ratio is given: any change fails), `maxChangedRatio`. */
function withVerdict(report: ReplayReport, request: DryRunRequest, stores: DryRunAnswer['stores'], fn: DryRunAnswer['function']): DryRunAnswer {
  const maxChanged = request.maxChanged ?? (request.maxChangedRatio === undefined ? 0 : undefined);
  const reasons: string[] = [];
  if (!report.complete) reasons.push(`the run stopped after ${report.replayed} of the requests: it reached its time limit`);
  if (maxChanged !== undefined && report.changed > maxChanged) reasons.push(`${report.changed} changed decisions, more than the ${maxChanged} allowed`);
  if (request.maxChangedRatio !== undefined && report.replayed > 0 && report.changed / report.replayed > request.maxChangedRatio) {
    reasons.push(`${report.changed} of ${report.replayed} decisions changed, more than the ratio ${request.maxChangedRatio} allowed`);
  }
  const threshold: DryRunAnswer['threshold'] = {};
  if (maxChanged !== undefined) threshold.maxChanged = maxChanged;
  if (request.maxChangedRatio !== undefined) threshold.maxChangedRatio = request.maxChangedRatio;
  return { ...report, ...(fn === undefined ? {} : { function: fn }), stores, threshold, pass: reasons.length === 0, reasons };
}

/** Where a distribution's recording is kept across restarts (`persist: true`). */
function recordingFile(dataDir: string, distributionId: string): string {
  return join(dataDir, 'recordings', `${distributionId}.json`);
}

/** Loads the saved samples of the distributions that persist theirs (a file that does not parse is ignored). */
export function restoreRecordings(recordings: RecordingSet, dataDir: string): void {
  for (const [id, recorder] of recordings.entries()) {
    if (!recorder.settings.persist || recorder.size > 0) continue;
    let saved: unknown;
    try {
      saved = JSON.parse(readFileSync(recordingFile(dataDir, id), 'utf8'));
    } catch {
      continue;
    }
    if (Array.isArray(saved)) recorder.restore(saved.filter(isRecordedRequest));
  }
}

/** Saves the samples of the distributions that persist theirs (written whole, then renamed into place). */
export function saveRecordings(recordings: RecordingSet, dataDir: string): void {
  for (const [id, recorder] of recordings.entries()) {
    if (!recorder.settings.persist) continue;
    const file = recordingFile(dataDir, id);
    if (recorder.size === 0) {
      rmSync(file, { force: true });
      continue;
    }
    mkdirSync(join(dataDir, 'recordings'), { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(recorder.list()), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
}

function isRecordedRequest(value: unknown): value is RecordedRequest {
  const r = value as RecordedRequest;
  const pairs = (list: unknown): boolean =>
    Array.isArray(list) && list.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
  if (typeof r !== 'object' || r === null) return false;
  if (![r.time, r.method, r.uri, r.querystring, r.clientIp].every((s) => typeof s === 'string')) return false;
  return pairs(r.headers) && pairs(r.cookies) && recordedBytes(r) >= 0;
}
