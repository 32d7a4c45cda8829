/**
 * Nothing lost (protocol.md §7.1): every message the user enters is in the
 * store's outbox before it goes anywhere, goes out in order on a ready chat,
 * and leaves the outbox only at its receipt. A connection lost before the
 * receipts puts what it carried back at the head of the queue; a peer that
 * cannot be reached is tried again, backing off.
 *
 *   stage() ──▶ queued (in the store, one write per tick) ──TEXT──▶ sent ──RCPT──▶ delivered
 *                  ▲                                                  │
 *                  └──────────── connection lost before RCPT ─────────┘
 *
 * The receiving side is here too: a TEXT seen before (by its id) is dropped
 * and acknowledged again; a new one is recorded, then shown, then
 * acknowledged.
 *
 * Delivery knows messages and connections, not chats: its owner (the
 * PeerNode) is asked to open the way to a peer (`open`) and tells delivery
 * when a chat is ready (flush) or a connection is gone.
 */
import type { EventEmitter } from 'node:events';
import type { Scheduler, TimerHandle } from '../clock.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import type { OutMessage, PeerNodeEvents } from './events.ts';
import { Fifo } from './fifo.ts';
import type { LinkPool } from './links/link-pool.ts';
import { newMessageId, type MessageId } from './store/message-id.ts';
import type { MessageStore } from './store/message-store.ts';

/**
 * Queued bytes above which sending waits for the connection to drain: a
 * sender faster than the network is slowed down instead of queueing without
 * bound (or tripping the output queue cap meant for peers that stop reading).
 */
const SEND_HIGH_WATER = 64 * 1024;
const RESOLVED = Promise.resolve();

/** What waits for one peer. */
interface Queue {
  peer: string;
  /** Messages not yet delivered, oldest first (all of them are in the store). */
  outbox: Fifo<OutMessage>;
  /** How many at the head of `outbox` went out on the current connection. */
  sentCount: number;
  /** Messages entered but not yet in the store (this tick's batch). */
  staged: number;
  retryTimer: TimerHandle | undefined;
  retryDelayMs: number;
  /** The code of the last failure told as 'waiting', so a retry failing the same way is not told again. */
  lastWaitCode: string | undefined;
  /** Senders waiting for receipts to make room in the outbox. */
  roomWaiters: (() => void)[];
  /** flush() stopped at the high-water mark and waits for the connection to drain. */
  isFlushWaiting: boolean;
}

export interface DeliveryOptions {
  store: MessageStore;
  /** The connections: which is ready, which is being dialed, and where traffic goes. */
  links: Pick<LinkPool, 'link' | 'isDialing' | 'traffic'>;
  /** The node's events: queued, sent, delivered, waiting, kept, message, error. */
  events: EventEmitter<PeerNodeEvents>;
  /** Asked to open the way to `peer` for what waits (a chat, a connection); delivery flushes once it is ready. */
  open(peer: string): void;
  maxOutbox: number;
  maxTextBytes: number;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  /** Longest a sender is held while half the outbox waits for receipts. */
  roomWaitMs: number;
  scheduler: Scheduler;
  logger: Logger;
}

export class Delivery {
  readonly #o: DeliveryOptions;
  readonly #queues = new Map<string, Queue>();
  /** Messages entered this tick, recorded in the store together (one write) at the end of it. */
  #staged: { queue: Queue; message: OutMessage }[] = [];
  #stagedCommit: Promise<void> | undefined;
  /** Receipts of this tick, for the store's outbox. */
  #receipts = new Map<string, MessageId[]>();
  #isStopping = false;

  constructor(options: DeliveryOptions) {
    this.#o = options;
  }

