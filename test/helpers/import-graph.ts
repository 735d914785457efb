/**
 * Reads every import of a source tree with the TypeScript parser (not a regex) and checks it against the folder
 * rules of docs/architecture.md. Used by test/unit/architecture.test.ts; takes the tree's root as an argument so the
 * same check can be pointed at another checkout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export interface ImportSite {
  /** Importing file, relative to the root, with `/` separators. */
  file: string;
  line: number;
  specifier: string;
  /** Imported file relative to the root (extension as written in the tree), or undefined for a package. */
  target?: string;
  /** Erased at compile time (`import type`, `export type`, `import('x').T`, or every named binding `type`). */
  typeOnly: boolean;
  kind: 'import' | 'export' | 'dynamic' | 'require' | 'import-type';
}

export interface ImportScan {
  files: string[];
  imports: ImportSite[];
  /** Dynamic imports whose target cannot be read from the code and that do not stay in their own directory. */
  unresolved: ImportSite[];
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

function sourceFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (SOURCE_EXTENSIONS.includes(extname(entry.name))) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** Maps an ESM specifier (`./x.js`) to the file in the tree (`x.ts`, `x.js`, `x/index.ts`, …). */
function resolveTarget(fromFile: string, specifier: string, known: Set<string>): string {
  const base = resolve(dirname(fromFile), specifier);
  const stem = base.replace(/\.(m|c)?js$/, '');
  const candidates = [base, ...SOURCE_EXTENSIONS.map((ext) => stem + ext), ...SOURCE_EXTENSIONS.map((ext) => join(base, 'index' + ext))];
  return candidates.find((c) => known.has(c)) ?? base;
}

function allBindingsTypeOnly(clause: ts.ImportClause): boolean {
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  if (bindings === undefined || ts.isNamespaceImport(bindings)) return false;
  return bindings.elements.length > 0 && bindings.elements.every((e) => e.isTypeOnly);
}

/** The literal text a non-literal dynamic import starts with, when it has one (`import(new URL(`./x/${f}`, …))`). */
function leadingText(node: ts.Node): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text;
  let found: string | undefined;
  node.forEachChild((child) => {
    if (found === undefined) found = leadingText(child);
  });
  return found;
}

export function scanImports(root: string): ImportScan {
  const absoluteRoot = resolve(root);
  const files = sourceFiles(absoluteRoot);
  const known = new Set(files);
  const imports: ImportSite[] = [];
  const unresolved: ImportSite[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const kind = /\.(m|c)?js$/.test(file) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
    const add = (node: ts.Node, specifier: string, siteKind: ImportSite['kind'], typeOnly: boolean): void => {
      const site: ImportSite = {
        file: toPosix(relative(absoluteRoot, file)),
        line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
        specifier,
        typeOnly,
        kind: siteKind,
      };
      if (specifier.startsWith('.')) site.target = toPosix(relative(absoluteRoot, resolveTarget(file, specifier, known)));
      imports.push(site);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        add(node, node.moduleSpecifier.text, 'import', node.importClause !== undefined && allBindingsTypeOnly(node.importClause));
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.exportClause;
        const typeOnly =
          node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.length > 0 && clause.elements.every((e) => e.isTypeOnly));
        add(node, node.moduleSpecifier.text, 'export', typeOnly);
      } else if (
        ts.isImportEqualsDeclaration(node) &&
        ts.isExternalModuleReference(node.moduleReference) &&
        ts.isStringLiteral(node.moduleReference.expression)
      ) {
        add(node, node.moduleReference.expression.text, 'require', node.isTypeOnly);
      } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
        add(node, node.argument.literal.text, 'import-type', true);
      } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
        const isDynamicImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
        const isRequire = ts.isIdentifier(node.expression) && node.expression.text === 'require';
        if (isDynamicImport || isRequire) {
          const arg = node.arguments[0]!;
          if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) {
            add(node, arg.text, isDynamicImport ? 'dynamic' : 'require', false);
          } else {
            const lead = leadingText(arg);
            // `./something${x}` stays in the importing file's own directory, hence its folder; anything else cannot
            // be checked and is reported.
            if (lead === undefined || !lead.startsWith('./')) {
              unresolved.push({
                file: toPosix(relative(absoluteRoot, file)),
                line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1,
                specifier: arg.getText(source),
                typeOnly: false,
                kind: 'dynamic',
              });
            }
          }
        }
      }
      node.forEachChild(visit);
    };
    visit(source);
  }
  return { files: files.map((f) => toPosix(relative(absoluteRoot, f))), imports, unresolved };
}

/** The folder a file belongs to: its first directory under the root, or the file's own name for top-level files. */
export function folderOf(path: string): string {
  const parts = path.split('/');
  return parts.length === 1 ? parts[0]!.replace(/\.[^.]+$/, '') : parts[0]!;
}

export interface FolderRules {
  /** For each folder: the folders it may import anything from. */
  allowed: Record<string, readonly string[]>;
  /** For each folder: further folders it may import types from (erased at compile time). */
  typesFrom: Record<string, readonly string[]>;
}

export interface RuleViolation {
  site: ImportSite;
  from: string;
  to: string;
}

/** Imports between folders; same-folder and package imports are left out. */
export function crossFolderImports(scan: ImportScan): Array<{ site: ImportSite; from: string; to: string }> {
  const edges: Array<{ site: ImportSite; from: string; to: string }> = [];
  for (const site of scan.imports) {
    if (site.target === undefined) continue;
    const from = folderOf(site.file);
    const to = site.target.startsWith('..') ? '(outside the tree)' : folderOf(site.target);
    if (from !== to) edges.push({ site, from, to });
  }
  return edges;
}

export function ruleViolations(scan: ImportScan, rules: FolderRules): RuleViolation[] {
  return crossFolderImports(scan).filter(({ site, from, to }) => {
    if (rules.allowed[from]?.includes(to)) return false;
    return !(site.typeOnly && rules.typesFrom[from]?.includes(to));
  });
}

/** Folder-level cycles (every import counts, types too), each as the folders along it. */
export function folderCycles(scan: ImportScan): string[][] {
  const graph = new Map<string, Set<string>>();
  for (const { from, to } of crossFolderImports(scan)) {
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  // Tarjan's strongly connected components: any component with more than one folder is a cycle.
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (v: string): void => {
    indices.set(v, index);
    lowlinks.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        connect(w);
        lowlinks.set(v, Math.min(lowlinks.get(v)!, lowlinks.get(w)!));
      } else if (onStack.has(w)) {
        lowlinks.set(v, Math.min(lowlinks.get(v)!, indices.get(w)!));
      }
    }
    if (lowlinks.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) connect(v);
  return cycles;
}

export function describeSite({ site, from, to }: { site: ImportSite; from: string; to: string }): string {
  return `${site.file}:${site.line} ${from} → ${to}${site.typeOnly ? ' (types)' : ''} via '${site.specifier}'`;
}
