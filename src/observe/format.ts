/** Human-readable forms of a decision record: one line for `openfront tail`, a tree for `openfront explain`. */
import type { DecisionRecord, FunctionRecord, KvsReadRecord } from './decision.js';

function ms(micros: number | undefined): string {
  return micros === undefined ? '-' : `${(micros / 1000).toFixed(micros < 10_000 ? 2 : 1)} ms`;
}

function readText(read: KvsReadRecord): string {
  const what = read.op === 'meta' ? 'meta' : `${read.op} ${JSON.stringify(read.key ?? '')}`;
  return `${read.store} ${what} → ${read.hit ? 'hit' : 'miss'} (store version ${read.version})`;
}

function outcomeText(fn: FunctionRecord): string {
  switch (fn.outcome) {
    case 'rewrite':
      return 'request passed on';
    case 'generated-response':
      return 'generated a response';
    case 'response':
      return 'response shaped';
    case 'error':
      return `${fn.errorClass ?? 'execution'} error${fn.errorMessage ? `: ${fn.errorMessage}` : ''}`;
  }
}

/** One line: time, edge, request, status and outcome, then each function with the keys it read. */
export function formatDecisionLine(record: DecisionRecord): string {
  const target = `${record.path}${record.query === '' ? '' : `?${record.query}`}`;
  const parts = [`${record.time} ${record.edge} ${record.method} ${record.host}${target} ${record.status} ${record.result} ${ms(record.timings.total)}`];
  for (const fn of record.functions) {
    const reads = fn.kvsReads.map((r) => `${r.store}:${r.op === 'meta' ? 'meta' : (r.key ?? '')}=${r.hit ? 'hit' : 'miss'}@v${r.version}`);
    parts.push(`${fn.name}@${fn.version} ${fn.outcome}${fn.errorClass ? `(${fn.errorClass})` : ''}${reads.length ? ` reads ${reads.join(' ')}` : ''}`);
  }
  if (record.cache) parts.push(`cache ${record.cache.status}${record.cache.collapsed ? ' (collapsed)' : ''}`);
  if (record.origin)
    parts.push(`origin ${record.origin.id}${record.origin.status === undefined ? '' : ` ${record.origin.status}`} ${ms(record.origin.latencyMicros)}`);
  if (record.error) parts.push(`error ${record.error}`);
  return parts.join(' | ');
}

interface Node {
  text: string;
  children?: Node[];
}

function render(nodes: Node[], prefix: string, out: string[]): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${node.text}`);
    if (node.children?.length) render(node.children, `${prefix}${last ? '   ' : '│  '}`, out);
  });
}

/** The decision as a tree: behavior match, each function with its reads and result, cache key, origin, timings. */
export function formatDecisionTree(record: DecisionRecord): string {
  const target = `${record.path}${record.query === '' ? '' : `?${record.query}`}`;
  const nodes: Node[] = [];
  nodes.push({ text: `distribution ${record.distributionId ?? '(none answers for this host)'} on edge ${record.edge}` });
  if (record.behavior !== undefined) {
    nodes.push({
      text:
        record.behavior === '*'
          ? `behavior: default (no path pattern matched ${record.path})`
          : `behavior ${record.behavior} (path pattern matched ${record.path})`,
    });
  }
  for (const fn of record.functions) {
    const children: Node[] = fn.kvsReads.map((read) => ({ text: `kvs ${readText(read)}` }));
    if (fn.originChange) children.push({ text: `origin chosen by cf.${fn.originChange}()` });
    for (const line of fn.logs) children.push({ text: `console.log: ${line}` });
    nodes.push({
      text: `${fn.eventType} function ${fn.name} (LIVE version ${fn.version}): ${outcomeText(fn)} — ${fn.runtimeMicros} µs, ComputeUtilization ${fn.computeUtilization}`,
      children,
    });
  }
  if (record.cache) {
    const c = record.cache;
    nodes.push({
      text: `cache ${c.status}${c.collapsed ? ' (waited for another request’s fetch)' : ''}${c.stored === undefined ? '' : c.stored ? ', stored' : ', not stored'}`,
      children: [{ text: `key ${JSON.stringify(c.key)}` }],
    });
  } else if (record.result === 'function-response') {
    nodes.push({ text: 'cache: not consulted (a function generated the response)' });
  }
  if (record.origin) {
    const o = record.origin;
    nodes.push({
      text: `origin ${o.id} (chosen by ${o.chosenBy === 'behavior' ? 'the behavior' : `cf.${o.chosenBy}()`}): ${o.status ?? 'no answer'} in ${ms(o.latencyMicros)}`,
      children: o.attempts.length > 1 ? o.attempts.map((a) => ({ text: `attempt ${a.originId}: ${a.status ?? a.error}` })) : [],
    });
  }
  const t = record.timings;
  const steps = [
    t.viewerRequest === undefined ? undefined : `viewer-request ${ms(t.viewerRequest)}`,
    t.cache === undefined ? undefined : `cache ${ms(t.cache)}`,
    t.origin === undefined ? undefined : `origin ${ms(t.origin)}`,
    t.viewerResponse === undefined ? undefined : `viewer-response ${ms(t.viewerResponse)}`,
  ].filter((s) => s !== undefined);
  nodes.push({ text: `timings: total ${ms(t.total)}${steps.length ? ` (${steps.join(', ')})` : ''}` });
  if (record.error) nodes.push({ text: `error: ${record.error}` });
  const out = [`${record.method} ${record.host}${target} → ${record.status} (${record.result})   request ${record.requestId}`];
  render(nodes, '', out);
  return out.join('\n');
}
