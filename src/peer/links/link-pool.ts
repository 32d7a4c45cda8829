/**
 * One connection per pair of peers (protocol.md §7, docs/chat.md
 * "Connections"): the pool dials through its connector, identifies what the
 * listener accepts (CONN, then the key check), keeps at most one connection
 * per other peer, watches each with a Liveness, and tells its owner (the
 * PeerNode) what happened in terms of peers, never of paths.
 *
 * Two connections for one pair (both dialed at once): while our own dial is
 * still unanswered, the one dialed by the name that sorts first wins; each
 * side closes only its own losing dial, so nothing is torn down before the
 * winner carries the CONN. Otherwise the newer connection wins: the other
 * side evidently gave up on the old one. A duplicate we do not keep is
 * parked until the other side closes it (or the dial deadline passes).
 *
 *   connect ──dial──▶ attached (CONN sent) ──▶ ... ──▶ detached: expected | idle | lost
 *   accept ──handshake──▶ anonymous ──CONN, key checked──▶ attached | parked | refused
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Scheduler } from '../../clock.ts';
import type { PeerInfo } from '../../discovery/discovery.ts';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { canonicalIp } from '../../protocol/fields.ts';
import { TokenBucket } from '../../rate-limiter.ts';
import type { Message } from '../../protocol/messages.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';
import type { Connection, Connector, ConnectorContext, LinkKind } from './connector.ts';
import { PeerListener } from './listener.ts';
import { Liveness } from './liveness.ts';
import { ReadPacer } from './read-pacer.ts';
import { Upgrader } from './upgrader.ts';

/** The one connection to another peer. */
export interface PeerLink {
  readonly peer: string;
  readonly conn: FramedConnection;
  readonly kind: LinkKind;
  /** True when we dialed it. */
  readonly isOutbound: boolean;
  /** Monotonic ms when it was attached (for an outbound one: when our CONN went). */
  readonly attachedAt: number;
  /** Set by the owner once CONN/RESP(accept) was exchanged on it: TEXT may flow. */
  isReady: boolean;
}

/** Why a connection left: we closed it, the other side closed it as idle, or it was lost. */
export type DetachReason = 'expected' | 'idle' | 'lost';

export interface LinkPoolEvents {
  /** A connection became the one to `peer`: an outbound one once its CONN went, an inbound one once its key was checked. */
  attached: [peer: string, link: PeerLink];
  /** A message from `peer` on `conn` (never PING or PONG); `isCurrent` is false on a connection we are closing. */
  message: [peer: string, msg: Message, conn: FramedConnection, isCurrent: boolean];
  /** `peer`'s connection is gone. */
  detached: [peer: string, reason: DetachReason, err: NatterError | undefined];
  /** An inbound connection claimed `peer`'s name with another key, and was refused. */
  refused: [peer: string, err: NatterError];
}

export interface LinkPoolOptions {
  /** Our name: sent in CONN, and the tie-breaker for crossing dials. */
  name: string;
  /** Our key pair, the key book and the discovery (for the key check of an inbound CONN), the limits, and the
   * deadline for a dial, a handshake and an inbound connection's CONN: what the connector is given too. */
  context: ConnectorContext;
  connector: Connector;
  /** Tried in the background while a link we dialed is relayed, to move it to a better path. Default: none. */
  upgrade?: Connector | undefined;
  listenHost: string;
  listenPort: number;
  /** IP to tell peers in CONN; default: the local address of each connection. */
  advertiseIp: string | undefined;
  maxPendingInbound: number;
  /** Of those, from one address at most. */
  maxPendingPerAddress: number;
  /** From accepting a connection to its CONN, the handshake included, at most. */
  inboundTimeoutMs: number;
  keepaliveIntervalMs: number;
  idleTimeoutMs: number;
  /** Frames one peer may send a second (after a burst of twice as many); faster ones are read at that pace. */
  maxFramesPerSecond: number;
  scheduler: Scheduler;
  logger: Logger;
  /**
   * Asked when a dial lands: does the owner still want a connection to
   * `peer`? (A chat ended while it dialed.) False closes it.
   */
  isWanted(peer: string): boolean;
  /**
   * Whether `key` is already one of ours (a member of a room we share): its
   * CONN is no stranger's, so it takes nothing of the lookups strangers may
   * cause. A full room's members all connect at once when it forms.
   */
  isExpected?(key: Buffer): boolean;
}

