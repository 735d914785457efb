/**
 * A local directory served as an origin, the way CloudFront serves an S3 bucket: the request path names a file,
 * nothing is listed, and a missing file is a 404. Paths that escape the directory are refused.
 */
import { open } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { StaticOriginConfig } from '../../config/types.js';
import { bodyOf, type OriginRequest, type OriginResponse } from './types.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
  '.mp4': 'video/mp4',
};

export async function fetchStatic(origin: StaticOriginConfig, request: OriginRequest): Promise<OriginResponse> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    return plain(405, 'Method Not Allowed', [['allow', 'GET, HEAD']]);
  }
  const q = request.target.indexOf('?');
  let path: string;
  try {
    path = decodeURIComponent(q === -1 ? request.target : request.target.slice(0, q));
  } catch {
    return plain(400, 'Bad Request');
  }
  const file = resolve(origin.root, `.${path}`);
  if (path.includes('\0') || (file !== origin.root && !file.startsWith(origin.root + sep))) return plain(403, 'Forbidden');
  let handle;
  try {
    // Opened before it is described: the length and validators sent are those of the file that is then streamed.
    handle = await open(file, 'r');
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      return plain(404, 'Not Found');
    }
    const body = request.method === 'HEAD' ? bodyOf(Buffer.alloc(0)) : handle.createReadStream();
    if (request.method === 'HEAD') await handle.close();
    return {
      status: 200,
      statusText: 'OK',
      headers: [
        ['content-type', CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'],
        ['last-modified', info.mtime.toUTCString()],
        ['etag', `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`],
        ['content-length', String(info.size)],
      ],
      body,
    };
  } catch {
    await handle?.close().catch(() => undefined);
    return plain(404, 'Not Found');
  }
}

function plain(status: number, text: string, extra: Array<[string, string]> = []): OriginResponse {
  return { status, statusText: text, headers: [['content-type', 'text/plain; charset=utf-8'], ...extra], body: bodyOf(Buffer.from(`${text}\n`)) };
}
