import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSource, prepareSource, type SourceProblem } from '../../src/runtime/checker.js';
import type { RuntimeVersion } from '../../src/runtime/event.js';
import type { ErrorCode } from '../../src/errors.js';

const V1: RuntimeVersion = 'cloudfront-js-1.0';
const V2: RuntimeVersion = 'cloudfront-js-2.0';
const HANDLER = 'function handler(event) { return event.request; }';

interface Expected {
  line: number;
  column: number;
  code: ErrorCode;
  /** A fragment the message must contain (feature or module name). */
  mentions?: string;
}

function assertProblems(actual: SourceProblem[], expected: Expected[]): void {
  assert.deepEqual(
    actual.map((p) => ({ line: p.line, column: p.column, code: p.code })),
    expected.map((e) => ({ line: e.line, column: e.column, code: e.code })),
    JSON.stringify(actual),
  );
  expected.forEach((e, i) => {
    if (e.mentions) assert.ok(actual[i]!.message.includes(e.mentions), `"${actual[i]!.message}" lacks "${e.mentions}"`);
  });
}

const unsupported = (line: number, column: number, mentions: string): Expected => ({
  line,
  column,
  code: 'FUNCTION_SYNTAX_UNSUPPORTED',
  mentions,
});

/** [name, runtime, code, expected problems] — an empty list means CloudFront accepts the code. */
const cases: Array<[string, RuntimeVersion, string, Expected[]]> = [
  // --- accepted in both runtimes ---
  ['ES5 handler (1.0)', V1, HANDLER, []],
  ['ES5 handler (2.0)', V2, HANDLER, []],
  [
    'template literals, arrows, rest params, ** (1.0)',
    V1,
    'function handler(event) {\n  var f = (a, ...rest) => `${a}:${rest.length}:${2 ** 10}`;\n  var n = 2; n **= 2;\n  return f(1, 2);\n}',
    [],
  ],
  ['named capture groups (1.0)', V1, 'function handler(e) { var m = /(?<year>\\d{4})/.exec("2024"); return m.groups.year; }', []],
  ['ES5 getters and setters in literals (1.0)', V1, 'function handler(e) { var o = { get a() { return 1; }, set a(v) {} }; return o.a; }', []],
  [
    'labels, switch, for-in, try/finally (1.0)',
    V1,
    'function handler(e) {\n outer: for (var k in e) { switch (k) { case "a": break outer; default: continue; } }\n try { throw new Error("x"); } catch (err) { } finally { }\n}',
    [],
  ],
  ['require of crypto and querystring (1.0)', V1, 'var crypto = require("crypto");\nvar qs = require("querystring");\n' + HANDLER, []],
  [
    'let/const, for-in with const (2.0)',
    V2,
    'const a = 1;\nlet b = 2;\nfunction handler(e) { for (const k in e.request.headers) { b += a; } return e.request; }',
    [],
  ],
  ['numeric separators (2.0)', V2, 'var n = 1_000_000;\n' + HANDLER, []],
  ['sticky regex flag (2.0)', V2, 'var r = /a/gy;\n' + HANDLER, []],
  [
    'async helper functions and await (2.0)',
    V2,
    'async function load(h) { return await h.get("k"); }\nasync function handler(event) { const v = await load(null); return event.request; }',
    [],
  ],
  [
    'every documented module, imported and required (2.0)',
    V2,
    "import cf from 'cloudfront';\nimport crypto from 'crypto';\nimport qs from 'querystring';\nimport buffer from 'buffer';\nvar b = require('buffer');\n" +
      HANDLER,
    [],
  ],

  // --- 1.0 rejects what only 2.0 adds ---
  ['const (1.0)', V1, 'const a = 1;\n' + HANDLER, [unsupported(1, 1, "'const' is not supported in cloudfront-js-1.0")]],
  ['let inside the handler (1.0)', V1, 'function handler(e) {\n  let x = 1;\n  return e.request;\n}', [unsupported(2, 3, "'let'")]],
  ['async handler (1.0)', V1, 'async function handler(e) { return e.request; }', [unsupported(1, 1, "'async'")]],
  ['await inside async (1.0)', V1, 'async function handler(e) {\n  await 1;\n}', [unsupported(1, 1, "'async'"), unsupported(2, 3, "'await'")]],
  ['import (1.0)', V1, "import cf from 'cloudfront';\n" + HANDLER, [unsupported(1, 1, "'import' is not supported in cloudfront-js-1.0")]],
  ['numeric separators (1.0)', V1, 'function handler(e) { return 1_000; }', [unsupported(1, 30, 'numeric separator')]],
  ['sticky regex flag (1.0)', V1, 'var r = /a/y;\n' + HANDLER, [unsupported(1, 9, "flag 'y'")]],
  ['require of cloudfront (1.0)', V1, 'var cf = require("cloudfront");\n' + HANDLER, [unsupported(1, 18, "module 'cloudfront'")]],
  ['require of buffer (1.0)', V1, HANDLER + '\nvar b = require("buffer");', [unsupported(2, 17, "module 'buffer'")]],

  // --- rejected by both runtimes ---
  ['class (2.0)', V2, HANDLER + '\nclass A {}', [unsupported(2, 1, "'class'")]],
  ['class expression (1.0)', V1, HANDLER + '\nvar A = class {};', [unsupported(2, 9, "'class'")]],
  ['class fields parse only in the latest edition, still named (2.0)', V2, 'class A { #x = 1; }\n' + HANDLER, [unsupported(1, 1, "'class'")]],
  ['generator (2.0)', V2, 'function* g() { yield 1; }\n' + HANDLER, [unsupported(1, 1, 'generator function')]],
  ['object destructuring (2.0)', V2, 'function handler(event) {\n  const { request } = event;\n  return request;\n}', [unsupported(2, 9, 'destructuring')]],
  ['array destructuring in a parameter (1.0)', V1, 'function handler([a]) { return a; }', [unsupported(1, 18, 'destructuring')]],
  ['spread in a call (2.0)', V2, 'function handler(e) { return Math.max(...[1, 2]); }', [unsupported(1, 39, 'spread')]],
  ['spread in an object literal (1.0)', V1, 'function handler(e) { return { ...e.request }; }', [unsupported(1, 32, 'spread')]],
  ['optional chaining (2.0)', V2, 'function handler(e) {\n  return e.request.headers.host?.value;\n}', [unsupported(2, 10, "optional chaining ('?.')")]],
  ['optional chaining (1.0, beyond its edition)', V1, 'function handler(e) { return e?.request; }', [unsupported(1, 30, "optional chaining ('?.')")]],
  ['nullish coalescing (2.0)', V2, 'function handler(e) { return e.x ?? 1; }', [unsupported(1, 30, "'??'")]],
  ['logical assignment (2.0)', V2, 'function handler(e) { e.x ||= 1; }', [unsupported(1, 23, "'||='")]],
  ['BigInt literal (2.0)', V2, 'var big = 10n;\n' + HANDLER, [unsupported(1, 11, 'BigInt')]],
  ['export (2.0)', V2, 'export ' + HANDLER, [unsupported(1, 1, "'export'")]],
  ['export default (2.0)', V2, HANDLER + '\nexport default handler;', [unsupported(2, 1, "'export'")]],
  ['dynamic import() (2.0)', V2, 'function handler(e) { return import("crypto"); }', [unsupported(1, 30, "dynamic 'import()'")]],
  ['import.meta (2.0)', V2, 'var u = import.meta.url;\n' + HANDLER, [unsupported(1, 9, "'import.meta'")]],
  ['for...of (2.0)', V2, 'function handler(e) {\n  for (var k of []) {}\n}', [unsupported(2, 3, "'for...of'")]],
  [
    'for...of with const (1.0): both reported',
    V1,
    'function handler(e) { for (const k of []) {} }',
    [unsupported(1, 23, "'for...of'"), unsupported(1, 28, "'const'")],
  ],
  ['default parameter value (2.0)', V2, 'function handler(e, x = 1) { return e.request; }', [unsupported(1, 21, 'default parameter value')]],
  ['shorthand property (2.0)', V2, 'function handler(e) { var a = 1; return { a }; }', [unsupported(1, 43, 'shorthand property')]],
  ['method shorthand (2.0)', V2, 'var o = { m() { return 1; } };\n' + HANDLER, [unsupported(1, 11, 'method shorthand')]],
  ['computed key (1.0)', V1, 'var k = "a"; var o = { [k]: 1 };\n' + HANDLER, [unsupported(1, 24, 'computed property name')]],
  ['tagged template (2.0)', V2, 'function tag(s) { return s; }\nvar t = tag`x`;\n' + HANDLER, [unsupported(2, 9, 'tagged template')]],
  ['optional catch binding (2.0)', V2, 'function handler(e) { try { } catch { } }', [unsupported(1, 31, 'optional catch binding')]],
  ['new.target (2.0)', V2, 'function handler(e) { return new.target; }', [unsupported(1, 30, "'new.target'")]],
  ['debugger (1.0)', V1, 'function handler(e) { debugger; }', [unsupported(1, 23, "'debugger'")]],
  ['dotAll regex flag (2.0)', V2, 'var r = /a.b/s;\n' + HANDLER, [unsupported(1, 9, "flag 's'")]],
  ['binary literal (2.0)', V2, 'var b = 0b101;\n' + HANDLER, [unsupported(1, 9, 'binary or octal')]],

  // --- 2.0 async and module rules ---
  [
    'async arrow function (2.0)',
    V2,
    'async function handler(e) {\n  var f = async () => 1;\n  return e.request;\n}',
    [unsupported(2, 11, 'async arrow function')],
  ],
  ['async callback (2.0)', V2, 'function handler(e) { [1].forEach(async function (x) { }); }', [unsupported(1, 35, 'async function expression')]],
  ['nested async function declaration (2.0)', V2, 'function handler(e) {\n  async function inner() { }\n}', [unsupported(2, 3, 'nested async function')]],
  ['top-level await (2.0)', V2, 'const v = await Promise.resolve(1);\n' + HANDLER, [unsupported(1, 11, "top-level 'await'")]],
  ['named import (2.0)', V2, "import { kvs } from 'cloudfront';\n" + HANDLER, [unsupported(1, 1, "import name from 'module'")]],
  ['namespace import (2.0)', V2, "import * as cf from 'cloudfront';\n" + HANDLER, [unsupported(1, 1, "import name from 'module'")]],
  ['import of an unknown module (2.0)', V2, "import fs from 'fs';\n" + HANDLER, [unsupported(1, 16, "module 'fs'")]],
  ['require of an unknown module (2.0)', V2, HANDLER + "\nvar http = require('http');", [unsupported(2, 20, "module 'http'")]],
  ['require with a computed name is left to the runtime (2.0)', V2, "var m = 'crypto';\nvar c = require(m);\n" + HANDLER, []],

  // --- compile errors, always strict ---
  [
    'with statement is a strict-mode error (1.0)',
    V1,
    'function handler(e) { with (e) { } }',
    [{ line: 1, column: 23, code: 'FUNCTION_COMPILE_ERROR', mentions: "'with'" }],
  ],
  [
    'legacy octal literal is a strict-mode error (2.0)',
    V2,
    'function handler(e) {\n  return 010;\n}',
    [{ line: 2, column: 10, code: 'FUNCTION_COMPILE_ERROR' }],
  ],
  [
    'assignment to an undeclared-looking eval is a strict-mode error (1.0)',
    V1,
    'function handler(e) { eval = 1; }',
    [{ line: 1, column: 23, code: 'FUNCTION_COMPILE_ERROR' }],
  ],
  ['unterminated function (2.0)', V2, 'function handler(e) {\n  return e.request;\n', [{ line: 3, column: 1, code: 'FUNCTION_COMPILE_ERROR' }]],
  ['hashbang line (2.0)', V2, '#!/usr/bin/env node\n' + HANDLER, [{ line: 1, column: 1, code: 'FUNCTION_COMPILE_ERROR' }]],

  // --- entry point ---
  ['no handler (1.0)', V1, 'function main(e) { return e.request; }', [{ line: 1, column: 1, code: 'FUNCTION_NO_HANDLER' }]],
  [
    'handler as a variable is not a declaration (2.0)',
    V2,
    'var handler = function (e) { return e.request; };',
    [{ line: 1, column: 1, code: 'FUNCTION_NO_HANDLER' }],
  ],
  ['handler nested in a block is not top-level (2.0)', V2, '{ function handler(e) { } }', [{ line: 1, column: 1, code: 'FUNCTION_NO_HANDLER' }]],
  ['async handler (2.0)', V2, 'async function handler(event) { return event.request; }', []],
];

