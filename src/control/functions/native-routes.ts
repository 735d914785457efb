/**
 * OpenFront's native JSON API for function history, signed with SigV4 (signing name "openfront"):
 *
 * - `GET  /openfront/v1/functions/{name}/versions` — every version, oldest first, and where the stages point.
 * - `GET  /openfront/v1/functions/{name}/versions/{n}` — one version with its code.
 * - `GET  /openfront/v1/functions/{name}/diff?from=&to=` — unified diff between two versions (default: LIVE, or the
 *   version before DEVELOPMENT when nothing is LIVE, → DEVELOPMENT).
 * - `POST /openfront/v1/functions/{name}/rollback` `{"version": n}` with `If-Match: <LIVE ETag>` — point LIVE at n.
 * - `GET  /openfront/v1/functions/{name}/live` — the version LIVE serves now (`version: null` when unpublished).
 */
import { OpenFrontError } from '../../errors.js';
import { NATIVE_SIGNING_SERVICE } from '../auth/sign-request.js';
import { SIGV4_ALGORITHM } from '../auth/sigv4.js';
import { access } from '../auth/route-access.js';
import { parseJsonObject } from '../http/json-body.js';
import type { Router } from '../http/router.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import { NATIVE_API_PREFIX } from '../native-api.js';
import { unifiedDiff } from './diff.js';
import type { FunctionStageView, FunctionVersion } from '../../state/functions.js';
import type { FunctionState } from '../../state/types.js';

export const NATIVE_FUNCTIONS_PATH = `${NATIVE_API_PREFIX}/functions`;

/** Wire form of a version (times as ISO-8601). */
export interface FunctionVersionJson {
  version: number;
  sha256: string;
  size: number;
  createdBy: string;
  createdAt: string;
  stages: string[];
  config: { comment: string; runtime: string; keyValueStoreArn?: string };
}

/** Wire form of a stage pointer. */
export interface StagePointerJson {
  version: number;
  etag: string;
  lastModified: string;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function versionJson(version: FunctionVersion): FunctionVersionJson {
  return {
    version: version.version,
    sha256: version.sha256,
    size: version.size,
    createdBy: version.createdBy,
    createdAt: version.created.toISOString(),
    stages: version.stages,
    config: { ...version.config },
  };
}

function pointerJson(view: FunctionStageView): StagePointerJson {
  return { version: view.version, etag: view.etag, lastModified: view.lastModified.toISOString() };
}

function versionNumber(text: string | undefined, what: string): number {
  if (text === undefined || !/^[1-9]\d{0,8}$/.test(text)) throw new OpenFrontError('BAD_REQUEST', `${what} must be a version number (1, 2, …)`);
  return Number(text);
}

async function diffRange(req: ApiRequest, registry: FunctionState, name: string): Promise<{ from: number; to: number }> {
  const development = await registry.describe(name, 'DEVELOPMENT');
  const to = req.queryParam('to') === undefined ? development.version : versionNumber(req.queryParam('to'), 'to');
  if (req.queryParam('from') !== undefined) return { from: versionNumber(req.queryParam('from'), 'from'), to };
  const live = await registry.findStage(name, 'LIVE');
  return { from: live?.version ?? Math.max(1, to - 1), to };
}

/** Registers the native function-history routes. */
export function registerFunctionNativeRoutes(router: Router, registry: FunctionState): void {
  const read = { access: access.function('function:read') };
  router
    .group({
      protocol: 'native-json',
      prefix: NATIVE_FUNCTIONS_PATH,
      signing: { services: [NATIVE_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
      maxBodyBytes: 4096,
    })
    .get(
      `${NATIVE_FUNCTIONS_PATH}/{Name}/versions`,
      async (_req, { Name }) => {
        const versions = (await registry.versions(Name)).map(versionJson);
        const live = await registry.findStage(Name, 'LIVE');
        return json(200, {
          name: Name,
          stages: { DEVELOPMENT: pointerJson(await registry.describe(Name, 'DEVELOPMENT')), ...(live ? { LIVE: pointerJson(live) } : {}) },
          versions,
        });
      },
      read,
    )
    .get(
      `${NATIVE_FUNCTIONS_PATH}/{Name}/versions/{Version}`,
      async (_req, { Name, Version }) => {
        const version = await registry.version(Name, versionNumber(Version, 'The version'));
        return json(200, { name: Name, ...versionJson(version), code: version.code });
      },
      read,
    )
    .get(
      `${NATIVE_FUNCTIONS_PATH}/{Name}/diff`,
      async (req, { Name }) => {
        const { from, to } = await diffRange(req, registry, Name);
        const before = await registry.version(Name, from);
        const after = await registry.version(Name, to);
        return json(200, { name: Name, from, to, diff: unifiedDiff(before.code, after.code, { from: `${Name}@${from}`, to: `${Name}@${to}` }) });
      },
      read,
    )
    .post(
      `${NATIVE_FUNCTIONS_PATH}/{Name}/rollback`,
      async (req, { Name }, principal) => {
        const body = parseJsonObject(req.body, 'BAD_REQUEST');
        if (typeof body.version !== 'number' || !Number.isInteger(body.version) || body.version < 1) {
          throw new OpenFrontError('BAD_REQUEST', 'The body must be {"version": n} with n a version number (1, 2, …)');
        }
        const view = await registry.rollback(Name, body.version, req.header('if-match'), principal);
        return {
          ...json(200, { name: Name, stage: view.stage, version: view.version, etag: view.etag, status: view.status }, { etag: view.etag }),
          written: { resource: { kind: 'function', name: Name }, version: view.version },
        };
        // Moves LIVE, like a publish.
      },
      { access: access.function('function:publish') },
    )
    .get(
      `${NATIVE_FUNCTIONS_PATH}/{Name}/live`,
      async (_req, { Name }) => {
        const live = await registry.findStage(Name, 'LIVE');
        if (live === undefined) return json(200, { name: Name, version: null });
        return json(
          200,
          {
            name: Name,
            version: live.version,
            etag: live.etag,
            sha256: live.sha256,
            runtime: live.config.runtime,
            lastModified: live.lastModified.toISOString(),
            status: live.status,
          },
          { etag: live.etag },
        );
      },
      read,
    );
}
