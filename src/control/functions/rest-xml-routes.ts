/**
 * Functions on the CloudFront API (`cloudfront`, restXml, API 2020-05-31): the function operations of
 * `@aws-sdk/client-cloudfront` (CloudFront API Reference, function operations; docs/functions.md).
 */
import { OpenFrontError } from '../../errors.js';
import type { RuntimeLimits } from '../../runtime/types.js';
import { SIGV4_ALGORITHM } from '../auth/sigv4.js';
import { access } from '../auth/route-access.js';
import { decodeUtf8 } from '../http/body.js';
import type { Router } from '../http/router.js';
import type { ApiRequest, ApiResponse } from '../http/types.js';
import { parseXmlRequest, xmlResponse, xmlText } from '../http/xml.js';
import { CLOUDFRONT_SIGNING_SERVICE } from '../kvs-control-plane.js';
import { isFunctionStage, type FunctionStage, type FunctionStageView } from '../../state/functions.js';
import type { FunctionState, StoreState } from '../../state/types.js';
import type { RunLimiter } from './run-limiter.js';
import { runFunctionTest, type StoreReader } from './test-run.js';
import { decodeBase64, functionSummaryXml, readFunctionCode, readFunctionConfig, testResultXml } from './xml-shapes.js';

export const FUNCTION_PATH = '/2020-05-31/function';
/** CloudFront's default page size for list operations. */
const DEFAULT_MAX_ITEMS = 100;
/**
 * Request bodies up to 128 KiB are read, so code well past the 10 KB quota (and the model's 40,960-byte blob) is
 * still answered with FunctionSizeLimitExceeded rather than a generic entity-size error.
 */
const MAX_BODY_BYTES = 128 * 1024;
/** The model's length limit of TestFunction's EventObject. */
const MAX_EVENT_OBJECT_BYTES = 40_960;

export interface FunctionRouteDeps {
  registry: FunctionState;
  /** TestFunction reads the associated store through this. */
  replicas: StoreReader;
  stores: StoreState;
  limits?: Partial<RuntimeLimits>;
  /** Bounds the TestFunction runs in progress (one limiter per API server). */
  testRuns?: RunLimiter;
}

function summaryResponse(status: number, view: FunctionStageView, headers: Record<string, string> = {}): ApiResponse {
  // A write answers with the version its stage now points at; only LIVE is served by edges (propagation-wait.ts).
  return {
    ...xmlResponse(status, 'FunctionSummary', functionSummaryXml(view), { etag: view.etag, ...headers }),
    written: { resource: { kind: 'function', name: view.name }, version: view.version, served: view.stage === 'LIVE' },
  };
}

function stageParam(text: string | undefined): FunctionStage | undefined {
  if (text === undefined) return undefined;
  if (!isFunctionStage(text)) throw new OpenFrontError('CF_INVALID_ARGUMENT', `Stage must be DEVELOPMENT or LIVE, got ${JSON.stringify(text)}`);
  return text;
}

function codeText(bytes: Buffer): string {
  const code = decodeUtf8(bytes);
  if (code === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'FunctionCode is not valid UTF-8');
  return code;
}

function positiveIntegerParam(req: ApiRequest, name: string): number | undefined {
  const text = req.queryParam(name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) throw new OpenFrontError('CF_INVALID_ARGUMENT', `${name} must be a positive integer`);
  return Number(text);
}

