/**
 * A chat peer (docs/chat.md, protocol.md §7): listens for other peers, dials
 * them, and keeps one connection per pair of peers carrying both directions.
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
 * Every TEXT carries an id and a time; the receiver records it (dropping one
 * it has seen before) and answers RCPT with its id. A message the user
 * enters is recorded in the store's outbox before it goes anywhere, and
 * leaves the outbox only at its RCPT, so one to a peer that is offline,
 * unreachable or lost halfway is sent again, in order, when the peer can be
 * reached: at the next retry, or at once when it dials us (protocol.md §7.1).
 *
 *   send() ──▶ queued (in the store) ──TEXT on a ready chat──▶ sent ──RCPT──▶ delivered
 *                 ▲                                             │
 *                 └─────────── connection lost before RCPT ─────┘
 *
 * When two peers dial each other at the same moment, both connections carry
 * a CONN; each side keeps the one dialed by the peer whose name sorts first
 * and closes the other, so both keep the same one. Both wanted the chat, so
 * the CONN on the kept connection is accepted without asking.
 */
import { EventEmitter } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { MONOTONIC_CLOCK, type Clock } from '../clock.ts';
import { randomBytes } from 'node:crypto';
import type { Discovery, PeerInfo } from '../discovery/discovery.ts';
import { ERROR_CODES, NatterError, errorFromWire, isNatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import { canonicalIp, normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../protocol/limits.ts';
import type { Message } from '../protocol/messages.ts';
import { FramedConnection } from '../transport/framed-connection.ts';
import { listenOn } from '../transport/listen.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';
import { acceptSecure, dial } from '../transport/tcp.ts';
import { KeyBook, type KeyReport } from './key-book.ts';
import { Fifo } from './fifo.ts';
import { MemoryMessageStore } from './store/memory-message-store.ts';
import { newMessageId, type MessageId } from './store/message-id.ts';
import type { MessageStore } from './store/message-store.ts';

export type ChatState = 'outgoing' | 'incoming' | 'open';

/** Why a chat ended. */
export type EndReason = 'local' | 'remote' | 'lost';

export interface PeerNodeOptions {
  /** Our display name. */
  name: string;
  /** How names are turned into addresses. */
  discovery: Discovery;
  /** Address to listen on. Default 127.0.0.1. */
  listenHost?: string;
  /** Port to listen on (0: any free port). */
  listenPort: number;
  /** IP to tell peers in CONN; default: the local address of each connection. */
  advertiseIp?: string;
  /** Accept every chat request without asking. Default false (friends of a table are always accepted). */
  isAutoAccept?: boolean;
  /** Most chats (open or being set up) at once. Default 8. */
  maxChats?: number;
  /** Close a connection after this long without chat traffic. Default 300,000 ms. */
  idleTimeoutMs?: number;
  /** PING interval; a connection silent for three intervals is dead. Default 15,000 ms. */
  keepaliveIntervalMs?: number;
  /** Deadline to connect to a peer and exchange HELLO, and for an inbound connection to send CONN. Default 10,000 ms. */
  dialTimeoutMs?: number;
  /** Messages not yet delivered per peer, at most; more are refused with OUTBOX_FULL. Default 1,000. */
  maxOutbox?: number;
  /** How long stop() waits for messages on their way (a chat opening, receipts due). Default 5,000 ms. */
  stopGraceMs?: number;
  /** First wait before trying again to reach a peer that has messages waiting; doubles per failure. Default 2,000 ms. */
  retryIntervalMs?: number;
  /** Longest wait between such tries. Default 60,000 ms. */
  maxRetryIntervalMs?: number;
  /** Where the outbox, the ids of received messages and the history live. Default: in memory (lost at exit). */
  store?: MessageStore;
  /** Inbound connections that have not sent CONN yet, at most; more are refused. Default 64. */
  maxPendingInbound?: number;
  /** Our identity for the encrypted channel. Default: a new key pair (library use and tests). */
  keyPair?: KeyPair;
  /** Which key each name must prove (pins, the friends table, the directory). Default: pins in memory only. */
  keyBook?: KeyBook;
  limits?: Partial<ProtocolLimits>;
  clock?: Clock;
  logger?: Logger;
}

export interface PeerNodeEvents {
  /** Someone asks to chat; answer with accept() or decline(). */
  request: [from: string];
  /** A chat is open. */
  connected: [peer: string];
  /** Our request was declined; reason "busy" when the peer has too many chats. */
  declined: [by: string, reason: string];
  /** A chat message, recorded in the store and shown once: a resent copy is dropped by its id. */
  message: [from: string, text: string, meta: { id: MessageId; ts: number }];
  /** A message the user entered is in the outbox; `isRecovered` for one left there by an earlier run. */
  queued: [to: string, message: OutMessage, isRecovered: boolean];
  /** A message went out on a connection (it may be sent again if that connection is lost before its receipt). */
  sent: [to: string, id: MessageId];
  /** The receiver recorded the message. */
  delivered: [to: string, id: MessageId];
  /**
   * Messages to `peer` wait: it cannot be reached now (`reason`); they leave
   * when it can. `isNeverSeen` when no source (the directory, the friends
   * table, a pinned key) has ever known the name: perhaps a typo, for drop().
   */
  waiting: [peer: string, count: number, reason: NatterError, info: { isNeverSeen: boolean }];
  /**
   * stop() waits up to `graceMs` for messages on their way: `count` to each
   * peer, sent and awaiting their receipts, or waiting for a chat being opened.
   */
  stopping: [waitingFor: { peer: string; count: number }[], graceMs: number];
  /** stop() left undelivered messages in a durable outbox; they leave next time. */
  kept: [peer: string, count: number];
  /** A chat ended; `detail` says more for "lost". */
  ended: [peer: string, reason: EndReason, detail: string];
  /** Something failed that the user should hear about (unknown or offline peer, undelivered texts). */
  error: [err: NatterError, peer: string | undefined];
}

/** A message in the outbox. */
export interface OutMessage {
  id: MessageId;
  ts: number;
  text: string;
  /** It went out at least once (its receipt may have been lost with a connection). */
  wasSent?: boolean;
}

/** What we know of one other peer. */
interface Link {
  name: string;
  chat: ChatState | undefined;
  /** The one live connection to this peer, if any. */
  conn: FramedConnection | undefined;
  isOutbound: boolean;
  /** True once CONN/RESP(accept) was exchanged on `conn`: TEXT may flow. */
  isReady: boolean;
  /** A dial in progress; its result becomes `conn`. */
  dialing: Promise<void> | undefined;
  /** Messages not yet delivered, oldest first (all of them are in the store). */
  outbox: Fifo<OutMessage>;
  /** How many at the head of `outbox` went out on the current connection. */
  sentCount: number;
  /** Messages of this peer entered but not yet in the store (this tick's batch). */
  staged: number;
  retryTimer: NodeJS.Timeout | undefined;
  retryDelayMs: number;
  /** The code of the last failure told as 'waiting', so a retry failing the same way is not told again. */
  lastWaitCode: string | undefined;
  /** send()s waiting for receipts to make room in the outbox. */
  roomWaiters: (() => void)[];
  /** #flush stopped at the high-water mark and waits for the connection to drain. */
  isFlushWaiting: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  keepaliveTimer: NodeJS.Timeout | undefined;
  lastHeard: number;
  /** Monotonic ms of the last chat traffic (not keepalives) on the current connection. */
  lastTraffic: number;
  /** Monotonic ms when our CONN went out on the current connection. */
  connSentAt: number;
  /** Set when we close a connection on purpose (idle, END, duplicate): its close is not a loss. */
  expectedClose: WeakSet<FramedConnection>;
}

/**
 * Queued bytes above which send() waits for the connection to drain: a
 * sender faster than the network is slowed down instead of queueing without
 * bound (or tripping the output queue cap meant for peers that stop reading).
 */
const SEND_HIGH_WATER = 64 * 1024;
const RESOLVED = Promise.resolve();
/**
 * How long stop() waits for the answer to a chat request: a peer that accepts
 * by itself answers within a round trip; one asking its user may take minutes.
 */
const CHAT_ANSWER_WAIT_MS = 1_000;
/** Names remembered as seen by a discovery (for the 'waiting' event's isNeverSeen). */
const MAX_SEEN_NAMES = 10_000;

const DEFAULTS = {
  listenHost: '127.0.0.1',
  isAutoAccept: false,
  maxChats: 8,
  idleTimeoutMs: 300_000,
  keepaliveIntervalMs: 15_000,
  dialTimeoutMs: 10_000,
  maxOutbox: 1_000,
  stopGraceMs: 5_000,
  retryIntervalMs: 2_000,
  maxRetryIntervalMs: 60_000,
  maxPendingInbound: 64,
};

export class PeerNode extends EventEmitter<PeerNodeEvents> {
  readonly name: string;
  readonly discovery: Discovery;
  readonly keyBook: KeyBook;
  readonly #keyPair: KeyPair;
  readonly #o: typeof DEFAULTS & PeerNodeOptions;
  readonly #limits: Partial<ProtocolLimits>;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #links = new Map<string, Link>();
  readonly #store: MessageStore;
  /** Messages entered this tick, recorded in the store together (one write) at the end of it. */
  #staged: { link: Link; message: OutMessage }[] = [];
  #stagedCommit: Promise<void> | undefined;
  /** Receipts of this tick, for the store's outbox. */
  #receipts = new Map<string, MessageId[]>();
  /** Inbound connections that have not said who they are yet. */
  readonly #anonymous = new Set<FramedConnection>();
  /** Names a discovery has listed during this run (see the 'waiting' event's isNeverSeen). */
  readonly #seen = new Set<string>();
  #server: Server | undefined;
  /** Inbound sockets still in the Noise handshake. */
  #handshaking = 0;
  #address: AddressInfo | undefined;
  #isStopping = false;
  #stopped: Promise<void> | undefined;
  #isInputPaused = false;
  /** Connections opened over this node's life, for DUMP and tests of connection reuse. */
  readonly counters = { dialed: 0, accepted: 0, idleClosed: 0 };

  /** @throws NatterError NATTER_ERR_INVALID_NAME or NATTER_ERR_INVALID_ARGUMENT */
  constructor(options: PeerNodeOptions) {
    super();
    this.#o = { ...DEFAULTS, ...options };
    this.#limits = options.limits ?? {};
    this.name = normalizeName(options.name, this.#limits.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes);
    this.discovery = options.discovery;
    this.#keyPair = options.keyPair ?? keyPairFromSeed(randomBytes(32));
    this.keyBook = options.keyBook ?? new KeyBook();
    this.#clock = options.clock ?? MONOTONIC_CLOCK;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#store = options.store ?? new MemoryMessageStore();
    for (const key of ['maxChats', 'idleTimeoutMs', 'keepaliveIntervalMs', 'dialTimeoutMs', 'maxOutbox', 'stopGraceMs', 'maxPendingInbound', 'retryIntervalMs', 'maxRetryIntervalMs'] as const) {
      const v = this.#o[key];
      // Durations past a day would overflow Node's timers (about 24.8 days) into 1 ms.
      if (!Number.isSafeInteger(v) || v < 1 || (key.endsWith('Ms') && v > 86_400_000)) {
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `peer option ${key} must be a positive integer${key.endsWith('Ms') ? ' of at most a day' : ''}, got ${String(v)}`);
      }
    }
  }

  /** Starts listening; resolves with the address. */
  async start(): Promise<AddressInfo> {
    const server = createServer({ noDelay: true }, (socket) => this.#onInbound(socket));
    await listenOn(server, this.#o.listenPort, this.#o.listenHost);
    this.#server = server;
    this.#address = server.address() as AddressInfo;
    // What an earlier run left in the outbox goes first, as soon as its peers can be reached.
    for (const m of this.#store.pending()) {
      const link = this.#linkFor(m.peer);
      link.outbox.push({ id: m.id, ts: m.ts, text: m.text });
    }
    for (const link of this.#links.values()) if (link.outbox.length > 0) this.#scheduleRetry(link, 0);
    return this.#address;
  }

  /** The message store (outbox, received ids, history). */
  get store(): MessageStore {
    return this.#store;
  }

  /** Every message not yet delivered, per peer, oldest first, with whether it went out on the current connection. */
  outbox(): { peer: string; message: OutMessage; isSent: boolean }[] {
    const out: { peer: string; message: OutMessage; isSent: boolean }[] = [];
    for (const link of this.#links.values()) {
      link.outbox.toArray().forEach((message, i) => out.push({ peer: link.name, message, isSent: i < link.sentCount }));
    }
    return out;
  }

  /**
   * Drops every message waiting for `peer` (the user gave up on them: a
   * mistyped name, a friend gone for good). Messages that went out without a
   * receipt yet are dropped too; `peer` may have them. Returns how many.
   */
  drop(peer: string): number {
    const name = this.#checkPeerName(peer);
    const link = this.#links.get(name);
    if (link === undefined || link.outbox.length === 0) return 0;
    const dropped = link.outbox.toArray();
    link.outbox.clear();
    link.sentCount = 0;
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    link.lastWaitCode = undefined;
    this.#store.dropped(name, dropped.map((m) => m.id));
    this.#wakeRoomWaiters(link);
    // A chat opened only to deliver them has nothing left to do.
    if (link.chat === 'outgoing' && link.conn === undefined) link.chat = undefined;
    this.#forgetIfIdle(link);
    return dropped.length;
  }

  /** Our public key. */
  get publicKey(): Buffer {
    return this.#keyPair.publicKey;
  }

  /** /whois: the key held for `peer` and how sure we are of it. */
  async whois(peer: string): Promise<KeyReport> {
    const name = this.#checkPeerName(peer);
    return this.keyBook.report(name, await this.#lookupQuietly(name), this.discovery.keyAuthority);
  }

  /** /trust: accepts the new key `peer` offered (see KeyBook.trust). */
  async trust(peer: string): Promise<{ old: Buffer | undefined; key: Buffer }> {
    const name = this.#checkPeerName(peer);
    const result = this.keyBook.trust(name, await this.#lookupQuietly(name), this.discovery.keyAuthority);
    // What waited for the key to be settled goes now, not at the next retry.
    const link = this.#links.get(name);
    if (link !== undefined && link.outbox.length > 0 && link.conn === undefined) {
      link.retryDelayMs = this.#o.retryIntervalMs;
      link.lastWaitCode = undefined;
      this.#deliver(link);
    }
    return result;
  }

  async #lookupQuietly(name: string): Promise<PeerInfo | undefined> {
    try {
      return await this.#lookup(name);
    } catch {
      return undefined;
    }
  }

  /** Asks the discovery where `name` is, remembering that it was seen. */
  async #lookup(name: string): Promise<PeerInfo | undefined> {
    const info = await this.discovery.lookup(name);
    if (info !== undefined && !this.#seen.has(name)) {
      // Bounded: forgetting a name only costs a hint that it may be a typo.
      if (this.#seen.size >= MAX_SEEN_NAMES) this.#seen.clear();
      this.#seen.add(name);
    }
    return info;
  }

  /** True when no source has ever known `name`: not listed this run, and no key pinned for it. */
  #isNeverSeen(name: string): boolean {
    return !this.#seen.has(name) && this.keyBook.known.peer(name) === undefined && this.discovery.hasSeen?.(name) !== true;
  }

  /** Where we listen (after start()). */
  get address(): AddressInfo | undefined {
    return this.#address;
  }

  /** The chat state towards `peer`, if any. */
  chatState(peer: string): ChatState | undefined {
    return this.#links.get(peer)?.chat;
  }

  /** Every peer we have a chat with or a request from, with its state and whether a connection is open. */
  chats(): { peer: string; state: ChatState; isConnected: boolean }[] {
    return [...this.#links.values()]
      .filter((l) => l.chat !== undefined)
      .map((l) => ({ peer: l.name, state: l.chat as ChatState, isConnected: l.conn?.state === 'open' }));
  }

  /**
   * Stops reading from every peer (and from peers that connect meanwhile)
   * until resumeInput(): for a consumer of events that cannot keep up, so
   * that incoming messages wait in the network instead of in memory.
   */
  pauseInput(): void {
    this.#isInputPaused = true;
    for (const link of this.#links.values()) link.conn?.pause();
  }

  resumeInput(): void {
    this.#isInputPaused = false;
    for (const link of this.#links.values()) link.conn?.resume();
  }

  /** The node's state, as DUMP reports it. */
  dump(): { name: string; port: number | undefined; connections: number; chats: ReturnType<PeerNode['chats']>; counters: PeerNode['counters'] } {
    return { name: this.name, port: this.#address?.port, connections: this.connectionCount, chats: this.chats(), counters: { ...this.counters } };
  }

  /** True when a connection to `peer` is open now. */
  isConnected(peer: string): boolean {
    return this.#links.get(peer)?.conn?.state === 'open';
  }

  /** Number of connections open now (all peers). */
  get connectionCount(): number {
    let n = this.#anonymous.size;
    for (const l of this.#links.values()) if (l.conn !== undefined) n++;
    return n;
  }

  /**
   * Asks `peer` to chat. Resolves once the request is on its way; the answer
   * arrives as 'connected' or 'declined'. Failures (unknown, offline) are
   * thrown as NatterErrors.
   */
  async connect(peer: string): Promise<void> {
    const link = this.#linkFor(this.#checkPeerName(peer));
    if (link.chat === 'open' || link.chat === 'outgoing') return;
    if (link.chat === 'incoming') {
      this.accept(peer);
      return;
    }
    this.#checkChatRoom();
    link.chat = 'outgoing';
    try {
      await this.#ensureConnection(link);
    } catch (err) {
      this.#dropChat(link);
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
    // The hot path: an open chat under exactly this name (link keys are normalised names).
    const link = this.#links.get(peer);
    if (link !== undefined && link.chat === 'open') {
      try {
        return this.#stage(link, text);
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#sendSlow(peer, text);
  }

  /** Everything else: checking the name, and answering or opening the chat. */
  async #sendSlow(peer: string, text: string): Promise<MessageId> {
    const name = this.#checkPeerName(peer);
    const link = this.#linkFor(name);
    try {
      if (link.chat === 'incoming') this.accept(name); // answering a request is accepting it
      if (link.chat === undefined) {
        // A friends table names everyone there is: a name not in it can never be reached.
        if (this.discovery.keyAuthority === 'friends-table' && (await this.#lookupQuietly(name)) === undefined) {
          throw new NatterError(ERROR_CODES.UNKNOWN_PEER, `${name} is not a friend in the friends table; not sent`);
        }
        if (link.outbox.length === 0) this.#checkChatRoom();
      }
      return await this.#stage(link, text);
    } finally {
      this.#forgetIfIdle(link);
    }
  }

  /** Puts a message into this tick's batch for the store; resolves once it is recorded. */
  #stage(link: Link, text: string): Promise<MessageId> {
    if (link.outbox.length + link.staged >= this.#o.maxOutbox) {
      throw new NatterError(ERROR_CODES.OUTBOX_FULL, `${link.outbox.length + link.staged} messages to ${link.name} are already waiting; not sent`);
    }
    // Checked now, not when it leaves: a message that could never be sent must not enter the outbox.
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > (this.#limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes)) {
      throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, `message is ${bytes} bytes, the limit is ${this.#limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes}`);
    }
    const message: OutMessage = { id: newMessageId(), ts: Date.now(), text };
    link.staged++;
    this.#staged.push({ link, message });
    this.#stagedCommit ??= RESOLVED.then(() => this.#commit());
    return this.#stagedCommit.then(() => this.#room(link)).then(() => message.id);
  }

  /**
   * Records this tick's messages in the store with one write, then lets them
   * go. If the store cannot take them, none of them counts as entered: every
   * send() of the batch rejects with STORAGE_FAILED and nothing leaves.
   */
  #commit(): void {
    const batch = this.#staged;
    this.#staged = [];
    this.#stagedCommit = undefined;
    for (const { link } of batch) link.staged--;
    this.#store.enqueue(batch.map(({ link, message }) => ({ id: message.id, peer: link.name, ts: message.ts, text: message.text })));
    const touched = new Set<Link>();
    for (const { link, message } of batch) {
      link.outbox.push(message);
      touched.add(link);
      this.emit('queued', link.name, message, false);
    }
    for (const link of touched) this.#deliver(link);
  }

  /**
   * Backpressure on an open chat: resolves at once unless the connection's
   * queue is full (then when it drains) or half the outbox waits for
   * receipts (then when they come, or the connection goes).
   */
  #room(link: Link): Promise<void> | undefined {
    const conn = link.conn;
    if (conn === undefined || !link.isReady) return undefined;
    if (conn.queuedBytes >= SEND_HIGH_WATER) return conn.drained();
    if (link.outbox.length < this.#o.maxOutbox / 2) return undefined;
    // Bounded: a peer that never acknowledges must not hold the caller (a UI's command queue) for good.
    // The message is in the outbox either way; this only slows the caller down.
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, this.#o.dialTimeoutMs);
      timer.unref();
      link.roomWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #wakeRoomWaiters(link: Link): void {
    const waiters = link.roomWaiters;
    link.roomWaiters = [];
    for (const w of waiters) w();
  }

  /** Sends what waits for `link`: on its ready chat, or by opening one (later, if the peer cannot be reached now). */
  #deliver(link: Link): void {
    if (link.outbox.length === 0 || this.#isStopping) return;
    if (link.conn !== undefined) {
      if (link.isReady) this.#flush(link);
      return; // a chat being opened sends them when it opens
    }
    if (link.dialing !== undefined) return;
    if (link.chat === undefined) {
      if (this.#activeChats() >= this.#o.maxChats) {
        this.#scheduleRetry(link);
        return;
      }
      link.chat = 'outgoing';
    }
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    this.#ensureConnection(link).catch((err: unknown) => this.#onUnreachable(link, err));
  }

  /** A dial for waiting messages failed: say so once per kind of failure, and try again later. */
  #onUnreachable(link: Link, err: unknown): void {
    const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.INTERNAL, String(err), { cause: err });
    if (link.chat === 'outgoing' && link.conn === undefined) link.chat = undefined;
    if (!this.#isStopping && link.outbox.length > 0) {
      if (link.lastWaitCode !== error.code) {
        link.lastWaitCode = error.code;
        // A changed key is worth an error of its own: the user must act (/trust) or be warned.
        if (error.code === ERROR_CODES.KEY_MISMATCH) this.emit('error', error, link.name);
        this.emit('waiting', link.name, link.outbox.length, error, { isNeverSeen: error.code === ERROR_CODES.UNKNOWN_PEER && this.#isNeverSeen(link.name) });
      }
      this.#log.debug({ peer: link.name, code: error.code }, `messages wait: ${error.message}`);
      this.#scheduleRetry(link);
    }
    this.#forgetIfIdle(link);
  }

  /** Tries again to reach a peer with waiting messages after `delayMs` (backing off per failure). */
  #scheduleRetry(link: Link, delayMs = link.retryDelayMs): void {
    if (this.#isStopping || link.outbox.length === 0 || link.retryTimer !== undefined || link.conn !== undefined || link.dialing !== undefined) return;
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      link.retryDelayMs = Math.min(link.retryDelayMs * 2, this.#o.maxRetryIntervalMs);
      this.#deliver(link);
    }, delayMs);
    link.retryTimer.unref();
  }

  /** The peer recorded the message with this id: it leaves the outbox. */
  #onReceipt(link: Link, id: MessageId): void {
    // Receipts come in the order the messages went, so this is nearly always the first one.
    const i = link.outbox.findIndex((m) => m.id === id);
    if (i < 0) return; // a receipt for a copy sent again: delivered already
    link.outbox.removeAt(i);
    if (i < link.sentCount) link.sentCount--;
    // Something got through: a later failure is news again.
    link.lastWaitCode = undefined;
    let ids = this.#receipts.get(link.name);
    if (ids === undefined) {
      if (this.#receipts.size === 0) setImmediate(() => this.#recordReceipts());
      ids = [];
      this.#receipts.set(link.name, ids);
    }
    ids.push(id);
    if (link.outbox.length < this.#o.maxOutbox / 2) this.#wakeRoomWaiters(link);
    this.emit('delivered', link.name, id);
  }

  /**
   * Takes delivered messages out of the stored outbox, a batch at a time. A
   * batch lost to a crash only means those messages are sent again, and the
   * receiver drops the copies by id.
   */
  #recordReceipts(): void {
    for (const [peer, ids] of this.#receipts) {
      try {
        this.#store.delivered(peer, ids);
      } catch (err) {
        this.#log.warn({ peer, code: (err as NatterError).code }, `could not record receipts: ${(err as Error).message}`);
      }
    }
    this.#receipts.clear();
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
  #receive(link: Link, conn: FramedConnection, msg: { id: MessageId; ts: number; text: string }): void {
    // Leaving: a message taken now might never be shown. Unacknowledged, it stays with its sender.
    if (this.#isStopping) return;
    if (this.#store.hasReceived(link.name, msg.id)) {
      conn.send({ type: 'RCPT', id: msg.id });
      return;
    }
    try {
      this.#store.received([{ id: msg.id, peer: link.name, ts: msg.ts, text: msg.text }]);
    } catch (err) {
      const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.STORAGE_FAILED, String(err), { cause: err });
      this.#log.error({ peer: link.name, code: error.code }, error.message);
      this.emit('error', error, link.name);
      conn.fail(error);
      return;
    }
    this.emit('message', link.name, msg.text, { id: msg.id, ts: msg.ts });
    conn.send({ type: 'RCPT', id: msg.id });
  }

  /** The last `n` lines of the conversation with `peer`, oldest first ([] when history is off). */
  history(peer: string, n: number): ReturnType<MessageStore['history']> {
    return this.#store.history(this.#checkPeerName(peer), n);
  }

  /** Accepts a pending request from `peer`. */
  accept(peer: string): void {
    const link = this.#links.get(peer);
    if (link?.chat !== 'incoming' || link.conn === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    this.#open(link, link.conn);
  }

  /** Declines a pending request from `peer`. */
  decline(peer: string, reason = 'declined'): void {
    const link = this.#links.get(peer);
    if (link?.chat !== 'incoming' || link.conn === undefined) {
      throw new NatterError(ERROR_CODES.NO_SUCH_REQUEST, `${peer} has not asked to chat`);
    }
    link.conn.send({ type: 'RESP', accept: false, reason });
    this.#dropChat(link);
    this.#closeConn(link);
  }

  /** Ends the chat with `peer` (sends END). */
  end(peer: string): void {
    const link = this.#links.get(peer);
    if (link?.chat === undefined) throw new NatterError(ERROR_CODES.NO_SUCH_CHAT, `no chat with ${peer}`);
    if (link.conn?.state === 'open' && link.chat !== 'incoming') link.conn.send({ type: 'END' });
    else if (link.chat === 'incoming' && link.conn !== undefined) link.conn.send({ type: 'RESP', accept: false, reason: 'declined' });
    this.#endChat(link, 'local', 'ended by you');
    this.#closeConn(link);
  }

  /** Sends END to every chat, closes every connection and the listener. */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async #stop(): Promise<void> {
    // Messages on their way (a chat opening, receipts due) get a moment to arrive.
    await this.#stagedCommit?.catch(() => undefined);
    const due = this.#onTheWay();
    if (due.length > 0) {
      this.emit('stopping', due, this.#o.stopGraceMs);
      const deadline = this.#clock.now() + this.#o.stopGraceMs;
      while (this.#onTheWay().length > 0 && this.#clock.now() < deadline) await sleep(20);
    }
    this.#isStopping = true;
    this.#recordReceipts();
    const isDurable = !(this.#store instanceof MemoryMessageStore);
    const closing: Promise<void>[] = [];
    for (const link of this.#links.values()) {
      clearTimeout(link.retryTimer);
      link.retryTimer = undefined;
      this.#wakeRoomWaiters(link);
      if (link.outbox.length > 0) {
        if (isDurable) this.emit('kept', link.name, link.outbox.length);
        else this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${messages(link.outbox.length)} to ${link.name} not delivered: no receipt before leaving`), link.name);
      }
      if (link.conn !== undefined && link.chat === 'open' && link.isReady) link.conn.send({ type: 'END' });
      if (link.conn !== undefined) closing.push(link.conn.close());
      this.#clearTimers(link);
    }
    for (const conn of this.#anonymous) closing.push(conn.close());
    const serverClosed = new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
    await Promise.all(closing);
    await serverClosed;
  }

  /**
   * Peers with messages of ours on their way: sent on an open chat and
   * awaiting receipts, or waiting for a chat being opened (a dial, or a CONN
   * whose answer is due). A peer that answers by itself (a friend, or
   * --auto-accept) does so within a round trip; one that has not answered
   * within CHAT_ANSWER_WAIT_MS is asking its user, and not worth waiting for:
   * its messages stay queued.
   */
  #onTheWay(): { peer: string; count: number }[] {
    const now = this.#clock.now();
    const due: { peer: string; count: number }[] = [];
    for (const link of this.#links.values()) {
      if (link.outbox.length === 0) continue;
      if (link.isReady && link.conn?.state === 'open') {
        if (link.sentCount > 0) due.push({ peer: link.name, count: link.sentCount });
      } else if (link.dialing !== undefined || (link.conn !== undefined && link.isOutbound && now - link.connSentAt < CHAT_ANSWER_WAIT_MS)) {
        due.push({ peer: link.name, count: link.outbox.length });
      }
    }
    return due;
  }

  // ---- connections -------------------------------------------------------

  #checkPeerName(peer: string): string {
    const name = normalizeName(peer, this.#limits.maxNameBytes ?? DEFAULT_LIMITS.maxNameBytes);
    if (name === this.name) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
    return name;
  }

  /** Chats open or being set up, either way: what --max-chats counts. */
  #activeChats(): number {
    let n = 0;
    for (const l of this.#links.values()) if (l.chat !== undefined) n++;
    return n;
  }

  #checkChatRoom(): void {
    const active = this.#activeChats();
    if (active >= this.#o.maxChats) {
      throw new NatterError(ERROR_CODES.TOO_MANY_CHATS, `you already have ${active} chats (the most is ${this.#o.maxChats}); /end one first`);
    }
  }

  #linkFor(name: string): Link {
    let link = this.#links.get(name);
    if (link === undefined) {
      link = {
        name,
        chat: undefined,
        conn: undefined,
        isOutbound: false,
        isReady: false,
        dialing: undefined,
        outbox: new Fifo(),
        sentCount: 0,
        staged: 0,
        retryTimer: undefined,
        retryDelayMs: this.#o.retryIntervalMs,
        lastWaitCode: undefined,
        roomWaiters: [],
        isFlushWaiting: false,
        idleTimer: undefined,
        keepaliveTimer: undefined,
        lastHeard: 0,
        lastTraffic: 0,
        connSentAt: 0,
        expectedClose: new WeakSet(),
      };
      this.#links.set(name, link);
    }
    return link;
  }

  /** Makes sure a connection is open or being opened; the CONN/RESP exchange follows on it. */
  async #ensureConnection(link: Link): Promise<void> {
    if (link.conn !== undefined) {
      if (link.isReady) this.#flush(link);
      return;
    }
    link.dialing ??= this.#dial(link).finally(() => {
      link.dialing = undefined;
    });
    return link.dialing;
  }

  async #dial(link: Link): Promise<void> {
    const address = await this.#lookup(link.name);
    if (address === undefined) {
      throw new NatterError(
        ERROR_CODES.UNKNOWN_PEER,
        this.discovery.keyAuthority === 'friends-table' ? `${link.name} is not in the friends table` : `${link.name} is not online`,
      );
    }
    let conn: FramedConnection;
    try {
      conn = await dial({
        host: address.ip,
        port: address.port,
        timeoutMs: this.#o.dialTimeoutMs,
        limits: this.#limits,
        isEagerWrite: true,
        keyPair: this.#keyPair,
        // Before CONN leaves, let alone a queued message: the other side must be who the name says.
        verifyKey: (key) => this.keyBook.check(link.name, key, address, this.discovery.keyAuthority),
      });
    } catch (cause) {
      if (isNatterError(cause, ERROR_CODES.KEY_MISMATCH) || isNatterError(cause, ERROR_CODES.UNKNOWN_PEER)) throw cause;
      throw new NatterError(
        ERROR_CODES.PEER_UNREACHABLE,
        `${link.name} is offline or unreachable at ${address.ip}:${address.port}`,
        { cause },
      );
    }
    if (!this.#isStopping && link.chat === undefined && link.outbox.length > 0) {
      // The chat ended while we dialed (/end, or a crossing connection lost), but messages still
      // wait for this peer: this connection is how they leave.
      link.chat = 'outgoing';
    }
    if (this.#isStopping || link.chat === undefined) {
      void conn.close();
      return;
    }
    if (link.conn !== undefined) {
      // An inbound connection from this peer arrived while we dialed, and the
      // rule kept it (#onConn): ours is the duplicate.
      void conn.close();
      return;
    }
    this.counters.dialed++;
    this.#attach(link, conn, true);
    link.connSentAt = this.#clock.now();
    const ip = this.#o.advertiseIp ?? conn.localAddress ?? '';
    conn.send({ type: 'CONN', name: this.name, ip: ip === '' ? '' : canonicalIp(ip), port: this.#address?.port ?? 1 });
  }

  #onInbound(socket: Socket): void {
    // Connections still in the handshake count as unidentified ones: the cap holds for both.
    if (this.#isStopping || this.#anonymous.size + this.#handshaking >= this.#o.maxPendingInbound) {
      if (!this.#isStopping) this.#log.info({ ip: socket.remoteAddress }, `refused a connection: too many waiting to say who they are (${this.#o.maxPendingInbound})`);
      socket.destroy();
      return;
    }
    this.#handshaking++;
    acceptSecure(socket, this.#keyPair, this.#o.dialTimeoutMs).then(
      ({ stream, connOptions }) => {
        this.#handshaking--;
        if (this.#isStopping) {
          stream.destroy();
          return;
        }
        this.#onSecureInbound(new FramedConnection(stream.asDuplex(), { ...connOptions, limits: this.#limits, hello: 'answer', isEagerWrite: true }));
      },
      (err: NatterError) => {
        this.#handshaking--;
        this.#log.info({ code: err.code, ip: socket.remoteAddress }, `inbound connection: ${err.message}`);
      },
    );
  }

  #onSecureInbound(conn: FramedConnection): void {
    this.counters.accepted++;
    this.#anonymous.add(conn);
    const deadline = setTimeout(() => {
      conn.fail(new NatterError(ERROR_CODES.TIMEOUT, `no CONN within ${this.#o.dialTimeoutMs} ms`));
    }, this.#o.dialTimeoutMs);
    deadline.unref();
    const onFirst = (msg: Message): void => {
      conn.off('message', onFirst);
      if (msg.type !== 'CONN') {
        clearTimeout(deadline);
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `expected CONN first, got ${msg.type}`));
        return;
      }
      // Nothing more is taken from it until its key is known to belong to the name.
      conn.pause();
      void this.#checkInbound(conn, msg.name).then((err) => {
        clearTimeout(deadline);
        this.#anonymous.delete(conn);
        conn.off('close', onGone);
        if (conn.state !== 'open') return;
        if (err !== undefined) {
          this.#log.warn({ peer: msg.name, code: err.code }, err.message);
          conn.fail(err);
          if (err.code === ERROR_CODES.KEY_MISMATCH) this.emit('error', err, msg.name);
          return;
        }
        this.#onConn(conn, msg.name);
        if (!this.#isInputPaused) conn.resume();
      });
    };
    const onGone = (): void => {
      clearTimeout(deadline);
      this.#anonymous.delete(conn);
    };
    conn.on('message', onFirst);
    conn.on('close', onGone);
    conn.on('failure', (err) => this.#log.info({ code: err.code, ip: conn.remoteAddress }, `inbound connection: ${err.message}`));
  }

  /** The key check for an inbound CONN: undefined when `conn`'s key may speak for `name`. */
  async #checkInbound(conn: FramedConnection, name: string): Promise<NatterError | undefined> {
    if (name === this.name) return new NatterError(ERROR_CODES.INVALID_NAME, `${name} is this peer's own name`);
    const key = conn.remoteKey;
    if (key === undefined) return new NatterError(ERROR_CODES.HANDSHAKE_FAILED, 'the connection has no proven key');
    try {
      this.keyBook.check(name, key, await this.#lookupQuietly(name), this.discovery.keyAuthority);
      return undefined;
    } catch (err) {
      return err as NatterError;
    }
  }

  /** A CONN whose key #checkInbound accepted (which also refused our own name). */
  #onConn(conn: FramedConnection, name: string): void {
    const link = this.#linkFor(name);
    if (link.conn !== undefined || link.dialing !== undefined) {
      // Two connections for one pair. While our own dial is still unanswered
      // (both of us dialed at once), the one dialed by the name that sorts
      // first wins; each side closes only its own losing dial, so nothing is
      // torn down before the winner carries the CONN. Otherwise the newer
      // connection wins: the other side evidently gave up on the old one.
      const isOurPendingDial = link.conn === undefined || (link.isOutbound && !link.isReady);
      if (isOurPendingDial && this.name < name) {
        this.#park(conn);
        return;
      }
      if (link.conn !== undefined) this.#closeConn(link);
      // A dial still in flight finds link.conn taken when it lands and closes itself.
    }
    this.#attach(link, conn, false);
    if (link.chat === 'open' || link.chat === 'outgoing' || link.outbox.length > 0) {
      // A chat we already have (a new connection after an idle close), both of us asked at
      // once, or a peer our waiting messages are for, reachable again.
      this.#open(link, conn);
      return;
    }
    if (link.chat === 'incoming') return; // asked again; still waiting for our user
    if (this.#activeChats() >= this.#o.maxChats) {
      conn.send({ type: 'RESP', accept: false, reason: 'busy' });
      this.#closeConn(link);
      return;
    }
    if (this.#o.isAutoAccept || this.discovery.isFriend(name)) {
      this.#open(link, conn);
      return;
    }
    link.chat = 'incoming';
    this.emit('request', name);
  }

  /**
   * Holds a duplicate inbound connection that the other side will close once
   * it sees our CONN on the connection that wins; closed by us after the dial
   * deadline if it does not.
   */
  #park(conn: FramedConnection): void {
    this.#anonymous.add(conn);
    const timer = setTimeout(() => void conn.close(), this.#o.dialTimeoutMs);
    timer.unref();
    conn.on('close', () => {
      clearTimeout(timer);
      this.#anonymous.delete(conn);
    });
  }

  /** Makes `conn` the connection to `link.name` and wires its events. */
  #attach(link: Link, conn: FramedConnection, isOutbound: boolean): void {
    link.conn = conn;
    link.isOutbound = isOutbound;
    link.isReady = false;
    link.sentCount = 0;
    link.lastHeard = this.#clock.now();
    if (this.#isInputPaused) conn.pause();
    conn.on('message', (msg) => {
      if (link.conn !== conn) {
        // A connection we are closing (idle, or a duplicate): text the other
        // side sent before it saw us close is still a message for an open
        // chat, and a receipt is still a receipt.
        if (msg.type === 'TEXT' && link.chat === 'open') this.#receive(link, conn, msg);
        else if (msg.type === 'RCPT') this.#onReceipt(link, msg.id);
        return;
      }
      link.lastHeard = this.#clock.now();
      this.#onMessage(link, conn, msg);
    });
    conn.on('close', (err) => this.#onClose(link, conn, err));
    this.#traffic(link);
    // A PING every interval; a live peer answers each, so it is never silent
    // much longer than one interval. Checked every half interval, a peer
    // silent for 2.5 intervals is dead: found within three at the latest.
    const interval = this.#o.keepaliveIntervalMs;
    let tick = 0;
    link.keepaliveTimer = setInterval(() => {
      if (link.conn !== conn) return;
      const silence = this.#clock.now() - link.lastHeard;
      if (silence > 2.5 * interval) {
        conn.destroy(new NatterError(ERROR_CODES.TIMEOUT, `no answer to keepalive for ${(silence / 1000).toFixed(1)} s`));
        return;
      }
      if (tick++ % 2 === 1) conn.send({ type: 'PING', nonce: tick >>> 1 });
    }, Math.max(1, Math.floor(interval / 2)));
    link.keepaliveTimer.unref();
  }

  /**
   * Chat traffic happened: push the idle deadline back. The dialer closes an
   * idle connection first; the side that accepted it waits 10% longer. So a
   * close without END that the accepting side sees before its own deadline,
   * or any the dialer sees, is a peer that went away, not an idle close.
   */
  #traffic(link: Link, now = this.#clock.now()): void {
    link.lastTraffic = now;
    // The timer is armed once per connection and re-arms itself for the time
    // left when traffic moved the deadline: no timer work per message.
    if (link.idleTimer !== undefined) return;
    const timeoutMs = link.isOutbound ? this.#o.idleTimeoutMs : Math.round(this.#o.idleTimeoutMs * 1.1);
    const onIdle = (): void => {
      link.idleTimer = undefined;
      if (link.conn === undefined) return;
      const left = link.lastTraffic + timeoutMs - this.#clock.now();
      if (left > 0) {
        link.idleTimer = setTimeout(onIdle, left);
        link.idleTimer.unref();
        return;
      }
      this.#log.debug({ peer: link.name }, 'closing an idle connection');
      this.counters.idleClosed++;
      this.#closeConn(link);
    };
    link.idleTimer = setTimeout(onIdle, timeoutMs);
    link.idleTimer.unref();
  }

  #onMessage(link: Link, conn: FramedConnection, msg: Message): void {
    if (msg.type === 'TEXT') {
      if (!link.isReady || link.chat !== 'open') {
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'TEXT before the chat was accepted'));
        return;
      }
      this.#traffic(link, link.lastHeard);
      this.#receive(link, conn, msg);
      return;
    }
    switch (msg.type) {
      case 'RESP':
        if (!link.isOutbound || link.isReady) break;
        this.#traffic(link);
        if (msg.accept) {
          this.#open(link, conn);
        } else {
          const reason = msg.reason === '' ? 'declined' : msg.reason;
          // Busy is for now: the messages wait and are offered again later. A refusal is final.
          const refused = reason === 'busy' ? [] : link.outbox.toArray();
          if (refused.length > 0) {
            link.outbox.clear();
            this.#store.dropped(link.name, refused.map((m) => m.id));
          }
          this.#dropChat(link);
          this.#closeConn(link);
          this.emit('declined', link.name, reason);
          if (refused.length > 0) {
            // One that went out before may have arrived, its receipt lost with the connection: say so.
            const unconfirmed = refused.filter((m) => m.wasSent === true).length;
            const never = refused.length - unconfirmed;
            const parts = [
              ...(never > 0 ? [`${messages(never)} to ${link.name} not delivered`] : []),
              ...(unconfirmed > 0 ? [`${unconfirmed} sent earlier but never confirmed (${link.name} may have them)`] : []),
            ];
            this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${parts.join('; ')}: ${reason}`), link.name);
          }
          this.#wakeRoomWaiters(link);
          if (link.outbox.length > 0) this.#onUnreachable(link, new NatterError(ERROR_CODES.TOO_MANY_CHATS, `${link.name} is busy: it has as many chats as it allows`));
        }
        return;
      case 'RCPT':
        if (!link.isReady) break;
        this.#onReceipt(link, msg.id);
        return;
      case 'END':
        this.#endChat(link, 'remote', `${link.name} ended the chat`);
        this.#closeConn(link);
        return;
      case 'PING':
        conn.send({ type: 'PONG', nonce: msg.nonce });
        return;
      case 'PONG':
        return;
      case 'CONN':
        // Already identified on this connection; a repeated CONN is harmless.
        if (msg.name === link.name) return;
        break;
      case 'ERROR':
        this.emit('error', errorFromWire(msg.code, msg.reason), link.name);
        return;
      default:
        break;
    }
    conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} has no place here`));
  }

  /** Opens the chat on `conn` (answering RESP(accept) when the other side dialed) and sends what waited. */
  #open(link: Link, conn: FramedConnection): void {
    const wasOpen = link.chat === 'open';
    link.chat = 'open';
    link.isReady = true;
    link.retryDelayMs = this.#o.retryIntervalMs;
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    if (!link.isOutbound) conn.send({ type: 'RESP', accept: true, reason: '' });
    this.#traffic(link);
    if (!wasOpen) this.emit('connected', link.name);
    this.#flush(link);
  }

  /**
   * Sends what waits, oldest first, as far as the connection takes it: above
   * the high-water mark the rest waits for 'drain'. (A thousand queued
   * messages sent at once after a reconnect would overrun the connection's
   * output cap, lose it, and do the same again at every retry.)
   */
  #flush(link: Link): void {
    const conn = link.conn;
    if (conn === undefined || !link.isReady) return;
    while (link.sentCount < link.outbox.length && conn.state === 'open') {
      if (conn.queuedBytes >= SEND_HIGH_WATER) {
        if (!link.isFlushWaiting) {
          link.isFlushWaiting = true;
          void conn.drained().then(() => {
            link.isFlushWaiting = false;
            if (link.conn === conn) this.#flush(link);
          });
        }
        break;
      }
      const m = link.outbox.at(link.sentCount++) as OutMessage;
      m.wasSent = true;
      conn.send({ type: 'TEXT', id: m.id, ts: m.ts, text: m.text });
      this.emit('sent', link.name, m.id);
    }
    this.#traffic(link);
  }

  #onClose(link: Link, conn: FramedConnection, err: NatterError | undefined): void {
    if (link.conn !== conn) return;
    const wasExpected = link.expectedClose.has(conn);
    link.conn = undefined;
    link.isReady = false;
    // Messages that went out without a receipt go again on the next connection.
    link.sentCount = 0;
    this.#wakeRoomWaiters(link);
    this.#clearTimers(link);
    if (this.#isStopping || wasExpected || link.chat === undefined) {
      this.#scheduleRetry(link);
      this.#forgetIfIdle(link);
      return;
    }
    // The other side closed without END: it closed an idle connection (the chat
    // stays open), or it went away.
    const isIdleClose = !link.isOutbound && this.#clock.now() - link.lastTraffic >= 0.9 * this.#o.idleTimeoutMs;
    if (err === undefined && link.chat === 'open' && link.outbox.length === 0 && isIdleClose) {
      this.#log.debug({ peer: link.name }, 'the other side closed an idle connection; the chat stays open');
      return;
    }
    const why = err?.message ?? `${link.name} closed the connection`;
    this.#endChat(link, 'lost', `lost the connection to ${link.name}: ${why}`);
    if (link.outbox.length > 0) this.#onUnreachable(link, err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, why));
  }

  /** Closes the link's connection on purpose (idle, END, decline, duplicate). */
  #closeConn(link: Link): void {
    const conn = link.conn;
    if (conn === undefined) return;
    link.expectedClose.add(conn);
    link.conn = undefined;
    link.isReady = false;
    link.sentCount = 0;
    this.#wakeRoomWaiters(link);
    this.#clearTimers(link);
    void conn.close();
    this.#scheduleRetry(link);
    this.#forgetIfIdle(link);
  }

  #clearTimers(link: Link): void {
    clearInterval(link.keepaliveTimer);
    link.keepaliveTimer = undefined;
    clearTimeout(link.idleTimer);
    link.idleTimer = undefined;
  }

  #endChat(link: Link, reason: EndReason, detail: string): void {
    const had = link.chat;
    this.#dropChat(link);
    if (had !== undefined) this.emit('ended', link.name, reason, detail);
  }

  /** The chat ends; messages still waiting stay, and are offered again later. */
  #dropChat(link: Link): void {
    link.chat = undefined;
    this.#forgetIfIdle(link);
  }

  /** A peer we have no chat, connection or dial with is forgotten, so strangers cannot grow the map. */
  #forgetIfIdle(link: Link): void {
    if (link.chat === undefined && link.conn === undefined && link.dialing === undefined && link.outbox.length === 0 && link.staged === 0 && this.#links.get(link.name) === link) {
      this.#links.delete(link.name);
    }
  }
}

/** "1 message", "2 messages". */
function messages(n: number): string {
  return n === 1 ? '1 message' : `${n} messages`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
