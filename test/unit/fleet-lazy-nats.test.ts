/**
 * `openfront start` keeps working with no NATS at all and does not even load the NATS client: no module the CLI
 * loads up front (main, every command file, the composition root) reaches `@nats-io/*` through static imports.
 * The fleet roles import it lazily (`await import(…)`) when their command runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { scanImports } from '../helpers/import-graph.js';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

describe('fleet: the NATS client is loaded lazily', () => {
  const scan = scanImports(SRC);
  const staticEdges = new Map<string, string[]>();
  const natsImporters = new Set<string>();
  for (const site of scan.imports) {
    if (site.typeOnly || (site.kind !== 'import' && site.kind !== 'export')) continue;
    if (site.specifier.startsWith('@nats-io/')) natsImporters.add(site.file);
    if (site.target !== undefined) staticEdges.set(site.file, [...(staticEdges.get(site.file) ?? []), site.target]);
  }

  /** Every file reachable from `roots` through static imports, with the chain that reached it. */
  function reach(roots: string[]): Map<string, string[]> {
    const chains = new Map<string, string[]>(roots.map((r) => [r, [r]]));
    const queue = [...roots];
    while (queue.length > 0) {
      const file = queue.shift()!;
      for (const next of staticEdges.get(file) ?? []) {
        if (!chains.has(next)) {
          chains.set(next, [...chains.get(file)!, next]);
          queue.push(next);
        }
      }
    }
    return chains;
  }

  it('finds the modules that import the NATS client (the check can fail)', () => {
    assert.ok(natsImporters.has('state/jetstream/connection.ts'), [...natsImporters].join(', '));
    assert.ok(reach(['node/edge-role.ts']).has('state/jetstream/connection.ts'), 'the edge role reaches the client statically');
  });

  it('keeps @nats-io out of everything the CLI and `openfront start` load up front', () => {
    const roots = scan.files.filter((f) => f === 'cli/main.ts' || /^cli\/commands\/[^/]+\.ts$/.test(f) || f === 'node/index.ts' || f === 'index.ts');
    assert.ok(roots.includes('cli/commands/start.ts') && roots.includes('cli/commands/edge.ts'), roots.join(', '));
    const reached = reach(roots);
    const leaks = [...natsImporters].filter((f) => reached.has(f)).map((f) => reached.get(f)!.join(' → '));
    assert.deepEqual(leaks, []);
  });
});