describe('checkSource rules', () => {
  for (const [name, runtime, code, expected] of cases) {
    test(name, () => assertProblems(checkSource(code, runtime), expected));
  }
});

describe('AWS sample shapes', () => {
  test('KVS at module scope with an async handler (kvs-key-value-pairs) is accepted by 2.0', () => {
    const code = [
      "import cf from 'cloudfront';",
      '',
      'const kvsId = "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111";',
      'const kvsHandle = cf.kvs(kvsId);',
      '',
      'async function handler(event) {',
      '    const request = event.request;',
      "    const pathSegments = request.uri.split('/')",
      '    const key = pathSegments[1]',
      '    try {',
      '        pathSegments[1] = await kvsHandle.get(key);',
      "        request.uri = pathSegments.join('/');",
      '        console.log(`${request.uri}`)',
      '    } catch (err) {',
      '        console.log(`${request.uri} | ${err}`);',
      '    }',
      '    return request;',
      '}',
    ].join('\n');
    assert.deepEqual(checkSource(code, V2), []);
    assertProblems(checkSource(code, V1), [
      unsupported(1, 1, "'import'"),
      unsupported(3, 1, "'const'"),
      unsupported(4, 1, "'const'"),
      unsupported(6, 1, "'async'"),
      unsupported(7, 5, "'const'"),
      unsupported(8, 5, "'const'"),
      unsupported(9, 5, "'const'"),
      unsupported(11, 27, "'await'"),
    ]);
  });

  test('crypto import, HMAC and Buffer (kvs-jwt-verify) is accepted by 2.0', () => {
    const code = [
      "import crypto from 'crypto';",
      "import cf from 'cloudfront';",
      'const response401 = { statusCode: 401, statusDescription: "Unauthorized" };',
      'function _sign(input, key, method) {',
      "    return crypto.createHmac(method, key).update(input).digest('base64url');",
      '}',
      "function _decode(str) { return Buffer.from(str, 'base64url'); }",
      'function _constantTimeEquals(a, b) {',
      '    let xor = 0;',
      '    for (let i = 0; i < a.length; i++) { xor |= (a.charCodeAt(i) ^ b.charCodeAt(i)); }',
      '    return 0 === xor;',
      '}',
      'async function handler(event) {',
      '    try { const secret = await cf.kvs().get("jwt.secret"); } catch (e) { return response401; }',
      '    delete event.request.querystring.jwt;',
      '    return event.request;',
      '}',
    ].join('\n');
    assert.deepEqual(checkSource(code, V2), []);
  });

  test('non-async ES5 + arrow callback (normalize-query-string) is accepted by both runtimes', () => {
    const code = [
      'function handler(event) {',
      '     var qs=[];',
      '     for (var key in event.request.querystring) {',
      '         if (event.request.querystring[key].multiValue) {',
      '             event.request.querystring[key].multiValue.forEach((mv) => {qs.push(key + "=" + mv.value)});',
      '         } else {',
      '             qs.push(key + "=" + event.request.querystring[key].value);',
      '         }',
      '     };',
      "     event.request.querystring = qs.sort().join('&');",
      '     return event.request;',
      '}',
    ].join('\n');
    assert.deepEqual(checkSource(code, V1), []);
    assert.deepEqual(checkSource(code, V2), []);
  });
});

