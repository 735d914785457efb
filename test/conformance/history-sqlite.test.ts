import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteState } from '../../src/state/sqlite/index.js';
import type { NodeState } from '../../src/state/types.js';
import { describeHistoryConformance } from './history-cases.js';

describeHistoryConformance('sqlite', async ({ now, history }) => {
  const dir = mkdtempSync(join(tmpdir(), 'of-history-sqlite-'));
  const file = join(dir, 'openfront.db');
  let state: NodeState = openSqliteState(file, { now, history });
  return {
    get state() {
      return state;
    },
    get peer() {
      return state;
    },
    restart: async () => {
      await state.close();
      state = openSqliteState(file, { now, history });
      return state;
    },
    cleanup: async () => {
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