/**
 * Lookups for names that connect to us and are not pinned (strangers, as
 * far as we know): a burst, then this many a second. They cost a request
 * to the directory, whose rate limit is ours too: a flood of strangers must
 * not spend it. Past it, their CONN is refused as rate limited.
 */
const STRANGER_LOOKUP_BURST = 8;
const STRANGER_LOOKUPS_PER_SECOND = 2;

interface Entry {
  link: PeerLink;
  liveness: Liveness;
  /** Reads it at its rate and in slices (src/peer/links/read-pacer.ts). */
  pacer: ReadPacer;
}

export class LinkPool extends EventEmitter<LinkPoolEvents> {
  readonly #o: LinkPoolOptions;
  readonly #listener: PeerListener;
  readonly #links = new Map<string, Entry>();
  readonly #dials = new Map<string, Promise<void>>();
  /** Inbound connections that have not said who they are yet, and duplicates waiting to be closed. */
  readonly #anonymous = new Set<FramedConnection>();
  /** Connections we close on purpose: their close is not a loss. */
  readonly #expectedClose = new WeakSet<FramedConnection>();
  /** Moves relayed links we dialed to better paths (with a rendezvous only). */
  readonly #upgrader: Upgrader<PeerLink> | undefined;
  /** Connections a better path replaced, left for the other side to close (see #retire). */
  readonly #retired = new Set<FramedConnection>();
  #address: AddressInfo | undefined;
  #isInputPaused = false;
  #isStopping = false;
  /** Connections opened over the pool's life (DUMP, and tests of connection reuse). */
  readonly counters = { dialed: 0, accepted: 0, idleClosed: 0 };
  readonly #strangerLookups: TokenBucket;