describe('size limit', () => {
  /** ES5 code padded with a trailing comment to exactly `bytes` UTF-8 bytes, using `filler` characters. */
  const sized = (bytes: number, filler: string): string => {
    const head = HANDLER + '\n//';
    const fillerBytes = Buffer.byteLength(filler);
    const room = bytes - Buffer.byteLength(head);
    const code = head + filler.repeat(Math.floor(room / fillerBytes)) + 'x'.repeat(room % fillerBytes);
    assert.equal(Buffer.byteLength(code), bytes);
    return code;
  };

  test('exactly 10240 bytes is accepted', () => {
    assert.deepEqual(checkSource(sized(10240, 'x'), V2), []);
  });

  test('10241 bytes is one FUNCTION_SIZE_LIMIT_EXCEEDED problem naming size and limit', () => {
    const problems = checkSource(sized(10241, 'x'), V1);
    assertProblems(problems, [{ line: 1, column: 1, code: 'FUNCTION_SIZE_LIMIT_EXCEEDED' }]);
    assert.match(problems[0]!.message, /10241/);
    assert.match(problems[0]!.message, /10240/);
  });

  test('size counts UTF-8 bytes, not characters', () => {
    const code = sized(10242, '€'); // 3 bytes per character: well under 10240 characters
    assert.ok(code.length < 10240);
    assertProblems(checkSource(code, V2), [{ line: 1, column: 1, code: 'FUNCTION_SIZE_LIMIT_EXCEEDED' }]);
    assert.deepEqual(checkSource(sized(10240, '€'), V2), []);
  });

  test('maxCodeBytes overrides the limit', () => {
    assertProblems(checkSource(HANDLER, V2, { maxCodeBytes: 10 }), [{ line: 1, column: 1, code: 'FUNCTION_SIZE_LIMIT_EXCEEDED' }]);
  });
});

