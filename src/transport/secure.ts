/**
 * The encrypted channel (docs/security.md, protocol.md §1): every natter
 * connection runs a Noise XX handshake between the two sides' identity keys
 * (handshake.ts), then carries encrypted records (records.ts) through a
 * SecureStream (secure-stream.ts). The natter framing runs inside unchanged:
 * FramedConnection gets a stream of plaintext bytes, as over plain TCP.
 *
 *   dialer                                   accepting side
 *     │ ── e ──────────────────────────────────▶ │
 *     │ ◀──────────── e, ee, s, es, {Ed25519} ── │
 *     │ ── s, se, {Ed25519} ───────────────────▶ │   both now know the other's
 *     │ ◀═══════ encrypted records ════════════▶ │   identity key, proven
 *
 * On the wire each Noise message and each record is a 3-byte little-endian
 * length and that many bytes. A guard reads every length of the handshake
 * first and cuts off a sender whose messages are larger than natter ever
 * sends, before any buffer is made for them (the record layer does the same
 * for records). Handshake messages have fixed sizes; a garbage or truncated
 * handshake fails that connection alone, within the handshake deadline.
 */
import { asNodeDuplex } from './node-duplex.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { HANDSHAKE_MESSAGE_BYTES, IdentityHandshake, type HandshakeResult, type HandshakeSide, type KeyPair } from './handshake.ts';
import { LENGTH_BYTES, MAX_RECORD_BYTES, MAX_RECORD_PLAINTEXT } from './records.ts';
import type { ByteStream } from './byte-stream.ts';
import { SecureStream } from './secure-stream.ts';

export { keyPairFromSeed, type KeyPair } from './handshake.ts';
export { MAX_RECORD_BYTES, MAX_RECORD_PLAINTEXT } from './records.ts';
export { SecureStream } from './secure-stream.ts';
export type { ByteStream } from './byte-stream.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const EMPTY = Buffer.alloc(0);
/** Largest Noise handshake message accepted: every message has a fixed size, 128 bytes at most. */
const MAX_HANDSHAKE_MESSAGE_BYTES = Math.max(...HANDSHAKE_MESSAGE_BYTES);
/** Smallest: every XX message carries at least an ephemeral or an encrypted static key. */
const MIN_HANDSHAKE_MESSAGE_BYTES = Math.min(...HANDSHAKE_MESSAGE_BYTES);

