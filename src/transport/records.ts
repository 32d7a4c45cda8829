/**
 * The record layer of the encrypted channel (protocol.md §1.2) as two pure
 * state machines, one per direction, over libsodium's
 * crypto_secretstream_xchacha20poly1305 (sodium-universal). No I/O: bytes in,
 * bytes out; secure-stream.ts runs them over a socket.
 *
 *   RecordSealer   plaintext ──▶ [len][tag|ciphertext|mac] …   (cut to 16,384 B of plaintext each)
 *   RecordOpener   [len][stream id|header] [len][record] … ──▶ plaintext of each record
 *
 * Every unit on the wire is a 3-byte little-endian length and a body. The
 * first unit each side sends after the handshake is its stream header: a
 * 32-byte stream id that proves both sides derived the same handshake hash,
 * then the 24-byte header libsodium's push state starts from. Each record
 * after it is one crypto_secretstream push with TAG_MESSAGE: the plaintext
 * plus 17 bytes. The layout is the one @hyperswarm/secret-stream speaks, so
 * natter peers that run it interoperate byte for byte.
 *
 * Sealing and opening work in place: the plaintext is copied once into the
 * buffer that goes on the wire and encrypted there; a received record is
 * decrypted inside the chunk it came in. The opener reads every length
 * before it keeps a byte of the body, and refuses lengths natter never sends
 * before anything is allocated for them.
 */
import sodium from 'sodium-universal';
import { ERROR_CODES, NatterError } from '../errors.ts';

/** Bytes of each unit's length prefix. */
export const LENGTH_BYTES = 3;
/** Plaintext bytes per encrypted record at most, as received (protocol.md §1.3). */
export const MAX_RECORD_PLAINTEXT = 65_536;
/**
 * Plaintext bytes per record natter sends at most; longer writes are cut
 * into several records. A quarter of what it accepts, as TLS does: a reader
 * that takes the stream in reads of 64 KiB then finds most records whole in
 * one read and decrypts them where they lie, where a record as large as a
 * read nearly always spans two and has to be gathered into a buffer of its
 * own first (a WHO listing of half a megabyte: eight such buffers).
 */
export const SEND_RECORD_PLAINTEXT = 16_384;
/** What a record adds to its plaintext: the encrypted tag byte and the 16-byte authentication tag. */
export const RECORD_OVERHEAD = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;
/** Largest record body accepted: a full record of plaintext plus its overhead. */
export const MAX_RECORD_BYTES = MAX_RECORD_PLAINTEXT + RECORD_OVERHEAD;
const STREAM_ID_BYTES = 32;
const SECRETSTREAM_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
/** Body of the stream header unit: stream id, then the secretstream header. */
export const STREAM_HEADER_BYTES = STREAM_ID_BYTES + SECRETSTREAM_HEADER_BYTES;
const STATE_BYTES = sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES;
const KEY_BYTES = sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES;
const TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;

/**
 * The namespace the stream ids are hashed under (protocol.md §1.2):
 * BLAKE2b-256 of the name, then BLAKE2b-256 of that and one byte, 0 for the
 * initiator's id and 1 for the responder's.
 */
function namespaces(name: string): [Buffer, Buffer] {
  const base = Buffer.alloc(STREAM_ID_BYTES + 1);
  sodium.crypto_generichash(base.subarray(0, STREAM_ID_BYTES), Buffer.from(name));
  const out: Buffer[] = [];
  for (const index of [0, 1]) {
    base[STREAM_ID_BYTES] = index;
    const ns = Buffer.alloc(STREAM_ID_BYTES);
    sodium.crypto_generichash(ns, base);
    out.push(ns);
  }
  return out as [Buffer, Buffer];
}

const [NS_INITIATOR, NS_RESPONDER] = namespaces('hyperswarm/secret-stream');

/** The stream id the initiator (or the responder) sends: BLAKE2b-256 of its namespace, keyed with the handshake hash. */
export function streamId(
  handshakeHash: Uint8Array,
  isInitiator: boolean,
  out: Uint8Array = Buffer.allocUnsafe(STREAM_ID_BYTES),
): Uint8Array {
  sodium.crypto_generichash(out, isInitiator ? NS_INITIATOR : NS_RESPONDER, handshakeHash);
  return out;
}

/** Bytes that `plaintextBytes` of plaintext take sealed: its records and their lengths. */
export function sealedBytes(plaintextBytes: number): number {
  const records = plaintextBytes === 0 ? 0 : Math.ceil(plaintextBytes / SEND_RECORD_PLAINTEXT);
  return plaintextBytes + records * (LENGTH_BYTES + RECORD_OVERHEAD);
}

function writeLength(buf: Uint8Array, at: number, length: number): void {
  buf[at] = length & 0xff;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length >>> 16;
}

