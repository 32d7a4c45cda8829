/**
 * The differential renderer: given the frame the screen should show, it
 * writes only what differs from the last one, as escape sequences of its
 * own making (cell text comes from a Frame, which holds no controls).
 *
 *   render(frame, cursor, scroll?)
 *     ├─ CSI ?2026h                          begin synchronized update: a frame never tears
 *     ├─ scroll hint verified? ─▶ DECSTBM + SU  the terminal moves the rows it already has
 *     ├─ each row: first..last changed cell ─▶ CUP, SGR, text (EL for a blank tail)
 *     ├─ CUP to the cursor, CSI ?25h / ?25l
 *     └─ CSI ?2026l
 *
 * A terminal that does not know synchronized output ignores the two
 * private modes; everything else is VT100/xterm that every terminal has.
 */
import { Frame, WIDE_TAIL } from './frame.ts';
import { sgr } from './styles.ts';

/** Rows [top, bottom] moved up by `by` since the last frame: new lines at the bottom of the message area. */
export interface ScrollHint {
  top: number;
  bottom: number;
  by: number;
}

export interface Cursor {
  x: number;
  y: number;
}

const BEGIN_SYNC = '\x1b[?2026h';
const END_SYNC = '\x1b[?2026l';

export class Renderer {
  readonly #isColor: boolean;
  #prev: Frame | undefined;
  #cursor: Cursor | undefined;

  constructor(isColor: boolean) {
    this.#isColor = isColor;
  }

  /** Forgets what is on the screen: the next render clears it and draws everything (after a resize, or Ctrl-L). */
  reset(): void {
    this.#prev = undefined;
    this.#cursor = undefined;
  }

  /** The bytes that turn the screen from the last frame into `frame`; '' when nothing changed. */
  render(frame: Frame, cursor: Cursor | undefined, scroll?: ScrollHint): string {
    let out = '';
    let prev = this.#prev;
    if (prev === undefined || prev.width !== frame.width || prev.height !== frame.height) {
      out += '\x1b[0m\x1b[2J';
      prev = new Frame(frame.width, frame.height);
    } else if (scroll !== undefined && this.#isScrollWorth(prev, frame, scroll)) {
      const { top, bottom, by } = scroll;
      out += `\x1b[0m\x1b[${top + 1};${bottom + 1}r\x1b[${by}S\x1b[r`;
      shift(prev, top, bottom, by);
    }
    let style = -1;
    const w = frame.width;
    for (let y = 0; y < frame.height; y++) {
      const base = y * w;
      let first = -1;
      let last = -1;
      for (let x = 0; x < w; x++) {
        if (frame.chars[base + x] !== prev.chars[base + x] || frame.styles[base + x] !== prev.styles[base + x]) {
          if (first < 0) first = x;
          last = x;
        }
      }
      if (first < 0) continue;
      // A wide character is written whole, from its left half.
      if (first > 0 && frame.chars[base + first] === WIDE_TAIL) first--;
      if (last + 1 < w && frame.chars[base + last + 1] === WIDE_TAIL) last++;
      // Past the last cell that is not a plain blank, one EL clears the rest of the row.
      let end = w - 1;
      while (end >= first && frame.chars[base + end] === ' ' && frame.styles[base + end] === 0) end--;
      const isTailBlank = last > end;
      out += `\x1b[${y + 1};${first + 1}H`;
      const stop = isTailBlank ? end : last;
      for (let x = first; x <= stop; x++) {
        const ch = frame.chars[base + x] as string;
        if (ch === WIDE_TAIL) continue;
        const s = frame.styles[base + x] as number;
        if (s !== style) {
          out += sgr(s, this.#isColor);
          style = s;
        }
        out += ch;
      }
      if (isTailBlank) {
        if (style !== 0) {
          out += sgr(0, this.#isColor);
          style = 0;
        }
        out += '\x1b[K';
      }
    }
    if (style > 0) out += sgr(0, this.#isColor);
    const moved = cursor?.x !== this.#cursor?.x || cursor?.y !== this.#cursor?.y;
    if (out === '' && !moved) return '';
    out += cursor === undefined ? '\x1b[?25l' : `\x1b[${cursor.y + 1};${cursor.x + 1}H\x1b[?25h`;
    this.#prev = frame;
    this.#cursor = cursor;
    return BEGIN_SYNC + out + END_SYNC;
  }

  /** Whether moving the rows the terminal already has beats redrawing them: more rows match shifted than in place. */
  #isScrollWorth(prev: Frame, next: Frame, { top, bottom, by }: ScrollHint): boolean {
    if (by <= 0 || top < 0 || bottom >= next.height || by > bottom - top) return false;
    let shifted = 0;
    let inPlace = 0;
    for (let y = top; y + by <= bottom; y++) {
      if (next.isRowEqual(y, prev, y + by)) shifted++;
      if (next.isRowEqual(y, prev, y)) inPlace++;
    }
    return shifted > inPlace;
  }
}

/** What scrolling rows [top, bottom] up by `by` does to the screen: `frame` changed in place. */
function shift(frame: Frame, top: number, bottom: number, by: number): void {
  const w = frame.width;
  frame.chars.copyWithin(top * w, (top + by) * w, (bottom + 1) * w);
  frame.styles.copyWithin(top * w, (top + by) * w, (bottom + 1) * w);
  for (let y = bottom - by + 1; y <= bottom; y++) frame.fill(y, 0, w, 0);
}