/** Registers Create/Describe/Get/Update/Publish/Test/List/DeleteFunction. */
export function registerFunctionXmlRoutes(router: Router, deps: FunctionRouteDeps): void {
  const { registry } = deps;
  const read = { access: access.function('function:read') };
  const update = { access: access.function('function:update') };
  router
    .group({
      protocol: 'rest-xml',
      prefix: FUNCTION_PATH,
      signing: { services: [CLOUDFRONT_SIGNING_SERVICE], algorithms: [SIGV4_ALGORITHM] },
      maxBodyBytes: MAX_BODY_BYTES,
    })
    .post(
      FUNCTION_PATH,
      async (req, _params, principal) => {
        const input = parseXmlRequest(req.body, 'CreateFunctionRequest');
        const name = xmlText(input, 'Name');
        if (name === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'Name is required');
        const config = readFunctionConfig(input);
        const view = await registry.create({ name, config, code: codeText(readFunctionCode(input)) }, principal);
        const location = `http://${req.header('host') ?? 'localhost'}${FUNCTION_PATH}/${view.arn}`;
        return summaryResponse(201, view, { location });
      },
      { access: access.named('function:update', (req) => xmlText(parseXmlRequest(req.body, 'CreateFunctionRequest'), 'Name')) },
    )
    .get(
      FUNCTION_PATH,
      async (req) => {
        const maxItems = positiveIntegerParam(req, 'MaxItems') ?? DEFAULT_MAX_ITEMS;
        const page = await registry.list({ marker: req.queryParam('Marker'), maxItems, stage: stageParam(req.queryParam('Stage')) });
        return xmlResponse(200, 'FunctionList', {
          ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}),
          MaxItems: maxItems,
          Quantity: page.items.length,
          Items: page.items.length > 0 ? { FunctionSummary: page.items.map(functionSummaryXml) } : '',
        });
      },
      { access: access.all('function:read') },
    )
    .get(
      `${FUNCTION_PATH}/{Name}/describe`,
      async (req, { Name }) => summaryResponse(200, await registry.describe(Name, stageParam(req.queryParam('Stage')))),
      read,
    )
    .get(
      `${FUNCTION_PATH}/{Name}`,
      async (req, { Name }) => {
        const { code, view } = await registry.getCode(Name, stageParam(req.queryParam('Stage')));
        return { status: 200, headers: { 'content-type': 'application/octet-stream', etag: view.etag }, body: Buffer.from(code, 'utf8') };
      },
      read,
    )
    .put(
      `${FUNCTION_PATH}/{Name}`,
      async (req, { Name }, principal) => {
        const ifMatch = req.header('if-match');
        const input = parseXmlRequest(req.body, 'UpdateFunctionRequest');
        const view = await registry.update(Name, { config: readFunctionConfig(input), code: codeText(readFunctionCode(input)) }, ifMatch, principal);
        // The CloudFront model binds UpdateFunction's ETag to a header named "ETtag" (sic); SDKs read only that one.
        return summaryResponse(200, view, { ettag: view.etag });
      },
      update,
    )
    .post(
      `${FUNCTION_PATH}/{Name}/publish`,
      async (req, { Name }, principal) => summaryResponse(200, await registry.publish(Name, req.header('if-match'), principal)),
      { access: access.function('function:publish') },
    )
    .post(
      `${FUNCTION_PATH}/{Name}/test`,
      async (req, { Name }) => {
        const input = parseXmlRequest(req.body, 'TestFunctionRequest');
        const stage = stageParam(xmlText(input, 'Stage')) ?? 'DEVELOPMENT';
        const eventText = xmlText(input, 'EventObject');
        if (eventText === undefined) throw new OpenFrontError('CF_INVALID_ARGUMENT', 'EventObject is required');
        const event = decodeBase64(eventText.trim(), 'EventObject');
        if (event.length > MAX_EVENT_OBJECT_BYTES) {
          throw new OpenFrontError('CF_INVALID_ARGUMENT', `EventObject is ${event.length} bytes; the limit is ${MAX_EVENT_OBJECT_BYTES}`);
        }
        const { code, view } = await registry.getCodeIfMatch(Name, stage, req.header('if-match'));
        const result = await runFunctionTest({ name: Name, code, config: view.config, event }, deps);
        return xmlResponse(200, 'TestResult', testResultXml(view, result));
        // Runs the code without changing anything: whoever may read it may test it (the runs are bounded, see run-limiter.ts).
      },
      read,
    )
    .delete(
      `${FUNCTION_PATH}/{Name}`,
      async (req, { Name }, principal) => {
        await registry.delete(Name, req.header('if-match'), principal);
        return { status: 204 };
      },
      update,
    );
}
