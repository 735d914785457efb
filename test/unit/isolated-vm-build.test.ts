/**
 * The engine follows the Node version (docs/node-versions.md): isolated-vm 5 on Node 20, isolated-vm 6 on Node 22 and
 * newer. This checks the loader picked the build made for the running Node and that the build really runs code.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import ivm, { isolatedVmBuild } from '../../src/runtime/sandbox/isolated-vm.js';

const nodeMajor = Number(process.versions.node.split('.')[0]);

test('the isolated-vm build matches the Node version', () => {
  assert.equal(isolatedVmBuild, nodeMajor >= 22 ? 'isolated-vm-6' : 'isolated-vm-5');
  const { version } = createRequire(import.meta.url)(`${isolatedVmBuild}/package.json`) as { version: string };
  assert.equal(version.split('.')[0], nodeMajor >= 22 ? '6' : '5');
});

test('the loaded build runs code in an isolate with a memory cap', () => {
  const isolate = new ivm.Isolate({ memoryLimit: 16 });
  try {
    const context = isolate.createContextSync();
    assert.equal(context.evalSync('[1, 2, 3].map((n) => n * 2).join()'), '2,4,6');
    assert.throws(() => context.evalSync('const a = []; for (;;) a.push(new Array(1e6).fill(1));'), /memory limit/i);
  } finally {
    if (!isolate.isDisposed) isolate.dispose();
  }
});

/**
 * On Node 24 without --no-turboshaft-loop-unrolling (isolated-vm.ts), about half the runs of this loop could not be
 * stopped (the timeout and dispose() ignored): repeated so that a regression fails here, not once in a while. A hang
 * is cut by the test's own timeout.
 */
test('an allocating loop run off-thread is stopped by the timeout, every time', { timeout: 30_000 }, async () => {
  for (let run = 0; run < 6; run++) {
    const isolate = new ivm.Isolate({ memoryLimit: 8 });
    try {
      const context = isolate.createContextSync();
      const loop = context.evalSync('(function () { for (;;) { var a = new Array(1000); a[0] = {}; } })', { reference: true }) as ivm.Reference;
      await assert.rejects(loop.apply(undefined, [], { timeout: 50 }), /timed out/i, `run ${run}`);
    } finally {
      if (!isolate.isDisposed) isolate.dispose();
    }
  }
});
