/**
 * The stores function code names: every `<x>.kvs('<id or ARN>')` call whose argument is a string literal, or an
 * identifier declared once with a string literal (`const kvsId = '…'; cf.kvs(kvsId)`, the form of AWS's samples).
 * `openfront check --config` compares them with the associated store's `awsId`. Calls it cannot read (a computed
 * id) are left out: this is a warning aid, not a proof.
 */
import type { AnyNode } from 'acorn';
import { parseLatest, positionAt } from './parse.js';

export interface NamedStore {
  /** The text the code passes to `cf.kvs()`. */
  text: string;
  line: number;
  column: number;
}

type Node = AnyNode & Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function forEachNode(root: Node, visit: (node: Node) => void): void {
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    visit(node);
    for (const key of Object.keys(node)) {
      const value = node[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) stack.push(item);
      } else if (isNode(value)) {
        stack.push(value);
      }
    }
  }
}

function stringValue(node: Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && (node.expressions as unknown[]).length === 0) {
    return (node.quasis as Array<{ value: { cooked?: string } }>)[0]?.value.cooked ?? undefined;
  }
  return undefined;
}

/** The stores `code` names in `cf.kvs(…)` calls, in source order; [] when the code does not parse. */
export function findNamedStores(code: string): NamedStore[] {
  const parsed = parseLatest(code);
  if (!parsed.ok) return [];
  const program = parsed.program as unknown as Node;
  const constants = new Map<string, string | null>();
  forEachNode(program, (node) => {
    if (node.type !== 'VariableDeclarator') return;
    const id = node.id as Node;
    if (id.type !== 'Identifier') return;
    const name = id.name as string;
    const value = stringValue(node.init as Node | undefined);
    // Declared twice, or once without a string: not a constant we can read.
    constants.set(name, constants.has(name) || value === undefined ? null : value);
  });
  const found: Array<NamedStore & { at: number }> = [];
  forEachNode(program, (node) => {
    if (node.type !== 'CallExpression') return;
    const callee = node.callee as Node;
    if (callee.type !== 'MemberExpression' || callee.computed === true) return;
    if ((callee.property as Node).type !== 'Identifier' || (callee.property as Node).name !== 'kvs') return;
    const arg = (node.arguments as Node[])[0];
    if (arg === undefined) return;
    const text = arg.type === 'Identifier' ? (constants.get(arg.name as string) ?? undefined) : stringValue(arg);
    if (text === undefined) return;
    found.push({ text, at: arg.start, ...positionAt(code, arg.start) });
  });
  return found.sort((a, b) => a.at - b.at).map(({ at: _at, ...named }) => named);
}
