/**
 * The directory server: who is online and where to reach them
 * (docs/protocol.md §6, docs/architecture.md). It never carries chat text.
 *
 * Any byte stream (a Duplex) can be handed to handle(); listen() feeds it TCP connections.
 * One sweep timer (not one timer per connection, src/directory/sweeper.ts)
 * enforces the registration deadline, expires silent clients and closes idle
 * connections, all on the monotonic clock.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { listenOn } from '../transport/listen.ts';
import type { Logger } from '../log.ts';
import { canonicalIp } from '../protocol/fields.ts';
import type { Message } from '../protocol/messages.ts';
import type { ByteStream } from '../transport/byte-stream.ts';
import { FramedConnection } from '../transport/framed-connection.ts';
import { HandshakePool } from '../transport/handshake-pool.ts';
import { fingerprint } from '../transport/identity.ts';
import { secureSocket } from '../transport/secure.ts';
import { acceptSecure } from '../transport/tcp.ts';
import { VERSION } from '../version.ts';
import { isLoopback } from './handlers/admin.ts';
import { handleAlive } from './handlers/alive.ts';
import { handleProbe } from './handlers/probe.ts';
import { handlePunch } from './handlers/punch.ts';
import { Relay } from './relay.ts';
import { newCounters, type DirectoryCounters, type HandlerContext } from './handlers/context.ts';
import { handleDown } from './handlers/down.ts';
import { handleDump, type DirectoryState } from './handlers/dump.ts';
import { handleShutdown } from './handlers/shutdown.ts';
import { handleUp } from './handlers/up.ts';
import { handleWho } from './handlers/who.ts';
import { handleFind } from './handlers/find.ts';
import { resolveDirectoryOptions, type DirectoryOptions } from './options.ts';
import { AddressCounts } from './address-counts.ts';
import { ListingCache } from './listing-cache.ts';
import { ClientSession, type SessionHost } from './session.ts';
import { Sweeper } from './sweeper.ts';
import type { DirectoryStore } from './store/store.ts';

export type { DirectoryState };

export interface DirectoryEvents {
  /** The directory has stopped: every connection closed, the store closed. */
  shutdown: [reason: string];
}

/**
 * Handshakes one address may have in progress beyond its cap of connections:
 * enough for a client at its cap to hear why it is refused, too few for one
 * address to hold the handshakes everyone else needs.
 */
const HANDSHAKES_OVER_CAP = 4;

export class DirectoryServer extends EventEmitter<DirectoryEvents> implements HandlerContext {
  readonly options: DirectoryOptions;
  readonly store: DirectoryStore;
  readonly logger: Logger;
  readonly counters: DirectoryCounters = newCounters();
  readonly relay: Relay;
  readonly #sessions = new Map<string, ClientSession>();
  readonly #perIp = new AddressCounts();
  readonly #listingCache: ListingCache;
  readonly #startedAt: number;
  /** Shared by every session (see SessionHost). */
  readonly #sessionHost: SessionHost;
  #nextId = 1;
  /** TCP connections still in their handshake (they count towards maxClients). */
  #handshaking = 0;
  /** Worker threads for the handshakes' cryptography (options.handshakeThreads), started with listen(). */
  #pool: HandshakePool | undefined;
  #tcp: Server | undefined;
  readonly #sweeper: Sweeper;
  #shutdown: Promise<void> | undefined;
  /** Closed connections whose entries are still being removed from the store. */
  readonly #departures = new Set<Promise<void>>();
  /**
   * Every accepted socket's 'close' listener, one for all of them (no closure
   * per connection): the socket names its own address, which Node keeps once
   * it has been read (at accept).
   */
  readonly #socketClosed: (this: Socket) => void;

