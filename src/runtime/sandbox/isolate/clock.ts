/**
 * Time and randomness: the clock is frozen for the length of an invocation (Date.now() and new Date() give the
 * time the host chose) and Math.random is a PRNG the host seeds per invocation, so a run is reproducible.
 */
const OrigDate = Date,
  defineProperty = Object.defineProperty;

let frozenNow = 0;
let rngState = 1;

/** Called at the start of each invocation. A zero seed would stick xorshift at 0, hence `|| 1`. */
export function setClock(now: number, seed: number): void {
  frozenNow = now;
  rngState = seed | 0 || 1;
}

/**
 * Stands in for Date: without arguments it gives the frozen time, otherwise it is Date. Called without `new` it
 * returns a string, as Date does. Seven parameters: FrozenDate.length stays Date.length.
 */
function FrozenDate(this: unknown, a?: string | number | Date, b?: number, c?: number, d?: number, e?: number, f?: number, h?: number): Date | string {
  const n = arguments.length;
  if (!new.target) return new OrigDate(frozenNow).toString();
  if (n === 0) return new OrigDate(frozenNow);
  if (n === 1) return new OrigDate(a as string | number | Date);
  return new OrigDate(a as number, b as number, n > 2 ? c : 1, n > 3 ? d : 0, n > 4 ? e : 0, n > 5 ? f : 0, n > 6 ? h : 0);
}
FrozenDate.prototype = OrigDate.prototype;
FrozenDate.now = function () {
  return frozenNow;
};
FrozenDate.parse = OrigDate.parse;
FrozenDate.UTC = OrigDate.UTC;

/** xorshift32: fast, and good enough for what functions use Math.random for. */
function random(): number {
  let x = rngState;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rngState = x | 0;
  return (x >>> 0) / 4294967296;
}

/** Points Date.prototype.constructor at FrozenDate, so that `new d.constructor()` is frozen too. */
export function linkDatePrototype(): void {
  defineProperty(OrigDate.prototype, 'constructor', { value: FrozenDate, writable: true, configurable: true });
}

/** What the bootstrap installs as the globals Date and Math.random. */
export { FrozenDate, random };
