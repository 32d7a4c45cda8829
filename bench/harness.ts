/** Small helpers shared by the benchmarks: repeated timed rounds, medians, tables. */

export interface Sample {
  /** Seconds for one round. */
  seconds: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Each figure's median over `rows` (one row per run), as one row. */
export function medians<T extends Record<keyof T, number>>(rows: T[]): T {
  const first = rows[0];
  if (first === undefined) throw new Error('medians of no rows');
  const keys = Object.keys(first) as (keyof T)[];
  return Object.fromEntries(keys.map((k) => [k, median(rows.map((r) => r[k]))])) as T;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

/** Runs `fn` for a warm-up round and then `rounds` timed rounds; returns each round's seconds. */
export function timeRounds(fn: () => void, rounds: number): number[] {
  fn();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return out;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** Prints rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i] as number)).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
