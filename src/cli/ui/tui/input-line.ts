/**
 * The full-screen UI's input line: Emacs-style editing by grapheme (what a
 * person sees as one character), the lines typed before in a buffer (Up,
 * Down), and Tab completion of commands and names.
 */
import { graphemes } from './text-cells.ts';

/** Anything that must not go into a typed line: controls, and the line breaks a paste may carry. */
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/gu;

export class InputLine {
  #text = '';
  /** A grapheme index: the cursor sits before grapheme `#at`. */
  #at = 0;
  #parts: string[] = [];

  get text(): string {
    return this.#text;
  }

  /** Graphemes of the line. */
  get parts(): readonly string[] {
    return this.#parts;
  }

  /** The cursor, in graphemes from the start. */
  get cursor(): number {
    return this.#at;
  }

  /** Replaces the line; the cursor goes to its end unless given. */
  set(text: string, cursor?: number): void {
    this.#text = text.replace(/\t/g, ' ').replace(CONTROLS, '');
    this.#parts = graphemes(this.#text);
    this.#at = Math.max(0, Math.min(cursor ?? this.#parts.length, this.#parts.length));
  }

  #splice(from: number, to: number, insert: string[] = []): void {
    this.#parts.splice(from, to - from, ...insert);
    this.#text = this.#parts.join('');
  }

  /** Types text at the cursor (a tab becomes a space; other controls are dropped). */
  insert(text: string): void {
    const clean = text.replace(/\t/g, ' ').replace(CONTROLS, '');
    if (clean === '') return;
    // Joined and split again: a combining mark typed after a letter makes one grapheme with it.
    const before = this.#parts.slice(0, this.#at).join('') + clean;
    const after = this.#parts.slice(this.#at).join('');
    this.set(before + after);
    this.#at = graphemes(before).length;
  }

  backspace(): void {
    if (this.#at === 0) return;
    this.#splice(this.#at - 1, this.#at);
    this.#at--;
  }

  deleteForward(): void {
    if (this.#at < this.#parts.length) this.#splice(this.#at, this.#at + 1);
  }

  left(): void {
    this.#at = Math.max(0, this.#at - 1);
  }

  right(): void {
    this.#at = Math.min(this.#parts.length, this.#at + 1);
  }

  home(): void {
    this.#at = 0;
  }

  end(): void {
    this.#at = this.#parts.length;
  }

  /** Alt-B: to the start of this word, or the one before. */
  wordLeft(): void {
    this.#at = this.#wordStart(this.#at);
  }

  /** Alt-F: to the end of this word, or the next. */
  wordRight(): void {
    let i = this.#at;
    while (i < this.#parts.length && isSpace(this.#parts[i])) i++;
    while (i < this.#parts.length && !isSpace(this.#parts[i])) i++;
    this.#at = i;
  }

  /** Ctrl-K: deletes from the cursor to the end. */
  killToEnd(): void {
    this.#splice(this.#at, this.#parts.length);
  }

  /** Ctrl-U: deletes from the start to the cursor. */
  killToStart(): void {
    this.#splice(0, this.#at);
    this.#at = 0;
  }

  /** Ctrl-W: deletes the word before the cursor. */
  killWordBack(): void {
    const start = this.#wordStart(this.#at);
    this.#splice(start, this.#at);
    this.#at = start;
  }

  #wordStart(from: number): number {
    let i = from;
    while (i > 0 && isSpace(this.#parts[i - 1])) i--;
    while (i > 0 && !isSpace(this.#parts[i - 1])) i--;
    return i;
  }

  /** The line as typed, leaving the input empty. */
  take(): string {
    const text = this.#text;
    this.set('');
    return text;
  }
}

function isSpace(g: string | undefined): boolean {
  return g === ' ';
}

/** Lines typed in one buffer, for Up and Down; what was being typed is kept while going through them. */
export class InputHistory {
  static readonly MAX = 500;
  readonly #entries: string[] = [];
  /** How far back Up has gone: 0 is the line being typed. */
  #back = 0;
  #draft = '';

  /** Remembers a line that was entered (not a repeat of the last one), and starts again from the newest. */
  add(line: string): void {
    this.#back = 0;
    if (line.trim() === '' || this.#entries.at(-1) === line) return;
    this.#entries.push(line);
    if (this.#entries.length > InputHistory.MAX) this.#entries.shift();
  }

  /** The line before; `current` is what the input holds now. Undefined when there is none. */
  up(current: string): string | undefined {
    if (this.#back >= this.#entries.length) return undefined;
    if (this.#back === 0) this.#draft = current;
    this.#back++;
    return this.#entries[this.#entries.length - this.#back];
  }

  /** The line after, and at the end what was being typed. */
  down(): string | undefined {
    if (this.#back === 0) return undefined;
    this.#back--;
    return this.#back === 0 ? this.#draft : this.#entries[this.#entries.length - this.#back];
  }

  get size(): number {
    return this.#entries.length;
  }
}

/**
 * Tab completion: a command for a first word starting with "/", otherwise
 * a name (at the start of the line as an address, "bob/"; after a command,
 * or in the text, followed by a space). Tab again goes to the next match.
 */
export class Completer {
  /** What the last completion left, to know whether Tab is pressed again on it. */
  #last: { text: string; cursor: number } | undefined;
  #matches: string[] = [];
  #index = 0;
  #head = '';
  #tail = '';
  #suffix = '';

  /** Completes the word before the cursor in `line`; true when the line changed. */
  complete(line: InputLine, commands: readonly string[], names: readonly string[]): boolean {
    if (this.#last !== undefined && this.#last.text === line.text && this.#last.cursor === line.cursor && this.#matches.length > 1) {
      this.#index = (this.#index + 1) % this.#matches.length;
      return this.#apply(line);
    }
    const parts = line.parts;
    let start = line.cursor;
    while (start > 0 && parts[start - 1] !== ' ' && parts[start - 1] !== '/') start--;
    // "/sw": a command, when the slash starts the line.
    const isCommand = start === 1 && parts[0] === '/';
    if (isCommand) start = 0;
    const word = parts.slice(start, line.cursor).join('').toLowerCase();
    const pool = isCommand ? commands : names;
    this.#matches = [...new Set(pool)].filter((c) => c.toLowerCase().startsWith(word)).sort((a, b) => a.localeCompare(b));
    if (this.#matches.length === 0) {
      this.#last = undefined;
      return false;
    }
    this.#index = 0;
    this.#head = parts.slice(0, start).join('');
    this.#tail = parts.slice(line.cursor).join('');
    const isAddress = !isCommand && start === 0 && !line.text.startsWith('/');
    this.#suffix = isAddress ? '/' : this.#tail.startsWith(' ') ? '' : ' ';
    return this.#apply(line);
  }

  #apply(line: InputLine): boolean {
    const completed = this.#head + (this.#matches[this.#index] as string) + this.#suffix;
    line.set(completed + this.#tail, graphemes(completed).length);
    this.#last = { text: line.text, cursor: line.cursor };
    return true;
  }

  /** Any other key ends a round of completion. */
  reset(): void {
    this.#last = undefined;
  }
}
