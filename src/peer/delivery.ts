/**
 * Nothing lost (protocol.md §7.1), the sending side: every message the user
 * enters is in the store's outbox before it goes anywhere, goes out in
 * order on a ready chat, and leaves the outbox only at its receipt. A
 * connection lost before the receipts puts what it carried back at the head
 * of the queue; a peer that cannot be reached is tried again, backing off.
 * (The receiving side is the Inbox.)
 *
 *   stage() ──▶ queued (in the store, one write per tick) ──TEXT──▶ sent ──RCPT──▶ delivered
 *                  ▲                                                  │
 *                  └──────────── connection lost before RCPT ─────────┘
 *
 * A message keeps its id's 16 bytes beside the hex form people see: the
 * TEXT carries them, and a receipt is matched by them.
 *
 * Delivery knows messages and connections, not chats: its owner (the
 * PeerNode) is asked to open the way to a peer (`open`) and tells delivery
 * when a chat is ready (flush) or a connection is gone.
 */
import type { EventEmitter } from 'node:events';
import type { Scheduler, TimerHandle } from '../clock.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { OutMessage, PeerNodeEvents } from './events.ts';
import { Fifo } from './fifo.ts';
import type { LinkPool } from './links/link-pool.ts';
import { bytesOfId, newMessageIdPair, MESSAGE_ID_BYTES, type MessageId } from './store/message-id.ts';
import type { MessageStore, StoredMessage } from './store/message-store.ts';

/**
 * Queued bytes above which sending waits for the connection to drain: a
 * sender faster than the network is slowed down instead of queueing without
 * bound (or tripping the output queue cap meant for peers that stop reading).
 */
const SEND_HIGH_WATER = 64 * 1024;
const RESOLVED = Promise.resolve();

/** A message on its way: what the user sees of it, and its id's bytes for the wire and the receipt. */
interface Outgoing extends OutMessage {
  readonly bytes: Uint8Array;
}

function isSameId(a: Uint8Array, b: Uint8Array): boolean {
  for (let k = 0; k < MESSAGE_ID_BYTES; k++) if (a[k] !== b[k]) return false;
  return true;
}

/** What waits for one peer. */
interface Queue {
  peer: string;
  /** Messages not yet delivered, oldest first (all of them are in the store). */
  outbox: Fifo<Outgoing>;
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
  /** In the batch being recorded: open() is due for it once the batch is in. */
  isTouched: boolean;
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
  #staged: { queue: Queue; message: Outgoing }[] = [];
  #stagedCommit: Promise<void> | undefined;
  /** Receipts of this tick, for the store's outbox. */
  #receipts = new Map<string, MessageId[]>();
  #isStopping = false;
  /** Bound once: what the end of a tick runs. */
  readonly #commitStaged = (): void => this.#commit();
  readonly #recordReceiptsLater = (): void => this.recordReceipts();

  constructor(options: DeliveryOptions) {
    this.#o = options;
  }

  /** Puts back what an earlier run left in the store's outbox; it goes as soon as its peers can be reached. */
  recover(): void {
    for (const m of this.#o.store.pending()) this.#queue(m.peer).outbox.push({ id: m.id, bytes: bytesOfId(m.id), ts: m.ts, text: m.text });
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
      if (link?.isReady && link.conn.state === 'open') {
        if (queue.sentCount > 0) due.push({ peer: queue.peer, count: queue.sentCount });
      } else if (this.#o.links.isDialing(queue.peer) || (link?.isOutbound && now - link.attachedAt < answerWaitMs)) {
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
    for (const q of this.#queues.values()) {
      for (const [i, message] of q.outbox.toArray().entries()) out.push({ peer: q.peer, message, isSent: i < q.sentCount });
    }
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
      throw new NatterError(
        ERROR_CODES.OUTBOX_FULL,
        `${queue.outbox.length + queue.staged} messages to ${peer} are already waiting; not sent`,
      );
    }
    // Checked now, not when it leaves: a message that could never be sent must not enter the outbox.
    const size = Buffer.byteLength(text, 'utf8');
    if (size > this.#o.maxTextBytes) {
      this.#forgetIfEmpty(queue);
      throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, `message is ${size} bytes, the limit is ${this.#o.maxTextBytes}`);
    }
    const { bytes, id } = newMessageIdPair();
    const message: Outgoing = { id, bytes, ts: Date.now(), text };
    queue.staged++;
    this.#staged.push({ queue, message });
    this.#stagedCommit ??= RESOLVED.then(this.#commitStaged);
    return this.#stagedCommit.then(() => {
      const room = this.#room(queue);
      return room === undefined ? id : room.then(() => id);
    });
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
    const stored: StoredMessage[] = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      const { queue, message } = batch[i] as { queue: Queue; message: Outgoing };
      queue.staged--;
      stored[i] = { id: message.id, peer: queue.peer, ts: message.ts, text: message.text };
    }
    try {
      this.#o.store.enqueue(stored);
    } catch (err) {
      for (const { queue } of batch) this.#forgetIfEmpty(queue);
      throw err;
    }
    const touched: Queue[] = [];
    for (const { queue, message } of batch) {
      queue.outbox.push(message);
      if (!queue.isTouched) {
        queue.isTouched = true;
        touched.push(queue);
      }
      this.#o.events.emit('queued', queue.peer, message, false);
    }
    for (const queue of touched) {
      queue.isTouched = false;
      this.#o.open(queue.peer);
    }
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
      const m = queue.outbox.at(queue.sentCount++) as Outgoing;
      m.wasSent = true;
      conn.send({ type: 'TEXT', id: m.bytes, ts: m.ts, text: m.text });
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
    if (
      this.#isStopping ||
      queue.outbox.length === 0 ||
      queue.retryTimer !== undefined ||
      links.link(peer) !== undefined ||
      links.isDialing(peer)
    )
      return;
    queue.retryTimer = this.#o.scheduler.setTimeout(() => {
      queue.retryTimer = undefined;
      queue.retryDelayMs = Math.min(queue.retryDelayMs * 2, this.#o.maxRetryIntervalMs);
      if (!this.#isStopping) this.#o.open(peer);
    }, delayMs ?? queue.retryDelayMs);
  }

  /** The peer recorded the message with this id (its 16 bytes): it leaves the outbox. */
  receipt(peer: string, idBytes: Uint8Array): void {
    const queue = this.#queues.get(peer);
    if (queue === undefined) return;
    // Receipts come in the order the messages went, so this is nearly always the first one.
    const first = queue.outbox.at(0);
    const i = first !== undefined && isSameId(first.bytes, idBytes) ? 0 : queue.outbox.findIndex((m) => isSameId(m.bytes, idBytes));
    if (i < 0) return; // a receipt for a copy sent again: delivered already
    const id = (queue.outbox.at(i) as Outgoing).id;
    queue.outbox.removeAt(i);
    if (i < queue.sentCount) queue.sentCount--;
    // Something got through: a later failure is news again.
    queue.lastWaitCode = undefined;
    let ids = this.#receipts.get(peer);
    if (ids === undefined) {
      if (this.#receipts.size === 0) setImmediate(this.#recordReceiptsLater);
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
    this.#o.store.dropped(
      peer,
      taken.map((m) => m.id),
    );
    this.#wakeRoomWaiters(queue);
    this.#forgetIfEmpty(queue);
    return taken;
  }

  /**
   * Stops: no retries; the receipts of this moment are recorded. Returns
   * what is left, per peer.
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
        isTouched: false,
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
