/**
 * A Duplex in, a framed natter connection out (docs/architecture.md).
 *
 * Plain TCP sockets, the encrypted channel and in-memory pairs all plug in
 * here: the connection only needs a byte stream. It runs the HELLO exchange,
 * decodes frames, writes with bounded queues, and owns the lifecycle:
 *
 *   open ──close()──▶ closing ──(peer ends, or deadline)──▶ closed
 *     └──────────destroy(err) / protocol error / stream error──────┘
 *
 * A protocol error is fatal to this connection only: it is reported once
 * ('failure'), an ERROR frame goes to the sender, then the connection closes.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { encodeMessage } from '../protocol/codec.ts';
import { FrameDecoder } from '../protocol/decoder.ts';
import type { ProtocolLimits } from '../protocol/limits.ts';
import { PROTOCOL_VERSION, type Message } from '../protocol/messages.ts';

export type ConnectionState = 'open' | 'closing' | 'closed';

export interface FramedConnectionOptions {
  /** Codec limits for both directions. */
  limits?: Partial<ProtocolLimits>;
  /**
   * Most bytes allowed to wait in the outbound queue; a peer that stops
   * reading past this is cut off with NATTER_ERR_OUTPUT_QUEUE_FULL.
   * Default 1 MiB.
   */
  maxQueueBytes?: number;
  /** Deadline for a graceful close before the stream is destroyed. Default 2000 ms. */
  closeTimeoutMs?: number;
  /**
   * Send HELLO at once and require HELLO with our version as the first
   * message from the other side (protocol.md §5). Default true.
   */
  hello?: boolean;
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

interface SocketLike {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}

export class FramedConnection extends EventEmitter<FramedConnectionEvents> {
  readonly stream: Duplex;
  readonly #decoder: FrameDecoder;
  readonly #maxQueueBytes: number;
  readonly #closeTimeoutMs: number;
  #state: ConnectionState = 'open';
  #isReady: boolean;
  #isPaused = false;
  #isCorked = false;
  #closeTimer: NodeJS.Timeout | undefined;
  #failure: NatterError | undefined;
  #closed: Promise<void>;
  #resolveClosed!: () => void;
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(stream: Duplex, options: FramedConnectionOptions = {}) {
    super();
    this.stream = stream;
    this.#decoder = new FrameDecoder(options.limits);
    this.#maxQueueBytes = positive(options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES, 'maxQueueBytes');
    this.#closeTimeoutMs = positive(options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs');
    const hello = options.hello ?? true;
    this.#isReady = !hello;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on('data', this.#onData);
    stream.on('end', this.#onEnd);
    stream.on('error', this.#onStreamError);
    stream.on('close', this.#onStreamClose);
    if (hello) this.send({ type: 'HELLO', version: PROTOCOL_VERSION });
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

  /** Bytes waiting to be written. */
  get queuedBytes(): number {
    return this.stream.writableLength;
  }

  get bytesIn(): number {
    return this.#bytesIn;
  }

  get bytesOut(): number {
    return this.#bytesOut;
  }

  /** Resolves once the connection is closed. */
  closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Queues a message. Writes made in the same tick leave in one system call.
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
    if (!this.#isCorked) {
      this.#isCorked = true;
      this.stream.cork();
      process.nextTick(this.#uncork);
    }
    this.stream.write(frames);
    this.#bytesOut += frames.length;
    if (this.stream.writableLength > this.#maxQueueBytes) {
      this.destroy(
        new NatterError(
          ERROR_CODES.OUTPUT_QUEUE_FULL,
          `peer is not reading: ${this.stream.writableLength} bytes queued, the limit is ${this.#maxQueueBytes}`,
        ),
      );
      return false;
    }
    return true;
  }

  /** Resolves once the outbound queue is below the stream's high-water mark again (or the connection is gone). */
  drained(): Promise<void> {
    if (!this.stream.writableNeedDrain || this.#state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.stream.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.on('close', done);
    });
  }

  /**
   * Reports a failure to the other side with an ERROR frame, emits it once
   * as 'failure', then closes gracefully.
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
      this.#uncork();
      this.stream.end();
      this.#closeTimer = setTimeout(() => this.stream.destroy(), this.#closeTimeoutMs);
      this.#closeTimer.unref();
    }
    return this.#closed;
  }

  /** Immediate close, reporting `err` as the cause. Idempotent. */
  destroy(err?: NatterError): void {
    if (this.#state === 'closed') return;
    if (err !== undefined && this.#failure === undefined) {
      this.#failure = err;
      this.emit('failure', err);
    }
    this.#state = 'closing';
    this.stream.destroy();
  }

  #safeSend(msg: Message): void {
    try {
      this.send(msg);
    } catch {
      // An ERROR whose reason cannot be encoded is not worth failing over.
    }
  }

  readonly #uncork = (): void => {
    if (!this.#isCorked) return;
    this.#isCorked = false;
    this.stream.uncork();
  };

  readonly #onData = (chunk: Buffer): void => {
    if (this.#state === 'closed') return;
    this.#bytesIn += chunk.length;
    try {
      this.#decoder.push(chunk);
    } catch (err) {
      this.fail(err as NatterError);
      return;
    }
    this.#drain();
  };

  #drain(): void {
    while (!this.#isPaused && this.#state === 'open') {
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
      this.#isReady = true;
      this.emit('ready');
      return;
    }
    if (msg.type === 'HELLO') {
      this.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'HELLO may only be sent once'));
      return;
    }
    this.emit('message', msg);
  }

  readonly #onEnd = (): void => {
    if (this.#state === 'open') {
      try {
        this.#decoder.end();
      } catch (err) {
        this.#failure = err as NatterError;
        this.emit('failure', err as NatterError);
      }
    }
    // The other side is done; finish ours (a no-op if already ended).
    this.#state = this.#state === 'closed' ? 'closed' : 'closing';
    this.stream.end();
  };

  readonly #onStreamError = (cause: Error): void => {
    if (this.#failure !== undefined || this.#state === 'closed') return;
    const err = isNatterError(cause)
      ? cause
      : new NatterError(ERROR_CODES.CONNECTION_CLOSED, `connection failed: ${cause.message}`, { cause });
    // Resets after we chose to close are expected, not failures.
    if (this.#state === 'closing') return;
    this.#failure = err;
    this.emit('failure', err);
  };

  readonly #onStreamClose = (): void => {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#closeTimer);
    this.stream.off('data', this.#onData);
    this.emit('close', this.#failure);
    this.#resolveClosed();
  };
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
