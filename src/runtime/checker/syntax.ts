/**
 * The per-runtime syntax allow-list: one walk over the acorn tree that reports every construct the runtime's
 * documented feature list does not include. Node types this pass does not know are rejected too, so a newer
 * acorn cannot silently widen what is accepted.
 */
import type { AnyNode, Program } from 'acorn';
import type { SourceProblem } from '../checker.js';
import { positionAt } from './parse.js';
import type { RuntimeProfile } from './profiles.js';

/** The innermost function around a node; `null` at the top level of the file. */
interface EnclosingFunction {
  async: boolean;
}

type Verdict = 'descend' | 'skip';

const ES5_ASSIGNMENT_OPERATORS = new Set(['=', '+=', '-=', '*=', '/=', '%=', '<<=', '>>=', '>>>=', '|=', '^=', '&=', '**=']);

/**
 * Nodes that are fine in themselves: ES5.1 constructs, the listed ES6+ ones that need no per-node test, and parts
 * that only occur under a construct which has been judged already (class members under a class, specifiers
 * under an import or export, `yield` inside a generator).
 */
const PLAIN_NODES = new Set<string>([
  'Program',
  'ExpressionStatement',
  'BlockStatement',
  'EmptyStatement',
  'ReturnStatement',
  'LabeledStatement',
  'BreakStatement',
  'ContinueStatement',
  'IfStatement',
  'SwitchStatement',
  'SwitchCase',
  'ThrowStatement',
  'TryStatement',
  'WhileStatement',
  'DoWhileStatement',
  'ForStatement',
  'ForInStatement',
  'VariableDeclarator',
  'Identifier',
  'ThisExpression',
  'ArrayExpression',
  'ObjectExpression',
  'UnaryExpression',
  'UpdateExpression',
  'BinaryExpression',
  'MemberExpression',
  'ConditionalExpression',
  'CallExpression',
  'NewExpression',
  'SequenceExpression',
  'ParenthesizedExpression',
  'TemplateLiteral',
  'TemplateElement',
  'RestElement',
  'ClassBody',
  'MethodDefinition',
  'PropertyDefinition',
  'StaticBlock',
  'PrivateIdentifier',
  'Super',
  'ImportSpecifier',
  'ImportDefaultSpecifier',
  'ImportNamespaceSpecifier',
  'ImportAttribute',
  'ExportSpecifier',
  'YieldExpression',
]);