  /** @throws NatterError NATTER_ERR_INVALID_ARGUMENT for a bad option. */
  constructor(options: Partial<DirectoryOptions> = {}) {
    super();
    this.options = resolveDirectoryOptions(options);
    this.store = this.options.store;
    this.logger = this.options.logger;
    this.#listingCache = new ListingCache(this.store);
    this.#startedAt = this.now();
    const server = this;
    this.#socketClosed = function (this: Socket): void {
      server.#perIp.forget(this.remoteAddress === undefined ? '' : canonicalIp(this.remoteAddress));
    };
    const o = this.options;
    this.#sessionHost = {
      now: () => this.now(),
      dispatch: (session, msg) => this.#dispatchFirst(session, msg),
      failed: (session, err) => this.#onFailure(session, err),
      closed: (session) => {
        const departure = this.#onClose(session).catch((err: unknown) => this.#logFault('disconnect', err));
        this.#departures.add(departure);
        void departure.finally(() => this.#departures.delete(departure));
      },
      rateBurst: o.rateBurst,
      ratePerSecond: o.ratePerSecond,
      maxDelayedCommands: o.maxDelayedCommands,
    };
    this.relay = new Relay(this);
    this.#sweeper = new Sweeper({
      options: o,
      store: this.store,
      counters: this.counters,
      logger: this.logger,
      now: () => this.now(),
      sessions: () => this.#sessions.values(),
      sessionOf: (owner) => this.#sessions.get(owner),
      fault: (err) => this.#logFault('sweep', err),
    });
    this.#sweeper.start();
    // A SHUTDOWN taken by any directory process sharing the store stops this one too (protocol.md §6.5).
    this.store.onShutdown((reason) => void this.shutdown(reason));
    // A CALL another process of a shared directory passes to a peer registered here.
    this.store.onNotice((owner, notice) => {
      const session = this.#sessions.get(owner);
      // Only to a registered connection that is still open: CALL is never sent anywhere else.
      if (session !== undefined && session.name !== undefined && session.conn.state === 'open') session.conn.send(notice);
    });
  }

  #logFault(what: string, err: unknown): void {
    this.logger.error({ what, err: err instanceof Error ? err.message : String(err) }, 'the directory failed to do its part');
  }

  now(): number {
    return this.options.clock.now();
  }

  /** Connections currently open. */
  get connectionCount(): number {
    return this.#sessions.size;
  }

  get isShuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** The directory's public key: what clients pin. */
  get publicKey(): Buffer {
    return this.options.keyPair.publicKey;
  }

  /**
   * Listens on TCP; resolves with the real address (port 0 picks a free
   * port). Every connection runs the Noise handshake first (docs/security.md).
   */
  async listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    // Every process sharing a store must show peers the same key (NATTER_ERR_DIRECTORY_KEY_CONFLICT otherwise).
    await this.store.claimIdentity(this.publicKey.toString('hex'));
    if (this.options.handshakeThreads > 0) {
      this.#pool ??= new HandshakePool(this.options.keyPair, this.options.handshakeThreads, (err) =>
        this.#logFault('handshake thread', err),
      );
    }
    const tcp = createServer({ noDelay: true }, (socket) => this.#onSocket(socket));
    this.#tcp = tcp;
    await listenOn(tcp, port, host, (err) => this.logger.warn({ code: err.code, err: err.message }, 'could not accept a connection'));
    const address = tcp.address() as AddressInfo;
    this.logger.info({ host: address.address, port: address.port }, 'listening');
    return address;
  }

  /** The TCP address, once listening. */
  get address(): AddressInfo | undefined {
    return (this.#tcp?.address() as AddressInfo | null) ?? undefined;
  }

  get listeningPort(): number | undefined {
    return this.address?.port;
  }

  /**
   * Every accepted socket is counted against its address from accept to its
   * own 'close', whatever becomes of the stream above it: in its handshake,
   * served, relayed, or failed on the way.
   */
  #onSocket(socket: Socket): void {
    const { remoteAddress, remotePort } = socket;
    const o = this.options;
    const ip = remoteAddress === undefined ? '' : canonicalIp(remoteAddress);
    const fromIp = this.#perIp.of(ip);
    const isCapped = !(o.isLoopbackExempt && isLoopback(ip));
    // A handshake costs CPU: beyond this many at once, refuse before doing one; and one address
    // may not hold more than its share, handshakes included. Below that, a client the directory
    // cannot take still completes the handshake to hear why (one ERROR).
    if (
      this.#shutdown !== undefined ||
      this.#handshaking >= o.maxHandshakes ||
      (isCapped && fromIp >= o.maxConnectionsPerIp + HANDSHAKES_OVER_CAP)
    ) {
      this.counters.connectionsRefused++;
      socket.destroy();
      return;
    }
    this.#perIp.add(ip);
    socket.on('close', this.#socketClosed);
    const acceptedAt = this.now();
    this.#handshaking++;
    // One deadline from accept to registration, the handshake included.
    acceptSecure(socket, o.keyPair, Math.min(o.handshakeTimeoutMs, o.registerTimeoutMs), undefined, this.#pool?.responder()).then(
      (stream) => {
        this.#handshaking--;
        this.handle(stream, { remoteAddress, remotePort, remoteKey: stream.remoteKey, acceptedAt, isCounted: true });
      },
      (err: NatterError) => {
        this.#handshaking--;
        this.counters.handshakeFailures++;
        this.logger.info({ ip: remoteAddress, code: err.code }, err.message);
      },
    );
  }

  /**
   * Serves one client over any byte stream. `remoteKey` is the key the
   * client proved (listen() passes the handshake's); a client without one
   * may list who is online but not register or administer.
   */
  handle(
    stream: ByteStream,
    info: {
      remoteAddress?: string | undefined;
      remotePort?: number | undefined;
      remoteKey?: Buffer | undefined;
      /** When the connection was accepted, on the directory's clock: the registration deadline counts from it. */
      acceptedAt?: number;
      /** Already counted against its address (a socket this server accepted). */
      isCounted?: boolean;
    } = {},
  ): void {
    const o = this.options;
    const ip = info.remoteAddress === undefined ? '' : canonicalIp(info.remoteAddress);
    const conn = new FramedConnection(stream, {
      limits: o.limits,
      maxQueueBytes: o.maxQueueBytes,
      hello: 'answer',
    });
    const refusal = this.#admissionRefusal(ip, info.isCounted === true ? 1 : 0);
    if (refusal !== undefined) {
      this.counters.connectionsRefused++;
      this.logger.warn({ ip, code: refusal.code }, refusal.message);
      conn.fail(refusal);
      return;
    }
    this.counters.connectionsAccepted++;
    const id = String(this.#nextId++);
    const session = new ClientSession(id, conn, ip, info.remotePort ?? 0, info.remoteKey, this.#sessionHost, info.acceptedAt);
    this.#sessions.set(id, session);
    this.#sweeper.add(session);
    if (info.isCounted !== true) {
      this.#perIp.add(ip);
      conn.once('close', () => this.#perIp.forget(ip));
    }
  }

  /** `self`: 1 when the connection asking is already counted against `ip`. */
  #admissionRefusal(ip: string, self: number): NatterError | undefined {
    const o = this.options;
    if (this.#shutdown !== undefined) {
      return new NatterError(ERROR_CODES.SHUTTING_DOWN, 'the directory is shutting down');
    }
    if (this.#sessions.size >= o.maxClients) {
      return new NatterError(ERROR_CODES.SERVER_FULL, `the directory is full (${o.maxClients} clients); try again later`);
    }
    const fromIp = this.#perIp.of(ip) - self;
    if (fromIp >= o.maxConnectionsPerIp && !(o.isLoopbackExempt && isLoopback(ip))) {
      return new NatterError(ERROR_CODES.TOO_MANY_CONNECTIONS, `too many connections from ${ip} (${o.maxConnectionsPerIp} at most)`);
    }
    return undefined;
  }

  /**
   * On a store in this process, a heartbeat or a registration is answered in
   * the same call (no promise, no later turn): its answer leaves with the read
   * that brought it. Any other request, or any on a shared store, goes
   * through #dispatch and is answered when the store has answered.
   */
  #dispatchFirst(session: ClientSession, msg: Message): Promise<void> | undefined {
    if (msg.type === 'ALIVE' && this.store.refreshNow !== undefined) return handleAlive(this, session);
    if (msg.type === 'UP' && this.store.registerNow !== undefined) return handleUp(this, session, msg);
    return this.#dispatch(session, msg);
  }

  async #dispatch(session: ClientSession, msg: Message): Promise<void> {
    // Any request from a registered client counts as being heard from (protocol.md §6.4), not only ALIVE.
    // (ALIVE and UP refresh in their handlers; DOWN removes the entry anyway.)
    if (session.name !== undefined && msg.type !== 'ALIVE' && msg.type !== 'UP' && msg.type !== 'DOWN') {
      const name = session.name;
      const refreshed = this.store.refresh(name, session.id, this.now()).then((entry) => {
        // Gone from the store (expired, or its key registered again, perhaps at another directory process): no longer registered.
        if (entry === undefined && session.name === name) session.name = undefined;
      });
      // WHO does not wait for it: a shared store's round trip would be in every listing's latency. A
      // takeover by the same key at another process is then seen from the WHO after.
      if (msg.type === 'WHO') refreshed.catch((err: unknown) => this.#logFault('refresh', err));
      else await refreshed;
    }
    try {
      await this.#handle(session, msg);
    } catch (err) {
      // A shared store that cannot be reached refuses the request, not the connection (docs/errors.md).
      if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      if (msg.type === 'UP') this.counters.refusedRegistrations++;
      this.logger.debug({ session: session.id, request: msg.type }, err.message);
      session.conn.send({ type: 'ERROR', code: err.code, reason: err.message });
    }
  }

  async #handle(session: ClientSession, msg: Message): Promise<void> {
    switch (msg.type) {
      case 'UP':
        return handleUp(this, session, msg);
      case 'DOWN':
        return handleDown(this, session);
      case 'WHO':
        return handleWho(this, session);
      case 'FIND':
        return handleFind(this, session, msg);
      case 'ALIVE':
        return handleAlive(this, session);
      case 'SHUTDOWN':
        return handleShutdown(this, session);
      case 'DUMP':
        return handleDump(this, session);
      case 'PROBE':
        return handleProbe(this, session, msg);
      case 'PUNCH':
        return handlePunch(this, session, msg);
      case 'RELAY':
        return this.relay.request(session, msg.name);
      case 'ERROR':
        this.logger.info({ session: session.id, code: msg.code, reason: msg.reason }, 'client reported an error');
        return;
      default:
        session.conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} is not a request the directory takes`));
    }
  }

  #onFailure(session: ClientSession, err: NatterError): void {
    if (err.code === ERROR_CODES.RATE_LIMITED) this.counters.rateLimited++;
    else if (err.code === ERROR_CODES.OUTPUT_QUEUE_FULL) this.counters.slowConsumersCut++;
    else if (err.code === ERROR_CODES.REGISTER_TIMEOUT) this.counters.registerTimeouts++;
    else if (err.code !== ERROR_CODES.CONNECTION_CLOSED) this.counters.protocolErrors++;
    this.logger.info({ session: session.id, ip: session.ip, peer: session.name, code: err.code }, err.message);
  }

  async #onClose(session: ClientSession): Promise<void> {
    this.#sessions.delete(session.id);
    this.#sweeper.remove(session);
    // A closed connection means the client is gone: no need to wait for expiry.
    await handleDown(this, session, 'disconnected');
  }

  /**
   * Enforces registration deadlines, expires silent clients and closes idle
   * connections, all at once (src/directory/sweeper.ts; its timer runs the
   * same checks at their own cadences). Tests with a manual clock call it directly.
   */
  async sweep(): Promise<void> {
    if (this.#shutdown !== undefined) return;
    await this.#sweeper.sweep();
  }

  sessionOf(owner: string): ClientSession | undefined {
    return this.#sessions.get(owner);
  }

  /**
   * A connection the relay took over: it is no session of the directory's
   * any more; its socket still counts against its address until it closes.
   */
  release(session: ClientSession): void {
    this.#sessions.delete(session.id);
    this.#sweeper.remove(session);
  }

  /**
   * PROBE's dial-back: a TCP connection to `ip`:`port` and the handshake, in
   * which the other side must prove `key`; nothing more is sent.
   */
  async dialBack(ip: string, port: number, key: Buffer): Promise<{ isReachable: boolean; detail: string }> {
    const timeoutMs = this.options.probeTimeoutMs;
    const socket = connect({ host: ip, port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    timer.unref();
    try {
      const secure = await secureSocket(socket, true, { keyPair: this.options.keyPair, handshakeTimeoutMs: timeoutMs });
      secure.destroy();
      if (!secure.remoteKey.equals(key))
        return { isReachable: false, detail: `${ip}:${port} answers, but with another key than this connection's` };
      return { isReachable: true, detail: '' };
    } catch (err) {
      const e = err as NatterError;
      const isTimeout = e.code === ERROR_CODES.TIMEOUT || /timed out/.test(e.message);
      return {
        isReachable: false,
        detail: isTimeout
          ? `no answer at ${ip}:${port} within ${timeoutMs / 1000} s`
          : `${ip}:${port} cannot be reached from here: ${e.message}`,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  releaseName(owner: string, name: string): void {
    const session = this.#sessions.get(owner);
    if (session !== undefined && session.name === name) session.name = undefined;
  }

  listing(): Promise<Buffer> {
    return this.#listingCache.listing();
  }

  peerFrame(name: string): Promise<Buffer | undefined> {
    return this.#listingCache.peerFrame(name);
  }

  async dumpState(): Promise<DirectoryState> {
    const now = this.now();
    const records = await this.store.list();
    return {
      server: 'natter-directory',
      version: VERSION,
      uptimeMs: Math.round(now - this.#startedAt),
      aliveIntervalMs: this.options.aliveIntervalMs,
      fingerprint: fingerprint(this.publicKey),
      connections: this.#sessions.size,
      online: records.length,
      clients: records.map((r) => ({
        name: r.name,
        ip: r.ip,
        port: r.port,
        fingerprint: fingerprint(Buffer.from(r.key, 'hex')),
        lastHeardMsAgo: Math.round(now - r.lastHeard),
        registeredMsAgo: Math.round(now - r.registeredAt),
      })),
      relay: { isRelaying: this.options.isRelaying, ...this.relay.counts },
      counters: { ...this.counters },
    };
  }

  /** Stops the chat system: every client is sent SHUTDOWN (and obeys it), then the directory stops. */
  shutdown(reason = 'requested'): Promise<void> {
    this.#shutdown ??= this.#stop(reason, true);
    return this.#shutdown;
  }

  /**
   * Stops this directory without telling clients to shut down: they see the
   * connection close and reconnect (to a directory that takes over).
   */
  close(reason = 'closed'): Promise<void> {
    this.#shutdown ??= this.#stop(reason, false);
    return this.#shutdown;
  }

  /**
   * SHUTDOWN every client (when asked to), stop accepting, close every
   * connection (forcing stragglers after shutdownGraceMs), close the store.
   */
  async #stop(reason: string, isNotifying: boolean): Promise<void> {
    this.logger.info({ reason, connections: this.#sessions.size }, 'shutting down');
    this.#sweeper.stop();
    const tcpClosed = new Promise<void>((resolve) => (this.#tcp ? this.#tcp.close(() => resolve()) : resolve()));
    const sessions = [...this.#sessions.values()];
    if (isNotifying) {
      for (const session of sessions) session.conn.send({ type: 'SHUTDOWN' });
    }
    this.relay.close();
    const grace = setTimeout(() => {
      for (const session of sessions) session.conn.destroy();
    }, this.options.shutdownGraceMs);
    await Promise.all(sessions.map((s) => s.conn.close()));
    clearTimeout(grace);
    await tcpClosed;
    // A shared store outlives this process: leave it without this process's peers.
    await Promise.all(this.#departures);
    await this.#pool?.close();
    await this.store.close();
    this.logger.info({ reason }, 'stopped');
    this.emit('shutdown', reason);
  }
}
