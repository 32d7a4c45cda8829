/**
 * A chat peer (docs/chat.md, protocol.md §7): the chats with other peers,
 * on the connections its LinkPool keeps (one per pair, whatever path it
 * took) and with the nothing-lost guarantees of its Delivery.
 *
 * A conversation ("chat") outlives its connections: connections are opened
 * lazily, reused for every message, closed after idleTimeoutMs without
 * traffic, and opened again transparently by the next message. Every
 * connection starts with the dialer's CONN and the other side's RESP; TEXT
 * flows only after RESP(accept).
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
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MONOTONIC_CLOCK, REAL_SCHEDULER, type Clock } from '../clock.ts';
import type { Discovery } from '../discovery/discovery.ts';
import { ERROR_CODES, NatterError, errorFromWire } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import { normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';
import type { Message } from '../protocol/messages.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';
import { Delivery } from './delivery.ts';
import { Inbox } from './inbox.ts';
import type { ChatState, EndReason, OutMessage, PeerNodeEvents } from './events.ts';
import { KeyBook, type KeyReport } from './key-book.ts';
import type { ConnectorContext, LinkKind } from './links/connector.ts';
import { answerCalls, buildPaths } from './links/paths.ts';
import { LinkPool, type DetachReason, type PeerLink } from './links/link-pool.ts';
import type { MessageId } from './store/message-id.ts';
import { Sightings } from './sightings.ts';
import { MemoryMessageStore } from './store/memory-message-store.ts';
import type { MessageStore } from './store/message-store.ts';

import { resolvePeerOptions, type PeerNodeOptions, type ResolvedPeerOptions } from './options.ts';

export type { ChatState, EndReason, OutMessage, PeerNodeEvents } from './events.ts';
export type { PeerNodeOptions } from './options.ts';

/**
 * How long stop() waits for the answer to a chat request: a peer that accepts
 * by itself answers within a round trip; one asking its user may take minutes.
 */
const CHAT_ANSWER_WAIT_MS = 1_000;

export class PeerNode extends EventEmitter<PeerNodeEvents> {
  readonly name: string;
  readonly discovery: Discovery;
  readonly keyBook: KeyBook;
  readonly #keyPair: KeyPair;
  readonly #o: ResolvedPeerOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #store: MessageStore;
  readonly #pool: LinkPool;
  readonly #delivery: Delivery;
  readonly #inbox: Inbox;
  /** The chat with each peer we have one with (or a request from). */
  readonly #chats = new Map<string, ChatState>();
  /** The path each open chat was last told to take ('connected', 'moved'). */
  readonly #paths = new Map<string, LinkKind>();
  readonly #sightings: Sightings;
  #isStopping = false;
  #stopped: Promise<void> | undefined;
  /** Connections opened over this node's life, for DUMP and tests of connection reuse. */
  readonly counters: LinkPool['counters'];

