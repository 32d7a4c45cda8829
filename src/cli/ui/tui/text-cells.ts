/**
 * Text as terminal cells: graphemes (what a person sees as one character,
 * by Intl.Segmenter) and how many columns each takes (string-width: CJK and
 * emoji take two, combining marks none). Only text that was sanitised first
 * comes here; these functions measure, they do not neutralise.
 */
import stringWidth from 'string-width';

/** A style: an index into the renderer's table (styles.ts). */
export type StyleId = number;

/** A run of text in one style. */
export interface Span {
  text: string;
  style: StyleId;
}

/** One grapheme and the columns it takes (1 or 2). */
export interface Cell {
  g: string;
  w: 1 | 2;
  style: StyleId;
}

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** Printable ASCII only: one column a character, no segmenting needed. */
const ASCII = /^[\x20-\x7e]*$/;
/**
 * Text in which every UTF-16 unit is a grapheme of its own: nothing that
 * joins the character before it (marks, format characters such as ZWJ),
 * no Hangul jamo (which join each other), no surrogate pairs (emoji, flags),
 * no line breaks. Most text is like this; it needs no segmenting, only a
 * width per character.
 */
const SIMPLE = /^[^\p{M}\p{Cf}\p{Cc}\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u{10000}-\u{10ffff}]*$/u;

/** The graphemes of `text`, segmented only when it has to be. */
function segments(text: string): Iterable<string> {
  return SIMPLE.test(text) ? text : Array.from(SEGMENTER.segment(text), (s) => s.segment);
}
const WIDTHS = new Map<string, number>();
const MAX_CACHED_WIDTHS = 4_096;

/** Columns one grapheme takes: 0, 1 or 2. */
export function graphemeWidth(g: string): number {
  if (g.length === 1) {
    const c = g.charCodeAt(0);
    if (c >= 0x20 && c < 0x7f) return 1;
  }
  let w = WIDTHS.get(g);
  if (w === undefined) {
    w = Math.min(2, stringWidth(g));
    if (WIDTHS.size >= MAX_CACHED_WIDTHS) WIDTHS.clear();
    WIDTHS.set(g, w);
  }
  return w;
}

/** Columns a string takes. */
export function textWidth(text: string): number {
  if (ASCII.test(text)) return text.length;
  let w = 0;
  for (const g of segments(text)) w += graphemeWidth(g);
  return w;
}

/** The graphemes of `text` that take room, in `style`; zero-width ones (a combining mark with nothing before it) are left out. */
export function cellsOf(text: string, style: StyleId, out: Cell[] = []): Cell[] {
  if (ASCII.test(text)) {
    for (let i = 0; i < text.length; i++) out.push({ g: text[i] as string, w: 1, style });
    return out;
  }
  for (const g of segments(text)) {
    const w = graphemeWidth(g);
    if (w > 0) out.push({ g, w: w as 1 | 2, style });
  }
  return out;
}

/** Graphemes of a string, for editing by what a person sees as one character. */
export function graphemes(text: string): string[] {
  if (ASCII.test(text)) return text.split('');
  return [...segments(text)];
}

/**
 * Wraps styled spans to `width` columns: at the last space that fits, or
 * anywhere in a word longer than a row. Rows after the first start with
 * `indent` blank columns (a hanging indent, at most a third of the width),
 * and lose the spaces they would start with.
 */
export function wrap(spans: readonly Span[], width: number, indent = 0): Cell[][] {
  const all: Cell[] = [];
  for (const s of spans) cellsOf(s.text, s.style, all);
  const hang = Math.min(indent, Math.floor(width / 3));
  const rows: Cell[][] = [];
  let row: Cell[] = [];
  let used = 0;
  /** Index in `row` just after the last space, where the row may be cut, and the columns used up to there. */
  let cut = -1;
  let usedAtCut = 0;
  const newRow = (): void => {
    rows.push(row);
    row = [];
    cut = -1;
    for (let i = 0; i < hang; i++) row.push({ g: ' ', w: 1, style: 0 });
    used = hang;
  };
  for (const cell of all) {
    if (used === hang && rows.length > 0 && cell.g === ' ') continue;
    if (used + cell.w > width && cell.g === ' ') {
      // The row ends exactly at a word's end.
      newRow();
      continue;
    }
    if (used + cell.w > width) {
      // Cut at the last space when the word after it fits on the next row; otherwise inside the word.
      if (cut > 0 && hang + (used - usedAtCut) + cell.w <= width) {
        const carried = row.splice(cut);
        while (row.length > 0 && row.at(-1)?.g === ' ') row.pop();
        newRow();
        for (const c of carried) {
          row.push(c);
          used += c.w;
        }
      } else {
        newRow();
      }
    }
    row.push(cell);
    used += cell.w;
    if (cell.g === ' ') {
      cut = row.length;
      usedAtCut = used;
    }
  }
  rows.push(row);
  return rows;
}

/** `text` cut to at most `width` columns, ending in "…" when cut. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  if (textWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  for (const g of graphemes(text)) {
    const w = graphemeWidth(g);
    if (used + w > width - 1) break;
    out += g;
    used += w;
  }
  return `${out}…`;
}