/** Our direction: seals plaintext into records. */
export class RecordSealer {
  readonly #state: Buffer;
  /** The stream header unit (length, stream id, secretstream header), until taken. */
  #header: Buffer | undefined;

  /**
   * `key`: our transmit key (its first 32 bytes are used). `state`: where
   * the push state lives (52 bytes; the caller may carve it out of a buffer
   * it keeps for the connection anyway).
   */
  constructor(key: Uint8Array, handshakeHash: Uint8Array, isInitiator: boolean, state: Buffer = Buffer.allocUnsafe(STATE_BYTES)) {
    this.#state = state;
    const header = Buffer.allocUnsafe(LENGTH_BYTES + STREAM_HEADER_BYTES);
    writeLength(header, 0, STREAM_HEADER_BYTES);
    streamId(handshakeHash, isInitiator, header.subarray(LENGTH_BYTES, LENGTH_BYTES + STREAM_ID_BYTES));
    sodium.crypto_secretstream_xchacha20poly1305_init_push(
      state,
      header.subarray(LENGTH_BYTES + STREAM_ID_BYTES),
      key.subarray(0, KEY_BYTES),
    );
    this.#header = header;
  }

  /** The stream header unit, once: it must go before the first record. Undefined after the first call. */
  takeHeader(): Buffer | undefined {
    const header = this.#header;
    this.#header = undefined;
    return header;
  }

  /**
   * Seals `plaintext` as records of at most SEND_RECORD_PLAINTEXT bytes each,
   * every one with its length, into one buffer; `head` (unsealed bytes, such
   * as the stream header) goes in front of them. Into `into` when given (it
   * must hold sealedBytes(); the result is a view of it), else a new buffer.
   */
  seal(plaintext: Uint8Array, head?: Uint8Array, into?: Buffer): Buffer {
    const n = plaintext.length;
    const headBytes = head === undefined ? 0 : head.length;
    const total = headBytes + sealedBytes(n);
    const out = into === undefined ? Buffer.allocUnsafe(total) : into.subarray(0, total);
    if (head !== undefined) out.set(head, 0);
    let at = headBytes;
    // Bounded by the plaintext: each pass seals one record.
    for (let from = 0; from < n; from += SEND_RECORD_PLAINTEXT) {
      const size = Math.min(SEND_RECORD_PLAINTEXT, n - from);
      writeLength(out, at, size + RECORD_OVERHEAD);
      // The plaintext sits one byte after the record body's start, where its
      // ciphertext goes: libsodium encrypts it in place (the tag byte first).
      const body = out.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + size + RECORD_OVERHEAD);
      const message = body.subarray(1, 1 + size);
      message.set(plaintext.subarray(from, from + size));
      sodium.crypto_secretstream_xchacha20poly1305_push(this.#state, body, message, null, TAG_MESSAGE);
      at += LENGTH_BYTES + size + RECORD_OVERHEAD;
    }
    return out;
  }

  /** Forgets the key state. */
  wipe(): void {
    sodium.sodium_memzero(this.#state);
  }
}

/** What the opener reads next: a length, or a body of `#length` bytes. */
const PHASE_LENGTH = 0;
const PHASE_BODY = 1;

const TAG = Buffer.alloc(1);

/**
 * The other direction: takes the byte stream in chunks and gives back the
 * plaintext of each record, one record at a time (next()), so that a reader
 * may stop between any two. Any split of the stream gives the same records.
 * Throws NatterError FRAME_TOO_LARGE for a length over the limit (before
 * keeping any of its body) and CONNECTION_CLOSED for a stream header or a
 * record that is not what the other side of this handshake would send; after
 * a throw the opener is spent.
 */
export class RecordOpener {
  readonly #state: Buffer;
  /** Until the other side's stream header is in: its receive key and the stream id it must send. */
  #pending: { key: Buffer; id: Uint8Array } | undefined;
  #chunks: Buffer[] = [];
  /** Bytes of #chunks[0] already taken. */
  #offset = 0;
  #phase = PHASE_LENGTH;
  #length = 0;
  #lengthBytes = 0;
  /** A body that spans chunks, being gathered, and how much of it is in. */
  #body: Buffer | undefined;
  #bodyBytes = 0;
  #failure: NatterError | undefined;

  /**
   * `key`: our receive key (its first 32 bytes; copied). `state`: where the
   * pull state lives (52 bytes).
   */
  constructor(key: Uint8Array, handshakeHash: Uint8Array, isInitiator: boolean, state: Buffer = Buffer.allocUnsafe(STATE_BYTES)) {
    this.#state = state;
    const keyCopy = Buffer.allocUnsafe(KEY_BYTES);
    keyCopy.set(key.subarray(0, KEY_BYTES));
    this.#pending = { key: keyCopy, id: streamId(handshakeHash, !isInitiator) };
  }

  /** True when no byte of an unfinished unit is held. */
  get isIdle(): boolean {
    return this.#chunks.length === 0 && this.#phase === PHASE_LENGTH && this.#lengthBytes === 0;
  }

