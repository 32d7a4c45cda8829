import { bytesOfId, hexOfId, type MessageId } from './message-id.ts';
import {
  checkIdBytes,
  checkMessages,
  clampCount,
  closedError,
  DEFAULT_RECEIVED_WINDOW,
  idBytesOf,
  positiveInteger,
  type HistoryEntry,
  type MessageStore,
  type StoredMessage,
} from './message-store.ts';
import { newToOutbox, Outbox } from './outbox.ts';
import { ReceivedWindow } from './received-window.ts';

/** How many history entries a MemoryMessageStore keeps per peer unless told otherwise. */
export const DEFAULT_MEMORY_HISTORY_LIMIT = 1_000;

/** A history entry as kept: a received message keeps its id's bytes until someone asks for its history. */
interface KeptEntry {
  ts: number;
  dir: 'in' | 'out';
  id: MessageId | Buffer;
  text: string;
  at: number;
}

/** A MessageStore that keeps everything in memory and forgets it on exit (tests, and users who want no files). */
export class MemoryMessageStore implements MessageStore {
  readonly isHistoryOn: boolean;
  readonly #historyLimit: number;
  /** Dates history entries ('at'). */
  readonly #wallClock: () => number;
  readonly #outbox = new Outbox();
  readonly #received: ReceivedWindow;
  readonly #history = new Map<string, KeptEntry[]>();
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
    const at = this.#wallClock();
    for (const m of newToOutbox(this.#outbox, msgs)) {
      this.#outbox.add(m);
      this.#remember(m.peer, { ts: m.ts, dir: 'out', id: m.id, text: m.text, at });
    }
  }

  delivered(peer: string, ids: readonly MessageId[]): void {
    this.#checkOpen();
    this.#outbox.removeOwned(peer, ids);
  }

  dropped(peer: string, ids: readonly MessageId[]): void {
    this.delivered(peer, ids);
  }

  hasReceived(peer: string, id: MessageId | Uint8Array): boolean {
    const bytes = idBytesOf(id);
    return bytes !== undefined && this.#received.has(peer, bytes);
  }

  received(msgs: readonly StoredMessage[]): void {
    this.#checkOpen();
    checkMessages(msgs, 'received');
    for (const m of msgs) this.receive(m.peer, bytesOfId(m.id), m.ts, m.text);
  }

  receive(peer: string, id: Uint8Array, ts: number, text: string): boolean {
    this.#checkOpen();
    checkIdBytes(id);
    if (!this.#received.add(peer, id)) return false;
    // A copy of the bytes: the id given may be a view of a whole received chunk.
    this.#remember(peer, { ts, dir: 'in', id: Buffer.from(id), text, at: this.#wallClock() });
    return true;
  }

  commit(): void {
    this.#checkOpen();
  }

  history(peer: string, n: number): HistoryEntry[] {
    const count = clampCount(n);
    if (count === 0) return [];
    // The log may hold up to twice the limit between trims (#remember): show at most the limit.
    const log = this.#history.get(peer) ?? [];
    return log
      .slice(-Math.min(count, this.#historyLimit))
      .map((e) => ({ ts: e.ts, dir: e.dir, id: typeof e.id === 'string' ? e.id : hexOfId(e.id), text: e.text, at: e.at }));
  }

  close(): void {
    this.#isClosed = true;
  }

  #remember(peer: string, entry: KeptEntry): void {
    if (!this.isHistoryOn) return;
    let log = this.#history.get(peer);
    if (log === undefined) {
      log = [];
      this.#history.set(peer, log);
    }
    log.push(entry);
    // Trimmed in steps, not one shift() per message: a shift moves every entry.
    if (log.length >= 2 * this.#historyLimit) log.splice(0, log.length - this.#historyLimit);
  }

  #checkOpen(): void {
    if (this.#isClosed) throw closedError('(in memory)');
  }
}
