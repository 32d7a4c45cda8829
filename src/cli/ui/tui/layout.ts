/**
 * Where everything goes on the screen, drawn into a Frame:
 *
 *   row 0        title bar: who you are, the shown buffer and its state
 *   rows 1..h-3  the shown buffer's lines, newest at the bottom ("more below" while scrolled up)
 *   row h-2      status bar: time, every buffer with its number, unread count and marks; the directory
 *   row h-1      input line: prompt, text (scrolled sideways to keep the cursor), characters left
 *
 * A pasted block waiting to be confirmed takes the message area.
 */
import type { ChatBuffer } from './buffers.ts';
import { clock } from './buffers.ts';
import { Frame } from './frame.ts';
import type { InputLine } from './input-line.ts';
import type { Cursor, ScrollHint } from './renderer.ts';
import { STYLE } from './styles.ts';
import { cellsOf, fit, graphemeWidth, textWidth, wrap, type Cell, type Span } from './text-cells.ts';

/** The smallest screen drawn; below it, only a line that says so. */
export const MIN_WIDTH = 20;
export const MIN_HEIGHT = 5;

export interface ScreenState {
  buffers: readonly ChatBuffer[];
  /** Index of the shown buffer. */
  current: number;
  self: string;
  /** What the title bar says about the shown buffer. */
  title: string;
  /** The right end of the status bar: the directory's state, and how to say it on a narrow screen. */
  status: (Span & { short: string }) | undefined;
  input: InputLine;
  prompt: string;
  /** Characters left before the message limit, when it is near. */
  counter: Span | undefined;
  /** A multi-line paste waiting for Enter or Esc. */
  paste: { lines: readonly string[]; question: string } | undefined;
  now: number;
}

export interface Drawn {
  frame: Frame;
  cursor: Cursor | undefined;
  scroll: ScrollHint | undefined;
}

/** Draws the screen. Moves the shown buffer's scroll position to account for lines that came since the last draw. */
export function draw(state: ScreenState, width: number, height: number): Drawn {
  const frame = new Frame(width, height);
  if (width < MIN_WIDTH || height < MIN_HEIGHT) {
    frame.text(0, 0, fit(`natter needs ${MIN_WIDTH}×${MIN_HEIGHT}`, width), STYLE.warn);
    return { frame, cursor: undefined, scroll: undefined };
  }
  const buffer = state.buffers[state.current] as ChatBuffer;
  const top = 1;
  const bottom = height - 3;
  const area = bottom - top + 1;
  titleBar(frame, state, buffer);
  let scroll: ScrollHint | undefined;
  if (state.paste !== undefined) pasteView(frame, state.paste.lines, top, bottom);
  else scroll = messages(frame, buffer, top, bottom, area);
  statusBar(frame, state, height - 2);
  const cursor = inputRow(frame, state, height - 1);
  return { frame, cursor, scroll };
}

function titleBar(frame: Frame, state: ScreenState, buffer: ChatBuffer): void {
  frame.fill(0, 0, frame.width, STYLE.bar);
  const x = frame.text(0, 0, ` ${state.self} `, STYLE.barCurrent);
  frame.text(x, 0, fit(` ${buffer.isStatus ? 'status' : buffer.name} · ${state.title}`, frame.width - x), STYLE.bar);
}

/** The shown buffer's rows, bottom-aligned; a scroll hint when the view follows new lines. */
function messages(frame: Frame, buffer: ChatBuffer, top: number, bottom: number, area: number): ScrollHint | undefined {
  const width = frame.width;
  // Rows of the lines that came since the last draw: to keep a scrolled-up view where it is, or for a
  // scroll hint. A burst of a screenful or more at the bottom needs neither, and is not wrapped for it.
  const newRows = buffer.added > 0 && (buffer.scroll > 0 || buffer.added < area) ? buffer.rowsOfNewest(buffer.added, width) : 0;
  buffer.added = 0;
  // Scrolled up, the view stays on what was read; at the bottom it follows.
  if (buffer.scroll > 0) buffer.scroll += newRows;
  const need = area + buffer.scroll;
  const rows: Cell[][] = [];
  const lines = buffer.lines;
  for (let i = lines.length - 1; i >= 0 && rows.length < need; i--) {
    const r = buffer.rowsOf(i, width);
    for (let j = r.length - 1; j >= 0 && rows.length < need; j--) rows.push(r[j] as Cell[]);
  }
  if (rows.length < need) buffer.scroll = Math.max(0, rows.length - area);
  const shown = rows.slice(buffer.scroll, buffer.scroll + area);
  for (const [k, row] of shown.entries()) frame.cells(0, bottom - k, row);
  if (buffer.scroll > 0) {
    const label = ` more below (${buffer.scroll} rows) ▼ `;
    const w = textWidth(label);
    const x = Math.max(0, width - w);
    frame.fill(bottom, x, width, STYLE.more);
    frame.text(x, bottom, fit(label, width), STYLE.more);
    return undefined;
  }
  return newRows > 0 && newRows < area ? { top, bottom, by: newRows } : undefined;
}

