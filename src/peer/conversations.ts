/**
 * The chats of a PeerNode (protocol.md §7): what each one's state is, and
 * what the wire and the user do to it. The node's public API asks for chats
 * here; the link pool's events drive them; Delivery sends what waits once a
 * chat is open, and the Inbox records and shows what comes in.
 *
 * Chat state towards one peer:
 *
 *   none ──connect()/send()──▶ outgoing ──RESP(accept)──▶ open
 *     │                           └──RESP(decline)──▶ none ("declined", "busy")
 *     └──CONN──▶ incoming ──accept()──▶ open        (or open at once with auto-accept)
 *                   └──decline()──▶ none
 *   open ──END either way, or connection lost──▶ none
 *
 * When two peers dial each other at the same moment, both connections carry
 * a CONN; the pool keeps the same one on both sides (see link-pool.ts). Both
 * wanted the chat, so the CONN on the kept connection is accepted without
 * asking.
 */
import type { EventEmitter } from 'node:events';
import type { Scheduler, TimerHandle } from '../clock.ts';
import type { Discovery } from '../discovery/discovery.ts';
import { ERROR_CODES, NatterError, errorFromWire } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Message, RhaveMessage, RitemsMessage } from '../protocol/messages.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import type { Delivery } from './delivery.ts';
import type { Inbox } from './inbox.ts';
import type { ChatState, EndReason, PeerNodeEvents } from './events.ts';
import type { LinkKind } from './links/connector.ts';
import type { DetachReason, LinkPool, PeerLink } from './links/link-pool.ts';
import type { KeyBook } from './key-book.ts';
import type { Sightings } from './sightings.ts';

export interface ConversationsOptions {
  pool: LinkPool;
  delivery: Delivery;
  inbox: Inbox;
  discovery: Discovery;
  sightings: Sightings;
  keyBook: KeyBook;
  /** The node: every event of a chat is the node's. */
  events: EventEmitter<PeerNodeEvents>;
  isAutoAccept: boolean;
  /** Chats open or being opened by us, at most. Requests waiting for an answer do not count. */
  maxChats: number;
  /** Requests waiting for the user's answer, at most: more are declined as busy. */
  maxRequests: number;
  /** A request not answered within this long is declined. */
  requestTimeoutMs: number;
  scheduler: Scheduler;
  logger: Logger;
  /** Rooms (src/peer/rooms): whose connections are welcome, and the room frames of open chats. */
  rooms?: RoomsSeam;
}

/** What the chats tell the rooms, and ask them. */
export interface RoomsSeam {
  /** A member of a room we share (or invited to one) is let in without asking, and takes no chat of maxChats. */
  isRoomPeer(key: Buffer | undefined): boolean;
  /** The same, by the name members are reached at. */
  isRoomName(name: string): boolean;
  /** A chat with `peer` is open on `conn`. */
  ready(peer: string, conn: FramedConnection): void;
  receive(peer: string, conn: FramedConnection, msg: RitemsMessage | RhaveMessage): void;
}

export class Conversations {
  readonly #o: ConversationsOptions;
  /** The chat with each peer we have one with (or a request from). */
  readonly #chats = new Map<string, ChatState>();
  /** The path each open chat was last told to take ('connected', 'moved'). */
  readonly #paths = new Map<string, LinkKind>();
  /** The deadline of each request waiting for an answer. */
  readonly #requestTimers = new Map<string, TimerHandle>();
  #isStopping = false;

  constructor(options: ConversationsOptions) {
    this.#o = options;
  }

  state(peer: string): ChatState | undefined {
    return this.#chats.get(peer);
  }

