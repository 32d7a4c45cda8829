/**
 * A chat peer (docs/chat.md, protocol.md §7): the chats with other peers,
 * on the connections its LinkPool keeps (one per pair, whatever path it
 * took) and with the nothing-lost guarantees of its Delivery.
 *
 * A conversation ("chat") outlives its connections: connections are opened
 * lazily, reused for every message, closed after idleTimeoutMs without
 * traffic, and opened again transparently by the next message. Every
 * connection starts with the dialer's CONN and the other side's RESP; TEXT
 * flows only after RESP(accept). The chats themselves, their states and what
 * the wire does to them, are in conversations.ts.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MONOTONIC_CLOCK, REAL_SCHEDULER, type Clock } from '../clock.ts';
import type { Discovery } from '../discovery/discovery.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import { normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';
import { Delivery } from './delivery.ts';
import { Inbox } from './inbox.ts';
import type { ChatState, OutMessage, PeerNodeEvents } from './events.ts';
import { Conversations, messages } from './conversations.ts';
import { KeyBook, type KeyReport } from './key-book.ts';
import type { ConnectorContext, LinkKind } from './links/connector.ts';
import { answerCalls, buildPaths } from './links/paths.ts';
import { LinkPool } from './links/link-pool.ts';
import type { MessageId } from './store/message-id.ts';
import { Sightings } from './sightings.ts';
import { MemoryMessageStore } from './store/memory-message-store.ts';
import type { MessageStore } from './store/message-store.ts';
import { MemoryRoomStore } from './store/room-store.ts';
import { Rooms } from './rooms/rooms.ts';

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
  readonly #chats: Conversations;
  readonly #sightings: Sightings;
  readonly #rooms: Rooms;
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
    this.#clock = options.clock ?? options.scheduler ?? MONOTONIC_CLOCK;
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
      maxFramesPerSecond: o.maxFramesPerSecond,
      maxPendingPerAddress: o.maxPendingPerAddress,
      inboundTimeoutMs: o.inboundTimeoutMs,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      idleTimeoutMs: o.idleTimeoutMs,
      scheduler,
      logger: this.#log,
      isWanted: (peer) => this.#chats.isWanted(peer),
      isExpected: (key) => this.#rooms.isRoomPeer(key),
    });
    this.counters = this.#pool.counters;
    this.#delivery = new Delivery({
      store: this.#store,
      links: this.#pool,
      events: this,
      open: (peer) => this.#chats.deliver(peer),
      maxOutbox: o.maxOutbox,
      maxTextBytes: limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes,
      retryIntervalMs: o.retryIntervalMs,
      maxRetryIntervalMs: o.maxRetryIntervalMs,
      roomWaitMs: o.dialTimeoutMs,
      scheduler,
      logger: this.#log,
    });
    this.#rooms = new Rooms({
      name: this.name,
      keyPair: this.#keyPair,
      store: options.roomStore ?? new MemoryRoomStore(),
      maxRoomMembers: o.maxRoomMembers,
      limits: {
        maxNameBytes: limits.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes,
        maxTextBytes: limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes,
      },
      maxClockAheadMs: o.maxClockAheadMs,
      retryIntervalMs: o.retryIntervalMs,
      maxRetryIntervalMs: o.maxRetryIntervalMs,
      scheduler,
      logger: this.#log,
      link: (peer) => {
        const link = this.#pool.link(peer);
        return link?.isReady && link.conn.state === 'open' && this.#chats.state(peer) === 'open' ? link.conn : undefined;
      },
      reach: (peer) => this.connect(peer),
      keyOf: async (peer) => (await this.whois(peer)).key,
    });
    this.#inbox = new Inbox({ store: this.#store, events: this, logger: this.#log });
    this.#chats = new Conversations({
      rooms: this.#rooms,
      pool: this.#pool,
      delivery: this.#delivery,
      inbox: this.#inbox,
      discovery: this.discovery,
      sightings: this.#sightings,
      keyBook: this.keyBook,
      events: this,
      isAutoAccept: o.isAutoAccept,
      maxChats: o.maxChats,
      maxRequests: o.maxRequests,
      requestTimeoutMs: o.requestTimeoutMs,
      scheduler,
      logger: this.#log,
    });
    const chats = this.#chats;
    this.#pool.on('attached', (peer, link) => chats.attached(peer, link));
    this.#pool.on('message', (peer, msg, conn, isCurrent) => chats.message(peer, msg, conn, isCurrent));
    this.#pool.on('detached', (peer, reason, err) => chats.detached(peer, reason, err));
    this.#pool.on('refused', (peer, err) => this.emit('problem', err, peer));
    if (options.rendezvous !== undefined) answerCalls(ctx, options.rendezvous, (conn, kind) => this.#pool.adopt(conn, kind), this.#log);
  }

  /** Starts listening; resolves with the address. What an earlier run left in the outbox goes as soon as its peers can be reached. */
  async start(): Promise<AddressInfo> {
    const address = await this.#pool.start();
    this.#delivery.recover();
    this.#rooms.start();
    return address;
  }

  /** The rooms this peer is in: create, invite, send, and their events (src/peer/rooms). */
  get rooms(): Rooms {
    return this.#rooms;
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
    if (count > 0) this.#chats.dropped(name);
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
    return this.#chats.state(peer);
  }

  /** Every peer we have a chat with or a request from, with its state, whether a connection is open, and its path. */
  chats(): { peer: string; state: ChatState; isConnected: boolean; link?: LinkKind }[] {
    return this.#chats.entries().map(([peer, state]) => {
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
  dump(): {
    name: string;
    port: number | undefined;
    connections: number;
    chats: ReturnType<PeerNode['chats']>;
    counters: PeerNode['counters'];
  } {
    return {
      name: this.name,
      port: this.address?.port,
      connections: this.connectionCount,
      chats: this.chats(),
      counters: { ...this.counters },
    };
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
    await this.#chats.connect(this.#checkPeerName(peer));
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
    if (this.#chats.state(peer) === 'open') {
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
    if (this.#chats.state(name) === 'incoming') this.#chats.accept(name); // answering a request is accepting it
    if (this.#chats.state(name) === undefined) {
      // A friends table names everyone there is: a name not in it can never be reached.
      if (this.discovery.keyAuthority === 'friends-table' && (await this.#sightings.lookupQuietly(name)) === undefined) {
        throw new NatterError(ERROR_CODES.UNKNOWN_PEER, `${name} is not a friend in the friends table; not sent`);
      }
      if (this.#delivery.waiting(name) === 0) this.#chats.checkRoom();
    }
    return this.#delivery.stage(name, text);
  }

  /** The last `n` lines of the conversation with `peer`, oldest first ([] when history is off). */
  history(peer: string, n: number): ReturnType<MessageStore['history']> {
    return this.#store.history(this.#checkPeerName(peer), n);
  }

  /** Accepts a pending request from `peer`. */
  accept(peer: string): void {
    this.#chats.accept(peer);
  }

  /** Declines a pending request from `peer`. */
  decline(peer: string, reason = 'declined'): void {
    this.#chats.decline(peer, reason);
  }

  /** Ends the chat with `peer` (sends END). */
  end(peer: string): void {
    this.#chats.end(peer);
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
    // No chat opens again from here; END goes to every open one.
    this.#rooms.stop();
    this.#chats.stop();
    this.#inbox.stop();
    const isDurable = !(this.#store instanceof MemoryMessageStore);
    for (const { peer, count } of this.#delivery.stop()) {
      if (isDurable) this.emit('kept', peer, count);
      else
        this.emit(
          'problem',
          new NatterError(ERROR_CODES.NOT_DELIVERED, `${messages(count)} to ${peer} not delivered: no receipt before leaving`),
          peer,
        );
    }
    await this.#pool.stop();
  }

  // ---- chats on connections --------------------------------------------------

  #checkPeerName(peer: string): string {
    const name = normalizeName(peer, this.#o.limits?.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes);
    if (name === this.name) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
    return name;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
