/**
 * Inline decisions for `openfront explain` (docs/observability.md, "explain"). When the composition root says a
 * request carries a valid signed debug header, the pipeline writes the response into a {@link CapturedResponse}
 * instead of the socket, and the caller gets one JSON document: the decision record and what the viewer would have
 * received. Everything else about the request is unchanged: same functions, cache and origin.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { DecisionRecord } from '../observe/decision.js';
import type { EdgeTrace } from '../observe/decision-trace.js';

/** Content type of an explain answer. */
export const EXPLAIN_CONTENT_TYPE = 'application/vnd.openfront.explain+json';

/** Most response-body bytes an explain answer shows (as text); the full length is always given. */
const MAX_BODY_PREVIEW = 4096;

export interface EdgeDebug {
  /** True only for a request with a valid signature by an active key: never for anonymous viewers. */
  authorize(req: IncomingMessage): boolean;
  /** The redacted record of a finished trace. */
  record(trace: EdgeTrace): DecisionRecord;
  /** Header names the edge removes from a verified debug request before the functions and the origin see it. */
  headers: readonly string[];
}

/** The subset of ServerResponse the pipeline writes with, recorded instead of sent. */
export class CapturedResponse {
  status = 0;
  statusText: string | undefined;
  headers: Array<[string, string]> = [];
  /** The first {@link MAX_BODY_PREVIEW} bytes of the body: all an explain answer shows. */
  body: Buffer = Buffer.alloc(0);
  /** The whole body's length. */
  bodyBytes = 0;
  headersSent = false;

  writeHead(status: number, statusText?: string | OutgoingHttpHeaders | string[], headers?: OutgoingHttpHeaders | string[]): this {
    this.status = status;
    let list = headers;
    if (typeof statusText === 'string') this.statusText = statusText;
    else list = statusText;
    if (Array.isArray(list)) {
      for (let i = 0; i + 1 < list.length; i += 2) this.headers.push([list[i], list[i + 1]]);
    } else if (list !== undefined) {
      for (const [name, value] of Object.entries(list)) if (value !== undefined) this.headers.push([name, String(value)]);
    }
    this.headersSent = true;
    return this;
  }

  end(body?: Buffer | string): this {
    if (body !== undefined) {
      const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
      this.body = bytes.subarray(0, MAX_BODY_PREVIEW);
      this.bodyBytes = bytes.length;
    }
    return this;
  }

  /** Reads a streamed body through, keeping only the preview: an explain of a large object costs no more memory. */
  async consume(body: Readable): Promise<{ bytes: number; error?: string }> {
    const kept: Buffer[] = [];
    let keptBytes = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        this.bodyBytes += chunk.length;
        if (keptBytes < MAX_BODY_PREVIEW) {
          kept.push(chunk.subarray(0, MAX_BODY_PREVIEW - keptBytes));
          keptBytes += kept[kept.length - 1].length;
        }
      }
      return { bytes: this.bodyBytes };
    } catch (err) {
      return { bytes: this.bodyBytes, error: (err as Error).message };
    } finally {
      this.body = Buffer.concat(kept);
    }
  }

  destroy(): this {
    return this;
  }

  /** As the pipeline's `res`: it only calls the methods above. */
  asServerResponse(): ServerResponse {
    return this as unknown as ServerResponse;
  }
}

/** Writes the explain answer: the decision and the captured viewer response. */
export function writeExplainAnswer(res: ServerResponse, requestId: string, record: DecisionRecord | undefined, captured: CapturedResponse): void {
  const preview = captured.body.subarray(0, MAX_BODY_PREVIEW).toString('utf8');
  const body = Buffer.from(
    JSON.stringify({
      decision: record,
      response: { status: captured.status, statusText: captured.statusText, headers: captured.headers, bodyBytes: captured.bodyBytes, bodyPreview: preview },
    }),
  );
  res.writeHead(200, {
    'content-type': EXPLAIN_CONTENT_TYPE,
    'content-length': String(body.length),
    'cache-control': 'no-store',
    'x-openfront-request-id': requestId,
  });
  res.end(body);
}