  /** Puts back what an earlier run left in the store's outbox; it goes as soon as its peers can be reached. */
  recover(): void {
    for (const m of this.#o.store.pending()) this.#queue(m.peer).outbox.push({ id: m.id, ts: m.ts, text: m.text });
    for (const queue of this.#queues.values()) if (queue.outbox.length > 0) this.scheduleRetry(queue.peer, 0);
  }

  /**
   * Peers with messages on their way, and how many: sent on an open chat
   * and awaiting receipts, or waiting for a chat being opened (a dial, or a
   * CONN sent less than `answerWaitMs` before `now`). A peer that answers
   * by itself (a friend, or --auto-accept) does so within a round trip; one
   * that has not answered by then is asking its user, and not worth waiting
   * for: its messages stay queued.
   */
  onTheWay(now: number, answerWaitMs: number): { peer: string; count: number }[] {
    const due: { peer: string; count: number }[] = [];
    for (const queue of this.#queues.values()) {
      if (queue.outbox.length === 0) continue;
      const link = this.#o.links.link(queue.peer);
      if (link !== undefined && link.isReady && link.conn.state === 'open') {
        if (queue.sentCount > 0) due.push({ peer: queue.peer, count: queue.sentCount });
      } else if (this.#o.links.isDialing(queue.peer) || (link !== undefined && link.isOutbound && now - link.attachedAt < answerWaitMs)) {
        due.push({ peer: queue.peer, count: queue.outbox.length });
      }
    }
    return due;
  }

  /** Messages not yet delivered to `peer`, entered ones not yet recorded included. */
  waiting(peer: string): number {
    const queue = this.#queues.get(peer);
    return queue === undefined ? 0 : queue.outbox.length + queue.staged;
  }

  /** Every message not yet delivered, per peer, oldest first, with whether it went out on the current connection. */
  list(): { peer: string; message: OutMessage; isSent: boolean }[] {
    const out: { peer: string; message: OutMessage; isSent: boolean }[] = [];
    for (const q of this.#queues.values()) q.outbox.toArray().forEach((message, i) => out.push({ peer: q.peer, message, isSent: i < q.sentCount }));
    return out;
  }

  /** The batch of this tick, recorded (or failed): what stop() lets finish first. */
  get committed(): Promise<void> {
    return (this.#stagedCommit ?? RESOLVED).catch(() => undefined);
  }

  /**
   * Puts a message into this tick's batch for the store; resolves with its id
   * once it is recorded (and the connection has room).
   * @throws NatterError OUTBOX_FULL, TEXT_TOO_LONG
   */
  stage(peer: string, text: string): Promise<MessageId> {
    const queue = this.#queue(peer);
    if (queue.outbox.length + queue.staged >= this.#o.maxOutbox) {
      throw new NatterError(ERROR_CODES.OUTBOX_FULL, `${queue.outbox.length + queue.staged} messages to ${peer} are already waiting; not sent`);
    }
    // Checked now, not when it leaves: a message that could never be sent must not enter the outbox.
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#o.maxTextBytes) {
      this.#forgetIfEmpty(queue);
      throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, `message is ${bytes} bytes, the limit is ${this.#o.maxTextBytes}`);
    }
    const message: OutMessage = { id: newMessageId(), ts: Date.now(), text };
    queue.staged++;
    this.#staged.push({ queue, message });
    this.#stagedCommit ??= RESOLVED.then(() => this.#commit());
    return this.#stagedCommit.then(() => this.#room(queue)).then(() => message.id);
  }

  /**
   * Records this tick's messages in the store with one write, then lets them
   * go. If the store cannot take them, none of them counts as entered: every
   * stage() of the batch rejects with STORAGE_FAILED and nothing leaves.
   */
  #commit(): void {
    const batch = this.#staged;
    this.#staged = [];
    this.#stagedCommit = undefined;
    for (const { queue } of batch) queue.staged--;
    try {
      this.#o.store.enqueue(batch.map(({ queue, message }) => ({ id: message.id, peer: queue.peer, ts: message.ts, text: message.text })));
    } catch (err) {
      for (const { queue } of batch) this.#forgetIfEmpty(queue);
      throw err;
    }
    const touched = new Set<Queue>();
    for (const { queue, message } of batch) {
      queue.outbox.push(message);
      touched.add(queue);
      this.#o.events.emit('queued', queue.peer, message, false);
    }
    for (const queue of touched) this.#o.open(queue.peer);
  }

  /**
   * Backpressure on an open chat: resolves at once unless the connection's
   * queue is full (then when it drains) or half the outbox waits for
   * receipts (then when they come, or the connection goes).
   */
  #room(queue: Queue): Promise<void> | undefined {
    const link = this.#o.links.link(queue.peer);
    if (link === undefined || !link.isReady) return undefined;
    if (link.conn.queuedBytes >= SEND_HIGH_WATER) return link.conn.drained();
    if (queue.outbox.length < this.#o.maxOutbox / 2) return undefined;
    // Bounded: a peer that never acknowledges must not hold the caller (a UI's command queue) for good.
    // The message is in the outbox either way; this only slows the caller down.
    return new Promise((resolve) => {
      const timer = this.#o.scheduler.setTimeout(resolve, this.#o.roomWaitMs);
      queue.roomWaiters.push(() => {
        this.#o.scheduler.clearTimeout(timer);
        resolve();
      });
    });
  }

  #wakeRoomWaiters(queue: Queue): void {
    const waiters = queue.roomWaiters;
    queue.roomWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Sends what waits for `peer`, oldest first, on its ready connection, as
   * far as the connection takes it: above the high-water mark the rest waits
   * for 'drain'. (A thousand queued messages sent at once after a reconnect
   * would overrun the connection's output cap, lose it, and do the same
   * again at every retry.)
   */
  flush(peer: string): void {
    const queue = this.#queues.get(peer);
    const link = this.#o.links.link(peer);
    if (queue === undefined || link === undefined || !link.isReady) return;
    const conn = link.conn;
    while (queue.sentCount < queue.outbox.length && conn.state === 'open') {
      if (conn.queuedBytes >= SEND_HIGH_WATER) {
        if (!queue.isFlushWaiting) {
          queue.isFlushWaiting = true;
          void conn.drained().then(() => {
            queue.isFlushWaiting = false;
            if (this.#o.links.link(peer)?.conn === conn) this.flush(peer);
          });
        }
        break;
      }
      const m = queue.outbox.at(queue.sentCount++) as OutMessage;
      m.wasSent = true;
      conn.send({ type: 'TEXT', id: m.id, ts: m.ts, text: m.text });
      this.#o.events.emit('sent', peer, m.id);
    }
    this.#o.links.traffic(peer);
  }

  /** `peer`'s connection is gone: what went out without a receipt goes again on the next one. */
  connectionGone(peer: string): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    queue.sentCount = 0;
    this.#wakeRoomWaiters(queue);
  }

  /** A chat opened: the backoff starts over, and no retry is due. */
  reachable(peer: string): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    queue.retryDelayMs = this.#o.retryIntervalMs;
    this.#o.scheduler.clearTimeout(queue.retryTimer);
    queue.retryTimer = undefined;
  }