describe('prepareSource', () => {
  test('rewrites imports in place and keeps every other byte', () => {
    const code = "// header\nimport cf from 'cloudfront'; import crypto from 'crypto'\nconst h = cf.kvs();\n" + HANDLER;
    const prepared = prepareSource(code, V2);
    assert.ok(prepared.ok);
    assert.equal(prepared.script, "// header\nvar cf = require('cloudfront'); var crypto = require('crypto');\nconst h = cf.kvs();\n" + HANDLER);
    assert.deepEqual(prepared.imports, [
      { local: 'cf', module: 'cloudfront' },
      { local: 'crypto', module: 'crypto' },
    ]);
  });

  test('a multi-line import keeps its line breaks, so later line:col positions are unchanged', () => {
    const code = "import cf\n  from\n  'cloudfront';\nfunction handler(event) {\n  throw new Error('boom');\n}";
    const prepared = prepareSource(code, V2);
    assert.ok(prepared.ok);
    const original = code.split('\n');
    const script = prepared.script.split('\n');
    assert.equal(script.length, original.length);
    assert.deepEqual(script.slice(3), original.slice(3));
    assert.equal(script[4]!.indexOf('throw'), original[4]!.indexOf('throw'));
  });

  test('code without imports is returned unchanged', () => {
    const prepared = prepareSource(HANDLER, V1);
    assert.deepEqual(prepared, { ok: true, script: HANDLER, imports: [] });
  });

  test('rejected code yields the same problems as checkSource', () => {
    const code = "import cf from 'cloudfront';\nconst x = 1;";
    const prepared = prepareSource(code, V1);
    assert.equal(prepared.ok, false);
    assert.deepEqual(!prepared.ok && prepared.problems, checkSource(code, V1));
  });

  test('the prepared script parses as a classic script with the same later positions', async () => {
    const { parse } = await import('acorn');
    const code = "import cf from 'cloudfront';\nconst kvsHandle = cf.kvs();\nasync function handler(event) {\n  return event.request;\n}";
    const prepared = prepareSource(code, V2);
    assert.ok(prepared.ok);
    const program = parse(prepared.script, { ecmaVersion: 2021, sourceType: 'script', locations: true });
    const handler = program.body[2]!;
    assert.deepEqual({ line: handler.loc!.start.line, column: handler.loc!.start.column }, { line: 3, column: 0 });
  });
});

