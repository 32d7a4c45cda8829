/**
 * The encrypted channel (docs/security.md, protocol.md §1): every natter
 * connection runs a Noise XX handshake between the two sides' identity keys
 * (handshake.ts), then carries encrypted records through
 * @hyperswarm/secret-stream, which takes the finished handshake. The natter
 * framing runs inside unchanged: FramedConnection gets a stream of plaintext
 * bytes, as over plain TCP.
 *
 *   dialer                                   accepting side
 *     │ ── e ──────────────────────────────────▶ │
 *     │ ◀──────────── e, ee, s, es, {Ed25519} ── │
 *     │ ── s, se, {Ed25519} ───────────────────▶ │   both now know the other's
 *     │ ◀═══════ encrypted records ════════════▶ │   identity key, proven
 *
 * On the wire each Noise message and each record is a 3-byte little-endian
 * length and that many bytes. The record layer allocates what a length
 * declares, so a guard reads every length first and cuts off a sender whose
 * records are larger than natter ever sends (MAX_RECORD_BYTES), before any
 * buffer is made for them. Handshake messages have fixed sizes; a garbage or
 * truncated handshake fails that connection alone, within the handshake
 * deadline.
 */
import type { Duplex } from 'node:stream';
import NoiseSecretStream from '@hyperswarm/secret-stream';
import { asNodeDuplex } from './node-duplex.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { HANDSHAKE_MESSAGE_BYTES, IdentityHandshake, type HandshakeResult, type KeyPair } from './handshake.ts';

export { keyPairFromSeed, type KeyPair } from './handshake.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Plaintext bytes per encrypted record at most: writes are cut to this size. */
export const MAX_RECORD_PLAINTEXT = 65_536;
/** Authentication tag and header bytes each record adds (libsodium secretstream). */
const RECORD_OVERHEAD = 17;
/** Largest record natter accepts: a full record of plaintext plus its overhead. */
export const MAX_RECORD_BYTES = MAX_RECORD_PLAINTEXT + RECORD_OVERHEAD;
/** Largest Noise handshake message accepted: every message has a fixed size, 128 bytes at most. */
const MAX_HANDSHAKE_MESSAGE_BYTES = Math.max(...HANDSHAKE_MESSAGE_BYTES);
/** Smallest: every XX message carries at least an ephemeral or an encrypted static key. */
const MIN_HANDSHAKE_MESSAGE_BYTES = Math.min(...HANDSHAKE_MESSAGE_BYTES);
/** Bytes of each unit's length prefix. */
const LENGTH_BYTES = 3;

export interface SecureOptions {
  /** Our static key pair. */
  keyPair: KeyPair;
  /** Deadline for the whole handshake. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** Bytes already read from the stream (they came with whatever opened it), taken before anything it emits. */
  initial?: Buffer;
}

/**
 * What the channel runs over: a TCP socket, or any byte stream (a relayed
 * one inside another encrypted channel), with the socket's properties
 * natter reads when it has them.
 */
export type ByteStream = Duplex & {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
};

/**
 * A socket after the handshake: a Duplex of plaintext that knows the other
 * side's proven identity key, with the few Socket properties natter reads
 * (addresses, bytes waiting to be written) forwarded to the socket under it.
 */
export class SecureStream extends NoiseSecretStream {
  readonly socket: ByteStream;

  /** `rest`: bytes that came in after the last handshake message, already read from the socket. */
  constructor(isInitiator: boolean, socket: ByteStream, handshake: HandshakeResult, rest?: Buffer) {
    super(isInitiator, socket, { handshake, ...(rest === undefined || rest.length === 0 ? {} : { data: rest }) });
    this.socket = socket;
  }

  /** The other side's Ed25519 public key (after the handshake). */
  get remoteKey(): Buffer {
    return this.remotePublicKey as Buffer;
  }

  /** Bytes written and not yet sent: ours, then the socket's. */
  get writableLength(): number {
    return (this._writableState?.buffered ?? 0) + this.socket.writableLength;
  }

  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }

  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /** For FramedConnection, which takes any Duplex. */
  asDuplex(): Duplex {
    return this as unknown as Duplex;
  }
}