  constructor(options: LinkPoolOptions) {
    super();
    this.#o = options;
    this.#strangerLookups = new TokenBucket(STRANGER_LOOKUP_BURST, STRANGER_LOOKUPS_PER_SECOND, options.scheduler.now());
    this.#upgrader =
      options.upgrade === undefined
        ? undefined
        : new Upgrader(options.upgrade, {
            scheduler: options.scheduler,
            logger: options.logger,
            isCurrent: (peer, link) => this.#links.get(peer)?.link === link && !this.#isStopping && options.isWanted(peer),
            replace: (peer, _link, better) => this.#replace(peer, better),
          });
    this.#listener = new PeerListener({
      host: options.listenHost,
      port: options.listenPort,
      keyPair: options.context.keyPair,
      limits: options.context.limits,
      handshakeTimeoutMs: options.inboundTimeoutMs,
      pending: (ip) => ({
        count: this.#anonymous.size,
        max: options.maxPendingInbound,
        fromIp: this.#anonymousFrom(ip),
        maxPerIp: options.maxPendingPerAddress,
      }),
      now: () => options.scheduler.now(),
      logger: options.logger,
      onConnection: (conn, acceptedAt) => this.#onInbound(conn, 'direct', acceptedAt),
    });
  }

  async start(): Promise<AddressInfo> {
    this.#address = await this.#listener.start();
    return this.#address;
  }

  get address(): AddressInfo | undefined {
    return this.#address;
  }

  /** The connection to `peer`, if one is attached. */
  link(peer: string): PeerLink | undefined {
    return this.#links.get(peer)?.link;
  }

  isDialing(peer: string): boolean {
    return this.#dials.has(peer);
  }

  /** Connections open now, identified or not. */
  get connectionCount(): number {
    return this.#anonymous.size + this.#links.size;
  }

  /** A connection another path opened with us as the accepting side (a call answered): identified like one the listener accepted. */
  adopt(conn: FramedConnection, kind: LinkKind): void {
    this.#onInbound(conn, kind);
  }

  /**
   * Makes sure a connection to `peer` is open or being opened; resolves once
   * a dial (if one was needed) has landed. Rejects with the connector's error.
   */
  ensure(peer: string): Promise<void> {
    if (this.#links.has(peer)) return Promise.resolve();
    let dialing = this.#dials.get(peer);
    if (dialing === undefined) {
      dialing = this.#dial(peer).finally(() => this.#dials.delete(peer));
      this.#dials.set(peer, dialing);
    }
    return dialing;
  }

  /** Chat traffic with `peer` (at `at`, default now): its connection is in use. */
  traffic(peer: string, at?: number): void {
    this.#links.get(peer)?.liveness.traffic(at);
  }

  /** Closes `peer`'s connection on purpose (idle, END, decline, duplicate); 'detached' (expected) follows at once. */
  close(peer: string): void {
    const entry = this.#links.get(peer);
    if (entry === undefined) return;
    this.#expectedClose.add(entry.link.conn);
    this.#links.delete(peer);
    entry.liveness.stop();
    this.#upgrader?.stop(entry.link);
    void entry.link.conn.close();
    this.emit('detached', peer, 'expected', undefined);
  }

  /**
   * Lets `peer`'s connection go as close() does, except that it is not closed
   * yet: the other side may still be sending on it, and our close could reach
   * it before our CONN on the better path does, which it would take for a
   * lost connection. The other side closes it when it takes the new one (both
   * then take the close as expected); we close it after the dial deadline if
   * it has not.
   */
  #retire(peer: string): void {
    const entry = this.#links.get(peer);
    if (entry === undefined) return;
    const conn = entry.link.conn;
    this.#expectedClose.add(conn);
    this.#links.delete(peer);
    entry.liveness.stop();
    this.#upgrader?.stop(entry.link);
    this.#leaveToOtherSide(conn, this.#retired);
    this.emit('detached', peer, 'expected', undefined);
  }

  /** Stops reading from every peer (and from those that connect meanwhile) until resume(). */
  pause(): void {
    this.#isInputPaused = true;
    for (const { link } of this.#links.values()) link.conn.pause();
  }

  resume(): void {
    this.#isInputPaused = false;
    for (const entry of this.#links.values()) if (entry.pacer.isFree) entry.link.conn.resume();
  }

  /** Stops accepting and dialing, and closes every connection gracefully. */
  async stop(): Promise<void> {
    this.#isStopping = true;
    const listenerClosed = this.#listener.close();
    const closing: Promise<void>[] = [];
    for (const { link, liveness } of this.#links.values()) {
      liveness.stop();
      this.#upgrader?.stop(link);
      closing.push(link.conn.close());
    }
    for (const conn of this.#anonymous) closing.push(conn.close());
    for (const conn of this.#retired) closing.push(conn.close());
    await Promise.all(closing);
    await listenerClosed;
  }

  async #dial(peer: string): Promise<void> {
    const { conn, kind, isInbound } = await this.#o.connector.connect(peer);
    if (this.#isStopping || !this.#o.isWanted(peer)) {
      void conn.close();
      return;
    }
    if (isInbound === true) {
      // The path made us the accepting side: the other side's CONN identifies it.
      this.#dials.delete(peer);
      this.#onInbound(conn, kind);
      return;
    }
    if (this.#links.has(peer)) {
      // An inbound connection from this peer arrived while we dialed, and the rule kept it: ours is the duplicate.
      void conn.close();
      return;
    }
    this.counters.dialed++;
    const link = this.#attach(peer, conn, kind, true);
    this.#sendConn(conn);
    this.emit('attached', peer, link);
    this.#upgrader?.start(peer, link);
  }

  /**
   * A better path to `peer` got through while its link was relayed: it takes
   * the relayed link's place. The owner sees the relayed connection leave
   * ('expected') and the new one attached, and sends again what has no
   * receipt yet: the other side drops copies by id, so nothing is lost or
   * shown twice.
   */
  #replace(peer: string, better: Connection): void {
    if (better.isInbound === true) {
      this.#onInbound(better.conn, better.kind);
      return;
    }
    this.#retire(peer);
    this.counters.dialed++;
    const link = this.#attach(peer, better.conn, better.kind, true);
    this.#sendConn(better.conn);
    this.emit('attached', peer, link);
  }

  #sendConn(conn: FramedConnection): void {
    const ip = this.#o.advertiseIp ?? conn.localAddress ?? '';
    conn.send({ type: 'CONN', name: this.#o.name, ip: ip === '' ? '' : canonicalIp(ip), port: this.#address?.port ?? 1 });
  }

  /** Connections from `ip` that have not said who they are. */
  #anonymousFrom(ip: string): number {
    let n = 0;
    for (const conn of this.#anonymous) if (conn.remoteAddress !== undefined && canonicalIp(conn.remoteAddress) === ip) n++;
    return n;
  }

  /** `acceptedAt`: when the listener accepted it; the wait for CONN ends inboundTimeoutMs after (default: now). */
  #onInbound(conn: FramedConnection, kind: LinkKind = 'direct', acceptedAt?: number): void {
    if (this.#isStopping) {
      void conn.close();
      return;
    }
    this.counters.accepted++;
    this.#anonymous.add(conn);
    const s = this.#o.scheduler;
    const timeoutMs = this.#o.inboundTimeoutMs;
    const left = Math.max(0, (acceptedAt ?? s.now()) + timeoutMs - s.now());
    const deadline = s.setTimeout(() => {
      conn.fail(new NatterError(ERROR_CODES.TIMEOUT, `no CONN within ${timeoutMs} ms of connecting`));
    }, left);
    const onFirst = (msg: Message): void => {
      conn.off('message', onFirst);
      if (msg.type !== 'CONN') {
        s.clearTimeout(deadline);
        conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `expected CONN first, got ${msg.type}`));
        return;
      }
      // Nothing more is taken from it until its key is known to belong to the name.
      conn.pause();
      void this.#checkInbound(conn, msg.name).then((err) => {
        s.clearTimeout(deadline);
        this.#anonymous.delete(conn);
        conn.off('close', onGone);
        if (conn.state !== 'open') return;
        if (err !== undefined) {
          this.#o.logger.warn({ peer: msg.name, code: err.code }, err.message);
          conn.fail(err);
          if (err.code === ERROR_CODES.KEY_MISMATCH) this.emit('refused', msg.name, err);
          return;
        }
        this.#identified(conn, msg.name, kind);
        if (!this.#isInputPaused) conn.resume();
      });
    };
    const onGone = (): void => {
      s.clearTimeout(deadline);
      this.#anonymous.delete(conn);
    };
    conn.on('message', onFirst);
    conn.on('close', onGone);
    conn.on('failure', (err) => this.#o.logger.info({ code: err.code, ip: conn.remoteAddress }, `inbound connection: ${err.message}`));
  }

  /** The key check for an inbound CONN: undefined when `conn`'s key may speak for `name`. */
  async #checkInbound(conn: FramedConnection, name: string): Promise<NatterError | undefined> {
    if (name === this.#o.name) return new NatterError(ERROR_CODES.INVALID_NAME, `${name} is this peer's own name`);
    const key = conn.remoteKey;
    if (key === undefined) return new NatterError(ERROR_CODES.HANDSHAKE_FAILED, 'the connection has no proven key');
    const ctx = this.#o.context;
    const isStranger = ctx.keyBook.known.peer(name) === undefined && this.#o.isExpected?.(key) !== true;
    if (isStranger && !this.#strangerLookups.tryTake(this.#o.scheduler.now())) {
      return new NatterError(ERROR_CODES.RATE_LIMITED, 'too many new peers are connecting at once; try again in a few seconds');
    }
    let info: PeerInfo | undefined;
    try {
      info = await ctx.lookup(name);
    } catch {
      info = undefined;
    }
    try {
      ctx.keyBook.check(name, key, info, ctx.discovery.keyAuthority);
      return undefined;
    } catch (err) {
      return err as NatterError;
    }
  }

  /** An inbound connection proved it speaks for `peer`: keep it, or park it as the losing duplicate. */
  #identified(conn: FramedConnection, peer: string, kind: LinkKind): void {
    const current = this.#links.get(peer)?.link;
    if (current !== undefined || this.#dials.has(peer)) {
      const isOurPendingDial = current === undefined || (current.isOutbound && !current.isReady);
      if (isOurPendingDial && this.#o.name < peer) {
        this.#park(conn);
        return;
      }
      if (current !== undefined) this.close(peer);
      // A dial still in flight finds the pair taken when it lands and closes itself.
    }
    const link = this.#attach(peer, conn, kind, false);
    this.emit('attached', peer, link);
  }

  /**
   * Holds a duplicate inbound connection that the other side will close once
   * it sees our CONN on the connection that wins; closed by us after the dial
   * deadline if it does not.
   */
  #park(conn: FramedConnection): void {
    this.#leaveToOtherSide(conn, this.#anonymous);
  }

  /** Keeps `conn` in `held` until it closes: the other side's to close, ours after the dial deadline. */
  #leaveToOtherSide(conn: FramedConnection, held: Set<FramedConnection>): void {
    held.add(conn);
    const s = this.#o.scheduler;
    const timer = s.setTimeout(() => void conn.close(), this.#o.context.timeoutMs);
    conn.on('close', () => {
      s.clearTimeout(timer);
      held.delete(conn);
    });
  }

  /** Makes `conn` the connection to `peer` and wires its events. */
  #attach(peer: string, conn: FramedConnection, kind: LinkKind, isOutbound: boolean): PeerLink {
    const s = this.#o.scheduler;
    const link: PeerLink = { peer, conn, kind, isOutbound, attachedAt: s.now(), isReady: false };
    const liveness = new Liveness({
      keepaliveIntervalMs: this.#o.keepaliveIntervalMs,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      isOutbound,
      scheduler: s,
      ping: (nonce) => conn.send({ type: 'PING', nonce }),
      onDead: (silence) =>
        conn.destroy(new NatterError(ERROR_CODES.TIMEOUT, `no answer to keepalive for ${(silence / 1000).toFixed(1)} s`)),
      onIdle: () => {
        this.#o.logger.debug({ peer }, 'closing an idle connection');
        this.counters.idleClosed++;
        this.close(peer);
      },
    });
    const pacer = new ReadPacer(conn, this.#o.maxFramesPerSecond, s, () => this.#isInputPaused);
    this.#links.set(peer, { link, liveness, pacer });
    if (this.#isInputPaused) conn.pause();
    conn.on('message', (msg) => {
      pacer.took();
      if (this.#links.get(peer)?.link !== link) {
        // A connection we are closing (idle, or a duplicate): what the other side sent before
        // it saw us close still counts (the owner takes TEXT of an open chat, and receipts).
        this.emit('message', peer, msg, conn, false);
        return;
      }
      liveness.heard();
      if (msg.type === 'PING') {
        conn.send({ type: 'PONG', nonce: msg.nonce });
        return;
      }
      if (msg.type === 'PONG') return;
      this.emit('message', peer, msg, conn, true);
    });
    conn.on('close', (err) => this.#onClose(link, liveness, err));
    return link;
  }

  #onClose(link: PeerLink, liveness: Liveness, err: NatterError | undefined): void {
    this.#upgrader?.stop(link);
    if (this.#links.get(link.peer)?.link !== link) return;
    this.#links.delete(link.peer);
    liveness.stop();
    // The other side closed without END: its idle close, or it went away.
    const reason: DetachReason = this.#expectedClose.has(link.conn)
      ? 'expected'
      : err === undefined && liveness.isPeerIdleClose()
        ? 'idle'
        : 'lost';
    this.emit('detached', link.peer, reason, err);
  }
}
