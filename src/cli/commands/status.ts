/**
 * `openfront status`: the fleet as the API sees it (docs/fleet.md) — every edge, whether it is live, when it last
 * reported, and for each store and LIVE function it serves: its version, the current one, and how far behind it is.
 */
import type { Command } from 'commander';
import type { EdgeJson, EdgeResourceJson } from '../../control/propagation-routes.js';
import { EDGES_PATH } from '../../control/propagation-routes.js';
import { describeApiError, nativeRequest, resolveClientConfig, withApiOptions, type ApiOptions } from '../client.js';

function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return '?';
  return ms < 1000 ? `${Math.max(0, ms)} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

function resourceRow(edge: EdgeJson, kind: string, r: EdgeResourceJson, now: number): string[] {
  const state = r.current === null ? 'unknown' : r.version >= r.current && (kind === 'store' || r.version === r.current) ? 'in sync' : `behind ${r.lagMs} ms`;
  return [
    edge.name,
    edge.live ? 'live' : 'DOWN',
    ago(edge.lastSeen, now),
    `${kind} ${r.name}`,
    String(r.version),
    r.current === null ? '-' : String(r.current),
    state,
  ];
}

/** The human form of `GET /openfront/v1/edges`. */
export function formatStatus(edges: readonly EdgeJson[], now: number = Date.now()): string {
  if (edges.length === 0) return 'No edges have reported.';
  const rows = [['EDGE', 'STATE', 'LAST SEEN', 'RESOURCE', 'SERVES', 'CURRENT', 'LAG']];
  for (const edge of edges) {
    const resources = [...edge.stores.map((r) => resourceRow(edge, 'store', r, now)), ...edge.functions.map((r) => resourceRow(edge, 'function', r, now))];
    rows.push(...(resources.length > 0 ? resources : [[edge.name, edge.live ? 'live' : 'DOWN', ago(edge.lastSeen, now), '-', '-', '-', '-']]));
  }
  const live = edges.filter((e) => e.live).length;
  return `${table(rows)}\n${edges.length} edge${edges.length === 1 ? '' : 's'}, ${live} live`;
}

export function register(program: Command): void {
  withApiOptions(program.command('status'))
    .description('Show the fleet: each edge, live or not, and the version of every store and function it serves')
    .option('--json', 'print JSON')
    .action(async (options: ApiOptions & { json?: boolean }) => {
      const config = resolveClientConfig(options);
      let answer: { edges: EdgeJson[] };
      try {
        answer = (await nativeRequest(config, 'GET', EDGES_PATH)) as { edges: EdgeJson[] };
      } catch (err) {
        throw describeApiError(err, config);
      }
      process.stdout.write(`${options.json ? JSON.stringify(answer) : formatStatus(answer.edges)}\n`);
    });
}