/** A handshake message body with its 3-byte little-endian length in front. */
function unit(body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  out.writeUIntLE(body.length, 0, LENGTH_BYTES);
  body.copy(out, LENGTH_BYTES);
  return out;
}

/**
 * Runs the handshake on `socket` (dialer: isInitiator) and resolves with the
 * encrypted stream once both sides proved their keys. Rejects with
 * NATTER_ERR_HANDSHAKE_FAILED (garbage, truncated, wrong sizes, a key that
 * does not verify, closed early), NATTER_ERR_CONNECTION_CLOSED (a socket
 * error) or NATTER_ERR_TIMEOUT; the socket is destroyed either way.
 */
export function secureSocket(given: ByteStream, isInitiator: boolean, options: SecureOptions): Promise<SecureStream> {
  // Writes cut to one record's worth: this channel's records travel inside another's when relayed.
  const socket: ByteStream = asNodeDuplex(given, MAX_RECORD_PLAINTEXT);
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const guard = new RecordGuard(isInitiator ? 1 : 2);
    const handshake = new IdentityHandshake(isInitiator, options.keyPair);
    let isSettled = false;
    /** Handshake bytes received and not yet used (a message split over chunks). */
    let pending: Buffer | undefined;
    const fail = (err: NatterError): void => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(handshakeError(err));
    const onClose = (): void => fail(new NatterError(ERROR_CODES.HANDSHAKE_FAILED, 'the connection closed during the Noise handshake'));
    // Every chunk goes through the guard first, then to the handshake.
    const onData = (chunk: Buffer): void => {
      const problem = guard.push(chunk);
      if (problem === undefined) takeHandshakeBytes(chunk);
      else fail(guardError(guard, problem));
    };
    const takeHandshakeBytes = (chunk: Buffer): void => {
      let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
      pending = undefined;
      // Bounded by the chunk: each pass takes one whole message (the guard has checked its length).
      while (!isSettled && buf.length >= LENGTH_BYTES) {
        const end = LENGTH_BYTES + buf.readUIntLE(0, LENGTH_BYTES);
        if (buf.length < end) break;
        let reply: Buffer | undefined;
        try {
          reply = handshake.receive(buf.subarray(LENGTH_BYTES, end));
        } catch (err) {
          fail(isNatterError(err) ? err : handshakeError(err as Error));
          return;
        }
        buf = buf.subarray(end);
        const result = handshake.result;
        // The initiator's last message leaves with the record layer's header and the first records.
        if (result !== undefined) holdWrites(socket);
        if (reply !== undefined) socket.write(unit(reply));
        if (result !== undefined) {
          finish(result, buf);
          return;
        }
      }
      if (buf.length > 0) pending = Buffer.from(buf);
    };
    const finish = (result: HandshakeResult, rest: Buffer): void => {
      isSettled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
      // Held until the record layer listens (it resumes the socket when read): what arrives meanwhile waits.
      socket.pause();
      // The record layer takes the socket from here, starting with whatever followed the last handshake message.
      const stream = new SecureStream(isInitiator, socket, result, rest);
      // For the stream's whole life: an error can still come now (the write of
      // the last handshake message meeting a peer that died), before whoever
      // takes the stream listens, or after they let go of it; unheard, it
      // would end the process. Whoever takes the stream hears of it by its close.
      // A function from outside this one: a closure made here would keep the
      // handshake's state alive as long as the stream (see ignoreError).
      stream.on('error', ignoreError);
      // Attached before the record layer's own listener, which it adds on the next tick.
      socket.on('data', guardRecords(socket, guard, stream));
      resolve(stream);
    };
    const timer = setTimeout(() => fail(new NatterError(ERROR_CODES.TIMEOUT, `no Noise handshake within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
    socket.on('error', onError);
    socket.on('close', onClose);
    if (isInitiator) socket.write(unit(handshake.start()));
    if (options.initial !== undefined && options.initial.length > 0) onData(options.initial);
    if (!isSettled) socket.on('data', onData);
    // A stream handed over paused (a relayed one) flows from here.
    socket.resume();
  });
}

/**
 * The stream's lifelong 'error' listener. Defined out here because closures
 * made inside secureSocket's executor share its scope, the handshake's state
 * included, whose small buffers are cut from Node's shared pool: one kept for
 * a connection's life keeps a whole pool slab (64 KB on Node 24) with it.
 */
function ignoreError(): void {}

/**
 * Holds the socket's writes back until the event loop has turned twice, so
 * that the last handshake message, the record layer's header and the first
 * records (HELLO and what follows it, which FramedConnection flushes from
 * setImmediate) leave in one write instead of three or four.
 */
function holdWrites(socket: ByteStream): void {
  if (typeof socket.cork !== 'function') return;
  socket.cork();
  setImmediate(() => setImmediate(() => socket.uncork()));
}

function guardError(guard: RecordGuard, problem: string): NatterError {
  return new NatterError(guard.handshakeLeft > 0 ? ERROR_CODES.HANDSHAKE_FAILED : ERROR_CODES.FRAME_TOO_LARGE, problem);
}

/**
 * After the handshake: the guard keeps reading every length, and cuts the
 * stream off synchronously, so that the record layer, which reads the same
 * chunk right after, finds it destroying before it allocates anything. The
 * listener holds the guard and the stream only, nothing of the handshake.
 */
function guardRecords(socket: ByteStream, guard: RecordGuard, stream: SecureStream): (chunk: Buffer) => void {
  const onData = (chunk: Buffer): void => {
    const problem = guard.push(chunk);
    if (problem === undefined) return;
    socket.off('data', onData);
    stream.destroy(guardError(guard, problem));
  };
  return onData;
}

function handshakeError(err: Error): NatterError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && code.startsWith('E')) {
    // A socket error (refused, reset): not the handshake's fault.
    return new NatterError(ERROR_CODES.CONNECTION_CLOSED, `connection failed: ${err.message}`, { cause: err });
  }
  return new NatterError(ERROR_CODES.HANDSHAKE_FAILED, `Noise handshake failed: ${err.message}`, { cause: err });
}

/**
 * Reads the 3-byte lengths of the Noise messages and records in a byte
 * stream without keeping any of it: a pure state machine, like the frame
 * decoder (protocol.md §1).
 */
export class RecordGuard {
  /** Handshake messages still to come from the other side (they have a smaller limit). */
  handshakeLeft: number;
  #headerBytes = 0;
  #length = 0;
  /** Body bytes of the current record still to skip. */
  #skip = 0;

  constructor(handshakeMessages: number) {
    this.handshakeLeft = handshakeMessages;
  }

  /** Takes a chunk; returns why the stream must be cut off, or undefined when it is fine. */
  push(chunk: Buffer): string | undefined {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= n;
        offset += n;
        continue;
      }
      this.#length |= (chunk[offset++] as number) << (8 * this.#headerBytes);
      if (++this.#headerBytes < 3) continue;
      const length = this.#length;
      const isHandshake = this.handshakeLeft > 0;
      const limit = isHandshake ? MAX_HANDSHAKE_MESSAGE_BYTES : MAX_RECORD_BYTES;
      if (isHandshake && length < MIN_HANDSHAKE_MESSAGE_BYTES) {
        // A plaintext natter HELLO starts 00 00 00: name it for what it is.
        return `a Noise handshake message of ${length} bytes (at least ${MIN_HANDSHAKE_MESSAGE_BYTES}): not an encrypted natter peer (protocol version 1, or something else)`;
      }
      if (length > limit) {
        return isHandshake
          ? `a Noise handshake message of ${length} bytes (the most is ${limit}): not a natter peer`
          : `an encrypted record of ${length} bytes (the most is ${limit})`;
      }
      if (isHandshake) this.handshakeLeft--;
      this.#headerBytes = 0;
      this.#length = 0;
      this.#skip = length;
    }
    return undefined;
  }
}
