/**
 * The SQLite backend is one file shared by separate parts (docs/architecture.md, "The SQLite backend"): each table
 * is read and written by the module that owns it, and others go through that module's methods. This reads every
 * SQL statement in src/ (the table after FROM, INTO, UPDATE and JOIN) and checks who touches which table, and that
 * only the backend's own modules hold the connection.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** Table → the modules that may run SQL on it (paths under src/). */
const OWNERS: Record<string, readonly string[]> = {
  settings: ['state/sqlite/node-database.ts', 'state/sqlite/table-migrations.ts'],
  kvs_stores: ['state/sqlite/stores.ts'],
  kvs_items: ['state/sqlite/stores.ts'],
  kvs_changes: ['state/sqlite/stores.ts'],
  kvs_history: ['state/sqlite/history-log.ts'],
  kvs_history_changes: ['state/sqlite/history-log.ts'],
  kvs_value_schemas: ['state/sqlite/value-schema-table.ts'],
  audit_log: ['state/sqlite/audit-log.ts'],
  access_keys: ['state/sqlite/access-keys.ts'],
  fn_functions: ['state/sqlite/function-registry.ts'],
  fn_versions: ['state/sqlite/function-registry.ts'],
  fn_stages: ['state/sqlite/function-registry.ts'],
  perm_key_policies: ['state/sqlite/access-key-state.ts'],
  releases: ['state/sqlite/release-state.ts'],
};

/** Files whose SQL is not on the node database (the edge's own snapshot file in a fleet). */
const OTHER_DATABASES = new Set(['state/jetstream/kv-data/snapshot-file.ts']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const files = sourceFiles(SRC).map((file) => ({ path: relative(SRC, file).split('\\').join('/'), text: readFileSync(file, 'utf8') }));

describe('SQLite backend: each table has one owner', () => {
  it('finds the SQL it checks', () => {
    const touched = new Set(files.flatMap(({ text }) => [...text.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_]+)/g)].map((m) => m[1])));
    for (const table of Object.keys(OWNERS)) assert.ok(touched.has(table), `no SQL on ${table}: the scan or the table list is out of date`);
  });

  it('runs SQL on a table only in the module that owns it', () => {
    const trespass: string[] = [];
    for (const { path, text } of files) {
      if (OTHER_DATABASES.has(path)) continue;
      for (const [, table] of text.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN)\s+([a-z_]+)/g)) {
        if (table === 'json_each') continue;
        const owners = OWNERS[table];
        if (owners === undefined) trespass.push(`${path}: ${table} is not a table of the node database (add it to OWNERS with its owner)`);
        else if (!owners.includes(path)) trespass.push(`${path}: ${table} belongs to ${owners.join(', ')}`);
      }
    }
    assert.deepEqual(trespass, []);
  });

  it('keeps the connection inside the SQLite backend', () => {
    const outside = files
      .filter(({ path }) => !path.startsWith('state/sqlite/'))
      // An HTTP request's `headers.connection` is not the database's.
      .flatMap(({ path, text }) => [...text.matchAll(/(?<!headers)\.connection\b/g)].map(() => path));
    assert.deepEqual(outside, [], 'modules outside state/sqlite/ get the parts they need, never the connection');
  });
});
