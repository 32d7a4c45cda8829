/**
 * The full-screen UI's styles, and the SGR sequence for each. Colours only
 * when the terminal has them (tty.WriteStream.hasColors(), which says no
 * for NO_COLOR and TERM=dumb); without colours the bars and marks keep
 * reverse, bold and dim, which are not colours and keep the layout legible.
 */
import type { StyleId } from './text-cells.ts';

export const STYLE = {
  plain: 0,
  dim: 1,
  bold: 2,
  /** The title and status bars. */
  bar: 3,
  /** The current buffer in the status bar. */
  barCurrent: 4,
  /** A buffer with unread messages in the status bar. */
  barActive: 5,
  /** A buffer with a request or an error in the status bar. */
  barAlert: 6,
  /** Names of others. */
  peer: 7,
  /** Our own name. */
  self: 8,
  good: 9,
  warn: 10,
  error: 11,
  /** The "more below" mark. */
  more: 12,
} as const satisfies Record<string, StyleId>;

/** SGR parameters per style: [with colours, without]. */
const SGR: readonly (readonly [string, string])[] = [
  ['', ''],
  ['2', '2'],
  ['1', '1'],
  ['7', '7'],
  ['7;1', '7;1'],
  ['7;1;36', '7;1'],
  ['7;1;33', '7;1;4'],
  ['36', ''],
  ['1', '1'],
  ['32', ''],
  ['33', ''],
  ['31', '1'],
  ['7;33', '7'],
];

/** The sequence that sets `style` from any other (it resets first). */
export function sgr(style: StyleId, isColor: boolean): string {
  const params = SGR[style]?.[isColor ? 0 : 1] ?? '';
  return params === '' ? '\x1b[0m' : `\x1b[0;${params}m`;
}
