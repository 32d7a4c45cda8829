/**
 * One client connection to the directory.
 *
 * Messages are handled strictly one at a time, in arrival order (the store is
 * asynchronous, and answers must leave in request order, protocol.md §6).
 * A token bucket paces them: a command over the rate waits for its token;
 * a client that keeps the bucket empty for maxDelayedCommands commands in a
 * row is disconnected.
 *
 *   connected ──UP──▶ registered ──DOWN / expiry──▶ connected (unregistered)
 *       │                 │
 *       └──── close ──────┴──▶ gone (its entry, if any, is removed)
 */
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Message } from '../protocol/messages.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import { TokenBucket } from '../rate-limiter.ts';

/** Messages decoded but not yet handled before the connection stops reading. */
const MAX_PENDING = 16;

/** What every session shares: one object for all of them, so a connection costs no closures of its own. */
export interface SessionHost {
  now(): number;
  dispatch(session: ClientSession, msg: Message): Promise<void> | void;
  /** The session's connection failed (reported once, before it closes). */
  failed(session: ClientSession, err: NatterError): void;
  /** The session's connection is closed. */
  closed(session: ClientSession): void;
  readonly rateBurst: number;
  readonly ratePerSecond: number;
  readonly maxDelayedCommands: number;
}

/** Where a connection keeps its session, for the listeners every session shares. */
const SESSION = Symbol('natter.session');
type OwnedConnection = FramedConnection & { [SESSION]: ClientSession };

export class ClientSession {
  readonly id: string;
  readonly conn: FramedConnection;
  /** The client's address as seen by the directory (canonical text; behind a NAT, the NAT's). */
  readonly ip: string;
  /** The port the connection comes from, as seen by the directory (0 when unknown). */
  readonly port: number;
  /** The Ed25519 key the client proved in the handshake; undefined on an unauthenticated stream. */
  readonly key: Buffer | undefined;
  /** `key` as hex, as the store keeps it. */
  readonly keyHex: string | undefined;
  readonly connectedAt: number;
  /** Monotonic ms of the last message received. */
  lastHeard: number;
  /** Set once UP succeeded; cleared by DOWN or expiry. */
  name: string | undefined;
  /** True once the client has registered at least once (ends the registration deadline). */
  hasRegistered = false;
  /** The ACK last sent to UP or ALIVE, encoded, with the port it gives (sent again as long as the port holds). */
  ack: { port: number; frame: Buffer } | undefined;
  readonly #bucket: TokenBucket;
  readonly #host: SessionHost;
  /** Messages waiting their turn; allocated only while there are some (most connections idle). */
  #pending: Message[] | undefined;
  #isRunning = false;
  #delayed = 0;

  /** `connectedAt`: when the connection was accepted (default: now); the registration deadline counts from it. */
  constructor(
    id: string,
    conn: FramedConnection,
    ip: string,
    port: number,
    key: Buffer | undefined,
    host: SessionHost,
    connectedAt?: number,
  ) {
    this.id = id;
    this.conn = conn;
    this.ip = ip;
    this.port = port;
    this.key = key;
    this.keyHex = key?.toString('hex');
    this.#host = host;
    this.connectedAt = connectedAt ?? host.now();
    this.lastHeard = host.now();
    this.#bucket = new TokenBucket(host.rateBurst, host.ratePerSecond, this.connectedAt);
    this.name = undefined;
    (conn as OwnedConnection)[SESSION] = this;
    conn.on('message', ClientSession.#connMessage);
    conn.on('failure', ClientSession.#connFailure);
    conn.on('close', ClientSession.#connClose);
  }

  static #connMessage(this: OwnedConnection, msg: Message): void {
    this[SESSION].enqueue(msg);
  }

  static #connFailure(this: OwnedConnection, err: NatterError): void {
    const session = this[SESSION];
    session.#host.failed(session, err);
  }

  static #connClose(this: OwnedConnection): void {
    const session = this[SESSION];
    session.#host.closed(session);
  }

  /** Takes one decoded message from the connection. */
  enqueue(msg: Message): void {
    if (!this.#isRunning && this.#runNow(msg)) return;
    this.#pending ??= [];
    this.#pending.push(msg);
    if (this.#pending.length >= MAX_PENDING) this.conn.pause();
    if (!this.#isRunning) void this.#run(this.#pending);
  }

  /**
   * The common case: nothing ahead of `msg` and a token to spare. It is
   * handled in this call; a handler that answers later holds the messages
   * behind it until it is done. False when `msg` must wait its turn.
   */
  #runNow(msg: Message): boolean {
    // A connection on its way out handles nothing more (as in #run).
    if (this.conn.state !== 'open') return true;
    const now = this.#host.now();
    if (this.#bucket.isFull(now)) this.#delayed = 0;
    if (!this.#bucket.tryTake(now)) return false;
    this.lastHeard = now;
    let handled: Promise<void> | void;
    try {
      handled = this.#host.dispatch(this, msg);
    } catch (err) {
      this.#failHandling(err);
      return true;
    }
    if (handled !== undefined) {
      this.#pending = [];
      void this.#run(this.#pending, handled);
    }
    return true;
  }

  get isRegistered(): boolean {
    return this.name !== undefined;
  }

  /** Handles `pending` one at a time, in order, after `first` (a handler still at work) if there is one. */
  async #run(pending: Message[], first?: Promise<void>): Promise<void> {
    this.#isRunning = true;
    if (first !== undefined) {
      try {
        await first;
      } catch (err) {
        this.#failHandling(err);
      }
    }
    while (pending.length > 0 && this.conn.state === 'open') {
      const now = this.#host.now();
      // A bucket that refilled completely means the client slowed down: forgive earlier delays.
      if (this.#bucket.isFull(now)) this.#delayed = 0;
      const wait = this.#bucket.take(now);
      if (wait > 0) {
        this.#delayed++;
        if (this.#delayed > this.#host.maxDelayedCommands) {
          this.conn.fail(
            new NatterError(
              ERROR_CODES.RATE_LIMITED,
              `more than ${this.#host.maxDelayedCommands} commands over the rate limit in a row; slow down`,
            ),
          );
          break;
        }
        await sleep(wait);
        if (this.conn.state !== 'open') break;
      }
      const msg = pending.shift() as Message;
      if (pending.length < MAX_PENDING / 2) this.conn.resume();
      this.lastHeard = this.#host.now();
      try {
        await this.#host.dispatch(this, msg);
      } catch (err) {
        this.#failHandling(err);
      }
    }
    this.#pending = undefined;
    this.#isRunning = false;
  }

  #failHandling(err: unknown): void {
    this.conn.fail(
      err instanceof NatterError ? err : new NatterError(ERROR_CODES.INTERNAL, 'the directory failed to handle a request', { cause: err }),
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
