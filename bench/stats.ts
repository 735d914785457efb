/** Shared measurement helpers: every benchmark measures a baseline and OpenFront in the same run. */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), mean };
}

/** Times `fn` once per sample, in microseconds, after `warmup` untimed calls. */
export function sampleSync(fn: (i: number) => unknown, samples: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) fn(i);
  const out = new Array<number>(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    fn(i);
    out[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return out;
}

export async function sampleAsync(fn: (i: number) => Promise<unknown>, samples: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = new Array<number>(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await fn(i);
    out[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  return out;
}

export interface BenchRow {
  name: string;
  value: string;
  baseline?: string;
  ratio?: string;
  target?: string;
  ok?: boolean;
}

export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

export function printTable(title: string, rows: BenchRow[]): void {
  console.log(`\n## ${title}`);
  const header = ['measure', 'OpenFront', 'baseline', 'ratio', 'target', ''];
  const lines = rows.map((r) => [r.name, r.value, r.baseline ?? '', r.ratio ?? '', r.target ?? '', r.ok === undefined ? '' : r.ok ? 'met' : 'MISSED']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  const render = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  console.log(render(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(render(l));
}
