/**
 * The full-screen UI of `natter chat` (docs/chat.md, "The full-screen
 * UI"): buffers, scrollback, an input line with history and completion,
 * notifications. It is a ChatUi like the line UI and the JSON mode: events
 * in (ChatView keeps the model), commands out (CommandRunner runs what the
 * user enters, one thing at a time), and a frame drawn from the
 * model (layout.ts) that the renderer turns into the few bytes that changed.
 *
 *   event / key ─▶ model changes ─▶ schedule: a key draws on the next turn,
 *                                  anything else at most once a frame (16 ms)
 *               ─▶ draw(model) ─▶ Renderer.render(frame) ─▶ one write
 */
import type { ChatEvent, ReadyEvent } from '../../../chat/events.ts';
import type { ChatCommands, ChatUi } from '../../../chat/ui.ts';
import { HELP, MAX_TYPED_CHARS, addressEnd } from '../input.ts';
import { sanitize } from '../sanitize.ts';
import { ChatView } from './chat-view.ts';
import { CommandRunner } from './command-runner.ts';
import { Completer, InputLine } from './input-line.ts';
import type { Action } from './keys.ts';
import { draw, type ScreenState } from './layout.ts';
import { Notifier, notificationKind } from './notifier.ts';
import { Renderer } from './renderer.ts';
import { STYLE } from './styles.ts';
import { Terminal } from './terminal.ts';
import type { Span } from './text-cells.ts';

/** The shortest time between two frames drawn for what arrives (a key draws at once). */
export const FRAME_MS = 16;

export interface FullScreenOptions {
  input?: NodeJS.ReadStream;
  output?: NodeJS.WriteStream;
  /** Lines kept per buffer. */
  scrollback: number;
  /** Bell and desktop notifications (--no-notify turns them off). */
  isNotifying: boolean;
  /** History lines shown when a conversation's buffer opens. */
  historyLines?: number;
  env?: NodeJS.ProcessEnv;
}

/** Commands the full-screen UI knows besides the typed ones every UI has (input.ts). */
const OWN_COMMANDS = ['mute', 'unmute'];
const COMMANDS = [
  'connect',
  'accept',
  'decline',
  'switch',
  'end',
  'who',
  'whois',
  'trust',
  'history',
  'outbox',
  'drop',
  'doctor',
  'help',
  'quit',
  'room',
  'rooms',
  'invite',
  'join',
  'leave',
  'kick',
  'members',
  ...OWN_COMMANDS,
].map((c) => `/${c}`);

const KEYS_HELP = [
  'keys: Alt-1..9 buffer n · Ctrl-N/Ctrl-P, Alt-Right/Left next/previous buffer',
  '      PgUp/PgDn scroll a page, Shift-Up/Down a line · Up/Down lines typed here before',
  '      Tab completes names and commands · Ctrl-A/E start/end · Alt-B/F word back/forward',
  '      Ctrl-K/U delete to end/start · Ctrl-W delete word · Ctrl-L redraw · F1 this help',
  'marks: … on its way · ✓ delivered · (in the outbox) waits for the peer; 2:bob(3) unread, ? request, ! error',
  '/mute NAME, /unmute NAME     no bell or notification for NAME',
];

export class FullScreenUi implements ChatUi {
  readonly #s: ChatCommands;
  readonly #term: Terminal;
  readonly #view: ChatView;
  readonly #input = new InputLine();
  readonly #completer = new Completer();
  readonly #renderer: Renderer;
  readonly #notifier: Notifier;
  /** Names seen here or known to a way of finding peers: what Tab completes. */
  readonly #names = new Set<string>();
  #paste: { lines: string[]; to: string } | undefined;
  readonly #runner: CommandRunner;
  #isClosed = false;
  #isQuitting = false;
  /** What must still be read after the screen is gone: the fate of waiting messages, a shutdown. */
  readonly #farewell: string[] = [];
  #immediate: NodeJS.Immediate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #clockTimer: NodeJS.Timeout | undefined;
  #lastFrame = 0;
  #isDraining = false;
  #shownLastFrame = -1;

