/**
 * The encrypted channel after its handshake (protocol.md §1.2): a stream of
 * plaintext over the socket, sealing every write into records and opening
 * every record that comes in (records.ts), synchronously, in the same turn.
 *
 * It is not a Node.js stream but has the part of one that natter's readers
 * and writers use (FramedConnection, the relay, asNodeDuplex): 'data',
 * 'end', 'error', 'close' and 'drain'; write(), end(), destroy(), pause(),
 * resume(). Flow control is the socket's own: pause() pauses the socket and
 * stops between two records, write() returns what the socket's write
 * returned, writableLength is the socket's. A Node.js Duplex in between
 * would cost every connection a second set of stream state and every write
 * a second queue; a directory holds thousands of idle connections.
 *
 *   socket 'data' ─▶ RecordOpener ─▶ 'data' (plaintext, one record at a time; stops when paused)
 *   write(plain)  ─▶ RecordSealer ─▶ socket.write (the first one carries what must precede it)
 *
 * What must precede our first record, the stream header (and, on the
 * dialer, the last handshake message), is held until the first write, so
 * that it leaves in the same packet as the first records.
 */
import sodium from 'sodium-universal';
import { BlockPool } from './block-pool.ts';
import type { ByteStream } from './byte-stream.ts';
import { FixedEvents } from './fixed-events.ts';
import type { HandshakeResult } from './handshake.ts';
import { RecordOpener, RecordSealer, sealedBytes } from './records.ts';

export interface SecureStreamEvents {
  data: [Buffer];
  end: [];
  error: [Error];
  close: [];
  drain: [];
}

/** Where a socket keeps the stream that owns it, for the shared listeners. */
const OWNER = Symbol('natter.secureStream');
type OwnedSocket = ByteStream & { [OWNER]?: SecureStream };

const STATE_BYTES = sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES;
/** Where every stream's two libsodium states live while it is open. */
const STATES = new BlockPool(STATE_BYTES);

/**
 * Sealed writes at least this large are sealed into buffers kept for the
 * next one: a directory answering WHO to 10,000 peers seals half a megabyte
 * each time, and a new buffer each time is memory outside the JavaScript
 * heap that makes V8 collect (and mark a heap holding every client) again
 * and again.
 */
const LARGE_WRITE_BYTES = 64 * 1024;
/** Buffers kept for large writes, all streams together, at most. */
const MAX_SPARES = 4;
const spares: Buffer[] = [];

/** A buffer of at least `size` bytes: the smallest spare that fits, or a new one (a multiple of 64 KiB). */
function takeSpare(size: number): Buffer {
  let best = -1;
  for (let i = 0; i < spares.length; i++) {
    const length = (spares[i] as Buffer).length;
    if (length >= size && (best < 0 || length < (spares[best] as Buffer).length)) best = i;
  }
  if (best >= 0) return spares.splice(best, 1)[0] as Buffer;
  return Buffer.allocUnsafeSlow(Math.ceil(size / LARGE_WRITE_BYTES) * LARGE_WRITE_BYTES);
}

function giveSpare(buffer: Buffer): void {
  if (spares.length < MAX_SPARES) spares.push(buffer);
}

export class SecureStream extends FixedEvents<SecureStreamEvents> {
  readonly socket: ByteStream;
  /** The other side's Ed25519 public key, proven by the handshake. */
  readonly remoteKey: Buffer;
  readonly #sealer: RecordSealer;
  readonly #opener: RecordOpener;
  /** The states' blocks, given back at close. */
  readonly #sealerState: Buffer;
  readonly #openerState: Buffer;
  /** Bytes that go on the wire before our first record (stream header, a last handshake message). */
  #head: Buffer | undefined;
  /** null until someone listens for 'data' or calls pause()/resume() (as a Node.js readable). */
  #isFlowing: boolean | null = null;
  /** The socket ended; 'end' is emitted once every record before it was taken. */
  #hasEnded = false;
  #hasEmittedEnd = false;
  #isEnding = false;
  /** destroy() was called or the socket failed: whatever is held is dropped. */
  #isDestroyed = false;
  /** The socket closed after its end while records were still held (paused): 'close' waits for them and 'end'. */
  #isCloseHeld = false;
  /** A resume() waits for the next tick. */
  #isResuming = false;
  /** 'close' was emitted and the states given back: the sealer and opener are spent. */
  #isClosed = false;

