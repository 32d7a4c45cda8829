/**
 * A byte stream in, a framed natter connection out (docs/architecture.md).
 *
 * Plain TCP sockets, the encrypted channel and in-memory pairs all plug in
 * here: the connection only needs a ByteStream. It runs the HELLO exchange,
 * decodes frames, writes with bounded queues, and owns the lifecycle:
 *
 *   open ──close()──▶ closing ──(peer ends, or deadline)──▶ closed
 *     └──────────destroy(err) / protocol error / stream error──────┘
 *
 * A protocol error is fatal to this connection only: it is reported once
 * ('failure'), an ERROR frame goes to the sender, then the connection closes.
 *
 * Frames sent during one turn of the event loop leave in one write: they are
 * gathered and flushed from setImmediate, after the handlers (and their
 * promise chains) that produced them have run. A HELLO answering the dialer's
 * and the answer to its first request therefore share one packet, and so do
 * a peer's receipt and the reply its user makes to the message.
 */
import { FixedEvents } from './fixed-events.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import type { ByteStream } from './byte-stream.ts';
import { encodeMessage } from '../protocol/codec.ts';
import { FrameDecoder } from '../protocol/decoder.ts';
import type { ProtocolLimits } from '../protocol/limits.ts';
import { PROTOCOL_VERSION, type Message } from '../protocol/messages.ts';

export type ConnectionState = 'open' | 'closing' | 'closed';

/**
 * Who says HELLO when (protocol.md §5): the dialer sends it at once; the
 * accepting side answers it (and sends its own HELLO before any ERROR, so a
 * stranger still learns it reached natter); 'none' skips the exchange.
 */
export type HelloRole = 'send' | 'answer' | 'none';

export interface FramedConnectionOptions {
  /** Codec limits for both directions. */
  limits?: Partial<ProtocolLimits>;
  /**
   * Most bytes that may already wait to be written when more are queued; a
   * peer that stops reading past this is cut off with
   * NATTER_ERR_OUTPUT_QUEUE_FULL. One answer larger than this still goes to
   * a peer that reads. Default 1 MiB.
   */
  maxQueueBytes?: number;
  /** Deadline for a graceful close before the stream is destroyed. Default 2000 ms. */
  closeTimeoutMs?: number;
  /** HELLO role. Default 'send'. */
  hello?: HelloRole;
}

export interface FramedConnectionEvents {
  /** The other side's HELLO arrived and matched; messages may flow. */
  ready: [];
  /** One decoded message (never HELLO). */
  message: [Message];
  /** A protocol or stream failure; emitted at most once, before 'close'. */
  failure: [NatterError];
  /** The connection is closed; `err` is the failure that closed it, if any. */
  close: [NatterError | undefined];
}

export const DEFAULT_MAX_QUEUE_BYTES = 1_048_576;
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

const HELLO: Message = { type: 'HELLO', version: PROTOCOL_VERSION };
const RESOLVED = Promise.resolve();

/** Where a stream keeps the connection that owns it, for the shared listeners. */
const OWNER = Symbol('natter.connection');
type OwnedStream = ByteStream & { [OWNER]: FramedConnection };

interface SocketLike {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
  /** The other side's proven Ed25519 key, on an encrypted stream. */
  remoteKey?: Buffer | undefined;
}

export class FramedConnection extends FixedEvents<FramedConnectionEvents> {
  readonly stream: ByteStream;
  readonly #decoder: FrameDecoder;
  readonly #maxQueueBytes: number;
  readonly #closeTimeoutMs: number;
  #state: ConnectionState = 'open';
  #isReady: boolean;
  #hasSentHello: boolean;
  #isPaused = false;
  /** Messages that came before anyone listened, kept for the first listener (holdEarlyMessages). */
  #early: Message[] | undefined;
  /** A write returned false and 'drain' has not come yet. */
  #isBackpressured = false;
  /** Frames gathered this turn, written together by #flush. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushScheduled: NodeJS.Immediate | undefined;
  /** True while frames just read are handed out: what they make us send leaves once the read is done. */
  #isReading = false;
  /** A flush is due at the end of the current callback (process.nextTick), after a read that made us send. */
  #isFlushTicked = false;
  #closeTimer: NodeJS.Timeout | undefined;
  #failure: NatterError | undefined;
  #closedPromise: Promise<void> | undefined;
  /** What drained() hands out while the stream is backpressured. */
  #drainedPromise: Promise<void> | undefined;