  /** @throws NatterError NATTER_ERR_INVALID_NAME or NATTER_ERR_INVALID_ARGUMENT */
  constructor(options: PeerNodeOptions) {
    super();
    this.#o = resolvePeerOptions(options);
    const limits = options.limits ?? {};
    this.name = normalizeName(options.name, limits.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes);
    this.discovery = options.discovery;
    this.#keyPair = options.keyPair ?? keyPairFromSeed(randomBytes(32));
    this.keyBook = options.keyBook ?? new KeyBook();
    this.#sightings = new Sightings(this.discovery, this.keyBook.known);
    const scheduler = options.scheduler ?? REAL_SCHEDULER;
    this.#clock = options.clock ?? (options.scheduler ?? MONOTONIC_CLOCK);
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#store = options.store ?? new MemoryMessageStore();
    const o = this.#o;
    const ctx: ConnectorContext = {
      keyPair: this.#keyPair,
      keyBook: this.keyBook,
      discovery: this.discovery,
      lookup: (peer) => this.#sightings.lookup(peer),
      limits,
      timeoutMs: o.dialTimeoutMs,
    };
    const paths = buildPaths(ctx, options.rendezvous, this.#log);
    this.#pool = new LinkPool({
      name: this.name,
      context: ctx,
      connector: options.connector?.(ctx) ?? paths.connector,
      upgrade: paths.upgrade,
      listenHost: o.listenHost,
      listenPort: o.listenPort,
      advertiseIp: o.advertiseIp,
      maxPendingInbound: o.maxPendingInbound,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      scheduler,
      logger: this.#log,
      isWanted: (peer) => this.#isWanted(peer),
    });
    this.counters = this.#pool.counters;
    this.#delivery = new Delivery({
      store: this.#store,
      links: this.#pool,
      events: this,
      open: (peer) => this.#deliver(peer),
      maxOutbox: o.maxOutbox,
      maxTextBytes: limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes,
      retryIntervalMs: o.retryIntervalMs,
      maxRetryIntervalMs: o.maxRetryIntervalMs,
      roomWaitMs: o.dialTimeoutMs,
      scheduler,
      logger: this.#log,
    });
    this.#inbox = new Inbox({ store: this.#store, events: this, logger: this.#log });
    this.#pool.on('attached', (peer, link) => this.#onAttached(peer, link));
    this.#pool.on('message', (peer, msg, conn, isCurrent) => this.#onMessage(peer, msg, conn, isCurrent));
    this.#pool.on('detached', (peer, reason, err) => this.#onDetached(peer, reason, err));
    this.#pool.on('refused', (peer, err) => this.emit('error', err, peer));
    if (options.rendezvous !== undefined) answerCalls(ctx, options.rendezvous, (conn, kind) => this.#pool.adopt(conn, kind), this.#log);
  }

  /** Starts listening; resolves with the address. What an earlier run left in the outbox goes as soon as its peers can be reached. */
  async start(): Promise<AddressInfo> {
    const address = await this.#pool.start();
    this.#delivery.recover();
    return address;
  }

  /** The message store (outbox, received ids, history). */
  get store(): MessageStore {
    return this.#store;
  }

  /** Every message not yet delivered, per peer, oldest first, with whether it went out on the current connection. */
  outbox(): { peer: string; message: OutMessage; isSent: boolean }[] {
    return this.#delivery.list();
  }

  /**
   * Drops every message waiting for `peer` (the user gave up on them: a
   * mistyped name, a friend gone for good). Messages that went out without a
   * receipt yet are dropped too; `peer` may have them. Returns how many.
   */
  drop(peer: string): number {
    const name = this.#checkPeerName(peer);
    const count = this.#delivery.takeAll(name).length;
    // A chat opened only to deliver them has nothing left to do.
    if (count > 0 && this.#chats.get(name) === 'outgoing' && this.#pool.link(name) === undefined) this.#chats.delete(name);
    return count;
  }

  /** Our public key. */
  get publicKey(): Buffer {
    return this.#keyPair.publicKey;
  }

  /** /whois: the key held for `peer` and how sure we are of it. */
  async whois(peer: string): Promise<KeyReport> {
    const name = this.#checkPeerName(peer);
    return this.keyBook.report(name, await this.#sightings.lookupQuietly(name), this.discovery.keyAuthority);
  }

  /** /trust: accepts the new key `peer` offered (see KeyBook.trust); what waited for it goes at once. */
  async trust(peer: string): Promise<{ old: Buffer | undefined; key: Buffer }> {
    const name = this.#checkPeerName(peer);
    const result = this.keyBook.trust(name, await this.#sightings.lookupQuietly(name), this.discovery.keyAuthority);
    this.#delivery.retryNow(name);
    return result;
  }

  /** Where we listen (after start()). */
  get address(): AddressInfo | undefined {
    return this.#pool.address;
  }

  /** The chat state towards `peer`, if any. */
  chatState(peer: string): ChatState | undefined {
    return this.#chats.get(peer);
  }

  /** Every peer we have a chat with or a request from, with its state, whether a connection is open, and its path. */
  chats(): { peer: string; state: ChatState; isConnected: boolean; link?: LinkKind }[] {
    return [...this.#chats].map(([peer, state]) => {
      const link = this.linkOf(peer);
      return { peer, state, isConnected: this.isConnected(peer), ...(link === undefined ? {} : { link }) };
    });
  }

  /** The path of the connection to `peer` open now, if any. */
  linkOf(peer: string): LinkKind | undefined {
    const link = this.#pool.link(peer);
    return link?.conn.state === 'open' ? link.kind : undefined;
  }

  /**
   * Stops reading from every peer (and from peers that connect meanwhile)
   * until resumeInput(): for a consumer of events that cannot keep up, so
   * that incoming messages wait in the network instead of in memory.
   */
  pauseInput(): void {
    this.#pool.pause();
  }

  resumeInput(): void {
    this.#pool.resume();
  }

  /** The node's state, as DUMP reports it. */
  dump(): { name: string; port: number | undefined; connections: number; chats: ReturnType<PeerNode['chats']>; counters: PeerNode['counters'] } {
    return { name: this.name, port: this.address?.port, connections: this.connectionCount, chats: this.chats(), counters: { ...this.counters } };
  }

  /** True when a connection to `peer` is open now. */
  isConnected(peer: string): boolean {
    return this.#pool.link(peer)?.conn.state === 'open';
  }

  /** Number of connections open now (all peers). */
  get connectionCount(): number {
    return this.#pool.connectionCount;
  }

  /**
   * Asks `peer` to chat. Resolves once the request is on its way; the answer
   * arrives as 'connected' or 'declined'. Failures (unknown, offline) are
   * thrown as NatterErrors.
   */
  async connect(peer: string): Promise<void> {
    const name = this.#checkPeerName(peer);
    const chat = this.#chats.get(name);
    if (chat === 'open' || chat === 'outgoing') return;
    if (chat === 'incoming') {
      this.accept(peer);
      return;
    }
    this.#checkChatRoom();
    this.#chats.set(name, 'outgoing');
    try {
      await this.#ensureConnection(name);
    } catch (err) {
      this.#chats.delete(name);
      throw err;
    }
  }

  /**
   * Sends a chat message. It is recorded in the outbox (on disk, with a file
   * store) at the end of this tick, together with whatever else was entered
   * in it, and then goes out on the chat, which is opened (and a connection
   * with it) when needed. A peer that cannot be reached now is no error: the
   * message waits ('waiting') and leaves, in order, when the peer can be
   * reached. Resolves with the message's id once it is recorded; await it for
   * backpressure (a full connection, or an outbox half full of messages whose
   * receipts are due).
   * @throws NatterError TEXT_TOO_LONG, OUTBOX_FULL, TOO_MANY_CHATS, STORAGE_FAILED,
   *   UNKNOWN_PEER (a name the friends table does not have: it could never be delivered)
   */
  send(peer: string, text: string): Promise<MessageId> {
    // The hot path: an open chat under exactly this name (chats are keyed by normalised names).
    if (this.#chats.get(peer) === 'open') {
      try {
        return this.#delivery.stage(peer, text);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#sendSlow(peer, text);
  }

  /** Everything else: checking the name, and answering or opening the chat. */
  async #sendSlow(peer: string, text: string): Promise<MessageId> {
    const name = this.#checkPeerName(peer);
    if (this.#chats.get(name) === 'incoming') this.accept(name); // answering a request is accepting it
    if (this.#chats.get(name) === undefined) {
      // A friends table names everyone there is: a name not in it can never be reached.
      if (this.discovery.keyAuthority === 'friends-table' && (await this.#sightings.lookupQuietly(name)) === undefined) {
        throw new NatterError(ERROR_CODES.UNKNOWN_PEER, `${name} is not a friend in the friends table; not sent`);
      }
      if (this.#delivery.waiting(name) === 0) this.#checkChatRoom();
    }
    return this.#delivery.stage(name, text);
  }

  /** Opens the way for what waits for `peer`: its ready chat, or a chat opened now (later, if the peer cannot be reached now). */
  #deliver(peer: string): void {
    if (this.#delivery.waiting(peer) === 0 || this.#isStopping) return;
    const link = this.#pool.link(peer);
    if (link !== undefined) {
      if (link.isReady) this.#delivery.flush(peer);
      return; // a chat being opened sends them when it opens
    }
    if (this.#pool.isDialing(peer)) return;
    if (this.#chats.get(peer) === undefined) {
      if (this.#activeChats() >= this.#o.maxChats) {
        this.#delivery.scheduleRetry(peer);
        return;
      }
      this.#chats.set(peer, 'outgoing');
    }
    this.#delivery.cancelRetry(peer);
    this.#ensureConnection(peer).catch((err: unknown) => this.#onUnreachable(peer, err));
  }

  /** A dial for waiting messages failed: the chat it opened is dropped; the messages wait. */
  #onUnreachable(peer: string, err: unknown): void {
    const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.INTERNAL, String(err), { cause: err });
    if (this.#chats.get(peer) === 'outgoing' && this.#pool.link(peer) === undefined) this.#chats.delete(peer);
    this.#delivery.unreachable(peer, error, error.code === ERROR_CODES.UNKNOWN_PEER && this.#sightings.isNeverSeen(peer));
  }

  /** The last `n` lines of the conversation with `peer`, oldest first ([] when history is off). */
  history(peer: string, n: number): ReturnType<MessageStore['history']> {
    return this.#store.history(this.#checkPeerName(peer), n);
  }

  /** Accepts a pending request from `peer`. */
  accept(peer: string): void {
    const link = this.#pool.link(peer);
    if (this.#chats.get(peer) !== 'incoming' || link === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    this.#open(peer, link);
  }

  /** Declines a pending request from `peer`. */
  decline(peer: string, reason = 'declined'): void {
    const link = this.#pool.link(peer);
    if (this.#chats.get(peer) !== 'incoming' || link === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    link.conn.send({ type: 'RESP', accept: false, reason });
    this.#chats.delete(peer);
    this.#pool.close(peer);
  }

  /** Ends the chat with `peer` (sends END). */
  end(peer: string): void {
    const chat = this.#chats.get(peer);
    if (chat === undefined) throw new NatterError(ERROR_CODES.NO_SUCH_CHAT, `no chat with ${peer}`);
    const link = this.#pool.link(peer);
    if (link?.conn.state === 'open' && chat !== 'incoming') link.conn.send({ type: 'END' });
    else if (chat === 'incoming' && link !== undefined) link.conn.send({ type: 'RESP', accept: false, reason: 'declined' });
    this.#endChat(peer, 'local', 'ended by you');
    this.#pool.close(peer);
  }

  /** Sends END to every chat, closes every connection and the listener. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    await this.#delivery.committed;
    const due = this.#delivery.onTheWay(this.#clock.now(), CHAT_ANSWER_WAIT_MS);
    if (due.length > 0) {
      this.emit('stopping', due, this.#o.stopGraceMs);
      const deadline = this.#clock.now() + this.#o.stopGraceMs;
      while (this.#delivery.onTheWay(this.#clock.now(), CHAT_ANSWER_WAIT_MS).length > 0 && this.#clock.now() < deadline) await sleep(20);
    }
    this.#isStopping = true;
    this.#inbox.stop();
    const isDurable = !(this.#store instanceof MemoryMessageStore);
    for (const { peer, count } of this.#delivery.stop()) {
      if (isDurable) this.emit('kept', peer, count);
      else this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${messages(count)} to ${peer} not delivered: no receipt before leaving`), peer);
    }
    for (const [peer, chat] of this.#chats) {
      const link = this.#pool.link(peer);
      if (link !== undefined && chat === 'open' && link.isReady) link.conn.send({ type: 'END' });
    }
    await this.#pool.stop();
  }

  // ---- chats on connections --------------------------------------------------

  #checkPeerName(peer: string): string {
    const name = normalizeName(peer, this.#o.limits?.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes);
    if (name === this.name) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
    return name;
  }

  /** Chats open or being set up, either way: what --max-chats counts. */
  #activeChats(): number {
    return this.#chats.size;
  }

  #checkChatRoom(): void {
    const active = this.#activeChats();
    if (active >= this.#o.maxChats) {
      throw new NatterError(ERROR_CODES.TOO_MANY_CHATS, `you already have ${active} chats (the most is ${this.#o.maxChats}); /end one first`);
    }
  }

  /** Makes sure a connection is open or being opened; the CONN/RESP exchange follows on it. */
  async #ensureConnection(peer: string): Promise<void> {
    const link = this.#pool.link(peer);
    if (link !== undefined) {
      if (link.isReady) this.#delivery.flush(peer);
      return;
    }
    await this.#pool.ensure(peer);
  }

  /**
   * A dial to `peer` landed: is the chat still wanted? One that ended while
   * we dialed (/end, or a crossing connection lost) is opened again when
   * messages still wait for the peer: this connection is how they leave.
   */
  #isWanted(peer: string): boolean {
    if (this.#isStopping) return false;
    if (this.#chats.get(peer) === undefined && this.#delivery.waiting(peer) > 0) this.#chats.set(peer, 'outgoing');
    return this.#chats.get(peer) !== undefined;
  }

  /** A connection to `peer` is attached; an inbound one carried CONN, and its key checked out. */
  #onAttached(peer: string, link: PeerLink): void {
    if (link.isOutbound) return; // our CONN is on its way; RESP comes next
    const chat = this.#chats.get(peer);
    if (chat === 'open' || chat === 'outgoing' || this.#delivery.waiting(peer) > 0) {
      // A chat we already have (a new connection after an idle close), both of us asked at
      // once, or a peer our waiting messages are for, reachable again.
      this.#open(peer, link);
      return;
    }
    if (chat === 'incoming') return; // asked again; still waiting for our user
    if (this.#activeChats() >= this.#o.maxChats) {
      link.conn.send({ type: 'RESP', accept: false, reason: 'busy' });
      this.#pool.close(peer);
      return;
    }
    if (this.#o.isAutoAccept || this.discovery.isFriend(peer)) {
      this.#open(peer, link);
      return;
    }
    this.#chats.set(peer, 'incoming');
    this.emit('request', peer);
  }

  #onMessage(peer: string, msg: Message, conn: FramedConnection, isCurrent: boolean): void {
    const link = this.#pool.link(peer);
    if (msg.type === 'TEXT') {
      if (!isCurrent || link === undefined) {
        // A connection we are closing (idle, or a duplicate): text the other
        // side sent before it saw us close is still a message for an open chat.
        if (this.#chats.get(peer) === 'open') this.#inbox.receive(peer, conn, msg);
        return;
      }
      if (!link.isReady || this.#chats.get(peer) !== 'open') {
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'TEXT before the chat was accepted'));
        return;
      }
      this.#pool.traffic(peer);
      this.#inbox.receive(peer, conn, msg);
      return;
    }
    if (msg.type === 'RCPT') {
      // A receipt is a receipt, on a connection we are closing too.
      if (!isCurrent || link === undefined || link.isReady) this.#delivery.receipt(peer, msg.id);
      else conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'RCPT has no place here'));
      return;
    }
    // Messages received before this one are shown before whatever it brings (an END, say).
    this.#inbox.commit();
    if (!isCurrent || link === undefined) return;
    switch (msg.type) {
      case 'RESP':
        if (!link.isOutbound || link.isReady) break;
        this.#pool.traffic(peer);
        if (msg.accept) this.#open(peer, link);
        else this.#onDeclined(peer, msg.reason === '' ? 'declined' : msg.reason);
        return;
      case 'END':
        this.#endChat(peer, 'remote', `${peer} ended the chat`);
        this.#pool.close(peer);
        return;
      case 'CONN':
        // Already identified on this connection; a repeated CONN is harmless.
        if (msg.name === peer) return;
        break;
      case 'ERROR':
        this.emit('error', errorFromWire(msg.code, msg.reason), peer);
        return;
      default:
        break;
    }
    conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} has no place here`));
  }

  /** Our request was declined: busy is for now (the messages wait and are offered again later); a refusal is final. */
  #onDeclined(peer: string, reason: string): void {
    const refused = reason === 'busy' ? [] : this.#delivery.takeAll(peer);
    this.#chats.delete(peer);
    this.#pool.close(peer);
    this.emit('declined', peer, reason);
    if (refused.length > 0) {
      // One that went out before may have arrived, its receipt lost with the connection: say so.
      const unconfirmed = refused.filter((m) => m.wasSent === true).length;
      const never = refused.length - unconfirmed;
      const parts = [
        ...(never > 0 ? [`${messages(never)} to ${peer} not delivered`] : []),
        ...(unconfirmed > 0 ? [`${unconfirmed} sent earlier but never confirmed (${peer} may have them)`] : []),
      ];
      this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${parts.join('; ')}: ${reason}`), peer);
    }
    if (this.#delivery.waiting(peer) > 0) this.#onUnreachable(peer, new NatterError(ERROR_CODES.TOO_MANY_CHATS, `${peer} is busy: it has as many chats as it allows`));
  }

  /** Opens the chat on `link` (answering RESP(accept) when the other side dialed) and sends what waited. */
  #open(peer: string, link: PeerLink): void {
    const wasOpen = this.#chats.get(peer) === 'open';
    this.#chats.set(peer, 'open');
    link.isReady = true;
    this.#delivery.reachable(peer);
    if (!link.isOutbound) link.conn.send({ type: 'RESP', accept: true, reason: '' });
    this.#pool.traffic(peer);
    if (!wasOpen) this.emit('connected', peer, { link: link.kind });
    else if (this.#paths.get(peer) !== link.kind) this.emit('moved', peer, { link: link.kind });
    this.#paths.set(peer, link.kind);
    this.#delivery.flush(peer);
  }

  #onDetached(peer: string, reason: DetachReason, err: NatterError | undefined): void {
    // What came before the connection went is shown before its loss is told.
    this.#inbox.commit();
    this.#delivery.connectionGone(peer);
    const chat = this.#chats.get(peer);
    if (this.#isStopping || reason === 'expected' || chat === undefined) {
      this.#delivery.scheduleRetry(peer);
      return;
    }
    if (reason === 'idle' && chat === 'open' && this.#delivery.waiting(peer) === 0) {
      this.#log.debug({ peer }, 'the other side closed an idle connection; the chat stays open');
      return;
    }
    const why = err?.message ?? `${peer} closed the connection`;
    this.#endChat(peer, 'lost', `lost the connection to ${peer}: ${why}`);
    if (this.#delivery.waiting(peer) > 0) this.#onUnreachable(peer, err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, why));
  }

  /** The chat ends; messages still waiting stay, and are offered again later. */
  #endChat(peer: string, reason: EndReason, detail: string): void {
    const had = this.#chats.get(peer);
    this.#chats.delete(peer);
    this.#paths.delete(peer);
    if (had !== undefined) this.emit('ended', peer, reason, detail);
  }
}

/** "1 message", "2 messages". */
function messages(n: number): string {
  return n === 1 ? '1 message' : `${n} messages`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
