// ESLint flat config: the recommended JavaScript and typescript-eslint rules on src, test and bench. Only syntax-based
// rules (no type-aware ones), so lint needs no second type-check pass and stays fast. Formatting is Prettier's job:
// eslint-config-prettier turns off the rules that would fight it. Rules changed below say why.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    // examples/ and the conformance fixtures are CloudFront function code as users write it (runtime 1.0 scripts,
    // deliberately broken handlers), checked by the runtime's own checker, not by our house rules.
    ignores: ['dist/', 'node_modules/', 'examples/', 'types/', 'test/conformance/functions/', '.ci/', '.openfront/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    // Plain ESM scripts that Node runs directly (scripts/*.mjs).
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    rules: {
      // Header, cookie and wire validation match control characters on purpose (`\x00-\x1f`); the rule exists to
      // catch invisible ones typed by accident, and every hit here is an explicit escape.
      'no-control-regex': 'off',
      // `_`-prefixed names mark parameters a signature needs but the body does not.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Functions run in isolated-vm isolates only: a node:vm context is no security boundary (README, dependency
    // table), so the product never imports it, not even for a helper. bench/ uses it as the engine baseline.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['node:vm', 'vm'].map((name) => ({ name, message: 'src/ never imports node:vm: functions run in isolated-vm isolates only.' })) },
      ],
    },
  },
);
