import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteState, type SqliteState } from '../../src/state/sqlite/index.js';
import { describeValueSchemaConformance } from './value-schema-cases.js';

describeValueSchemaConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-schema-sqlite-'));
  const file = join(dir, 'openfront.db');
  const opened: SqliteState[] = [openSqliteState(file)];
  return {
    state: opened[0],
    reopen: async () => {
      const again = openSqliteState(file);
      opened.push(again);
      return again;
    },
    cleanup: async () => {
      for (const state of opened) await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
