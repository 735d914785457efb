/**
 * Removes what CloudFront Functions do not offer: code generation from strings (eval, the Function constructor
 * and its async/generator siblings reached through `(function () {}).constructor`), and globals the CloudFront
 * engine does not have (Proxy, Reflect, WebAssembly, Map, Set, BigInt, Intl…). Runs once per isolate, after the
 * prelude and the runtime captured what they need, before user code.
 */
const defineProperty = Object.defineProperty,
  getPrototypeOf = Object.getPrototypeOf;

const BLOCKED_GLOBALS = [
  'eval',
  'Proxy',
  'Reflect',
  'WebAssembly',
  'SharedArrayBuffer',
  'Atomics',
  'WeakRef',
  'FinalizationRegistry',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'Intl',
  'escape',
  'unescape',
];

function forbidden(what: string): () => never {
  return function () {
    throw new EvalError(what + ' is not supported in CloudFront Functions');
  };
}

/** Locks the global object `g` down, then defines the runtime's own globals on it (read-only). */
export function lockDown(g: Record<string, unknown>, runtimeGlobals: Record<string, unknown>): void {
  const noCodegen = forbidden('Code generation from strings (eval / Function constructor)');
  // Each kind of function has its own constructor, reachable from any function of that kind.
  const samples = [function () {}, async function () {}, function* () {}, async function* () {}];
  for (let i = 0; i < samples.length; i++) {
    defineProperty(getPrototypeOf(samples[i]), 'constructor', { value: noCodegen, writable: false, configurable: false });
  }
  noCodegen.prototype = Function.prototype;
  for (let i = 0; i < BLOCKED_GLOBALS.length; i++) delete g[BLOCKED_GLOBALS[i] as string];
  defineProperty(g, 'Function', { value: noCodegen, writable: false, configurable: false });
  defineProperty(g, 'eval', { value: forbidden('eval()'), writable: false, configurable: false });
  for (const name in runtimeGlobals) {
    defineProperty(g, name, { value: runtimeGlobals[name], writable: false, configurable: false });
  }
}
