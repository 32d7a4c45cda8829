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
  /** Texts waiting per peer for a chat to open. Default 100. */
  maxOutbox?: number;
  /** How long stop() waits for texts still waiting for a chat to open (and be sent). Default 5,000 ms. */
  stopGraceMs?: number;
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
  /** A chat message. */
  message: [from: string, text: string];
  /** A chat ended; `detail` says more for "lost". */
  ended: [peer: string, reason: EndReason, detail: string];
  /** Something failed that the user should hear about (unknown or offline peer, undelivered texts). */
  error: [err: NatterError, peer: string | undefined];
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
  /** Texts waiting for the chat to open or for a connection. */
  outbox: string[];
  idleTimer: NodeJS.Timeout | undefined;
  keepaliveTimer: NodeJS.Timeout | undefined;
  lastHeard: number;
  /** Monotonic ms of the last chat traffic (not keepalives) on the current connection. */
  lastTraffic: number;
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

const DEFAULTS = {
  listenHost: '127.0.0.1',
  isAutoAccept: false,
  maxChats: 8,
  idleTimeoutMs: 300_000,
  keepaliveIntervalMs: 15_000,
  dialTimeoutMs: 10_000,
  maxOutbox: 100,
  stopGraceMs: 5_000,
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
  /** Inbound connections that have not said who they are yet. */
  readonly #anonymous = new Set<FramedConnection>();
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
    for (const key of ['maxChats', 'idleTimeoutMs', 'keepaliveIntervalMs', 'dialTimeoutMs', 'maxOutbox', 'stopGraceMs', 'maxPendingInbound'] as const) {
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
    return this.#address;
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
    return this.keyBook.trust(name, await this.#lookupQuietly(name), this.discovery.keyAuthority);
  }

  async #lookupQuietly(name: string): Promise<PeerInfo | undefined> {
    try {
      return await this.discovery.lookup(name);
    } catch {
      return undefined;
    }
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
   * Sends a chat message, opening the chat (and a connection) when needed.
   * Texts typed before the chat opens wait, in order, and leave once it does.
   * Resolves once the text is queued; await it to get backpressure.
   */
  send(peer: string, text: string): Promise<void> {
    // The hot path: an open chat under exactly this name (link keys are normalised names).
    const open = this.#links.get(peer);
    const conn = open?.conn;
    if (open !== undefined && open.isReady && open.chat === 'open' && conn?.state === 'open') {
      try {
        conn.send({ type: 'TEXT', text });
      } catch (err) {
        return Promise.reject(err);
      }
      this.#traffic(open);
      return conn.queuedBytes >= SEND_HIGH_WATER ? conn.drained() : RESOLVED;
    }
    return this.#sendSlow(peer, text);
  }

  /** Everything else: checking the name, opening the chat, queueing until it opens. */
  async #sendSlow(peer: string, text: string): Promise<void> {
    const link = this.#linkFor(this.#checkPeerName(peer));
    if (link.chat === 'incoming') this.accept(peer); // answering a request is accepting it
    if (link.chat === undefined) {
      this.#checkChatRoom();
      link.chat = 'outgoing';
    }
    const conn = link.conn;
    if (link.isReady && conn?.state === 'open') {
      conn.send({ type: 'TEXT', text });
      this.#traffic(link);
      if (conn.queuedBytes >= SEND_HIGH_WATER) await conn.drained();
      return;
    }
    if (link.outbox.length >= this.#o.maxOutbox) {
      throw new NatterError(ERROR_CODES.OUTBOX_FULL, `${link.outbox.length} messages to ${peer} are already waiting; not sent`);
    }
    // Check the text now, not when the chat opens, so a bad one fails here.
    if (Buffer.byteLength(text, 'utf8') > (this.#limits.maxTextBytes ?? DEFAULT_LIMITS.maxTextBytes)) {
      throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, 'message is too long');
    }
    link.outbox.push(text);
    try {
      await this.#ensureConnection(link);
    } catch (err) {
      if (link.chat === 'outgoing') this.#dropChat(link);
      throw err;
    }
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
    // Messages already typed still leave: give chats being opened a moment to open and send them.
    const deadline = this.#clock.now() + this.#o.stopGraceMs;
    while (this.#hasWaitingTexts() && this.#clock.now() < deadline) await sleep(20);
    this.#isStopping = true;
    const closing: Promise<void>[] = [];
    for (const link of this.#links.values()) {
      if (link.outbox.length > 0) {
        this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${link.outbox.length} message(s) to ${link.name} not delivered: no answer before leaving`), link.name);
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

  #hasWaitingTexts(): boolean {
    for (const link of this.#links.values()) if (link.outbox.length > 0 && link.chat !== undefined) return true;
    return false;
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
        outbox: [],
        idleTimer: undefined,
        keepaliveTimer: undefined,
        lastHeard: 0,
        lastTraffic: 0,
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
    const address = await this.discovery.lookup(link.name);
    if (address === undefined) {
      throw new NatterError(ERROR_CODES.UNKNOWN_PEER, `${link.name} is not online (or not a friend)`);
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
    if (link.chat === 'open' || link.chat === 'outgoing') {
      // A chat we already have (a new connection after an idle close), or both of us asked at once.
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
    link.lastHeard = this.#clock.now();
    if (this.#isInputPaused) conn.pause();
    conn.on('message', (msg) => {
      if (link.conn !== conn) {
        // A connection we are closing (idle, or a duplicate): text the other
        // side sent before it saw us close is still a message for an open chat.
        if (msg.type === 'TEXT' && link.chat === 'open') this.emit('message', link.name, msg.text);
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
    switch (msg.type) {
      case 'RESP':
        if (!link.isOutbound || link.isReady) break;
        this.#traffic(link);
        if (msg.accept) {
          this.#open(link, conn);
        } else {
          const reason = msg.reason === '' ? 'declined' : msg.reason;
          const undelivered = link.outbox.length;
          this.#dropChat(link);
          this.#closeConn(link);
          this.emit('declined', link.name, reason);
          if (undelivered > 0) {
            this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${undelivered} message(s) to ${link.name} not delivered`), link.name);
          }
        }
        return;
      case 'TEXT':
        if (!link.isReady || link.chat !== 'open') break;
        this.#traffic(link, link.lastHeard);
        this.emit('message', link.name, msg.text);
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
    if (!link.isOutbound) conn.send({ type: 'RESP', accept: true, reason: '' });
    this.#traffic(link);
    if (!wasOpen) this.emit('connected', link.name);
    this.#flush(link);
  }

  #flush(link: Link): void {
    const conn = link.conn;
    if (conn === undefined || !link.isReady) return;
    while (link.outbox.length > 0 && conn.state === 'open') {
      conn.send({ type: 'TEXT', text: link.outbox.shift() as string });
    }
    this.#traffic(link);
  }

  #onClose(link: Link, conn: FramedConnection, err: NatterError | undefined): void {
    if (link.conn !== conn) return;
    const wasExpected = link.expectedClose.has(conn);
    link.conn = undefined;
    link.isReady = false;
    this.#clearTimers(link);
    if (this.#isStopping || wasExpected || link.chat === undefined) {
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
    if (link.outbox.length > 0) {
      this.emit('error', new NatterError(ERROR_CODES.NOT_DELIVERED, `${link.outbox.length} message(s) to ${link.name} not delivered: ${why}`), link.name);
    }
    this.#endChat(link, 'lost', `lost the connection to ${link.name}: ${why}`);
  }

  /** Closes the link's connection on purpose (idle, END, decline, duplicate). */
  #closeConn(link: Link): void {
    const conn = link.conn;
    if (conn === undefined) return;
    link.expectedClose.add(conn);
    link.conn = undefined;
    link.isReady = false;
    this.#clearTimers(link);
    void conn.close();
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

  #dropChat(link: Link): void {
    link.chat = undefined;
    link.outbox = [];
    this.#forgetIfIdle(link);
  }

  /** A peer we have no chat, connection or dial with is forgotten, so strangers cannot grow the map. */
  #forgetIfIdle(link: Link): void {
    if (link.chat === undefined && link.conn === undefined && link.dialing === undefined && this.#links.get(link.name) === link) {
      this.#links.delete(link.name);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
