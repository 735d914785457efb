/**
 * A unified line diff (the `diff -u` format) of two function versions. Function code is at most a few hundred
 * lines, so a plain longest-common-subsequence table is fast enough and keeps this dependency-free.
 */

/** Lines of context around each change, as `diff -u` uses by default. */
const CONTEXT_LINES = 3;

type Edit = { op: ' ' | '-' | '+'; line: string };

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The shortest edit script from `a` to `b` via an LCS table (deletions listed before insertions). */
function editScript(a: readonly string[], b: readonly string[]): Edit[] {
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1] + 1 : Math.max(lcs[(i + 1) * width + j], lcs[i * width + j + 1]);
    }
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      edits.push({ op: ' ', line: a[i] });
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
      edits.push({ op: '-', line: a[i++] });
    } else {
      edits.push({ op: '+', line: b[j++] });
    }
  }
  while (i < a.length) edits.push({ op: '-', line: a[i++] });
  while (j < b.length) edits.push({ op: '+', line: b[j++] });
  return edits;
}

function range(start: number, count: number): string {
  // diff -u writes an empty range as "start-1,0" and a one-line range without the count.
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * `diff -u` output turning `before` into `after`, with `---`/`+++` headers named by the labels; "" when the texts
 * have the same lines.
 */
export function unifiedDiff(before: string, after: string, labels: { from: string; to: string }): string {
  const edits = editScript(splitLines(before), splitLines(after));
  const changed = edits.flatMap((edit, index) => (edit.op === ' ' ? [] : [index]));
  if (changed.length === 0) return '';

  // Group changes whose context windows touch into one hunk.
  const hunks: Array<{ start: number; end: number }> = [];
  for (const index of changed) {
    const start = Math.max(0, index - CONTEXT_LINES);
    const end = Math.min(edits.length, index + CONTEXT_LINES + 1);
    const last = hunks[hunks.length - 1];
    if (last !== undefined && start <= last.end) last.end = end;
    else hunks.push({ start, end });
  }

  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  // Line numbers in the old and new text at the start of edit index `k`.
  let k = 0;
  let oldLine = 1;
  let newLine = 1;
  for (const hunk of hunks) {
    for (; k < hunk.start; k++) {
      if (edits[k].op !== '+') oldLine++;
      if (edits[k].op !== '-') newLine++;
    }
    const body = edits.slice(hunk.start, hunk.end);
    const oldCount = body.filter((e) => e.op !== '+').length;
    const newCount = body.filter((e) => e.op !== '-').length;
    out.push(`@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@`);
    for (const edit of body) out.push(`${edit.op}${edit.line}`);
  }
  return `${out.join('\n')}\n`;
}
