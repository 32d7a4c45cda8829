import type { MessageId } from './message-id.ts';
import {
  checkMessages,
  clampCount,
  closedError,
  DEFAULT_RECEIVED_WINDOW,
  historyEntry,
  positiveInteger,
  type HistoryEntry,
  type MessageStore,
  type StoredMessage,
} from './message-store.ts';
import { newToOutbox, Outbox } from './outbox.ts';
import { newToReceived, ReceivedWindow } from './received-window.ts';

/** How many history entries a MemoryMessageStore keeps per peer unless told otherwise. */
export const DEFAULT_MEMORY_HISTORY_LIMIT = 1_000;

/** A MessageStore that keeps everything in memory and forgets it on exit (tests, and users who want no files). */
export class MemoryMessageStore implements MessageStore {
  readonly isHistoryOn: boolean;
  readonly #historyLimit: number;
  /** Dates history entries ('at'). */
  readonly #wallClock: () => number;
  readonly #outbox = new Outbox();
  readonly #received: ReceivedWindow;
  readonly #history = new Map<string, HistoryEntry[]>();
  #isClosed = false;

  /**
   * `historyLimit`: entries kept per peer (default 1000). `receivedWindow`:
   * received ids remembered per peer (default 10,000).
   */
  constructor(options: { isHistoryOn?: boolean; historyLimit?: number; receivedWindow?: number; wallClock?: () => number } = {}) {
    this.isHistoryOn = options.isHistoryOn ?? true;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#historyLimit = positiveInteger(options.historyLimit, DEFAULT_MEMORY_HISTORY_LIMIT, 'historyLimit');
    this.#received = new ReceivedWindow(positiveInteger(options.receivedWindow, DEFAULT_RECEIVED_WINDOW, 'receivedWindow'));
  }

  pending(): StoredMessage[] {
    return this.#outbox.list();
  }

  enqueue(msgs: readonly StoredMessage[]): void {
    this.#checkOpen();
    checkMessages(msgs, 'enqueue');
    for (const m of newToOutbox(this.#outbox, msgs)) {
      this.#outbox.add(m);
      this.#remember(m, 'out');
    }
  }

  delivered(peer: string, ids: readonly MessageId[]): void {
    this.#checkOpen();
    for (const id of this.#outbox.owned(peer, ids)) this.#outbox.remove(id);
  }

  dropped(peer: string, ids: readonly MessageId[]): void {
    this.delivered(peer, ids);
  }

  hasReceived(peer: string, id: MessageId): boolean {
    return this.#received.has(peer, id);
  }

  received(msgs: readonly StoredMessage[]): void {
    this.#checkOpen();
    checkMessages(msgs, 'received');
    for (const m of newToReceived(this.#received, msgs)) {
      this.#received.add(m.peer, m.id);
      this.#remember(m, 'in');
    }
  }

  history(peer: string, n: number): HistoryEntry[] {
    const count = clampCount(n);
    if (count === 0) return [];
    // The log may hold up to twice the limit between trims (#remember): show at most the limit.
    const log = this.#history.get(peer) ?? [];
    return log.slice(-Math.min(count, this.#historyLimit)).map((e) => ({ ...e }));
  }

  close(): void {
    this.#isClosed = true;
  }

  #remember(m: StoredMessage, dir: 'in' | 'out'): void {
    if (!this.isHistoryOn) return;
    let log = this.#history.get(m.peer);
    if (log === undefined) {
      log = [];
      this.#history.set(m.peer, log);
    }
    log.push(historyEntry(m, dir, this.#wallClock()));
    // Trimmed in steps, not one shift() per message: a shift moves every entry.
    if (log.length >= 2 * this.#historyLimit) log.splice(0, log.length - this.#historyLimit);
  }

  #checkOpen(): void {
    if (this.#isClosed) throw closedError('(in memory)');
  }
}