  constructor(commands: ChatCommands, o: FullScreenOptions) {
    this.#s = commands;
    this.#term = new Terminal(o.input ?? process.stdin, o.output ?? process.stdout);
    this.#renderer = new Renderer(this.#term.isColor);
    const env = o.env ?? process.env;
    this.#notifier = new Notifier(o.isNotifying, notificationKind(env));
    this.#view = new ChatView({
      self: commands.name,
      scrollback: o.scrollback,
      historyLines: o.historyLines ?? 50,
      recentHistory: (name, count) => commands.recentHistory(name, count),
      onAlert: (from, buffer, title, body) => {
        const bell = this.#notifier.alert(from, buffer === this.#view.shown, title, body);
        if (bell !== '' && !this.#isClosed) this.#term.write(bell);
      },
    });
    this.#runner = new CommandRunner(commands, this.#view, {
      mute: (name) => this.#notifier.mute(name),
      unmute: (name) => this.#notifier.unmute(name),
      showOpen: (name) => this.#showOpen(name),
      help: () => this.#help(),
      quit: () => this.#quit(),
      changed: () => this.#schedule(false),
    });
    this.#term.on('action', (a) => this.#onAction(a));
    this.#term.on('paste', (text, isCut) => this.#onPaste(text, isCut));
    this.#term.on('resize', () => {
      this.#renderer.reset();
      this.#schedule(true);
    });
  }

  start(ready: ReadyEvent): void {
    this.#term.enter();
    this.#view.say(
      `natter: ${ready.name} ready at ${ready.ip}:${ready.port} via ${ready.via}. Type /help or press F1 for help.`,
      STYLE.bold,
    );
    this.#view.say('Each conversation gets a buffer (Alt-1..9, Ctrl-N/P); name/message writes to anyone.', STYLE.dim);
    this.#refreshNames();
    this.#tick();
    this.#render();
  }

  event(e: ChatEvent): void {
    if (this.#isClosed) return;
    for (const name of namesIn(e)) this.#names.add(name);
    if (this.#isQuitting || e.type === 'shutdown') {
      if (e.type === 'shutdown') this.#farewell.push('natter: the directory shut natter down');
      if (e.type === 'kept')
        this.#farewell.push(
          `natter: ${e.count === 1 ? '1 message' : `${e.count} messages`} to ${sanitize(e.to)} stay${e.count === 1 ? 's' : ''} queued; they leave when natter runs again and ${sanitize(e.to)} can be reached`,
        );
    }
    this.#view.present(e);
    this.#schedule(false);
  }

  caughtUp(): void {
    this.#view.caughtUp();
    this.#schedule(false);
  }

  close(): void {
    if (this.#isClosed) return;
    this.#render();
    this.#isClosed = true;
    clearImmediate(this.#immediate);
    clearTimeout(this.#timer);
    clearTimeout(this.#clockTimer);
    this.#term.leave();
    for (const line of this.#farewell) this.#term.write(`${line}\n`);
  }

  // -------------------------------------------------------------------------
  // Drawing

  /** Asks for a frame: on the next turn for a key, else at most once per FRAME_MS. */
  #schedule(isUrgent: boolean): void {
    if (this.#isClosed || this.#immediate !== undefined) return;
    if (isUrgent) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#immediate = setImmediate(() => this.#render());
      return;
    }
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#lastFrame + FRAME_MS - performance.now());
    this.#timer = setTimeout(() => this.#render(), wait);
  }

  #render(): void {
    this.#immediate = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#isClosed) return;
    // A terminal that cannot keep up gets the latest frame once it drains, not every frame in between.
    if (this.#isDraining) return;
    this.#lastFrame = performance.now();
    const view = this.#view;
    const isSameBuffer = this.#shownLastFrame === view.current;
    this.#shownLastFrame = view.current;
    const drawn = draw(this.#state(), this.#term.columns, this.#term.rows);
    const out = this.#renderer.render(drawn.frame, drawn.cursor, isSameBuffer ? drawn.scroll : undefined);
    if (out !== '' && !this.#term.write(out)) {
      this.#isDraining = true;
      this.#term.output.once('drain', () => {
        this.#isDraining = false;
        this.#schedule(true);
      });
    }
  }

  #state(): ScreenState {
    const view = this.#view;
    const conversation = view.conversation;
    const d = view.directory;
    const status =
      d === undefined
        ? undefined
        : d.isReachable
          ? { text: 'directory ✓', short: 'dir ✓', style: STYLE.bar }
          : { text: 'directory ✗ retrying', short: 'dir ✗', style: STYLE.barAlert };
    return {
      buffers: view.buffers,
      current: view.current,
      self: this.#s.name,
      title: view.titleOf(view.shown),
      status,
      input: this.#input,
      prompt: `${conversation ?? ''}> `,
      counter: counterOf(this.#input.text),
      paste:
        this.#paste === undefined
          ? undefined
          : {
              lines: this.#paste.lines,
              question: `send these ${this.#paste.lines.length} lines to ${this.#paste.to}, one message each? Enter sends, Esc cancels`,
            },
      now: Date.now(),
    };
  }

  /** Redraws when the minute changes, for the clock in the status bar. */
  #tick(): void {
    this.#clockTimer = setTimeout(
      () => {
        this.#schedule(false);
        this.#tick();
      },
      60_000 - (Date.now() % 60_000) + 50,
    );
    this.#clockTimer.unref();
  }

  // -------------------------------------------------------------------------
  // Keys

  #onAction(a: Action): void {
    if (this.#isClosed) return;
    const input = this.#input;
    const view = this.#view;
    if (a.kind !== 'complete') this.#completer.reset();
    if (this.#paste !== undefined && a.kind !== 'focus' && a.kind !== 'quit' && a.kind !== 'redraw') {
      if (a.kind === 'submit') this.#sendPaste();
      else if (a.kind === 'cancel' || a.kind === 'deleteOrQuit') {
        this.#view.say(`* the ${this.#paste.lines.length} pasted lines were not sent`, STYLE.dim, view.shown);
        this.#paste = undefined;
      }
      this.#schedule(true);
      return;
    }
    const area = Math.max(1, this.#term.rows - 3);
    switch (a.kind) {
      case 'insert':
        input.insert(a.text);
        break;
      case 'submit': {
        const line = input.take();
        view.shown.history.add(line);
        this.#runner.line(line);
        break;
      }
      case 'backspace':
      case 'left':
      case 'right':
      case 'home':
      case 'end':
      case 'wordLeft':
      case 'wordRight':
      case 'killToEnd':
      case 'killToStart':
      case 'killWordBack':
        input[a.kind]();
        break;
      case 'delete':
        input.deleteForward();
        break;
      case 'deleteOrQuit':
        if (input.text === '') void this.#quit();
        else input.deleteForward();
        break;
      case 'historyUp': {
        const line = view.shown.history.up(input.text);
        if (line !== undefined) input.set(line);
        break;
      }
      case 'historyDown': {
        const line = view.shown.history.down();
        if (line !== undefined) input.set(line);
        break;
      }
      case 'complete':
        this.#completer.complete(input, COMMANDS, [...this.#names, ...view.buffers.filter((b) => !b.isStatus).map((b) => b.name)]);
        this.#refreshNames();
        break;
      case 'pageUp':
        view.shown.scroll += Math.max(1, area - 1);
        break;
      case 'pageDown':
        view.shown.scroll = Math.max(0, view.shown.scroll - Math.max(1, area - 1));
        break;
      case 'lineUp':
        view.shown.scroll++;
        break;
      case 'lineDown':
        view.shown.scroll = Math.max(0, view.shown.scroll - 1);
        break;
      case 'buffer':
        view.show(a.index);
        break;
      case 'nextBuffer':
        view.show((view.current + 1) % view.buffers.length);
        break;
      case 'previousBuffer':
        view.show((view.current + view.buffers.length - 1) % view.buffers.length);
        break;
      case 'help':
        this.#help();
        break;
      case 'redraw':
        this.#renderer.reset();
        break;
      case 'quit':
        void this.#quit();
        break;
      case 'focus':
        this.#notifier.isFocused = a.isFocused;
        return;
      case 'cancel':
      case 'none':
        break;
    }
    this.#schedule(true);
  }

  #help(): void {
    const b = this.#view.shown;
    for (const line of HELP) this.#view.plain(line, b);
    for (const line of KEYS_HELP) this.#view.plain(line, b);
  }

  async #quit(): Promise<void> {
    this.#isQuitting = true;
    this.#view.say('* leaving…', STYLE.dim, this.#view.shown);
    this.#schedule(true);
    await this.#s.quit();
  }

  /** Completion learns who the ways of finding peers know, in the background. */
  #refreshNames(): void {
    void this.#s.names().then((names) => {
      for (const n of names) this.#names.add(n);
    });
  }

  // -------------------------------------------------------------------------
  // Pasting

  #onPaste(raw: string, isCut: boolean): void {
    if (this.#isClosed) return;
    const view = this.#view;
    const lines = raw.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
    if (lines.length <= 1) {
      this.#input.insert(lines[0] ?? '');
      this.#schedule(true);
      return;
    }
    const to = view.conversation;
    const kept = lines.filter((l) => l.trim() !== '');
    const tooLong = kept.findIndex((l) => [...l].length > MAX_TYPED_CHARS);
    if (to === undefined)
      view.say(
        `! pasted ${lines.length} lines here, where they go nowhere: show a conversation first (Alt-2.., /switch NAME); nothing was sent`,
        STYLE.error,
        view.shown,
      );
    else if (isCut) view.say('! the paste was too long to take; nothing was sent', STYLE.error, view.shown);
    else if (tooLong >= 0)
      view.say(
        `! pasted line ${tooLong + 1} has ${[...(kept[tooLong] as string)].length} characters, the limit is ${MAX_TYPED_CHARS}; nothing was sent`,
        STYLE.error,
        view.shown,
      );
    else if (kept.length > 0) this.#paste = { lines: kept, to };
    this.#schedule(true);
  }

  #sendPaste(): void {
    const paste = this.#paste;
    this.#paste = undefined;
    if (paste !== undefined) this.#runner.paste(paste.lines, paste.to, this.#view.shown);
  }

  #showOpen(name: string): void {
    this.#view.open(name, true);
    this.#names.add(name);
    this.#schedule(true);
  }
}

/** "N left" as the message limit nears, and how far over it is. */
function counterOf(line: string): Span | undefined {
  if (line.startsWith('/')) return undefined;
  const slash = addressEnd(line);
  const text = slash > 0 ? line.slice(slash + 1) : line;
  const left = MAX_TYPED_CHARS - [...text].length;
  if (left > 50) return undefined;
  return left >= 0 ? { text: `${left} left`, style: left > 10 ? STYLE.dim : STYLE.warn } : { text: `${-left} over`, style: STYLE.error };
}

/** Names an event tells of, for completion. */
function namesIn(e: ChatEvent): string[] {
  switch (e.type) {
    case 'message':
    case 'request':
      return [e.from];
    case 'queued':
      return 'room' in e ? [] : [e.to];
    case 'waiting':
      return [e.to];
    case 'room-message':
      return [e.from];
    case 'connected':
      return [e.with];
    case 'who':
      return e.peers.map((p) => p.name);
    default:
      return [];
  }
}
