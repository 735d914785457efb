/**
 * Child process of test/unit/starved-kill.test.ts: runs a function that computes for about `cpuMs` ms of CPU under
 * a kill limit of `killMs`, after telling the parent (on stdout, "running") so that it can SIGSTOP this process
 * mid-run. Prints the outcome's kind and the invocation's wall time as JSON.
 */
import { prepareSource } from '../../src/runtime/checker.js';
import { resolveRuntimeLimits } from '../../src/runtime/limits.js';
import { encodeEvent } from '../../src/runtime/sandbox/event-wire.js';
import { FunctionIsolate, type DispatchInput } from '../../src/runtime/sandbox/function-isolate.js';
import { testEvent } from './events.js';

const [cpuMs, killMs] = process.argv.slice(2).map(Number) as [number, number];

const SPIN = `function handler(event) {
  var n = Number(event.request.querystring.n.value), x = 0;
  for (var i = 0; i < n; i++) x = (x + i * 7) % 1000003;
  return { statusCode: 200, body: String(x) };
}`;

const prepared = prepareSource(SPIN, 'cloudfront-js-2.0');
if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
const isolate = new FunctionIsolate(prepared.script, 'cloudfront-js-2.0', resolveRuntimeLimits({ killAfterMicros: killMs * 1000 }));
isolate.load();

function input(n: number): DispatchInput {
  const event = testEvent('/');
  event.request.querystring = { n: { value: String(n) } };
  return {
    eventWire: encodeEvent(event),
    rawQueryString: null,
    now: 0,
    seed: 1,
    edgeLocationJson: null,
    kvsToken: 0,
    kvs: () => undefined,
    recordKvsReads: false,
  };
}

// Calibrate the loop on this machine: iterations per ms of the isolate's time, from a warm run.
const probe = 2_000_000;
await isolate.invokeOffThread(input(probe));
const warm = await isolate.invokeOffThread(input(probe));
const iterations = Math.round((probe / Math.max(1, warm.cpuMicros)) * cpuMs * 1000);

process.stdout.write('running\n');
const started = performance.now();
const { outcome } = await isolate.invokeOffThread(input(iterations));
const wallMs = performance.now() - started;
isolate.dispose();
process.stdout.write(`${JSON.stringify({ kind: outcome.kind, wallMs })}\n`);