  /** Every chat and request, with its state. */
  entries(): [peer: string, state: ChatState][] {
    return [...this.#chats];
  }

  /** Asks `name` (already checked) to chat; resolves once a connection is open or being opened. */
  async connect(name: string): Promise<void> {
    const chat = this.#chats.get(name);
    if (chat === 'open' || chat === 'outgoing') return;
    if (chat === 'incoming') {
      this.accept(name);
      return;
    }
    if (this.#o.rooms?.isRoomName(name) !== true) this.checkRoom();
    this.#setState(name, 'outgoing');
    try {
      await this.#ensureConnection(name);
    } catch (err) {
      // Both dialed at once (members of a room forming) and the other side's connection won:
      // the chat opened on it while our dial failed, and stays open.
      const now = this.#chats.get(name);
      if (now === 'open') return;
      if (now === 'outgoing') this.#setState(name, undefined);
      throw err;
    }
  }

  /**
   * Chats open or being opened by us: what maxChats counts. Requests from
   * others do not, or strangers holding unanswered ones would turn friends
   * away as busy; they have a cap and a deadline of their own.
   */
  #active(): number {
    // Chats with members of our rooms do not count either: a room of 32 needs 31 of them.
    const rooms = this.#o.rooms;
    let roomChats = 0;
    if (rooms !== undefined) for (const [peer, state] of this.#chats) if (state !== 'incoming' && rooms.isRoomName(peer)) roomChats++;
    return this.#chats.size - this.#requestTimers.size - roomChats;
  }

  /** @throws NatterError TOO_MANY_CHATS when no chat more may be opened now. */
  checkRoom(): void {
    const active = this.#active();
    if (active >= this.#o.maxChats) {
      throw new NatterError(
        ERROR_CODES.TOO_MANY_CHATS,
        `you already have ${active} chats (the most is ${this.#o.maxChats}); /end one first`,
      );
    }
  }

  /** Accepts a pending request from `peer`. */
  accept(peer: string): void {
    const link = this.#o.pool.link(peer);
    if (this.#chats.get(peer) !== 'incoming' || link === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    this.checkRoom();
    this.#open(peer, link);
  }

  /** Declines a pending request from `peer`. */
  decline(peer: string, reason: string): void {
    const link = this.#o.pool.link(peer);
    if (this.#chats.get(peer) !== 'incoming' || link === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    link.conn.send({ type: 'RESP', accept: false, reason });
    this.#setState(peer, undefined);
    this.#o.pool.close(peer);
  }

  /** Ends the chat with `peer` (sends END). */
  end(peer: string): void {
    const chat = this.#chats.get(peer);
    if (chat === undefined) throw new NatterError(ERROR_CODES.NO_SUCH_CHAT, `no chat with ${peer}`);
    const link = this.#o.pool.link(peer);
    if (link?.conn.state === 'open' && chat !== 'incoming') link.conn.send({ type: 'END' });
    else if (chat === 'incoming' && link !== undefined) link.conn.send({ type: 'RESP', accept: false, reason: 'declined' });
    this.#endChat(peer, 'local', 'ended by you');
    this.#o.pool.close(peer);
  }

  /** What waited for `peer` was dropped: a chat opened only to deliver it has nothing left to do. */
  dropped(peer: string): void {
    if (this.#chats.get(peer) === 'outgoing' && this.#o.pool.link(peer) === undefined) this.#setState(peer, undefined);
  }

  /** The node stops: no chat is opened again; END goes to every open chat. */
  stop(): void {
    this.#isStopping = true;
    for (const timer of this.#requestTimers.values()) this.#o.scheduler.clearTimeout(timer);
    this.#requestTimers.clear();
    for (const [peer, chat] of this.#chats) {
      const link = this.#o.pool.link(peer);
      if (link !== undefined && chat === 'open' && link.isReady) link.conn.send({ type: 'END' });
    }
  }

  /** Opens the way for what waits for `peer`: its ready chat, or a chat opened now (later, if the peer cannot be reached now). */
  deliver(peer: string): void {
    const { delivery, pool } = this.#o;
    if (delivery.waiting(peer) === 0 || this.#isStopping) return;
    const link = pool.link(peer);
    if (link !== undefined) {
      if (link.isReady) delivery.flush(peer);
      return; // a chat being opened sends them when it opens
    }
    if (pool.isDialing(peer)) return;
    if (this.#chats.get(peer) === undefined) {
      if (this.#active() >= this.#o.maxChats) {
        delivery.scheduleRetry(peer);
        return;
      }
      this.#setState(peer, 'outgoing');
    }
    delivery.cancelRetry(peer);
    this.#ensureConnection(peer).catch((err: unknown) => this.#onUnreachable(peer, err));
  }

  /**
   * A dial to `peer` landed: is the chat still wanted? One that ended while
   * we dialed (/end, or a crossing connection lost) is opened again when
   * messages still wait for the peer: this connection is how they leave.
   */
  isWanted(peer: string): boolean {
    if (this.#isStopping) return false;
    if (this.#chats.get(peer) === undefined && this.#o.delivery.waiting(peer) > 0) this.#setState(peer, 'outgoing');
    return this.#chats.get(peer) !== undefined;
  }

  /** A connection to `peer` is attached; an inbound one carried CONN, and its key checked out. */
  attached(peer: string, link: PeerLink): void {
    if (link.isOutbound) return; // our CONN is on its way; RESP comes next
    const chat = this.#chats.get(peer);
    if (chat === 'open' || chat === 'outgoing' || this.#o.delivery.waiting(peer) > 0) {
      // A chat we already have (a new connection after an idle close), both of us asked at
      // once, or a peer our waiting messages are for, reachable again.
      this.#open(peer, link);
      return;
    }
    if (chat === 'incoming') return; // asked again; still waiting for our user
    const isRoomPeer = this.#o.rooms?.isRoomPeer(link.conn.remoteKey) === true;
    const isWelcome = this.#o.isAutoAccept || this.#o.discovery.isFriend(peer) || isRoomPeer;
    // A request could not be accepted with every chat taken either: busy for all. Requests themselves
    // take no chat, only a place among the requests; nor does a room's member.
    if ((this.#active() >= this.#o.maxChats && !isRoomPeer) || (!isWelcome && this.#requestTimers.size >= this.#o.maxRequests)) {
      link.conn.send({ type: 'RESP', accept: false, reason: 'busy' });
      this.#o.pool.close(peer);
      return;
    }
    if (isWelcome) {
      this.#open(peer, link);
      return;
    }
    this.#setState(peer, 'incoming');
    this.#o.events.emit('request', peer);
  }

  /** Sets (or, with undefined, forgets) the chat state towards `peer`, keeping a request's deadline with it. */
  #setState(peer: string, state: ChatState | undefined): void {
    const s = this.#o.scheduler;
    const timer = this.#requestTimers.get(peer);
    if (timer !== undefined && state !== 'incoming') {
      s.clearTimeout(timer);
      this.#requestTimers.delete(peer);
    }
    if (state === undefined) {
      this.#chats.delete(peer);
      return;
    }
    this.#chats.set(peer, state);
    if (state === 'incoming' && timer === undefined) {
      this.#requestTimers.set(
        peer,
        s.setTimeout(() => this.#requestExpired(peer), this.#o.requestTimeoutMs),
      );
    }
  }

  #requestExpired(peer: string): void {
    this.#requestTimers.delete(peer);
    if (this.#chats.get(peer) !== 'incoming') return;
    this.#o.pool.link(peer)?.conn.send({ type: 'RESP', accept: false, reason: 'no answer' });
    const waited = this.#o.requestTimeoutMs;
    this.#endChat(
      peer,
      'unanswered',
      `${peer}'s request went unanswered for ${waited < 1_000 ? `${waited} ms` : `${Math.round(waited / 1_000)} s`}; declined`,
    );
    this.#o.pool.close(peer);
  }

  message(peer: string, msg: Message, conn: FramedConnection, isCurrent: boolean): void {
    const { pool, delivery, inbox } = this.#o;
    const link = pool.link(peer);
    if (msg.type === 'TEXT') {
      if (!isCurrent || link === undefined) {
        // A connection we are closing (idle, or a duplicate): text the other
        // side sent before it saw us close is still a message for an open chat.
        if (this.#chats.get(peer) === 'open') inbox.receive(peer, conn, msg);
        return;
      }
      if (!link.isReady || this.#chats.get(peer) !== 'open') {
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'TEXT before the chat was accepted'));
        return;
      }
      pool.traffic(peer);
      inbox.receive(peer, conn, msg);
      return;
    }
    if (msg.type === 'RCPT') {
      // A receipt is a receipt, on a connection we are closing too.
      if (!isCurrent || link === undefined || link.isReady) delivery.receipt(peer, msg.id);
      else conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'RCPT has no place here'));
      return;
    }
    // Messages received before this one are shown before whatever it brings (an END, say).
    inbox.commit();
    if (msg.type === 'RITEMS' || msg.type === 'RHAVE') {
      const rooms = this.#o.rooms;
      if (!isCurrent || link === undefined) {
        // A connection we are closing: room items the other side sent before it saw us close still count.
        if (this.#chats.get(peer) === 'open') rooms?.receive(peer, conn, msg);
        return;
      }
      if (!link.isReady || this.#chats.get(peer) !== 'open' || rooms === undefined) {
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} before the chat was accepted`));
        return;
      }
      pool.traffic(peer);
      rooms.receive(peer, conn, msg);
      return;
    }
    if (!isCurrent || link === undefined) return;
    switch (msg.type) {
      case 'RESP':
        if (!link.isOutbound || link.isReady) break;
        pool.traffic(peer);
        if (msg.accept) this.#open(peer, link);
        else this.#onDeclined(peer, msg.reason === '' ? 'declined' : msg.reason);
        return;
      case 'END':
        this.#endChat(peer, 'remote', `${peer} ended the chat`);
        pool.close(peer);
        return;
      case 'CONN':
        // Already identified on this connection; a repeated CONN is harmless.
        if (msg.name === peer) return;
        break;
      case 'ERROR':
        this.#o.events.emit('problem', errorFromWire(msg.code, msg.reason), peer);
        return;
      default:
        break;
    }
    conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} has no place here`));
  }

  detached(peer: string, reason: DetachReason, err: NatterError | undefined): void {
    const { delivery } = this.#o;
    // What came before the connection went is shown before its loss is told.
    this.#o.inbox.commit();
    delivery.connectionGone(peer);
    const chat = this.#chats.get(peer);
    if (this.#isStopping || reason === 'expected' || chat === undefined) {
      delivery.scheduleRetry(peer);
      return;
    }
    if (reason === 'idle' && chat === 'open' && delivery.waiting(peer) === 0) {
      this.#o.logger.debug({ peer }, 'the other side closed an idle connection; the chat stays open');
      return;
    }
    const why = err?.message ?? `${peer} closed the connection`;
    this.#endChat(peer, 'lost', `lost the connection to ${peer}: ${why}`);
    if (delivery.waiting(peer) > 0) this.#onUnreachable(peer, err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, why));
  }

  /** Makes sure a connection is open or being opened; the CONN/RESP exchange follows on it. */
  async #ensureConnection(peer: string): Promise<void> {
    const link = this.#o.pool.link(peer);
    if (link !== undefined) {
      if (link.isReady) this.#o.delivery.flush(peer);
      return;
    }
    await this.#o.pool.ensure(peer);
  }

  /** A dial for waiting messages failed: the chat it opened is dropped; the messages wait. */
  #onUnreachable(peer: string, err: unknown): void {
    const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.INTERNAL, String(err), { cause: err });
    if (this.#chats.get(peer) === 'outgoing' && this.#o.pool.link(peer) === undefined) this.#setState(peer, undefined);
    this.#o.delivery.unreachable(peer, error, error.code === ERROR_CODES.UNKNOWN_PEER && this.#o.sightings.isNeverSeen(peer));
  }

  /** Our request was declined: busy is for now (the messages wait and are offered again later); a refusal is final. */
  #onDeclined(peer: string, reason: string): void {
    const { delivery, events } = this.#o;
    const refused = reason === 'busy' ? [] : delivery.takeAll(peer);
    this.#setState(peer, undefined);
    this.#o.pool.close(peer);
    events.emit('declined', peer, reason);
    if (refused.length > 0) {
      // One that went out before may have arrived, its receipt lost with the connection: say so.
      const unconfirmed = refused.filter((m) => m.wasSent === true).length;
      const never = refused.length - unconfirmed;
      const parts = [
        ...(never > 0 ? [`${messages(never)} to ${peer} not delivered`] : []),
        ...(unconfirmed > 0 ? [`${unconfirmed} sent earlier but never confirmed (${peer} may have them)`] : []),
      ];
      events.emit('problem', new NatterError(ERROR_CODES.NOT_DELIVERED, `${parts.join('; ')}: ${reason}`), peer);
    }
    if (delivery.waiting(peer) > 0)
      this.#onUnreachable(peer, new NatterError(ERROR_CODES.TOO_MANY_CHATS, `${peer} is busy: it has as many chats as it allows`));
  }

  /** Opens the chat on `link` (answering RESP(accept) when the other side dialed) and sends what waited. */
  #open(peer: string, link: PeerLink): void {
    const { delivery, pool, events } = this.#o;
    // The key is pinned now that a chat opens with it, not at the handshake: strangers who only knock leave nothing behind.
    const key = link.conn.remoteKey;
    if (key !== undefined) {
      try {
        this.#o.keyBook.confirm(peer, key);
      } catch (err) {
        link.conn.fail(err as NatterError);
        events.emit('problem', err as NatterError, peer);
        return;
      }
    }
    const wasOpen = this.#chats.get(peer) === 'open';
    this.#setState(peer, 'open');
    link.isReady = true;
    delivery.reachable(peer);
    if (!link.isOutbound) link.conn.send({ type: 'RESP', accept: true, reason: '' });
    pool.traffic(peer);
    if (!wasOpen) events.emit('connected', peer, { link: link.kind });
    else if (this.#paths.get(peer) !== link.kind) events.emit('moved', peer, { link: link.kind });
    this.#paths.set(peer, link.kind);
    delivery.flush(peer);
    this.#o.rooms?.ready(peer, link.conn);
  }

  /** The chat ends; messages still waiting stay, and are offered again later. */
  #endChat(peer: string, reason: EndReason, detail: string): void {
    const had = this.#chats.get(peer);
    this.#setState(peer, undefined);
    this.#paths.delete(peer);
    if (had !== undefined) this.#o.events.emit('ended', peer, reason, detail);
  }
}

/** "1 message", "2 messages". */
export function messages(n: number): string {
  return n === 1 ? '1 message' : `${n} messages`;
}
