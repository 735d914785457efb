/**
 * KVS API latency baseline: a plain `node:http` server answering GetKey, PutKey and UpdateKeys with the same JSON
 * (and ETag header) as OpenFront, from a `Map` — no authentication, no validation, no durable write. Driven by the
 * same SDK client as OpenFront, so the difference is what OpenFront's server does per request.
 */
import { createServer } from 'node:http';
import { listenLoopback } from './child-runtime.js';

export interface PlainKvsServer {
  port: number;
  close(): Promise<void>;
}

interface UpdateBody {
  Puts?: Array<{ Key: string; Value: string }>;
  Deletes?: Array<{ Key: string }>;
}

const KEY_PATH = /\/keys\/([^/?]+)/;

export async function startPlainKvsServer(items: Map<string, string>): Promise<PlainKvsServer> {
  let version = 0;
  const json = (res: import('node:http').ServerResponse, body: unknown, etag?: string) => {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...(etag ? { etag } : {}) });
    res.end(text);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const key = KEY_PATH.exec(req.url ?? '');
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'GET' && key) {
        const name = decodeURIComponent(key[1] as string);
        json(res, { Key: name, Value: items.get(name) ?? '', ItemCount: items.size, TotalSizeInBytes: 0 });
      } else if (req.method === 'PUT' && key) {
        items.set(decodeURIComponent(key[1] as string), (JSON.parse(body) as { Value: string }).Value);
        json(res, { ItemCount: items.size, TotalSizeInBytes: 0 }, `"v${++version}"`);
      } else if (req.method === 'POST') {
        const update = JSON.parse(body) as UpdateBody;
        for (const put of update.Puts ?? []) items.set(put.Key, put.Value);
        for (const del of update.Deletes ?? []) items.delete(del.Key);
        json(res, { ItemCount: items.size, TotalSizeInBytes: 0 }, `"v${++version}"`);
      } else {
        res.writeHead(404, { 'content-length': '0' }).end();
      }
    });
  });
  return listenLoopback(server);
}
