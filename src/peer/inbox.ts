/**
 * The receiving side of "nothing lost" (protocol.md §7.1): a TEXT seen
 * before (by its id) is dropped and acknowledged again; a new one is
 * recorded, then shown, then acknowledged.
 *
 *   TEXT ──▶ store.receive(id)  copy? ──▶ RCPT again
 *               │ new
 *               ▼
 *   this turn's batch ──(end of the turn)──▶ store.commit() ──▶ 'message', RCPT … in order
 *
 * Every TEXT of one turn of the event loop (those that came in one read) is
 * recorded with one commit: one write per file for all of them, not two per
 * message. Nothing of the batch is shown or acknowledged before the commit,
 * so a receipt still never comes before the record; a receiver killed
 * between the commit and the showing has those messages in its history
 * only. The id stays the 16 bytes the TEXT carried: the store remembers it
 * as bytes and the receipt is built from them.
 */
import type { EventEmitter } from 'node:events';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { TextMessage } from '../protocol/messages.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import type { PeerNodeEvents } from './events.ts';
import { hexOfId } from './store/message-id.ts';
import type { MessageStore } from './store/message-store.ts';

/** A TEXT taken this turn: shown (unless a copy) and acknowledged once the turn's batch is recorded. */
interface Taken {
  peer: string;
  conn: FramedConnection;
  msg: TextMessage;
  isCopy: boolean;
}

export interface InboxOptions {
  store: MessageStore;
  /** The node's events: message, problem. */
  events: EventEmitter<PeerNodeEvents>;
  logger: Logger;
}

export class Inbox {
  readonly #o: InboxOptions;
  #taken: Taken[] = [];
  #isCommitDue = false;
  #isStopping = false;
  /** Bound once: the end-of-turn commit. */
  readonly #commitLater = (): void => {
    this.#isCommitDue = false;
    this.commit();
  };

  constructor(options: InboxOptions) {
    this.#o = options;
  }

  /**
   * A TEXT for an open chat on `conn`. Leaving, nothing is taken: unacknowledged,
   * it stays with its sender. If the store cannot take it, the connection is
   * closed: the sender keeps it and tries again later.
   */
  receive(peer: string, conn: FramedConnection, msg: TextMessage): void {
    if (this.#isStopping) return;
    let isNew: boolean;
    try {
      isNew = this.#o.store.receive(peer, msg.id, msg.ts, msg.text);
    } catch (err) {
      this.#storageFailed([{ peer, conn }], err);
      return;
    }
    if (!isNew && this.#taken.length === 0) {
      // A copy of one recorded before: acknowledged again at once.
      conn.send({ type: 'RCPT', id: msg.id });
      return;
    }
    // A copy behind new messages of this turn waits with them, so its receipt is not before their record.
    this.#taken.push({ peer, conn, msg, isCopy: !isNew });
    if (!this.#isCommitDue) {
      this.#isCommitDue = true;
      queueMicrotask(this.#commitLater);
    }
  }

  /**
   * Records what this turn took, then shows and acknowledges it in order.
   * Called at the end of the turn, and before anything that must be seen
   * after those messages (an END, a lost connection, stopping).
   */
  commit(): void {
    const taken = this.#taken;
    if (taken.length === 0) return;
    this.#taken = [];
    try {
      this.#o.store.commit();
    } catch (err) {
      this.#storageFailed(taken, err);
      return;
    }
    const events = this.#o.events;
    const isHeard = events.listenerCount('message') > 0;
    for (const { peer, conn, msg, isCopy } of taken) {
      if (!isCopy && isHeard) events.emit('message', peer, msg.text, { id: hexOfId(msg.id), ts: msg.ts });
      conn.send({ type: 'RCPT', id: msg.id });
    }
  }

  /** Takes no more; what was taken is recorded and shown first. */
  stop(): void {
    this.commit();
    this.#isStopping = true;
  }

  /** None of them counts as received: each connection they came on is closed, its peer told once. */
  #storageFailed(taken: readonly { peer: string; conn: FramedConnection }[], err: unknown): void {
    const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.STORAGE_FAILED, String(err), { cause: err });
    const failed = new Set<FramedConnection>();
    for (const { peer, conn } of taken) {
      if (failed.has(conn)) continue;
      failed.add(conn);
      this.#o.logger.error({ peer, code: error.code }, error.message);
      this.#o.events.emit('problem', error, peer);
      conn.fail(error);
    }
  }
}
