/** A fixed-capacity ring: the newest `capacity` items, oldest overwritten first. O(1) push, nothing allocated per push. */
export class RingBuffer<T> {
  readonly capacity: number;
  readonly #items: Array<T | undefined>;
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** Newest first. Stops early once `limit` items matched. */
  *newestFirst(): Generator<T> {
    for (let i = 1; i <= this.#size; i++) yield this.#items[(this.#next - i + this.capacity) % this.capacity] as T;
  }

  clear(): void {
    this.#items.fill(undefined);
    this.#next = 0;
    this.#size = 0;
  }
}