  /** Cancels a pending retry (an attempt is being made now). */
  cancelRetry(peer: string): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    this.#o.scheduler.clearTimeout(queue.retryTimer);
    queue.retryTimer = undefined;
  }

  /** A try to reach `peer` failed: say so once per kind of failure, and try again later. */
  unreachable(peer: string, error: NatterError, isNeverSeen: boolean): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined || this.#isStopping || queue.outbox.length === 0) return;
    if (queue.lastWaitCode !== error.code) {
      queue.lastWaitCode = error.code;
      // A changed key is worth an error of its own: the user must act (/trust) or be warned.
      if (error.code === ERROR_CODES.KEY_MISMATCH) this.#o.events.emit('problem', error, peer);
      this.#o.events.emit('waiting', peer, queue.outbox.length, error, { isNeverSeen });
    }
    this.#o.logger.debug({ peer, code: error.code }, `messages wait: ${error.message}`);
    this.scheduleRetry(peer);
  }

  /** What waits for `peer` goes at the next chance, told again if it fails again (after /trust, say). */
  retryNow(peer: string): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined || queue.outbox.length === 0 || this.#o.links.link(peer) !== undefined) return;
    queue.retryDelayMs = this.#o.retryIntervalMs;
    queue.lastWaitCode = undefined;
    this.#o.open(peer);
  }

  /** Tries again to reach a peer with waiting messages after `delayMs` (backing off per failure). */
  scheduleRetry(peer: string, delayMs?: number): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    const links = this.#o.links;
    if (this.#isStopping || queue.outbox.length === 0 || queue.retryTimer !== undefined || links.link(peer) !== undefined || links.isDialing(peer)) return;
    queue.retryTimer = this.#o.scheduler.setTimeout(() => {
      queue.retryTimer = undefined;
      queue.retryDelayMs = Math.min(queue.retryDelayMs * 2, this.#o.maxRetryIntervalMs);
      if (!this.#isStopping) this.#o.open(peer);
    }, delayMs ?? queue.retryDelayMs);
  }

  /** The peer recorded the message with this id: it leaves the outbox. */
  receipt(peer: string, id: MessageId): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    // Receipts come in the order the messages went, so this is nearly always the first one.
    const i = queue.outbox.findIndex((m) => m.id === id);
    if (i < 0) return; // a receipt for a copy sent again: delivered already
    queue.outbox.removeAt(i);
    if (i < queue.sentCount) queue.sentCount--;
    // Something got through: a later failure is news again.
    queue.lastWaitCode = undefined;
    let ids = this.#receipts.get(peer);
    if (ids === undefined) {
      if (this.#receipts.size === 0) setImmediate(() => this.recordReceipts());
      ids = [];
      this.#receipts.set(peer, ids);
    }
    ids.push(id);
    if (queue.outbox.length < this.#o.maxOutbox / 2) this.#wakeRoomWaiters(queue);
    this.#o.events.emit('delivered', peer, id);
    this.#forgetIfEmpty(queue);
  }

  /**
   * Takes delivered messages out of the stored outbox, a batch at a time. A
   * batch lost to a crash only means those messages are sent again, and the
   * receiver drops the copies by id.
   */
  recordReceipts(): void {
    for (const [peer, ids] of this.#receipts) {
      try {
        this.#o.store.delivered(peer, ids);
      } catch (err) {
        this.#o.logger.warn({ peer, code: (err as NatterError).code }, `could not record receipts: ${(err as Error).message}`);
      }
    }
    this.#receipts.clear();
  }

  /**
   * Takes every message waiting for `peer` out, for good (a declined chat,
   * or the user dropping them), and records that in the store. Returns them.
   */
  takeAll(peer: string): OutMessage[] {
    const queue = this.#queues.get(peer);
    if (queue === undefined || queue.outbox.length === 0) return [];
    const taken = queue.outbox.toArray();
    queue.outbox.clear();
    queue.sentCount = 0;
    queue.lastWaitCode = undefined;
    this.#o.scheduler.clearTimeout(queue.retryTimer);
    queue.retryTimer = undefined;
    this.#o.store.dropped(peer, taken.map((m) => m.id));
    this.#wakeRoomWaiters(queue);
    this.#forgetIfEmpty(queue);
    return taken;
  }

  /**
   * A TEXT for an open chat: a copy of one seen before is dropped and
   * acknowledged again; a new one is recorded, then shown, then
   * acknowledged. Recording comes first, so a copy sent again after a crash
   * is recognised; and one message at a time, so a receiver killed between
   * recording and showing leaves at most that one unshown (it is in the
   * history). If the store cannot take it, it is neither shown nor
   * acknowledged, and the connection is closed: the sender keeps it and
   * tries again later.
   */
  receive(peer: string, conn: FramedConnection, msg: { id: MessageId; ts: number; text: string }): void {
    // Leaving: a message taken now might never be shown. Unacknowledged, it stays with its sender.
    if (this.#isStopping) return;
    const store = this.#o.store;
    if (store.hasReceived(peer, msg.id)) {
      conn.send({ type: 'RCPT', id: msg.id });
      return;
    }
    try {
      store.received([{ id: msg.id, peer, ts: msg.ts, text: msg.text }]);
    } catch (err) {
      const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.STORAGE_FAILED, String(err), { cause: err });
      this.#o.logger.error({ peer, code: error.code }, error.message);
      this.#o.events.emit('problem', error, peer);
      conn.fail(error);
      return;
    }
    this.#o.events.emit('message', peer, msg.text, { id: msg.id, ts: msg.ts });
    conn.send({ type: 'RCPT', id: msg.id });
  }

  /**
   * Stops: no retries, no new messages taken; the receipts of this moment
   * are recorded. Returns what is left, per peer.
   */
  stop(): { peer: string; count: number }[] {
    this.#isStopping = true;
    this.recordReceipts();
    const left: { peer: string; count: number }[] = [];
    for (const queue of this.#queues.values()) {
      this.#o.scheduler.clearTimeout(queue.retryTimer);
      queue.retryTimer = undefined;
      this.#wakeRoomWaiters(queue);
      if (queue.outbox.length > 0) left.push({ peer: queue.peer, count: queue.outbox.length });
    }
    return left;
  }

  #queue(peer: string): Queue {
    let queue = this.#queues.get(peer);
    if (queue === undefined) {
      queue = {
        peer,
        outbox: new Fifo(),
        sentCount: 0,
        staged: 0,
        retryTimer: undefined,
        retryDelayMs: this.#o.retryIntervalMs,
        lastWaitCode: undefined,
        roomWaiters: [],
        isFlushWaiting: false,
      };
      this.#queues.set(peer, queue);
    }
    return queue;
  }

  /** A peer with nothing waiting and nothing pending is forgotten, so strangers cannot grow the map. */
  #forgetIfEmpty(queue: Queue): void {
    if (
      queue.outbox.length === 0 &&
      queue.staged === 0 &&
      queue.roomWaiters.length === 0 &&
      queue.retryTimer === undefined &&
      !queue.isFlushWaiting &&
      this.#queues.get(queue.peer) === queue
    ) {
      this.#queues.delete(queue.peer);
    }
  }
}
