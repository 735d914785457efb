/**
 * One error style: every code in src/errors.ts is documented in docs/errors.md with the same status and AWS type,
 * and nothing in src/ raises an error outside the catalog (no `new Error(`, no `class … extends Error`).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ErrorCatalog, isOpenFrontError, OpenFrontError, type ErrorCode } from '../../src/errors.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SRC = join(ROOT, 'src');

/**
 * Code that runs inside the function's isolate: an error there is the function's own JavaScript error, as
 * CloudFront's runtime throws it, not a product error.
 */
const ISOLATE_CODE = ['runtime/sandbox/isolate/'];

/** The `| \`CODE\` | status | \`AwsType\` | meaning |` rows of docs/errors.md. */
function documentedCodes(): Map<string, { status: number; awsType: string; meaning: string }> {
  const rows = new Map<string, { status: number; awsType: string; meaning: string }>();
  for (const line of readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8').split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| (\d{3}) \| `([A-Za-z]+)` \| (.*) \|$/.exec(line);
    if (m) {
      assert.ok(!rows.has(m[1]!), `${m[1]} is documented twice`);
      rows.set(m[1]!, { status: Number(m[2]), awsType: m[3]!, meaning: m[4]!.trim() });
    }
  }
  return rows;
}

interface AdHocError {
  file: string;
  line: number;
  text: string;
}

/** `new Error(…)` and classes extending Error, found with the TypeScript parser (template literals are text). */
function adHocErrors(root: string, skip: string[]): AdHocError[] {
  const found: AdHocError[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split('\\').join('/');
      if (entry.isDirectory()) {
        if (!skip.some((s) => `${rel}/`.startsWith(s))) walk(path);
        continue;
      }
      if (!/\.(m|c)?[jt]s$/.test(entry.name) || rel === 'errors.ts') continue;
      const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
      const at = (node: ts.Node): void => {
        found.push({ file: rel, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, text: node.getText(source).split('\n')[0]! });
      };
      const visit = (node: ts.Node): void => {
        if ((ts.isNewExpression(node) || ts.isCallExpression(node)) && ts.isIdentifier(node.expression) && node.expression.text === 'Error') at(node);
        if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && node.heritageClauses !== undefined) {
          for (const clause of node.heritageClauses) {
            if (clause.token === ts.SyntaxKind.ExtendsKeyword && clause.types.some((t) => /^(Error|TypeError|RangeError)$/.test(t.expression.getText(source))))
              at(node);
          }
        }
        node.forEachChild(visit);
      };
      visit(source);
    }
  };
  walk(root);
  return found;
}

describe('error catalog', () => {
  const codes = Object.keys(ErrorCatalog) as ErrorCode[];
  const documented = documentedCodes();

  it('counts the catalog', () => {
    assert.equal(codes.length, 80, 'a code was added or retired: update this count and docs/errors.md');
    assert.equal(new Set(codes).size, codes.length);
  });

  it('documents every code in docs/errors.md with its status and AWS type', () => {
    const missing = codes.filter((code) => !documented.has(code));
    assert.deepEqual(missing, [], 'codes missing from docs/errors.md');
    for (const code of codes) {
      const doc = documented.get(code)!;
      assert.equal(doc.status, ErrorCatalog[code].status, `${code}: status in docs/errors.md`);
      assert.equal(doc.awsType, ErrorCatalog[code].awsType, `${code}: AWS type in docs/errors.md`);
      assert.ok(doc.meaning.length > 10, `${code}: docs/errors.md says what it means`);
    }
  });

  it('documents no code the catalog does not have', () => {
    assert.deepEqual(
      [...documented.keys()].filter((code) => !(code in ErrorCatalog)),
      [],
    );
  });

  it('gives every code a status an HTTP answer can carry and every edge code an error page', () => {
    for (const code of codes) {
      const entry = ErrorCatalog[code] as { status: number; awsType: string; message: string; page?: { title: string; detail: string } };
      assert.ok(entry.status >= 400 && entry.status <= 599, `${code}: status ${entry.status}`);
      assert.ok(entry.message.length > 0 && entry.awsType.length > 0, code);
      if (entry.page) assert.ok(entry.page.title.startsWith(String(entry.status)), `${code}: the page title starts with the status`);
    }
  });

  it('makes errors that carry their code, status and AWS type, recognisable across module copies', () => {
    const err = new OpenFrontError('KVS_CONFLICT', 'stale ETag', { storeId: 's' });
    assert.deepEqual([err.code, err.status, err.awsType, err.message, err.details], ['KVS_CONFLICT', 409, 'ConflictException', 'stale ETag', { storeId: 's' }]);
    assert.ok(isOpenFrontError(err));
    assert.ok(isOpenFrontError(Object.assign(new Error('copy'), { [Symbol.for('openfront.error')]: true })));
    assert.ok(!isOpenFrontError(new Error('plain')));
  });

  it('leaves no ad-hoc error in src/: no new Error( and no class extending Error outside errors.ts', () => {
    assert.deepEqual(
      adHocErrors(SRC, ISOLATE_CODE).map((e) => `${e.file}:${e.line} ${e.text}`),
      [],
    );
  });

  it('the scan finds what it looks for, skips isolate code and ignores code inside template strings', () => {
    const root = mkdtempSync(join(tmpdir(), 'openfront-error-scan-'));
    try {
      mkdirSync(join(root, 'runtime', 'sandbox', 'isolate'), { recursive: true });
      const probe = [
        "throw new Error('a');",
        'class Mine extends Error {}',
        "const b = Error('called');",
        'const inIsolate = String.raw`throw new Error("x")`;',
        'interface Shape extends Error {}',
        "throw new OpenFrontError('INTERNAL', 'fine');",
      ].join('\n');
      writeFileSync(join(root, 'probe.ts'), probe);
      writeFileSync(join(root, 'errors.ts'), "export const e = new Error('the catalog may');");
      writeFileSync(join(root, 'runtime', 'sandbox', 'isolate', 'kvs.ts'), "throw new Error('the function sees this');");
      assert.deepEqual(
        adHocErrors(root, ISOLATE_CODE).map((e) => `${e.file}:${e.line}`),
        ['probe.ts:1', 'probe.ts:2', 'probe.ts:3'],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
