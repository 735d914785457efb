/**
 * The edge workload on disk: the 10,000-key tenant + redirect table of `benchStore()` and the requests of
 * `benchEvents()` (~30% redirects), written once per run so every target and the load generator read the same data.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchEvents, benchStore } from '../engine.js';

export interface EdgeWorkload {
  items: Map<string, string>;
  /** `{ "tenant:<host>": tenant, "redirect:<tenant><uri>": location, … }` */
  tableFile: string;
  /** autocannon requests: `[{ method, path, headers: { host, … } }]` */
  requestsFile: string;
  requests: Array<{ method: string; path: string; headers: Record<string, string> }>;
}

export function writeEdgeWorkload(dir: string, count = 1024): EdgeWorkload {
  const items = benchStore();
  const requests = benchEvents(count).map((event) => ({
    method: event.request.method,
    path: event.request.uri,
    headers: Object.fromEntries(Object.entries(event.request.headers).map(([name, header]) => [name, header.value])),
  }));
  const tableFile = join(dir, 'table.json');
  const requestsFile = join(dir, 'requests.json');
  writeFileSync(tableFile, JSON.stringify(Object.fromEntries(items)));
  writeFileSync(requestsFile, JSON.stringify(requests));
  return { items, tableFile, requestsFile, requests };
}

/** What every target must answer for `host` + `path`: a redirect location, or the tenant sent to the origin. */
export function expectedDecision(items: Map<string, string>, host: string, path: string): { location?: string; tenant?: string } {
  const tenant = items.get(`tenant:${host}`);
  const location = tenant === undefined ? undefined : items.get(`redirect:${tenant}${path}`);
  return location !== undefined ? { location } : { tenant };
}
