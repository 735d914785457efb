/**
 * Counts the requests an HTTP server on one port is still answering, so a config reload can let them finish on
 * the old edge before it is closed (closing an edge cuts its open connections).
 *
 * It listens on Node's own `http.server.request.start` diagnostics channel, which costs nothing to the edge and
 * needs no hook in it; responses leave the count on `close`, which fires for finished and aborted ones alike.
 */
import diagnostics_channel from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const REQUEST_START = 'http.server.request.start';

interface RequestStartMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
}

export class InFlightRequests {
  readonly #port: () => number;
  readonly #open = new Set<ServerResponse>();
  readonly #listener = (message: unknown) => this.#onStart(message as RequestStartMessage);

  /** `port` is read per request: the port of the server being tracked (it stays the same across edge restarts). */
  constructor(port: () => number) {
    this.#port = port;
    diagnostics_channel.subscribe(REQUEST_START, this.#listener);
  }

  get size(): number {
    return this.#open.size;
  }

  /** Resolves once no request is open, or after `timeoutMs` (a hung origin must not block reloads for long). */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#open.size > 0 && Date.now() < deadline) {
      const [response] = this.#open;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        response?.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    diagnostics_channel.unsubscribe(REQUEST_START, this.#listener);
    this.#open.clear();
  }

  #onStart({ response, socket }: RequestStartMessage): void {
    if (socket.localPort !== this.#port()) return;
    this.#open.add(response);
    response.once('close', () => this.#open.delete(response));
  }
}
