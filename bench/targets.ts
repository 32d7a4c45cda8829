/**
 * The performance targets `npm run bench` holds natter to, each a ratio or a
 * figure measured in the same run, printed together at the end with its
 * target and whether it was met.
 */
import { fmt, table } from './harness.ts';

export interface TargetRow {
  /** What is measured. */
  measure: string;
  /** The figure, as printed (a ratio with its parts, or a value). */
  figure: string;
  /** The target, as printed. */
  target: string;
  isMet: boolean;
}

/** A ratio row: `a / b` with both parts shown, held to at most (`max`) or at least (`min`) `limit`. */
export function ratioRow(
  measure: string,
  a: number,
  b: number,
  unit: string,
  digits: number,
  kind: 'min' | 'max',
  limit: number,
): TargetRow {
  const ratio = a / b;
  return {
    measure,
    figure: `${fmt(ratio, 2)}x (${fmt(a, digits)} against ${fmt(b, digits)} ${unit})`,
    target: `${kind === 'min' ? '≥' : '≤'} ${fmt(limit, 1)}x`,
    isMet: kind === 'min' ? ratio >= limit : ratio <= limit,
  };
}

/** A value row, held to at most `limit`. */
export function valueRow(
  measure: string,
  value: number,
  unit: string,
  digits: number,
  limit: number,
  limitText = `≤ ${fmt(limit, digits)} ${unit}`,
): TargetRow {
  return { measure, figure: `${fmt(value, digits)} ${unit}`, target: limitText, isMet: value <= limit };
}

export function printTargets(rows: TargetRow[]): void {
  console.log('targets: every row measured in this run');
  const width = Math.max(...rows.map((r) => r.measure.length));
  console.log(
    table(
      ['measure'.padEnd(width), 'now', 'target', ''],
      rows.map((r) => [r.measure.padEnd(width), r.figure, r.target, r.isMet ? 'met' : 'MISSED']),
    ),
  );
  const missed = rows.filter((r) => !r.isMet).length;
  console.log(missed === 0 ? 'every target met' : `${missed} of ${rows.length} targets MISSED`);
}
