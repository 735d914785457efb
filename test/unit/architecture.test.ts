/**
 * The folder rules of docs/architecture.md, checked on every import in src/: imports point down (cli, devtools →
 * node → control, edge → observe, state → runtime → kvs → config → errors), config/ and control/ never reach up into
 * the code that wires them, and no two folders import each other, even through others.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crossFolderImports, describeSite, folderCycles, ruleViolations, scanImports, type FolderRules } from '../helpers/import-graph.js';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

const BELOW_EDGE = ['observe', 'state', 'runtime', 'kvs', 'config', 'errors'];

/** The table in docs/architecture.md ("Rules"). A folder missing here fails the test until it is placed. */
const RULES: FolderRules = {
  allowed: {
    errors: [],
    config: ['errors'],
    kvs: ['config', 'errors'],
    // runtime reads stores through kvs/'s read-only snapshot; kvs knows nothing about functions.
    runtime: ['kvs', 'config', 'errors'],
    observe: ['runtime', 'kvs', 'config', 'errors'],
    state: ['runtime', 'kvs', 'config', 'errors'],
    edge: BELOW_EDGE,
    control: BELOW_EDGE,
    node: ['control', 'edge', ...BELOW_EDGE],
    devtools: ['node', 'control', 'edge', ...BELOW_EDGE],
    cli: ['devtools', 'node', 'control', 'edge', ...BELOW_EDGE],
    // The package's front door re-exports the public pieces.
    index: ['cli', 'devtools', 'node', 'control', 'edge', ...BELOW_EDGE],
  },
  typesFrom: {
    // A config names runtimes (`RuntimeVersion`); it imports nothing else above itself.
    config: ['runtime'],
    observe: ['state'],
    state: ['observe'],
  },
};

describe('architecture: folder rules over every import in src/', () => {
  const scan = scanImports(SRC);

  it('reads the whole tree', () => {
    assert.ok(scan.files.length > 100, `only ${scan.files.length} files found under ${SRC}`);
    assert.ok(crossFolderImports(scan).length > 100, 'cross-folder imports were found');
  });

  it('places every folder in the table', () => {
    const folders = new Set(crossFolderImports(scan).flatMap(({ from, to }) => [from, to]));
    const unplaced = [...folders].filter((f) => !(f in RULES.allowed));
    assert.deepEqual(unplaced, [], 'new folders must be placed in RULES and in docs/architecture.md');
  });

  it('has every import point down (types may also go where typesFrom says)', () => {
    assert.deepEqual(ruleViolations(scan, RULES).map(describeSite), []);
  });

  it('has no folder-level import cycle', () => {
    assert.deepEqual(folderCycles(scan), []);
  });

  it('keeps config/ below the code that uses it: no import of edge/, control/, node/ or kvs/', () => {
    const upward = crossFolderImports(scan).filter(({ from, to }) => from === 'config' && ['edge', 'control', 'node', 'kvs'].includes(to));
    assert.deepEqual(upward.map(describeSite), []);
  });

  it('keeps control/ and edge/ apart: neither imports the other, not even types', () => {
    const across = crossFolderImports(scan).filter(({ from, to }) => (from === 'control' && to === 'edge') || (from === 'edge' && to === 'control'));
    assert.deepEqual(across.map(describeSite), []);
  });

  it('cites only documents in the repository (docs/), not design notes kept elsewhere', () => {
    const outside = /DESIGN\.md|STYLE\.md|\/work\/shared|\bspec\/[\w-]+\.md|shared spec|\bspec §/;
    const citing = scan.files.filter((file) => outside.test(readFileSync(join(SRC, file), 'utf8')));
    assert.deepEqual(citing, []);
  });

  it('leaves no dynamic import whose target cannot be read', () => {
    assert.deepEqual(
      scan.unresolved.map((s) => `${s.file}:${s.line} ${s.specifier}`),
      [],
    );
  });
});

describe('architecture: the import reader itself', () => {
  /** A small tree that breaks each rule once, so the checks above are known to be able to fail. */
  function withTree(files: Record<string, string>, check: (root: string) => void): void {
    const root = mkdtempSync(join(tmpdir(), 'openfront-arch-'));
    try {
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      }
      check(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }

  it('tells type-only imports from value imports, in every syntax', () => {
    withTree(
      {
        'a/x.ts': [
          "import type { T } from '../b/t.js';",
          "import { type U, type V } from '../b/t.js';",
          "import { W, type X } from '../b/t.js';",
          "import Def from '../b/t.js';",
          "import * as all from '../b/t.js';",
          "import '../b/t.js';",
          "export * from '../b/t.js';",
          "export type { Y } from '../b/t.js';",
          "export { Z } from '../b/t.js';",
          "type Q = import('../b/t.js').Q;",
          "const m = await import('../b/t.js');",
          'const n = await import(`../b/t.js`);',
          'const o = await import(new URL(`./same-dir/${name}`, import.meta.url).href);',
          'const p = await import(someVariable);',
        ].join('\n'),
        'b/t.ts': 'export type T = 1;',
      },
      (root) => {
        const scan = scanImports(root);
        const seen = scan.imports.map((s) => `${s.line}:${s.kind}:${s.typeOnly ? 'type' : 'value'}:${s.target}`);
        assert.deepEqual(seen, [
          '1:import:type:b/t.ts',
          '2:import:type:b/t.ts',
          '3:import:value:b/t.ts',
          '4:import:value:b/t.ts',
          '5:import:value:b/t.ts',
          '6:import:value:b/t.ts',
          '7:export:value:b/t.ts',
          '8:export:type:b/t.ts',
          '9:export:value:b/t.ts',
          '10:import-type:type:b/t.ts',
          '11:dynamic:value:b/t.ts',
          '12:dynamic:value:b/t.ts',
        ]);
        assert.deepEqual(
          scan.unresolved.map((s) => s.line),
          [14],
          'a computed import that stays in its directory is fine; one that cannot be read is reported',
        );
      },
    );
  });

  it('finds an upward import, a type import the table does not allow, and a cycle through a third folder', () => {
    withTree(
      {
        'config/load.ts': "import { startEdge } from '../edge/index.js';\nexport const load = startEdge;",
        'edge/index.ts': "import type { Registry } from '../control/registry.js';\nexport function startEdge(r: Registry) { return r; }",
        'control/registry.ts': "import { load } from '../config/load.js';\nexport type Registry = typeof load;",
        'errors.ts': 'export {};',
      },
      (root) => {
        const scan = scanImports(root);
        assert.deepEqual(ruleViolations(scan, RULES).map(describeSite), [
          "config/load.ts:1 config → edge via '../edge/index.js'",
          "edge/index.ts:1 edge → control (types) via '../control/registry.js'",
        ]);
        assert.deepEqual(folderCycles(scan), [['config', 'control', 'edge']]);
      },
    );
  });

  it('resolves index files and .js specifiers of .ts sources', () => {
    withTree({ 'node/index.ts': "import { a } from '../kvs/index.js';\nimport { b } from '../kvs';", 'kvs/index.ts': 'export const a = 1, b = 2;' }, (root) => {
      assert.deepEqual(
        scanImports(root).imports.map((s) => s.target),
        ['kvs/index.ts', 'kvs/index.ts'],
      );
    });
  });
});
