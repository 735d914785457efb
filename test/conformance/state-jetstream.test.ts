/**
 * The state conformance cases against the JetStream backend on a real nats-server: `state` and `peer` are two
 * control processes' worth of state (two connections, two backends), so racing writes go through NATS alone.
 */
import { randomBytes } from 'node:crypto';
import { DEFAULT_KVS_LIMITS } from '../../src/kvs/limits.js';
import { connectNats } from '../../src/state/jetstream/connection.js';
import { openJetStreamState } from '../../src/state/jetstream/index.js';
import { natsSkipReason, startNatsServer } from '../helpers/nats-server.js';
import { describeStateConformance } from './state-cases.js';

describeStateConformance(
  'jetstream',
  async () => {
    const server = await startNatsServer();
    const secretKey = randomBytes(32);
    const open = async (name: string) => openJetStreamState({ conn: await connectNats(server.url, { name }), secretKey, limits: DEFAULT_KVS_LIMITS });
    const state = await open('conformance-a');
    const peer = await open('conformance-b');
    return {
      state,
      peer,
      cleanup: async () => {
        await state.close();
        await peer.close();
        await server.dispose();
      },
    };
  },
  { skip: natsSkipReason() },
);