  /** Adds a chunk of the byte stream (kept, and decrypted in place, until its records are taken). */
  push(chunk: Buffer): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (chunk.length > 0) this.#chunks.push(chunk);
  }

  /** The plaintext of the next record, or undefined when more bytes are needed. Empty records are skipped. */
  next(): Buffer | undefined {
    if (this.#failure !== undefined) throw this.#failure;
    // Bounded by the bytes held: every pass takes some of them, or returns.
    for (;;) {
      const chunk = this.#chunks[0];
      if (chunk === undefined) return undefined;
      if (this.#phase === PHASE_LENGTH) {
        this.#length |= (chunk[this.#offset] as number) << (8 * this.#lengthBytes);
        this.#advance(chunk, 1);
        if (++this.#lengthBytes < LENGTH_BYTES) continue;
        this.#lengthBytes = 0;
        this.#checkLength(this.#length);
        this.#phase = PHASE_BODY;
        continue;
      }
      const body = this.#takeBody(chunk);
      if (body === undefined) continue;
      this.#phase = PHASE_LENGTH;
      this.#length = 0;
      const plain = this.#open(body);
      if (plain !== undefined && plain.length > 0) return plain;
    }
  }

  /** Forgets the key state and whatever is held. */
  wipe(): void {
    sodium.sodium_memzero(this.#state);
    if (this.#pending !== undefined) sodium.sodium_memzero(this.#pending.key);
    this.#pending = undefined;
    this.#chunks = [];
    this.#body = undefined;
  }

  #checkLength(length: number): void {
    if (this.#pending !== undefined) {
      if (length !== STREAM_HEADER_BYTES)
        this.#fail(ERROR_CODES.CONNECTION_CLOSED, `a stream header of ${length} bytes (${STREAM_HEADER_BYTES} expected)`);
    } else if (length > MAX_RECORD_BYTES) {
      this.#fail(ERROR_CODES.FRAME_TOO_LARGE, `an encrypted record of ${length} bytes (the most is ${MAX_RECORD_BYTES})`);
    } else if (length < RECORD_OVERHEAD) {
      this.#fail(ERROR_CODES.CONNECTION_CLOSED, `an encrypted record of ${length} bytes (at least ${RECORD_OVERHEAD})`);
    }
  }

  /** The body of the current unit once all of it is in: a view of the chunk when it lies in one, else gathered. */
  #takeBody(chunk: Buffer): Buffer | undefined {
    const length = this.#length;
    const available = chunk.length - this.#offset;
    if (this.#body === undefined && available >= length) {
      const view = chunk.subarray(this.#offset, this.#offset + length);
      this.#advance(chunk, length);
      return view;
    }
    // Allocated only now that the length has passed its check.
    this.#body ??= Buffer.allocUnsafe(length);
    const n = Math.min(available, length - this.#bodyBytes);
    chunk.copy(this.#body, this.#bodyBytes, this.#offset, this.#offset + n);
    this.#bodyBytes += n;
    this.#advance(chunk, n);
    if (this.#bodyBytes < length) return undefined;
    const body = this.#body;
    this.#body = undefined;
    this.#bodyBytes = 0;
    return body;
  }

  #advance(chunk: Buffer, n: number): void {
    this.#offset += n;
    if (this.#offset === chunk.length) {
      // A fresh array rather than shift(): an idle connection keeps no grown backing store.
      if (this.#chunks.length === 1) this.#chunks = [];
      else this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /** The stream header (checked, and the pull state started from it), or a record decrypted in place. */
  #open(body: Buffer): Buffer | undefined {
    const pending = this.#pending;
    if (pending !== undefined) {
      if (!body.subarray(0, STREAM_ID_BYTES).equals(pending.id)) {
        this.#fail(ERROR_CODES.CONNECTION_CLOSED, 'the stream header does not belong to this handshake');
      }
      sodium.crypto_secretstream_xchacha20poly1305_init_pull(this.#state, body.subarray(STREAM_ID_BYTES), pending.key);
      sodium.sodium_memzero(pending.key);
      this.#pending = undefined;
      return undefined;
    }
    const plain = body.subarray(1, body.length - RECORD_OVERHEAD + 1);
    try {
      sodium.crypto_secretstream_xchacha20poly1305_pull(this.#state, plain, TAG, body, null);
    } catch (cause) {
      this.#fail(ERROR_CODES.CONNECTION_CLOSED, 'an encrypted record did not authenticate', cause);
    }
    return plain;
  }

  #fail(code: typeof ERROR_CODES.FRAME_TOO_LARGE | typeof ERROR_CODES.CONNECTION_CLOSED, why: string, cause?: unknown): never {
    this.#failure = new NatterError(code, why, cause === undefined ? {} : { cause });
    this.#chunks = [];
    this.#body = undefined;
    throw this.#failure;
  }
}
