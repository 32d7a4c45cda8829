/**
 * The encrypted channel (docs/security.md, protocol.md §1): every natter
 * connection runs inside a Noise XX handshake with the two sides' Ed25519
 * identity keys, then in encrypted records, through @hyperswarm/secret-stream.
 * The natter framing runs inside unchanged: FramedConnection gets a stream of
 * plaintext bytes, as over plain TCP.
 *
 *   dialer                                   accepting side
 *     │ ── e ──────────────────────────────────▶ │
 *     │ ◀───────────────────── e, ee, s, es ──── │
 *     │ ── s, se ──────────────────────────────▶ │   both now know the other's
 *     │ ◀═══════ encrypted records ════════════▶ │   static key, proven
 *
 * On the wire each Noise message and each record is a 3-byte little-endian
 * length and that many bytes. The library allocates what a length declares,
 * so a guard reads every length first and cuts off a sender whose records
 * are larger than natter ever sends (MAX_RECORD_BYTES), before any buffer is
 * made for them. Handshake messages are small; a garbage or truncated
 * handshake fails that connection alone, within the handshake deadline.
 */
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import NoiseSecretStream from '@hyperswarm/secret-stream';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';

/** An Ed25519 key pair in libsodium's form, as the handshake uses it. */
export interface KeyPair {
  publicKey: Buffer;
  /** 64 bytes: the seed followed by the public key. */
  secretKey: Buffer;
}

/** The handshake key pair for an identity's seed (the same public key node:crypto derives). */
export function keyPairFromSeed(seed: Buffer): KeyPair {
  return NoiseSecretStream.keyPair(seed);
}

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Plaintext bytes per encrypted record at most: writes are cut to this size. */
export const MAX_RECORD_PLAINTEXT = 65_536;
/** Authentication tag and header bytes each record adds (libsodium secretstream). */
const RECORD_OVERHEAD = 17;
/** Largest record natter accepts: a full record of plaintext plus its overhead. */
export const MAX_RECORD_BYTES = MAX_RECORD_PLAINTEXT + RECORD_OVERHEAD;
/** Largest Noise handshake message accepted (XX with Ed25519 keys needs at most 96 bytes). */
const MAX_HANDSHAKE_MESSAGE_BYTES = 256;
/** Smallest: every XX message carries at least an ephemeral key. */
const MIN_HANDSHAKE_MESSAGE_BYTES = 32;

export interface SecureOptions {
  /** Our static key pair. */
  keyPair: KeyPair;
  /** Deadline for the whole handshake. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
}

/**
 * A socket after the handshake: a Duplex of plaintext that knows the other
 * side's proven static key, with the few Socket properties natter reads
 * (addresses, bytes waiting to be written) forwarded to the socket under it.
 */
export class SecureStream extends NoiseSecretStream {
  readonly socket: Socket;

  constructor(isInitiator: boolean, socket: Socket, keyPair: KeyPair) {
    super(isInitiator, socket, { keyPair });
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

  /** For FramedConnection, which takes any Duplex. */
  asDuplex(): Duplex {
    return this as unknown as Duplex;
  }
}

/**
 * Runs the handshake on `socket` (dialer: isInitiator) and resolves with the
 * encrypted stream once both sides proved their keys. Rejects with
 * NATTER_ERR_HANDSHAKE_FAILED (garbage, truncated, wrong sizes, closed early)
 * or NATTER_ERR_TIMEOUT; the socket is destroyed either way.
 */
export function secureSocket(socket: Socket, isInitiator: boolean, options: SecureOptions): Promise<SecureStream> {
  const timeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  // The guard goes first so that it sees every chunk before the library does.
  const guard = new RecordGuard(isInitiator ? 1 : 2);
  let stream: SecureStream | undefined;
  const onGuardData = (chunk: Buffer): void => {
    const problem = guard.push(chunk);
    if (problem !== undefined) {
      socket.off('data', onGuardData);
      // Synchronously: the library reads this chunk right after us and must find the stream destroying.
      stream?.destroy(new NatterError(guard.handshakeLeft > 0 ? ERROR_CODES.HANDSHAKE_FAILED : ERROR_CODES.FRAME_TOO_LARGE, problem));
    }
  };
  socket.on('data', onGuardData);
  stream = new SecureStream(isInitiator, socket, options.keyPair);
  const s = stream;
  return new Promise((resolve, reject) => {
    let failure: NatterError | undefined;
    const timer = setTimeout(() => {
      failure = new NatterError(ERROR_CODES.TIMEOUT, `no Noise handshake within ${timeoutMs} ms`);
      s.destroy(failure);
    }, timeoutMs);
    timer.unref();
    const onError = (err: Error): void => {
      failure ??= isNatterError(err) ? err : handshakeError(err);
    };
    // Stays for the stream's whole life: an error can still come after the
    // handshake (a write of its last message meeting a peer that died), before
    // whoever takes the stream listens, or after they let go of it; unheard,
    // it would end the process.
    s.on('error', onError);
    s.opened.then((isOpen) => {
      clearTimeout(timer);
      if (isOpen) {
        resolve(s);
        return;
      }
      reject(failure ?? new NatterError(ERROR_CODES.HANDSHAKE_FAILED, 'the connection closed during the Noise handshake'));
    }, reject);
  });
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
