/**
 * One nats-server for a whole test file (starting one per suite costs a process and a JetStream store each time):
 * started on first use, wiped between users so that each sees an empty JetStream, disposed by the file's `after`.
 *
 *   const nats = sharedNatsServer();
 *   after(() => nats.dispose());
 *   … startHarness({ target: 'control+nats', nats }) …
 *
 * Users of one shared server must not overlap in time: node:test runs the suites of a file one after the other.
 */
import { connectNats } from '../../src/state/jetstream/connection.js';
import { startNatsServer, type NatsServer } from './nats-server.js';

export interface SharedNatsServer {
  /** The server, started on the first call. */
  server(): Promise<NatsServer>;
  /** The server with every stream (so every KV bucket) of the previous user deleted. */
  fresh(): Promise<NatsServer>;
  dispose(): Promise<void>;
}

export function sharedNatsServer(): SharedNatsServer {
  let started: Promise<NatsServer> | undefined;
  const server = () => (started ??= startNatsServer());
  return {
    server,
    async fresh() {
      const nats = await server();
      const conn = await connectNats(nats.url, { name: 'test-wipe' });
      try {
        const names: string[] = [];
        for await (const name of conn.jsm.streams.names()) names.push(name);
        for (const name of names) await conn.jsm.streams.delete(name);
      } finally {
        await conn.close();
      }
      return nats;
    },
    async dispose() {
      if (started !== undefined) await (await started).dispose();
      started = undefined;
    },
  };
}