  /**
   * `rest`: bytes read after the last handshake message (records already);
   * `before`: bytes to send ahead of our stream header (the dialer's last
   * handshake message). The socket is taken over: its 'data', 'end', 'error',
   * 'close' and 'drain' come here.
   */
  constructor(
    socket: ByteStream,
    handshake: HandshakeResult,
    isInitiator: boolean,
    options: { rest?: Buffer | undefined; before?: Buffer | undefined } = {},
  ) {
    // Its listeners in fixed fields, not in a Node.js EventEmitter's hash table (fixed-events.ts).
    super({ data: undefined, end: undefined, error: undefined, close: undefined, drain: undefined });
    this.socket = socket;
    this.remoteKey = handshake.remotePublicKey;
    // Blocks of a shared pool: a directory holds two per client.
    this.#sealerState = STATES.take();
    this.#openerState = STATES.take();
    this.#sealer = new RecordSealer(handshake.tx, handshake.hash, isInitiator, this.#sealerState);
    this.#opener = new RecordOpener(handshake.rx, handshake.hash, isInitiator, this.#openerState);
    sodium.sodium_memzero(handshake.tx);
    sodium.sodium_memzero(handshake.rx);
    const header = this.#sealer.takeHeader() as Buffer;
    this.#head = options.before === undefined ? header : Buffer.concat([options.before, header]);
    if (options.rest !== undefined && options.rest.length > 0) this.#opener.push(options.rest);
    (socket as OwnedSocket)[OWNER] = this;
    socket.on('data', SecureStream.#socketData);
    socket.on('end', SecureStream.#socketEnd);
    socket.on('error', SecureStream.#socketError);
    socket.on('close', SecureStream.#socketClose);
    socket.on('drain', SecureStream.#socketDrain);
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

  /** Bytes written and not yet sent. */
  get writableLength(): number {
    return this.socket.writableLength + (this.#head?.length ?? 0);
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** As a Node.js readable: listening for 'data' starts the flow, unless pause() was called. */
  override on<K extends keyof SecureStreamEvents>(event: K, listener: (...args: SecureStreamEvents[K]) => void): this {
    super.on(event, listener);
    if (event === 'data' && this.#isFlowing === null) this.resume();
    return this;
  }

  override addListener<K extends keyof SecureStreamEvents>(event: K, listener: (...args: SecureStreamEvents[K]) => void): this {
    return this.on(event, listener);
  }

  /**
   * Seals `data` into records and writes them; returns what the socket's
   * write returned (false: wait for 'drain'). False, writing nothing, once
   * the stream is ending or gone. `callback` goes to the socket's write.
   */
  write(data: Uint8Array, callback?: (err?: Error | null) => void): boolean {
    if (this.#isEnding || this.#isClosed || this.socket.destroyed) return false;
    const head = this.#head;
    this.#head = undefined;
    if (data.length === 0) {
      if (head !== undefined) return this.socket.write(head, callback);
      if (callback !== undefined) process.nextTick(callback);
      return true;
    }
    const size = (head?.length ?? 0) + sealedBytes(data.length);
    if (size < LARGE_WRITE_BYTES) return this.socket.write(this.#sealer.seal(data, head), callback);
    // A large write (a WHO listing) is sealed into a buffer that is used again once the socket is done with it.
    const spare = takeSpare(size);
    return this.socket.write(this.#sealer.seal(data, head, spare), (err) => {
      giveSpare(spare);
      callback?.(err);
    });
  }

  /** Sends what is held and ends our side. Idempotent. */
  end(): this {
    if (this.#isEnding) return this;
    this.#isEnding = true;
    this.flushHead();
    this.socket.end();
    return this;
  }

  /** Sends what must precede our records now, if it has not gone yet (a dialer whose first record is late). */
  flushHead(): void {
    const head = this.#head;
    if (head === undefined || this.socket.destroyed) return;
    this.#head = undefined;
    this.socket.write(head);
  }

  /** Closes at once; whatever is held is dropped. */
  destroy(err?: Error): this {
    if (this.#isDestroyed) return this;
    this.#isDestroyed = true;
    if (!this.#isCloseHeld) {
      this.socket.destroy(err);
      return this;
    }
    // The socket is gone already; only our close was waiting for a reader.
    process.nextTick(() => {
      if (err !== undefined) this.#emitError(err);
      this.#close();
    });
    return this;
  }

  /** Stops between two records; nothing more is read until resume(). */
  pause(): this {
    this.#isFlowing = false;
    this.socket.pause();
    return this;
  }

  /** Reading goes on from the next tick (as with a Node.js stream: never inside the call that asked). */
  resume(): this {
    this.#isFlowing = true;
    if (!this.#isResuming) {
      this.#isResuming = true;
      process.nextTick(SecureStream.#resumeNow, this);
    }
    return this;
  }

  static #resumeNow(stream: SecureStream): void {
    stream.#isResuming = false;
    if (stream.#isFlowing !== true) return;
    stream.#deliver();
    if (stream.#isFlowing && !stream.socket.destroyed) stream.socket.resume();
  }

  /** Emits every whole record held while flowing; stops at a pause, a failure or the stream's end. */
  #deliver(): void {
    // Bounded by the bytes held: each pass takes one record out of them.
    while (this.#isFlowing === true && !this.#isDestroyed && !this.#isClosed) {
      let plain: Buffer | undefined;
      try {
        plain = this.#opener.next();
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      if (plain === undefined) break;
      this.emit('data', plain);
    }
    // Like a socket's, the end is told once nothing is held, paused or not.
    if (this.#hasEnded && !this.#hasEmittedEnd && !this.#isDestroyed && this.#opener.isIdle) {
      this.#hasEmittedEnd = true;
      this.emit('end');
      if (this.#isCloseHeld) this.#close();
    }
  }

  /**
   * An error goes to whoever listens, and is dropped when nobody does (a
   * stream not taken yet, or let go of): its close tells the same, and an
   * 'error' nobody hears would end the process.
   */
  #emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  #close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#isCloseHeld = false;
    this.#sealer.wipe();
    this.#opener.wipe();
    STATES.give(this.#sealerState);
    STATES.give(this.#openerState);
    this.#head = undefined;
    this.emit('close');
  }

  // The socket's listeners, shared by every stream (no closures per connection).
  static #socketData(this: OwnedSocket, chunk: Buffer): void {
    const stream = this[OWNER];
    if (stream === undefined) return;
    try {
      stream.#opener.push(chunk);
    } catch (err) {
      stream.destroy(err as Error);
      return;
    }
    stream.#deliver();
  }

  static #socketEnd(this: OwnedSocket): void {
    const stream = this[OWNER];
    if (stream === undefined) return;
    stream.#hasEnded = true;
    stream.#deliver();
  }

  static #socketError(this: OwnedSocket, err: Error): void {
    const stream = this[OWNER];
    if (stream === undefined) return;
    stream.#isDestroyed = true;
    stream.#emitError(err);
  }

  static #socketClose(this: OwnedSocket): void {
    const stream = this[OWNER];
    if (stream === undefined) return;
    // A socket that ended cleanly closes under records already read and not yet taken
    // (paused): they are still delivered, as a Node.js stream delivers what it buffered.
    if (!stream.#isDestroyed && stream.#hasEnded && !stream.#hasEmittedEnd && !stream.#opener.isIdle) stream.#isCloseHeld = true;
    else stream.#close();
  }

  static #socketDrain(this: OwnedSocket): void {
    this[OWNER]?.emit('drain');
  }
}
