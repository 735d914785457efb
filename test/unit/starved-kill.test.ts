/**
 * The runaway kill is charged on CPU time: a function whose wall clock runs past killAfterMicros while this process
 * was not using the CPU (a machine too busy to schedule it) runs again with a longer wall limit instead of being
 * killed; code that really burns the CPU is still killed at the limit.
 *
 * A child process stopped with SIGSTOP in the middle of an invocation stands in for the busy machine: its wall
 * clock runs on, its CPU time does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareSource } from '../../src/runtime/checker.js';
import { resolveRuntimeLimits } from '../../src/runtime/limits.js';
import { encodeEvent } from '../../src/runtime/sandbox/event-wire.js';
import { FunctionIsolate, type DispatchInput } from '../../src/runtime/sandbox/function-isolate.js';
import { testEvent } from '../helpers/events.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const KILL_AFTER_MICROS = 20_000;

function isolateFor(code: string): FunctionIsolate {
  const prepared = prepareSource(code, 'cloudfront-js-2.0');
  if (!prepared.ok) throw new Error(JSON.stringify(prepared.problems));
  const isolate = new FunctionIsolate(prepared.script, 'cloudfront-js-2.0', resolveRuntimeLimits({ killAfterMicros: KILL_AFTER_MICROS }));
  isolate.load();
  return isolate;
}

function input(read: DispatchInput['kvs']): DispatchInput {
  return {
    eventWire: encodeEvent(testEvent('/')),
    rawQueryString: null,
    now: 0,
    seed: 1,
    edgeLocationJson: null,
    kvsToken: 0,
    kvs: read,
    recordKvsReads: false,
  };
}

const CHILD = fileURLToPath(new URL('../helpers/starved-child.js', import.meta.url));

/** One run of the child: `cpuMs` of computing under a `killMs` limit, stopped for `stopMs` as soon as it starts. */
async function stoppedRun(cpuMs: number, killMs: number, stopMs: number): Promise<{ kind: string; wallMs: number }> {
  const child = spawn(process.execPath, [CHILD, String(cpuMs), String(killMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  assert.equal((await lines.next()).value, 'running');
  child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, stopMs));
  child.kill('SIGCONT');
  const report = JSON.parse((await lines.next()).value as string) as { kind: string; wallMs: number };
  await exited;
  return report;
}

test('an invocation whose process is stopped past the wall limit runs again instead of being killed', async () => {
  // About 200 ms of computing under a 600 ms kill limit, stopped for 1 s as soon as it starts. On a busy machine the
  // stop can land after the invocation returned (the child's calibration and our signal both wait for a core): such a
  // run proves nothing either way and is made again.
  const runs: Array<{ kind: string; wallMs: number }> = [];
  for (let attempt = 0; attempt < 4; attempt++) {
    const report = await stoppedRun(200, 600, 1000);
    runs.push(report);
    if (report.wallMs < 900) continue;
    assert.equal(report.kind, 'result', `not killed: the process used far less than 600 ms of CPU (${JSON.stringify(runs)})`);
    return;
  }
  assert.fail(`the stop never overlapped the invocation: ${JSON.stringify(runs)}`);
});

test('code that burns the CPU is still killed at the limit, inline and off-thread', async () => {
  const isolate = isolateFor(`function handler(event) { while (true) {} }`);
  try {
    const started = performance.now();
    const inline = isolate.invoke(input(() => undefined));
    assert.deepEqual(inline, { kind: 'killed', reason: 'cpu', logs: [] });
    const offThread = await isolate.invokeOffThread(input(() => undefined));
    assert.equal(offThread.outcome.kind, 'killed');
    // Not a timing assertion on the kill itself: a sanity bound far above even the 16x backstop's sum (620 ms) twice.
    assert.ok(performance.now() - started < 5_000);
  } finally {
    isolate.dispose();
  }
});