function pasteView(frame: Frame, lines: readonly string[], top: number, bottom: number): void {
  let y = top;
  const room = bottom - top + 1;
  const shown = lines.length > room ? room - 1 : lines.length;
  for (let i = 0; i < shown; i++) frame.text(0, y++, fit(`│ ${lines[i] as string}`, frame.width), STYLE.plain);
  if (shown < lines.length) frame.text(0, y, fit(`│ … and ${lines.length - shown} more lines`, frame.width), STYLE.dim);
}

/** One buffer in the status bar: "2:bob(3)", with "?" for a request and "!" for an error. */
function bufferLabel(b: ChatBuffer, i: number): string {
  return `${i + 1}:${b.isStatus ? 'status' : b.name}${b.unread > 0 ? `(${b.unread})` : ''}${b.hasRequest ? '?' : ''}${b.hasError ? '!' : ''}`;
}

function statusBar(frame: Frame, state: ScreenState, y: number): void {
  const width = frame.width;
  frame.fill(y, 0, width, STYLE.bar);
  // A narrow screen keeps its room for the buffers: no clock, and the short form of the state.
  const isNarrow = width < 60;
  let x = isNarrow ? 0 : frame.text(0, y, `[${clock(state.now)}] `, STYLE.bar);
  const right =
    state.status === undefined ? undefined : { text: isNarrow ? state.status.short : state.status.text, style: state.status.style };
  const rightWidth = right === undefined ? 0 : textWidth(right.text) + 1;
  const limit = width - rightWidth;
  const labels = state.buffers.map((b, i) => ({ text: bufferLabel(b, i), b, i }));
  // When they do not all fit, start late enough that the shown one is there.
  let first = 0;
  const widthFrom = (from: number, to: number): number => labels.slice(from, to + 1).reduce((sum, l) => sum + textWidth(l.text) + 1, 0);
  while (first < state.current && x + widthFrom(first, state.current) > limit) first++;
  if (first > 0) x = frame.text(x, y, '‹', STYLE.bar, limit);
  for (const { text, b, i } of labels.slice(first)) {
    if (x >= limit) break;
    const style =
      i === state.current ? STYLE.barCurrent : b.hasRequest || b.hasError ? STYLE.barAlert : b.unread > 0 ? STYLE.barActive : STYLE.bar;
    x = frame.text(x, y, text, style, limit);
    x = frame.text(x, y, ' ', STYLE.bar, limit);
  }
  if (right !== undefined) frame.text(width - rightWidth + 1, y, right.text, right.style);
}

/** The input row; returns where the cursor goes. */
function inputRow(frame: Frame, state: ScreenState, y: number): Cursor {
  const width = frame.width;
  if (state.paste !== undefined) {
    const x = frame.text(0, y, fit(state.paste.question, width - 1), STYLE.warn);
    return { x: Math.min(x, width - 1), y };
  }
  const prompt = fit(state.prompt, Math.floor(width / 3));
  let x = frame.text(0, y, prompt, STYLE.bold);
  const counter = state.counter;
  const end = width - (counter === undefined ? 0 : textWidth(counter.text) + 1);
  if (counter !== undefined) frame.text(end + 1, y, counter.text, counter.style);
  const room = Math.max(1, end - x - 1);
  const parts = state.input.parts;
  const at = state.input.cursor;
  // Sideways: the text from `start` on, so that the cursor is on the row.
  let start = 0;
  let before = 0;
  for (let i = 0; i < at; i++) before += graphemeWidth(parts[i] as string);
  while (before >= room && start < at) before -= graphemeWidth(parts[start++] as string);
  const cells: Cell[] = [];
  for (let i = start; i < parts.length; i++) cellsOf(parts[i] as string, STYLE.plain, cells);
  const textX = x;
  x = frame.cells(x, y, cells, end);
  return { x: Math.min(textX + before, width - 1), y };
}

/** Lines of text wrapped to `width`, for the help and other blocks. */
export function wrapText(text: string, width: number): Cell[][] {
  return wrap([{ text, style: STYLE.plain }], width);
}
