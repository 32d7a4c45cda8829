/**
 * The terminal as the full-screen UI uses it: raw keys, the alternate
 * screen, bracketed paste (CSI ?2004) and focus reports (CSI ?1004), the
 * size and its changes. Everything it turns on, leave() turns off again,
 * and it is called on every way out: a normal quit, a signal, a crash
 * (uncaughtExceptionMonitor runs before Node prints the error, so the
 * error lands on the normal screen), or process exit as a last resort.
 *
 *   enter():  raw mode · CSI ?1049h (alternate screen) · CSI ?2004h · CSI ?1004h
 *   leave():  CSI ?1004l · CSI ?2004l · SGR 0 · CSI ?25h (cursor) · CSI ?1049l · cooked mode
 */
import { EventEmitter } from 'node:events';
import { emitKeypressEvents } from 'node:readline';
import { actionOf, type Action, type Key } from './keys.ts';

const ENTER = '\x1b[?1049h\x1b[?2004h\x1b[?1004h\x1b[H\x1b[2J';
export const LEAVE = '\x1b[?1004l\x1b[?2004l\x1b[0m\x1b[?25h\x1b[?1049l';

/** The longest paste kept; the rest of it is dropped (and said so). */
export const MAX_PASTE_CHARS = 64 * 1024;

export interface TerminalEvents {
  action: [Action];
  /** A bracketed paste, whole; `isCut` when it was longer than MAX_PASTE_CHARS. */
  paste: [text: string, isCut: boolean];
  resize: [];
}

export class Terminal extends EventEmitter<TerminalEvents> {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
  readonly isColor: boolean;
  #isOn = false;
  /** The paste being read, between CSI 200~ and CSI 201~. */
  #paste: string | undefined;
  #isPasteCut = false;
  readonly #onKey = (ch: string | undefined, key: Key | undefined): void => this.#key(ch, key);
  readonly #onResize = (): void => void this.emit('resize');
  readonly #leave = (): void => this.leave();

  constructor(input: NodeJS.ReadStream, output: NodeJS.WriteStream) {
    super();
    this.input = input;
    this.output = output;
    this.isColor = typeof output.hasColors === 'function' && output.hasColors();
  }

  get columns(): number {
    return this.output.columns > 0 ? this.output.columns : 80;
  }

  get rows(): number {
    return this.output.rows > 0 ? this.output.rows : 24;
  }

  enter(): void {
    if (this.#isOn) return;
    this.#isOn = true;
    emitKeypressEvents(this.input);
    if (typeof this.input.setRawMode === 'function') this.input.setRawMode(true);
    this.input.on('keypress', this.#onKey);
    this.input.resume();
    this.output.on('resize', this.#onResize);
    process.on('exit', this.#leave);
    process.on('uncaughtExceptionMonitor', this.#leave);
    this.output.write(ENTER);
  }

  /** Puts the terminal back as it was; idempotent. */
  leave(): void {
    if (!this.#isOn) return;
    this.#isOn = false;
    this.input.off('keypress', this.#onKey);
    this.output.off('resize', this.#onResize);
    process.off('exit', this.#leave);
    process.off('uncaughtExceptionMonitor', this.#leave);
    this.output.write(LEAVE);
    if (typeof this.input.setRawMode === 'function') this.input.setRawMode(false);
    this.input.pause();
  }

  write(data: string): boolean {
    return this.output.write(data);
  }

  #key(ch: string | undefined, key: Key | undefined): void {
    if (key?.name === 'paste-start') {
      this.#paste = '';
      this.#isPasteCut = false;
      return;
    }
    if (this.#paste !== undefined) {
      if (key?.name === 'paste-end') {
        const text = this.#paste;
        this.#paste = undefined;
        this.emit('paste', text, this.#isPasteCut);
        return;
      }
      const piece = key?.name === 'return' || key?.name === 'enter' ? '\n' : (ch ?? key?.sequence ?? '');
      if (this.#paste.length + piece.length > MAX_PASTE_CHARS) this.#isPasteCut = true;
      else this.#paste += piece;
      return;
    }
    this.emit('action', actionOf(ch, key));
  }
}
