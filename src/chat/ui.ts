/**
 * The seam between a chat and whatever presents it. A front end (the line
 * UI, the full-screen UI, the JSON mode, a bot) implements ChatUi: it is
 * given every UI-neutral event in order, and asks for things through
 * ChatCommands, each answered by events. It never sees the peer behind them.
 *
 *   startChat() ─▶ ChatSession ──events──▶ ChatUi.event()
 *                       ▲                        │
 *                       └──── ChatCommands ◀─────┘   (what the user typed)
 */
import type { HistoryEntry } from '../peer/store/message-store.ts';
import type { ChatEvent, ReadyEvent } from './events.ts';

/** What a UI may ask of a chat. Commands that can fail resolve false after an 'error' event says why. */
export interface ChatCommands {
  /** Our own display name. */
  readonly name: string;
  /** Answered by a 'who' event. */
  who(): Promise<boolean>;
  /** Answered by a 'whois' event. */
  whois(name: string): Promise<boolean>;
  /** Answered by a 'trusted' event. */
  trust(name: string): Promise<boolean>;
  /** Answered by a 'dump' event. */
  dump(): void;
  /** Answered by a 'doctor' event. */
  doctor(): Promise<boolean>;
  connect(name: string): Promise<boolean>;
  accept(name: string): Promise<boolean>;
  decline(name: string): Promise<boolean>;
  /** Resolves true once the message is in the outbox ('queued'). */
  send(name: string, text: string): Promise<boolean>;
  /** Answered by a 'history' event. */
  history(name: string, count: number): Promise<boolean>;
  end(name: string): Promise<boolean>;
  /** Answered by an 'outbox' event. */
  outbox(): void;
  /** Answered by a 'dropped' event. */
  drop(name: string): Promise<boolean>;
  /** Names every way of finding peers knows now: for completing a name. */
  names(): Promise<string[]>;
  /** The last `count` lines of the conversation with `name` from the history store, oldest first, without an event. */
  recentHistory(name: string, count: number): HistoryEntry[];
  /** END every chat, DOWN to the directory; the session then ends with `code`. */
  quit(code?: number): Promise<void>;
  /** The UI's output is full: stop reading from peers, so messages wait in the network rather than in memory. */
  pauseIncoming(): void;
  resumeIncoming(): void;
}

/** A front end of a chat. */
export interface ChatUi {
  /** The chat is ready; the first thing shown. */
  start(ready: ReadyEvent): void;
  /** One event, in the order they happened. */
  event(e: ChatEvent): void;
  /** Every event from before start() has been given (what an earlier run left in the outbox among them). */
  caughtUp(): void;
  /** The chat is over: leave the terminal (or the pipe) as it was found. */
  close(): void;
}

/** What runChatUi() needs of a session: its events, begin(), and 'done'. */
export interface ChatEventSource {
  on(event: 'event', listener: (e: ChatEvent) => void): unknown;
  once(event: 'done', listener: (code: number) => void): unknown;
  begin(): void;
}

/**
 * Presents a session through `ui` until it is done: start, the events held
 * since the session started, every event after; close. Resolves with the
 * exit code the session ended with.
 */
export async function runChatUi(session: ChatEventSource, ui: ChatUi, ready: ReadyEvent): Promise<number> {
  const done = new Promise<number>((resolve) => session.once('done', resolve));
  session.on('event', (e) => ui.event(e));
  ui.start(ready);
  session.begin();
  ui.caughtUp();
  const code = await done;
  ui.close();
  return code;
}
