/**
 * How a feed follows NATS until it is closed (a store replica's stream, an edge's LIVE functions): one subscription
 * at a time, started only while connected, and after a failure another one after a back-off of 100 ms doubling to
 * 2 s (reset once a subscription ends without failing). Closing cuts every wait short.
 */
import type { NatsConnectionHandle } from './connection.js';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 2000;

export class FeedLoop {
  #closed = false;
  #signalClosed!: () => void;
  /** Resolves once the feed is closed, so a wait raced against it ends at once. */
  readonly closedSignal = new Promise<void>((resolve) => (this.#signalClosed = resolve));

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.#signalClosed();
  }

  /** Waits `ms`, or less if the feed is closed meanwhile. */
  sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.closedSignal]).finally(() => clearTimeout(timer));
  }

  /** Runs `once` again and again until closed; `onFailure` hears of each failure and the wait before the next try. */
  async run(conn: NatsConnectionHandle, once: () => Promise<void>, onFailure: (err: unknown, retryMs: number) => void): Promise<void> {
    let backoff = FIRST_RETRY_MS;
    while (!this.#closed) {
      await Promise.race([conn.whenConnected(), this.closedSignal]);
      if (this.#closed) break;
      try {
        await once();
        backoff = FIRST_RETRY_MS;
      } catch (err) {
        onFailure(err, backoff);
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_RETRY_MS);
      }
    }
  }
}
