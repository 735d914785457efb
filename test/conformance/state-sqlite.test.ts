import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import { describeStateConformance } from './state-cases.js';

describeStateConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'of-state-sqlite-'));
  const state = openSqliteState(join(dir, 'openfront.db'));
  return {
    state,
    cleanup: async () => {
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
