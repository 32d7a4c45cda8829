/**
 * The full-screen UI's buffers: one per conversation and one for status.
 * A buffer keeps its lines (at most `maxLines`; older ones stay in the
 * history files), its unread count and marks, its scroll position and the
 * input lines typed in it. Lines keep their text sanitised and their rows
 * wrapped for the last width asked, so a frame wraps only what is new.
 */
import { sanitize } from '../sanitize.ts';
import { InputHistory } from './input-line.ts';
import { STYLE } from './styles.ts';
import { textWidth, wrap, type Cell, type Span, type StyleId } from './text-cells.ts';

/** Where an own message is: on its way (queued or sent), waiting in the outbox, or delivered. */
export type Delivery = 'pending' | 'waiting' | 'delivered';

export type LineKind = 'message' | 'own' | 'notice' | 'error' | 'day' | 'plain';

export interface Line {
  kind: LineKind;
  /** When it happened here, ms since 1970 (shown as HH:MM). */
  at: number;
  /** Who said it, for messages. */
  from?: string;
  text: string;
  style: StyleId;
  /** A message's id: receipts find it by it, and a copy is not shown twice. */
  id?: string | undefined;
  /** Read from the history store when the buffer opened. */
  isHistory?: boolean;
  /** Own messages of this run: where they are (those from the history have no mark). */
  delivery?: Delivery;
  /** An own room message on its way: how many of how many members hold it so far (`✓ 4/5`). */
  held?: { count: number; of: number };
  rows?: Cell[][] | undefined;
  rowsWidth?: number | undefined;
}

/** Lines kept per buffer unless told otherwise. */
export const DEFAULT_SCROLLBACK = 10_000;

export const STATUS_BUFFER = 'status';

export class ChatBuffer {
  readonly name: string;
  readonly isStatus: boolean;
  readonly #maxLines: number;
  #lines: Line[] = [];
  readonly #byId = new Map<string, Line>();
  /** Messages that came while the buffer was not shown. */
  unread = 0;
  /** A chat request waits for an answer. */
  hasRequest = false;
  /** An error came while the buffer was not shown. */
  hasError = false;
  /** Rows scrolled up from the bottom; 0 follows new lines. */
  scroll = 0;
  /** Lines added since the layout last looked (it turns them into rows: a scroll hint, or a kept position). */
  added = 0;
  readonly history = new InputHistory();

  constructor(name: string, maxLines: number, isStatus = false) {
    this.name = name;
    this.isStatus = isStatus;
    this.#maxLines = Math.max(1, maxLines);
  }

  get lines(): readonly Line[] {
    return this.#lines;
  }

  /** Adds a line (and a day line before it when the date changed); false when a line with its id is here already. */
  push(line: Line): boolean {
    if (line.id !== undefined) {
      if (this.#byId.has(line.id)) return false;
      // Kept for what may come again or be marked: own messages (receipts) and lines from the history
      // (the live message that is also in it). A live message from a peer comes once: the peer saw to that.
      if (line.kind === 'message' && !isFromHistory(line)) line.id = undefined;
      else this.#byId.set(line.id, line);
    }
    const last = this.#lines.at(-1);
    if (last !== undefined && dayOf(last.at) !== dayOf(line.at))
      this.#add({ kind: 'day', at: line.at, text: dayLine(line.at), style: STYLE.dim });
    this.#add(line);
    return true;
  }

  #add(line: Line): void {
    line.text = sanitize(line.text);
    if (line.from !== undefined) line.from = sanitize(line.from);
    this.#lines.push(line);
    this.added++;
    // Dropped in chunks, so that a full buffer does not copy itself for every line.
    const over = this.#lines.length - this.#maxLines;
    if (over >= Math.max(1, this.#maxLines >> 4)) {
      for (const old of this.#lines.splice(0, over)) if (old.id !== undefined) this.#byId.delete(old.id);
    }
  }

  /** The line of message `id`, while it is kept. */
  byId(id: string): Line | undefined {
    return this.#byId.get(id);
  }

  /** Marks an own message; its rows are wrapped again. */
  mark(id: string, delivery: Delivery): void {
    const line = this.#byId.get(id);
    if (line === undefined || line.delivery === delivery || line.delivery === 'delivered') return;
    line.delivery = delivery;
    line.rows = undefined;
  }

  /** `count` of `of` members hold own room message `id`; its rows are wrapped again. */
  markHeld(id: string, count: number, of: number): void {
    const line = this.#byId.get(id);
    if (line === undefined || line.delivery === 'delivered') return;
    line.held = { count, of };
    line.rows = undefined;
  }

  /** Every own message still on its way is now waiting in the outbox. */
  markWaiting(): void {
    for (const line of this.#byId.values()) if (line.kind === 'own' && line.delivery === 'pending') this.mark(line.id as string, 'waiting');
  }

  /** The rows of line `i` at `width`. */
  rowsOf(i: number, width: number): Cell[][] {
    const line = this.#lines[i] as Line;
    if (line.rows === undefined || line.rowsWidth !== width) {
      const { spans, indent } = spansOf(line);
      line.rows = wrap(spans, width, indent);
      line.rowsWidth = width;
    }
    return line.rows;
  }

  /** Rows the newest `count` lines take at `width`. */
  rowsOfNewest(count: number, width: number): number {
    let rows = 0;
    for (let i = Math.max(0, this.#lines.length - count); i < this.#lines.length; i++) rows += this.rowsOf(i, width).length;
    return rows;
  }

  /** Clears the marks of having been away: the buffer is shown. */
  seen(): void {
    this.unread = 0;
    this.hasError = false;
  }
}

function isFromHistory(line: Line): boolean {
  return line.isHistory === true;
}

/** A line as styled spans, and the hanging indent of its later rows (where the text starts). */
export function spansOf(line: Line): { spans: Span[]; indent: number } {
  if (line.kind === 'day') return { spans: [{ text: line.text, style: line.style }], indent: 0 };
  const time = `${clock(line.at)} `;
  const spans: Span[] = [{ text: time, style: STYLE.dim }];
  let indent = time.length;
  if (line.kind === 'message' || line.kind === 'own') {
    const who = `${line.from ?? ''}: `;
    spans.push({ text: who, style: line.kind === 'own' ? STYLE.self : STYLE.peer });
    indent += textWidth(who);
  }
  spans.push({ text: line.text, style: line.style });
  if (line.kind === 'own' && line.delivery === 'pending' && line.held !== undefined)
    spans.push({ text: ` ✓ ${line.held.count}/${line.held.of}`, style: STYLE.dim });
  else if (line.kind === 'own' && line.delivery !== undefined) spans.push(DELIVERY_MARK[line.delivery]);
  return { spans, indent };
}

/** How an own message shows where it is. */
export const DELIVERY_MARK: Record<Delivery, Span> = {
  pending: { text: ' …', style: STYLE.dim },
  waiting: { text: ' (in the outbox)', style: STYLE.warn },
  delivered: { text: ' ✓', style: STYLE.good },
};

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** HH:MM, local time. */
export function clock(ts: number): string {
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function dayOf(ts: number): string {
  return new Date(ts).toDateString();
}

const DAY_FORMAT = new Intl.DateTimeFormat('en-GB', { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });

/** The line that says the day changed. */
export function dayLine(ts: number): string {
  return `── ${DAY_FORMAT.format(new Date(ts))} ──`;
}
