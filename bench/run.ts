/**
 * `npm run bench`: every benchmark measures its baseline and OpenFront in the same run and prints the ratio.
 * Pass names to run a subset: `npm run bench -- engine`; flags after the names go to the benches
 * (`npm run bench -- edge --only no-cache`).
 */
const benches: Record<string, () => Promise<{ main(): Promise<void> }>> = {
  engine: () => import('./engine.js'),
  kvs: () => import('./kvs.js'),
  functions: () => import('./functions.js'),
  edge: () => import('./edge.js'),
  observe: () => import('./observe.js'),
  abuse: () => import('./abuse.js'),
  fleet: () => import('./fleet.js'),
};

// The AWS SDK warns about Node 20 on every client; the bench output is for numbers.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Names are the arguments before the first `--flag`; flags (e.g. `edge --only no-cache`) belong to the benches.
const args = process.argv.slice(2);
const firstFlag = args.findIndex((arg) => arg.startsWith('--'));
const wanted = firstFlag === -1 ? args : args.slice(0, firstFlag);
for (const [name, load] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  await (await load()).main();
}
