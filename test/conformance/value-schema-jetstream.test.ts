/** The value-schema cases on a real nats-server; `reopen` is a second control process's connection and state. */
import { randomBytes } from 'node:crypto';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { openJetStreamState } from '../../src/state/jetstream/index.js';
import type { NodeState } from '../../src/state/types.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { describeValueSchemaConformance } from './value-schema-cases.js';

describeValueSchemaConformance(
  'jetstream',
  async () => {
    const server = await startNatsServer();
    const secretKey = randomBytes(32);
    let n = 0;
    const opened: NodeState[] = [];
    const open = async () => {
      const state = await openJetStreamState({ conn: await connectNats(server.url, { name: `schema-${++n}` }), secretKey, limits: DEFAULT_KVS_LIMITS });
      opened.push(state);
      return state;
    };
    const state = await open();
    return {
      state,
      reopen: open,
      cleanup: async () => {
        for (const s of opened) await s.close();
        await server.dispose();
      },
    };
  },
  { skip: natsSkipReason() },
);