/** Every construct in `program` (parsed from `code`) that `profile`'s runtime would reject, in walk order. */
export function findUnsupportedSyntax(program: Program, code: string, profile: RuntimeProfile): SourceProblem[] {
  const problems: SourceProblem[] = [];
  const runtime = profile.runtime;

  const reject = (node: AnyNode, feature: string): void => {
    problems.push({
      ...positionAt(code, node.start),
      message: `${feature} is not supported in ${runtime}`,
      code: 'FUNCTION_SYNTAX_UNSUPPORTED',
    });
  };
  const checkModuleName = (node: AnyNode, name: string): void => {
    if (profile.modules.includes(name)) return;
    problems.push({
      ...positionAt(code, node.start),
      message: `module '${name}' is not available in ${runtime} (available: ${profile.modules.join(', ')})`,
      code: 'FUNCTION_SYNTAX_UNSUPPORTED',
    });
  };

  const judgeFunction = (node: AnyNode & { async: boolean; generator: boolean }, isTopLevelDeclaration: boolean, kind: string): void => {
    if (node.generator) reject(node, "generator function ('function*')");
    if (!node.async) return;
    if (!profile.asyncFunctions) reject(node, "'async'");
    // "async arguments and closures are not supported": only declarations at the top of the file are accepted.
    else if (!isTopLevelDeclaration) reject(node, `${kind} (async closure)`);
  };

  const judge = (node: AnyNode, parent: AnyNode | null, fn: EnclosingFunction | null): Verdict => {
    switch (node.type) {
      case 'VariableDeclaration':
        if (node.kind === 'let' || node.kind === 'const') {
          if (!profile.blockScopedDeclarations) reject(node, `'${node.kind}'`);
        } else if (node.kind !== 'var') {
          reject(node, `'${node.kind}' declaration`);
        }
        return 'descend';
      case 'FunctionDeclaration':
        judgeFunction(node, parent?.type === 'Program', 'nested async function');
        return 'descend';
      case 'FunctionExpression':
        judgeFunction(node, false, 'async function expression');
        return 'descend';
      case 'ArrowFunctionExpression':
        judgeFunction(node, false, 'async arrow function');
        return 'descend';
      case 'AwaitExpression':
        if (!profile.asyncFunctions) reject(node, "'await'");
        else if (fn === null) reject(node, "top-level 'await'");
        else if (!fn.async) reject(node, "'await' outside an async function");
        return 'descend';
      case 'ImportDeclaration':
        if (!profile.importDeclarations) {
          reject(node, "'import'");
          return 'skip';
        }
        if (node.specifiers.length !== 1 || node.specifiers[0]!.type !== 'ImportDefaultSpecifier') {
          reject(node, "import form other than `import name from 'module'`");
        }
        // acorn only sets `attributes` from ES2025 on, i.e. in the latest-edition parse.
        if (node.attributes?.[0]) reject(node.attributes[0], 'import attribute');
        checkModuleName(node.source, String(node.source.value));
        return 'skip';
      case 'ImportExpression':
        reject(node, "dynamic 'import()'");
        return 'descend';
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        reject(node, "'export'");
        return 'descend';
      case 'MetaProperty':
        reject(node, `'${node.meta.name}.${node.property.name}'`);
        return 'skip';
      case 'ClassDeclaration':
      case 'ClassExpression':
        reject(node, "'class'");
        return 'descend';
      case 'ObjectPattern':
      case 'ArrayPattern':
        reject(node, 'destructuring');
        return 'skip';
      case 'AssignmentPattern':
        reject(node, 'default parameter value');
        return 'descend';
      case 'SpreadElement':
        reject(node, "spread syntax ('...')");
        return 'descend';
      case 'ChainExpression':
        reject(node, "optional chaining ('?.')");
        return 'descend';
      case 'LogicalExpression':
        if (node.operator === '??') reject(node, "nullish coalescing ('??')");
        return 'descend';
      case 'AssignmentExpression':
        if (!ES5_ASSIGNMENT_OPERATORS.has(node.operator)) reject(node, `logical assignment ('${node.operator}')`);
        return 'descend';
      case 'TaggedTemplateExpression':
        reject(node, 'tagged template');
        return 'descend';
      case 'ForOfStatement':
        reject(node, node.await ? "'for await...of'" : "'for...of'");
        return 'descend';
      case 'DebuggerStatement':
        reject(node, "'debugger'");
        return 'skip';
      case 'CatchClause':
        if (!node.param) reject(node, 'optional catch binding');
        return 'descend';
      case 'Property':
        if (parent?.type === 'ObjectExpression') {
          if (node.computed) reject(node, 'computed property name');
          if (node.method) reject(node, 'method shorthand in an object literal');
          else if (node.shorthand) reject(node, 'shorthand property');
        }
        return 'descend';
      case 'Literal':
        if (node.bigint !== undefined) reject(node, 'BigInt literal');
        else if (node.regex) {
          for (const flag of node.regex.flags) {
            if (!profile.regexFlags.includes(flag)) reject(node, `regular expression flag '${flag}'`);
          }
        } else if (typeof node.value === 'number' && node.raw) {
          if (/^0[bBoO]/.test(node.raw)) reject(node, "binary or octal literal ('0b', '0o')");
          if (node.raw.includes('_') && !profile.numericSeparators) reject(node, "numeric separator ('1_000')");
        }
        return 'skip';
      case 'CallExpression':
        if (node.callee.type === 'Identifier' && node.callee.name === 'require') {
          const first = node.arguments[0];
          if (first?.type === 'Literal' && typeof first.value === 'string') checkModuleName(first, first.value);
        }
        return 'descend';
      default:
        if (!PLAIN_NODES.has(node.type)) reject(node, `'${node.type}' syntax`);
        return 'descend';
    }
  };

  const visit = (node: AnyNode, parent: AnyNode | null, fn: EnclosingFunction | null): void => {
    if (judge(node, parent, fn) === 'skip') return;
    const inner = isFunction(node) ? (node.async ? ASYNC_FUNCTION : PLAIN_FUNCTION) : fn;
    const fields = node as unknown as Record<string, unknown>;
    for (const key in fields) {
      if (NON_CHILD_KEYS.has(key)) continue;
      const value = fields[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) visit(item, node, inner);
      } else if (isNode(value)) {
        visit(value, node, inner);
      }
    }
  };

  visit(program, null, null);
  return problems;
}

const ASYNC_FUNCTION: EnclosingFunction = { async: true };
const PLAIN_FUNCTION: EnclosingFunction = { async: false };
const NON_CHILD_KEYS = new Set(['type', 'start', 'end', 'loc', 'range']);

function isFunction(node: AnyNode): node is AnyNode & { async: boolean } {
  return node.type === 'FunctionDeclaration' || node.type === 'FunctionExpression' || node.type === 'ArrowFunctionExpression';
}

function isNode(value: unknown): value is AnyNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