  constructor(stream: ByteStream, options: FramedConnectionOptions = {}) {
    // Its listeners in fixed fields, not in a Node.js EventEmitter's hash table (fixed-events.ts): a directory holds thousands.
    super({ ready: undefined, message: undefined, failure: undefined, close: undefined });
    this.stream = stream;
    this.#decoder = new FrameDecoder(options.limits);
    this.#maxQueueBytes = positive(options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES, 'maxQueueBytes');
    this.#closeTimeoutMs = positive(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs');
    const hello = options.hello ?? 'send';
    this.#isReady = hello === 'none';
    this.#hasSentHello = hello === 'none';
    // The stream's listeners are shared by every connection (not closures of
    // their own): a directory holds thousands of connections.
    (stream as OwnedStream)[OWNER] = this;
    stream.on('data', FramedConnection.#streamData);
    stream.on('end', FramedConnection.#streamEnd);
    stream.on('error', FramedConnection.#streamError);
    stream.on('close', FramedConnection.#streamClose);
    stream.on('drain', FramedConnection.#streamDrain);
    // A stream that failed before it was handed over (a record that did not decrypt, in the
    // same packet as the handshake's end) has had its 'close' already: close here too.
    if (stream.destroyed) {
      setImmediate(() => {
        if (this.#state === 'closed') return;
        this.#failure = new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the connection failed before it could be served');
        this.emit('failure', this.#failure);
        this.#onStreamClose();
      });
      return;
    }
    if (hello === 'send') this.#sendHello();
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** True once the other side's HELLO has been accepted. */
  get isReady(): boolean {
    return this.#isReady;
  }

  /** The failure that closed the connection, if any. */
  get failure(): NatterError | undefined {
    return this.#failure;
  }

  get remoteAddress(): string | undefined {
    return (this.stream as SocketLike).remoteAddress;
  }

  get remotePort(): number | undefined {
    return (this.stream as SocketLike).remotePort;
  }

  get localAddress(): string | undefined {
    return (this.stream as SocketLike).localAddress;
  }

  get localPort(): number | undefined {
    return (this.stream as SocketLike).localPort;
  }

  /** The other side's Ed25519 public key, proven by the handshake; undefined on a plaintext stream. */
  get remoteKey(): Buffer | undefined {
    return (this.stream as SocketLike).remoteKey;
  }

  /** Bytes waiting to be written: gathered this turn plus the stream's own buffer. */
  get queuedBytes(): number {
    return this.#pendingBytes + this.stream.writableLength;
  }

  /** Resolves once the connection is closed. */
  closed(): Promise<void> {
    if (this.#closedPromise === undefined) {
      this.#closedPromise = this.#state === 'closed' ? Promise.resolve() : new Promise((resolve) => this.once('close', () => resolve()));
    }
    return this.#closedPromise;
  }

  /**
   * Queues a message; messages queued in the same turn leave in one write:
   * those sent while this connection's frames are handed out (and any sent
   * before that callback returns) as soon as the callback that delivered
   * them returns, from process.nextTick, so that the records of one socket
   * read answer in one write and no later turn of the event loop waits; any
   * other, from setImmediate.
   * Returns false (and sends nothing) once the connection is closing or closed.
   * @throws NatterError when the message cannot be encoded (a bad field or a limit).
   */
  send(msg: Message): boolean {
    if (this.#state !== 'open') return false;
    return this.sendEncoded(encodeMessage(msg, this.#decoder.limits));
  }

  /**
   * Queues frames that are already encoded (one or more whole frames made by
   * encodeMessage), for answers built once and sent often. Same contract as send().
   */
  sendEncoded(frames: Buffer): boolean {
    if (this.#state !== 'open') return false;
    if (!this.#hasSentHello) this.#sendHello();
    const backlog = this.queuedBytes;
    if (backlog > this.#maxQueueBytes) {
      this.destroy(
        new NatterError(
          ERROR_CODES.OUTPUT_QUEUE_FULL,
          `peer is not reading: ${backlog} bytes still queued, the limit is ${this.#maxQueueBytes}`,
        ),
      );
      return false;
    }
    this.#pending.push(frames);
    this.#pendingBytes += frames.length;
    if (!this.#isReading && !this.#isFlushTicked) this.#flushScheduled ??= setImmediate(FramedConnection.#flushLater, this);
    return true;
  }

  /**
   * Resolves once the outbound queue is below the stream's high-water mark
   * again (or the connection is gone). Everyone waiting meanwhile shares one
   * promise (a burst of sends may all wait at once).
   */
  /**
   * Frames that come right behind the HELLO, in the same packet (a refusal's
   * ERROR: "the directory is full"), are read before whoever dialed has the
   * connection and can listen. From this call they are kept, and handed to
   * the first 'message' listener as soon as it is added; if none is added by
   * the next turn of the event loop, they are dropped, as frames nobody
   * listens to are.
   */
  holdEarlyMessages(): void {
    this.#early = [];
    setImmediate(() => (this.#early = undefined));
  }

  override on<K extends keyof FramedConnectionEvents>(event: K, listener: (...args: FramedConnectionEvents[K]) => void): this {
    super.on(event, listener);
    const early = this.#early;
    if (event === 'message' && early !== undefined) {
      this.#early = undefined;
      // Once the caller's own setting up is done, as a listener added now would hear them.
      if (early.length > 0)
        queueMicrotask(() => {
          for (const msg of early) this.emit('message', msg);
        });
    }
    return this;
  }

  drained(): Promise<void> {
    this.#flush();
    if (!this.#isBackpressured || this.#state === 'closed') return RESOLVED;
    this.#drainedPromise ??= new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.off('close', done);
        this.#drainedPromise = undefined;
        resolve();
      };
      this.stream.on('drain', done);
      this.on('close', done);
    });
    return this.#drainedPromise;
  }

  /**
   * Reports a failure to the other side with an ERROR frame (after our HELLO,
   * if it has not gone yet), emits it once as 'failure', then closes gracefully.
   */
  fail(err: NatterError): void {
    if (this.#state !== 'open') return;
    this.#failure = err;
    this.#safeSend({ type: 'ERROR', code: err.code, reason: err.message });
    this.emit('failure', err);
    void this.close();
  }

  /** Stops reading (frames already received wait too) until resume(). */
  pause(): void {
    this.#isPaused = true;
    this.stream.pause();
  }

  resume(): void {
    if (!this.#isPaused) return;
    this.#isPaused = false;
    this.#drain();
    if (!this.#isPaused && this.#state !== 'closed') this.stream.resume();
  }

  /**
   * Graceful close: flushes what is queued, ends our side, and waits for the
   * other side to finish; destroys the stream after closeTimeoutMs. Idempotent.
   */
  close(): Promise<void> {
    if (this.#state === 'open') {
      this.#state = 'closing';
      this.#flush();
      this.stream.end();
      this.#closeTimer = setTimeout(() => this.stream.destroy(), this.#closeTimeoutMs);
      this.#closeTimer.unref();
    }
    return this.closed();
  }

  /**
   * Hands the stream over to something that is not natter frames (a relay
   * joining two connections): what is queued is written, no more frames are
   * read, and the connection lets go of the stream without closing it.
   * Returns the stream, and the bytes received after the last frame
   * delivered (they belong to whatever the stream carries next). The
   * connection is closed from here on, without a 'close' event. Call it
   * from a 'message' listener or between turns, never while writing.
   */
  detach(): { stream: ByteStream; rest: Buffer } {
    this.#flush();
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    this.#dropPending();
    const stream = this.stream;
    stream.off('data', FramedConnection.#streamData);
    stream.off('end', FramedConnection.#streamEnd);
    stream.off('error', FramedConnection.#streamError);
    stream.off('close', FramedConnection.#streamClose);
    stream.off('drain', FramedConnection.#streamDrain);
    delete (stream as Partial<OwnedStream>)[OWNER];
    // Paused: nothing that arrives is lost before the new owner listens (and resumes it).
    stream.pause();
    return { stream, rest: this.#decoder.takeRest() };
  }

  /** Immediate close, reporting `err` as the cause. Idempotent. */
  destroy(err?: NatterError): void {
    if (this.#state === 'closed') return;
    if (err !== undefined && this.#failure === undefined) {
      this.#failure = err;
      this.emit('failure', err);
    }
    this.#state = 'closing';
    this.#dropPending();
    this.stream.destroy();
  }

  #sendHello(): void {
    this.#hasSentHello = true;
    this.send(HELLO);
  }

  #safeSend(msg: Message): void {
    try {
      this.send(msg);
    } catch {
      // An ERROR whose reason cannot be encoded is not worth failing over.
    }
  }

  static #flushLater(conn: FramedConnection): void {
    conn.#flushScheduled = undefined;
    conn.#flush();
  }

  static #flushTick(conn: FramedConnection): void {
    conn.#isFlushTicked = false;
    conn.#flush();
  }

  static #streamData(this: OwnedStream, chunk: Buffer): void {
    this[OWNER].#onData(chunk);
  }

  static #streamEnd(this: OwnedStream): void {
    this[OWNER].#onEnd();
  }

  static #streamError(this: OwnedStream, cause: Error): void {
    this[OWNER].#onStreamError(cause);
  }

  static #streamClose(this: OwnedStream): void {
    this[OWNER].#onStreamClose();
  }

  static #streamDrain(this: OwnedStream): void {
    this[OWNER].#isBackpressured = false;
  }

  /** Writes to the stream (the record layer cuts a long write into records itself), noting backpressure. */
  #write(data: Buffer): void {
    if (!this.stream.write(data)) this.#isBackpressured = true;
  }

  #flush(): void {
    if (this.#flushScheduled !== undefined) {
      clearImmediate(this.#flushScheduled);
      this.#flushScheduled = undefined;
    }
    if (this.#pendingBytes === 0 || this.stream.destroyed) return;
    const frames = this.#pending;
    const data = frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#write(data);
  }

  #dropPending(): void {
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  #onData(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.fail(err as NatterError);
      return;
    }
    // Answers made while reading leave together once the callback that read them returns, not a turn later.
    this.#isReading = true;
    try {
      this.#drain();
    } finally {
      this.#isReading = false;
      if (this.#pendingBytes > 0 && !this.#isFlushTicked) {
        this.#isFlushTicked = true;
        process.nextTick(FramedConnection.#flushTick, this);
      }
    }
  }

  #drain(): void {
    // Frames that arrive while we close gracefully (the other side had sent
    // them before it saw our end) are still delivered; after a failure, nothing is.
    while (!this.#isPaused && this.#state !== 'closed' && this.#failure === undefined) {
      let msg: Message | undefined;
      try {
        msg = this.#decoder.next();
      } catch (err) {
        this.fail(err as NatterError);
        return;
      }
      if (msg === undefined) return;
      this.#dispatch(msg);
    }
  }

  #dispatch(msg: Message): void {
    if (!this.#isReady) {
      if (msg.type !== 'HELLO') {
        this.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `expected HELLO first, got ${msg.type}`));
        return;
      }
      if (msg.version !== PROTOCOL_VERSION) {
        this.fail(
          new NatterError(
            ERROR_CODES.VERSION_MISMATCH,
            `protocol version ${msg.version} is not supported; this natter speaks version ${PROTOCOL_VERSION}`,
          ),
        );
        return;
      }
      if (!this.#hasSentHello) this.#sendHello();
      this.#isReady = true;
      this.emit('ready');
      return;
    }
    if (msg.type === 'HELLO') {
      this.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'HELLO may only be sent once'));
      return;
    }
    if (this.#early !== undefined && this.listenerCount('message') === 0) {
      this.#early.push(msg);
      return;
    }
    this.emit('message', msg);
  }

  #onEnd(): void {
    if (this.#state === 'open') {
      try {
        this.#decoder.end();
      } catch (err) {
        this.#failure = err as NatterError;
        this.emit('failure', err as NatterError);
      }
    }
    // The other side is done; finish ours (a no-op if already ended), within
    // the close deadline: a peer that half-closes and stops reading must not
    // hold the connection (and what is queued for it) forever.
    if (this.#state !== 'closed') this.#state = 'closing';
    this.#flush();
    this.stream.end();
    this.#closeTimer ??= setTimeout(() => this.stream.destroy(), this.#closeTimeoutMs);
    this.#closeTimer.unref();
  }

  #onStreamError(cause: Error): void {
    if (this.#failure !== undefined || this.#state !== 'open') return; // resets after we chose to close are expected
    const err = isNatterError(cause)
      ? cause
      : new NatterError(ERROR_CODES.CONNECTION_CLOSED, `connection failed: ${cause.message}`, { cause });
    this.#failure = err;
    this.emit('failure', err);
  }

  #onStreamClose(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    this.#dropPending();
    this.stream.off('data', FramedConnection.#streamData);
    this.emit('close', this.#failure);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
