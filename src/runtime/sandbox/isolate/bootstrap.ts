/**
 * The code evaluated INSIDE each function's isolate before the user's code. It builds the CloudFront runtime
 * surface (console, require, the `cloudfront` module, frozen Date, seeded Math.random), removes what CloudFront
 * does not offer (lockdown.ts), and returns the dispatcher the host calls once per invocation (dispatcher.ts).
 *
 * This folder is bundled at build time (scripts/bundle-sandbox.ts) into one script per entry, whose value is the
 * entry's exported function: this file's `bootstrap`, and the prelude of each runtime (builtins/prelude-*.ts).
 * The host (function-isolate.ts) runs the prelude script, then this one, then calls
 * `bootstrap(prelude, host, runtime)`. Each isolate evaluates the scripts once, so every module's top-level state
 * here is per isolate; what belongs to one invocation is reset by the dispatcher at its start.
 *
 * Host capabilities arrive in `host` ({kvs, digest, maxLogBytes}), which stays in closures: user code can never
 * reach it. The fields are read at call time, so this code can run while a V8 startup snapshot is built and the
 * callbacks be filled in afterwards. Every host callback copies strings/primitives in and out; no host object ever
 * enters the isolate.
 *
 * The isolate has no Node and no DOM: tsconfig.json here type-checks against the bare language only.
 */
import type { Bootstrap, Dispatcher, IsolateHost, Prelude } from '../isolate-contract.js';
import { FrozenDate, linkDatePrototype, random } from './clock.js';
import { createCloudfrontModule } from './cloudfront.js';
import { createConsole } from './console.js';
import { createDispatcher } from './dispatcher.js';
import { createKvs } from './kvs.js';
import { lockDown } from './lockdown.js';

const hasOwnProperty = Object.prototype.hasOwnProperty;

export const bootstrap: Bootstrap = function (prelude: Prelude, host: IsolateHost, runtime: string): Dispatcher {
  const g = globalThis as unknown as Record<string, unknown>;
  const modules = prelude({
    digest: function (algorithm, key, data) {
      return host.digest(algorithm, key, data);
    },
  }).modules;
  const is2 = runtime === 'cloudfront-js-2.0';

  const consoleObject = createConsole(host);
  const utf8Bytes = is2
    ? function (value: string) {
        return (modules.buffer as { Buffer: { from(value: string, encoding: string): unknown } }).Buffer.from(value, 'utf8');
      }
    : null;
  const cloudfront = createCloudfrontModule(createKvs(host, utf8Bytes));
  if (is2) modules.cloudfront = cloudfront;

  function requireModule(name: unknown): unknown {
    if (typeof name === 'string' && hasOwnProperty.call(modules, name)) return modules[name];
    throw new Error('Cannot find module "' + (name as string) + '"');
  }

  linkDatePrototype();
  lockDown(g, { Date: FrozenDate, console: consoleObject, require: requireModule });
  Math.random = random;
  return createDispatcher(is2);
};