describe('openfront check', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const cli = join(root, 'dist/src/cli/main.js');
  const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'check', ...args], { encoding: 'utf8' });

  test('prints ok with the size, or file:line:col problems with exit 1, or exit 2 for bad input', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'openfront-check-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const good = join(dir, 'good.js');
    const bad = join(dir, 'bad.js');
    writeFileSync(good, "import cf from 'cloudfront';\n" + HANDLER);
    writeFileSync(bad, 'function handler(e) {\n  const x = 1;\n  return x;\n}');

    const ok = run(good);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `${good}: ok (${Buffer.byteLength("import cf from 'cloudfront';\n" + HANDLER)} bytes of 10240)\n`);

    const rejected = run(bad, '--runtime', 'cloudfront-js-1.0');
    assert.equal(rejected.status, 1);
    assert.equal(rejected.stderr, `${bad}:2:3 'const' is not supported in cloudfront-js-1.0\n`);

    assert.equal(run(bad).status, 0, 'const is fine in the default runtime, 2.0');
    assert.equal(run(join(dir, 'missing.js')).status, 2);
    const badRuntime = run(good, '--runtime', 'cloudfront-js-3.0');
    assert.equal(badRuntime.status, 2);
    assert.match(badRuntime.stderr, /cloudfront-js-3\.0/);
  });
});
