/**
 * Keeps the garbage of streamed bodies small (docs/edge.md, "Streaming").
 *
 * Every read from an origin socket hands the edge a new buffer (node:net allocates one per read; undici concatenates
 * reads it could not parse yet), and every one of them is garbage once the viewer's socket took it. Those buffers
 * live outside V8's heap, so they do not make the young generation fill up; V8 collects them only once the young
 * generation's buffers reach twice its largest semi-space: about 32 MiB on Node 20 and 64 MiB on Node 22/24. A
 * 1 GiB download therefore held up to 40 MiB (Node 20) or 75 MiB (Node 24) of dead buffers at a time, and the
 * allocator kept that much resident: RSS grew by 59–95 MiB where a stream's high-water mark is all that is live.
 *
 * So the edge runs a young-generation collection (a scavenge: ~0.1 ms when the young generation is small) after
 * every COLLECT_EVERY_BYTES of streamed body, which bounds the dead buffers by that amount. V8's `gc()` exists only
 * when Node was started with `--expose-gc`: the `openfront` command and `npm start` start it so (docs/edge.md,
 * "Streaming"). Functions cannot reach it: they run in their own isolates. Without the flag the edge streams as
 * before, with V8's own pacing (src/ never imports node:vm, the only other way to it).
 */

/** Streamed bytes between two collections: the dead buffers an edge holds at most, give or take one read. */
export const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;

/** undefined: not looked up yet; null: not available in this process. */
let collect: Collect | null | undefined;
let sinceCollection = 0;

/** Counts `bytes` of a body just handed to a viewer; collects the young generation every COLLECT_EVERY_BYTES. */
export function noteStreamedBytes(bytes: number): void {
  sinceCollection += bytes;
  if (sinceCollection < COLLECT_EVERY_BYTES) return;
  sinceCollection = 0;
  if (collect === undefined) collect = youngCollector();
  collect?.({ type: 'minor' });
}

function youngCollector(): Collect | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  return typeof exposed === 'function' ? (exposed as Collect) : null;
}
