/**
 * A frame: what the screen should show, cell by cell. The layout draws a
 * new one for every render; the renderer compares it with the last one.
 * Text put here goes through sanitize() first, and a cell only ever holds
 * a grapheme that takes room (cellsOf drops the zero-width ones, controls
 * among them), so no escape sequence can reach a cell, whoever wrote it.
 */
import { sanitize } from '../sanitize.ts';
import { cellsOf, type Cell, type StyleId } from './text-cells.ts';

/** The right half of a wide character: drawn by the cell before it. */
export const WIDE_TAIL = '';

/** Anything that sanitize() would change. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\p{Cf}\u2028\u2029]/u;

export class Frame {
  readonly width: number;
  readonly height: number;
  readonly chars: string[];
  readonly styles: Uint8Array;

  constructor(width: number, height: number) {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.chars = new Array<string>(this.width * this.height).fill(' ');
    this.styles = new Uint8Array(this.width * this.height);
  }

  /** Writes `text` at (x, y) in `style`, clipped at `limit` (the right edge by default); returns the column after it. */
  text(x: number, y: number, text: string, style: StyleId, limit = this.width): number {
    const safe = UNSAFE.test(text) ? sanitize(text) : text;
    return this.cells(x, y, cellsOf(safe, style), limit);
  }

  /** Writes cells at (x, y), clipped at `limit`; a wide character that does not fit whole leaves a blank. */
  cells(x: number, y: number, cells: readonly Cell[], limit = this.width): number {
    if (y < 0 || y >= this.height) return x;
    const end = Math.min(limit, this.width);
    const base = y * this.width;
    for (const c of cells) {
      if (x >= end) break;
      if (x + c.w > end) {
        this.#unsplit(base, x, 1);
        this.chars[base + x] = ' ';
        this.styles[base + x] = c.style;
        x++;
        break;
      }
      this.#unsplit(base, x, c.w);
      this.chars[base + x] = c.g;
      this.styles[base + x] = c.style;
      if (c.w === 2) {
        this.chars[base + x + 1] = WIDE_TAIL;
        this.styles[base + x + 1] = c.style;
      }
      x += c.w;
    }
    return x;
  }

  /**
   * Before columns [x, x + w) are written: half of a wide character is no
   * character, so the half of one that those columns cut goes blank.
   */
  #unsplit(base: number, x: number, w: number): void {
    if (x > 0 && this.chars[base + x] === WIDE_TAIL) this.chars[base + x - 1] = ' ';
    if (x + w < this.width && this.chars[base + x + w] === WIDE_TAIL) this.chars[base + x + w] = ' ';
  }

  /** Blanks columns [from, to) of row y in `style`. */
  fill(y: number, from: number, to: number, style: StyleId): void {
    if (y < 0 || y >= this.height) return;
    const base = y * this.width;
    const start = Math.max(0, from);
    const stop = Math.min(to, this.width);
    if (stop <= start) return;
    this.#unsplit(base, start, stop - start);
    for (let x = start; x < stop; x++) {
      this.chars[base + x] = ' ';
      this.styles[base + x] = style;
    }
  }

  /** Row y as text (wide characters once), trailing blanks trimmed: for tests and logs. */
  row(y: number): string {
    return this.chars
      .slice(y * this.width, (y + 1) * this.width)
      .join('')
      .trimEnd();
  }

  /** Whether row `y` of this frame equals row `otherY` of `other`, cell for cell. */
  isRowEqual(y: number, other: Frame, otherY: number): boolean {
    if (other.width !== this.width) return false;
    const a = y * this.width;
    const b = otherY * this.width;
    for (let x = 0; x < this.width; x++) {
      if (this.chars[a + x] !== other.chars[b + x] || this.styles[a + x] !== other.styles[b + x]) return false;
    }
    return true;
  }
}