export interface SecureOptions {
  /** Our static key pair. */
  keyPair: KeyPair;
  /** Deadline for the whole handshake. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** Bytes already read from the stream (they came with whatever opened it), taken before anything it emits. */
  initial?: Buffer;
  /**
   * Who works out our side of the handshake: by default an IdentityHandshake
   * on this thread; an accepting side may hand in one from a HandshakePool.
   */
  handshake?: HandshakeSide;
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
 *
 * The dialer's last handshake message is not written at once: it leaves
 * with its stream header and its first records (HELLO, and the request
 * after it) in one write, or after two turns of the event loop if nothing
 * is written by then. The accepting side's stream header waits for its
 * first record (the directory's HELLO goes with the answer to UP).
 */
export function secureSocket(given: ByteStream, isInitiator: boolean, options: SecureOptions): Promise<SecureStream> {
  // Another SecureStream (a relayed connection) has the semantics needed; other streams get Node's.
  const socket: ByteStream = given instanceof SecureStream ? given : asNodeDuplex(given, MAX_RECORD_PLAINTEXT);
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const guard = new RecordGuard(isInitiator ? 1 : 2);
    const handshake: HandshakeSide = options.handshake ?? new IdentityHandshake(isInitiator, options.keyPair);
    let isSettled = false;
    /** Handshake bytes received and not yet used (a message split over chunks). */
    let pending: Buffer | undefined;
    const stop = (): void => {
      isSettled = true;
      clearTimeout(timer);
      socket.off('error', onError);
      socket.off('close', onClose);
      socket.off('data', onData);
    };
    const fail = (err: NatterError): void => {
      if (isSettled) return;
      stop();
      handshake.abort?.();
      socket.destroy();
      reject(err);
    };
    const onError = (err: Error): void => fail(handshakeError(err));
    const onClose = (): void => fail(new NatterError(ERROR_CODES.HANDSHAKE_FAILED, 'the connection closed during the Noise handshake'));
    // Every chunk goes through the guard first, then to the handshake.
    const onData = (chunk: Buffer): void => {
      const problem = guard.push(chunk);
      if (problem !== undefined) fail(guardError(guard, problem));
      else if (isWaiting) pending = pending === undefined ? Buffer.from(chunk) : Buffer.concat([pending, chunk]);
      else takeHandshakeBytes(chunk);
    };
    /** True while a reply is worked on elsewhere (a pool thread): bytes that come meanwhile wait in `pending`. */
    let isWaiting = false;
    /** Sends the reply to a message, or finishes; true when the handshake is done. */
    const answered = (reply: Buffer | undefined, rest: Buffer): boolean => {
      const result = handshake.result;
      if (result !== undefined) {
        finish(result, rest, reply === undefined ? undefined : unit(reply));
        return true;
      }
      if (reply !== undefined) socket.write(unit(reply));
      return false;
    };
    const takeHandshakeBytes = (chunk: Buffer | undefined): void => {
      let buf = pending === undefined ? (chunk ?? EMPTY) : chunk === undefined ? pending : Buffer.concat([pending, chunk]);
      pending = undefined;
      // Bounded by the bytes held: each pass takes one whole message (the guard has checked its length).
      while (!isSettled && !isWaiting && buf.length >= LENGTH_BYTES) {
        const end = LENGTH_BYTES + buf.readUIntLE(0, LENGTH_BYTES);
        if (buf.length < end) break;
        let answer: Buffer | undefined | Promise<Buffer | undefined>;
        try {
          answer = handshake.receive(buf.subarray(LENGTH_BYTES, end));
        } catch (err) {
          fail(isNatterError(err) ? err : handshakeError(err as Error));
          return;
        }
        buf = buf.subarray(end);
        if (answer instanceof Promise) {
          isWaiting = true;
          answer.then(
            (reply) => {
              isWaiting = false;
              if (isSettled) return;
              const rest = Buffer.concat([buf, pending ?? EMPTY]);
              pending = undefined;
              if (!answered(reply, rest)) takeHandshakeBytes(rest);
            },
            (err: unknown) => {
              isWaiting = false;
              fail(isNatterError(err) ? err : handshakeError(err as Error));
            },
          );
          // What follows the message, and what comes meanwhile, waits for the answer.
          buf = Buffer.from(buf);
          return;
        }
        if (answered(answer, buf)) return;
      }
      if (buf.length > 0) pending = Buffer.from(buf);
    };
    const finish = (result: HandshakeResult, rest: Buffer, last: Buffer | undefined): void => {
      stop();
      // Held until the stream's reader listens (that resumes it): what arrives meanwhile waits.
      socket.pause();
      // The record layer takes the socket from here, starting with whatever followed the last handshake message.
      // An error that comes before whoever takes the stream listens (the
      // write of the last handshake message meeting a peer that died), or
      // after they let go of it, is not thrown: SecureStream emits 'error'
      // only to a listener. Whoever takes the stream hears of it by its close.
      const stream = new SecureStream(socket, result, isInitiator, { rest, before: last });
      // The other side waits for our last handshake message: it goes within two turns, with or without records.
      if (last !== undefined) setImmediate(() => setImmediate(() => stream.flushHead()));
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

function guardError(guard: RecordGuard, problem: string): NatterError {
  return new NatterError(guard.handshakeLeft > 0 ? ERROR_CODES.HANDSHAKE_FAILED : ERROR_CODES.FRAME_TOO_LARGE, problem);
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
