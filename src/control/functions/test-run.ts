/**
 * Runs one stage of a function against a test event in the real engine, reading the associated store's current
 * data through its replica: the work behind TestFunction.
 *
 * The code under test is loaded and run on isolated-vm's own thread (loadFunctionOffThread, runOffThread), and at
 * most a few runs go at once (RunLimiter): a key holder testing a looping DEVELOPMENT version must not slow down the
 * viewers the edge serves in the same process. ComputeUtilization is then the isolate's own CPU time for the
 * invocation against the 1 ms budget (docs/test-function.md).
 */
import { isOpenFrontError, OpenFrontError } from '../../errors.js';
import type { KvsSnapshotSource } from '../../kvs/snapshot.js';
import { loadFunctionOffThread } from '../../runtime/function.js';
import { normalizeTestEvent } from '../../runtime/test-event.js';
import { toTestResult } from '../../runtime/test-result.js';
import type { KvsBinding, RuntimeLimits, TestResult } from '../../runtime/types.js';
import type { FunctionConfig } from '../../state/functions.js';
import type { StoreState } from '../../state/types.js';
import { RunLimiter } from './run-limiter.js';

/**
 * Where TestFunction reads a store: the node's replicas (`ReplicaSet`) where an edge runs in the process, a
 * snapshot loaded for the run otherwise (a control process of a fleet).
 */
export interface StoreReader {
  get(storeId: string): KvsSnapshotSource | Promise<KvsSnapshotSource>;
}

/** The stores a function of `config` may read: its associated store, or none. */
export async function kvsBindingFor(config: FunctionConfig, stores: StoreState, replicas: StoreReader): Promise<KvsBinding> {
  if (config.keyValueStoreArn === undefined) return { stores: new Map() };
  const store = await stores.getStore({ arn: config.keyValueStoreArn });
  if (store === undefined) return { stores: new Map() };
  return { defaultStoreId: store.id, stores: new Map([[store.id, await replicas.get(store.id)]]) };
}

export interface TestRunInput {
  name: string;
  code: string;
  config: FunctionConfig;
  /** The EventObject bytes (JSON). */
  event: Uint8Array;
}

/**
 * The TestResult of one run. A bad event is the caller's error (InvalidArgument); the function's own failures —
 * including top-level code that throws while loading — are reported inside the result, as CloudFront does.
 */
export async function runFunctionTest(
  input: TestRunInput,
  deps: { stores: StoreState; replicas: StoreReader; limits?: Partial<RuntimeLimits>; testRuns?: RunLimiter },
): Promise<TestResult> {
  const event = normalizeTestEvent(input.event);
  return (deps.testRuns ?? UNSHARED).run(() => runLoaded(input, event, deps));
}

/** For callers that pass no limiter: still one shared bound per process rather than none. */
const UNSHARED = new RunLimiter();

async function runLoaded(
  input: TestRunInput,
  event: ReturnType<typeof normalizeTestEvent>,
  deps: { stores: StoreState; replicas: StoreReader; limits?: Partial<RuntimeLimits> },
): Promise<TestResult> {
  let fn;
  try {
    fn = await loadFunctionOffThread(input.code, { name: input.name, runtime: input.config.runtime, limits: deps.limits });
  } catch (err) {
    if (isOpenFrontError(err) && err.status === 503) {
      return { FunctionOutput: '', FunctionErrorMessage: err.message, FunctionExecutionLogs: [], ComputeUtilization: '0' };
    }
    throw testFailed(err);
  }
  try {
    return toTestResult(await fn.runOffThread(event, { kvs: await kvsBindingFor(input.config, deps.stores, deps.replicas) }));
  } catch (err) {
    throw testFailed(err);
  } finally {
    fn.dispose();
  }
}

function testFailed(err: unknown): OpenFrontError {
  if (isOpenFrontError(err) && err.status < 500) return err;
  return new OpenFrontError('CF_TEST_FUNCTION_FAILED', `The test could not be run: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
}
