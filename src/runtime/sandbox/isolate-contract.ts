/**
 * What the host and the code inside the isolate (isolate/) agree on. Both sides import this file: the host through
 * the normal build, the isolate through its bundle, so a separator or a file name can never drift apart.
 *
 * It must stay free of Node and DOM APIs: it is type-checked with the isolate's tsconfig as well.
 */

/** The file name user code runs under; stack traces and compile errors point into it. */
export const USER_SCRIPT_FILENAME = 'function.js';

/**
 * Separators of the compact wires (event-wire.ts, result-wire.ts, the packed dispatch argument). Control characters
 * below 4 never occur in the strings the wires carry as-is: a string holding one makes the value go as JSON.
 */
export const FIELD = '\u0001';
export const ITEM = '\u0002';
/** Marks an absent optional string (distinct from ''). */
export const ABSENT = '\u0003';
/** Separates the fields of the one string argument each invocation gets (see packDispatch in function-isolate.ts). */
export const PACK = '\u0004';

/** Envelopes of a result with no logs, origin change or custom log data: no JSON needed on either side. */
export const PLAIN_RESULT = 'r';
/** ...the same, followed by the KVS reads (encodeReads in isolate/dispatcher.ts). */
export const READS_RESULT = 'k';

/** [envelope, value wire] of one invocation, as the isolate's dispatcher returns it (outcome-wire.ts decodes it). */
export type Pair = [string, string];

/** Answers one `cf.kvs()` read inside the isolate: the value (a string), or undefined when the key is missing. */
export type HostKvs = (op: 'get' | 'exists' | 'meta', storeId: string | null, key: string, invocation: number) => string | undefined;

/** Hashes (or with a key, HMACs) latin1 data; returns the raw digest as latin1 (builtins/host-digest.ts). */
export type HostDigest = (algorithm: string, keyLatin1: string | null, dataLatin1: string) => string;

/**
 * The host capabilities handed to the bootstrap. Its fields are read at call time, never copied, and the object
 * stays inside the bootstrap's closure: user code can never reach it.
 */
export interface IsolateHost {
  kvs: HostKvs;
  digest: HostDigest;
  maxLogBytes: number;
}

/** What the prelude gets: only the digest callback. */
export interface PreludeHost {
  digest: HostDigest;
}

/** The built-in modules that `require(name)` / `import x from name` give, by name. */
export type BuiltinModules = Record<string, unknown>;

/** The prelude script's value: installs the runtime's globals and returns the built-in modules. */
export type Prelude = (host: PreludeHost) => { modules: BuiltinModules };

/** What the bootstrap returns: the two entry points the host calls (function-isolate.ts). */
export interface Dispatcher {
  /** One invocation: the packed argument in, its pair out. */
  dispatch(packed: string): Pair;
  /** Several invocations one after the other (each packed as <length>:<packed>); see isolate/dispatcher.ts. */
  dispatchBatch(joined: string): Array<Pair | undefined>;
}

/** The bootstrap script's value. */
export type Bootstrap = (prelude: Prelude, host: IsolateHost, runtime: string) => Dispatcher;
