/**
 * What each CloudFront Functions runtime accepts, as data. The syntax pass and the parser read these profiles;
 * docs/compatibility.md explains every choice.
 */
import type { RuntimeVersion } from '../event.js';

/** The language surface of one runtime version. */
export interface RuntimeProfile {
  runtime: RuntimeVersion;
  /** ECMAScript edition the runtime is documented against (1.0: ES5.1 + parts of ES6–9; 2.0: + parts of ES6–12). */
  ecmaVersion: 2018 | 2021;
  /** 2.0 accepts `import`, which only parses as a module; both are strict mode either way. */
  sourceType: 'script' | 'module';
  /** `let` / `const`. */
  blockScopedDeclarations: boolean;
  /** `async function` declarations and `await` inside them. */
  asyncFunctions: boolean;
  /** `import x from 'module'` at top level. */
  importDeclarations: boolean;
  /** `1_000` (ES12). */
  numericSeparators: boolean;
  /** Module names accepted by `import` and by `require('…')` with a literal name. */
  modules: readonly string[];
  /** Regular-expression flags: the ES5.1 ones plus those the runtime's docs name (2.0 lists `sticky`). */
  regexFlags: string;
}

export const RUNTIME_PROFILES: Readonly<Record<RuntimeVersion, RuntimeProfile>> = {
  'cloudfront-js-1.0': {
    runtime: 'cloudfront-js-1.0',
    ecmaVersion: 2018,
    sourceType: 'script',
    blockScopedDeclarations: false,
    asyncFunctions: false,
    importDeclarations: false,
    numericSeparators: false,
    modules: ['crypto', 'querystring'],
    regexFlags: 'gim',
  },
  'cloudfront-js-2.0': {
    runtime: 'cloudfront-js-2.0',
    ecmaVersion: 2021,
    sourceType: 'module',
    blockScopedDeclarations: true,
    asyncFunctions: true,
    importDeclarations: true,
    numericSeparators: true,
    modules: ['cloudfront', 'crypto', 'querystring', 'buffer'],
    regexFlags: 'gimy',
  },
};
