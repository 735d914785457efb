/**
 * Store history on the JetStream backend against a real nats-server: `peer` is a second control process's state, and
 * a restart closes one control process and opens a new one on the same NATS.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { openJetStreamState } from '../../src/state/jetstream/index.js';
import type { NodeState } from '../../src/state/types.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { describeHistoryConformance } from './history-cases.js';

describeHistoryConformance(
  'jetstream',
  async ({ now, history }) => {
    const server = await startNatsServer();
    const secretKey = randomBytes(32);
    let opened = 0;
    const open = async () =>
      openJetStreamState({ conn: await connectNats(server.url, { name: `history-${++opened}` }), secretKey, limits: DEFAULT_KVS_LIMITS, now, history });
    let state: NodeState = await open();
    const peer = await open();
    return {
      get state() {
        return state;
      },
      peer,
      restart: async () => {
        await state.close();
        state = await open();
        return state;
      },
      cleanup: async () => {
        await state.close();
        await peer.close();
        await server.dispose();
      },
    };
  },
  { skip: natsSkipReason() },
);
