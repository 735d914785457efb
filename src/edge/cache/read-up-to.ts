/** Reading a body whole only when it turns out to be small, without losing the bytes read when it is not. */
import { Readable } from 'node:stream';

export type ReadUpTo = { kind: 'whole'; bytes: Buffer } | { kind: 'more'; body: Readable };

/**
 * Reads `body` to its end if it has at most `limit` bytes. Past the limit it stops reading and returns a stream
 * of everything (the bytes already read, then the rest of `body`), so the caller streams it instead: memory
 * held is at most `limit` plus one chunk.
 */
export async function readUpTo(body: Readable, limit: number): Promise<ReadUpTo> {
  const chunks: Buffer[] = [];
  let size = 0;
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const next = await iterator.next();
    if (next.done === true) return { kind: 'whole', bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size) };
    chunks.push(next.value);
    size += next.value.length;
    if (size > limit) return { kind: 'more', body: Readable.from(rest(chunks, iterator), { objectMode: false }) };
  }
}

async function* rest(read: Buffer[], iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  try {
    while (read.length > 0) yield read.shift()!;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  } finally {
    // A viewer that went away: release the origin's body too.
    await iterator.return?.();
  }
}
