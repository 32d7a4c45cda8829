/**
 * The incremental frame decoder (protocol.md §2): chunks in, messages out.
 *
 * A pure state machine with no I/O. It keeps the chunks it was given in a
 * list with a byte count, and cuts whole frames out of them; any split of the
 * byte stream yields the same messages.
 *
 *            push(chunk)                  next()
 *   bytes ───────────────▶ [ parts ] ──▶ header? ──▶ payload? ──▶ Message
 *                            │               │            │
 *                            │ byte/part     │ size, type │ field
 *                            ▼ caps          ▼ checks     ▼ checks
 *                                  NatterError (decoder then stays failed)
 *
 * Usage: after each push(), call next() until it returns undefined.
 * The header is validated (size against maxFrameBytes, type against the known
 * codes) as soon as its bytes are in, before any payload byte is buffered
 * for it or allocated.
 */
import { ERROR_CODES, NatterError } from '../errors.ts';
import { decodePayload } from './codec.ts';
import { HEADER_BYTES, resolveLimits, type ProtocolLimits } from './limits.ts';
import { MESSAGE_TYPES, messageNameOf, type Message, type MessageName } from './messages.ts';

interface Header {
  name: MessageName;
  length: number;
}

export class FrameDecoder {
  readonly limits: Readonly<ProtocolLimits>;
  #parts: Buffer[] = [];
  /** Bytes of #parts[0] already consumed. */
  #offset = 0;
  #buffered = 0;
  #header: Header | undefined;
  #failure: NatterError | undefined;

  /** @throws NatterError NATTER_ERR_INVALID_ARGUMENT for a bad limit. */
  constructor(limits: Partial<ProtocolLimits> = {}) {
    this.limits = resolveLimits(limits);
  }

  /** Bytes held for frames not yet returned by next(). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The error that stopped this decoder, if any. */
  get failure(): NatterError | undefined {
    return this.#failure;
  }

  /**
   * Adds a chunk of the byte stream.
   * @throws NatterError NATTER_ERR_BUFFER_LIMIT or NATTER_ERR_TOO_MANY_PARTS
   */
  push(chunk: Uint8Array): void {
    this.#throwIfFailed();
    if (chunk.length === 0) return;
    if (this.#buffered + chunk.length > this.limits.maxBufferedBytes) {
      this.#fail(
        new NatterError(
          ERROR_CODES.BUFFER_LIMIT,
          `holding ${this.#buffered + chunk.length} bytes would exceed the limit of ${this.limits.maxBufferedBytes}`,
        ),
      );
    }
    if (this.#parts.length >= this.limits.maxBufferedParts) {
      this.#fail(
        new NatterError(ERROR_CODES.TOO_MANY_PARTS, `a frame arriving in more than ${this.limits.maxBufferedParts} pieces is refused`),
      );
    }
    this.#parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#buffered += chunk.length;
  }

  /**
   * The next whole message, or undefined when more bytes are needed.
   * @throws NatterError for an oversized or unknown frame or a bad payload.
   */
  next(): Message | undefined {
    this.#throwIfFailed();
    if (this.#header === undefined) {
      const first = this.#parts[0];
      if (first !== undefined && first.length - this.#offset >= HEADER_BYTES) {
        // The usual case: the header (and often the whole frame) lies in the first part; read it in place.
        const length = first.readUInt32BE(this.#offset);
        this.#checkLength(length);
        this.#header = { name: this.#typeName(first[this.#offset + 4] as number), length };
        this.#advance(first, HEADER_BYTES);
      } else if (this.#buffered < HEADER_BYTES) {
        // The length alone is enough to refuse an oversized frame early.
        if (this.#buffered >= 4) this.#checkLength(this.#peekHeader(4).readUInt32BE(0));
        return undefined;
      } else {
        const head = this.#peekHeader(HEADER_BYTES);
        const length = head.readUInt32BE(0);
        this.#checkLength(length);
        this.#header = { name: this.#typeName(head.readUInt8(4)), length };
        this.#skip(HEADER_BYTES);
      }
    }
    const { name, length } = this.#header;
    if (this.#buffered < length) return undefined;
    this.#header = undefined;
    const payload = this.#take(length);
    try {
      return decodePayload(name, payload, this.limits);
    } catch (err) {
      this.#fail(err as NatterError);
    }
  }

  /**
   * Declares the end of the stream.
   * @throws NatterError NATTER_ERR_TRUNCATED when it ends inside a frame.
   */
  end(): void {
    this.#throwIfFailed();
    if (this.#header !== undefined || this.#buffered > 0) {
      const expected = this.#header === undefined ? 'its header' : `${this.#header.length} payload bytes`;
      this.#fail(
        new NatterError(ERROR_CODES.TRUNCATED, `stream ended inside a frame: ${this.#buffered} bytes buffered, ${expected} expected`),
      );
    }
  }

  #checkLength(length: number): void {
    if (HEADER_BYTES + length > this.limits.maxFrameBytes) {
      this.#fail(
        new NatterError(
          ERROR_CODES.FRAME_TOO_LARGE,
          `frame of ${HEADER_BYTES + length} bytes exceeds the limit of ${this.limits.maxFrameBytes}`,
        ),
      );
    }
  }

  #typeName(type: number): MessageName {
    const name = messageNameOf(type);
    if (name === undefined) {
      this.#fail(new NatterError(ERROR_CODES.UNKNOWN_TYPE, `unknown message type 0x${type.toString(16).padStart(2, '0')}`));
    }
    return name;
  }

  /**
   * Removes and returns every byte held that is not part of a frame already
   * returned by next() (a frame half received included, its header too): for
   * a stream that stops carrying frames and goes on carrying something else.
   */
  takeRest(): Buffer {
    const held = this.#buffered === 0 ? Buffer.alloc(0) : this.#copyOut(this.#buffered, true);
    const header = this.#header;
    this.#header = undefined;
    this.#parts = [];
    this.#offset = 0;
    this.#buffered = 0;
    if (header === undefined) return held;
    const head = Buffer.allocUnsafe(HEADER_BYTES);
    head.writeUInt32BE(header.length, 0);
    head.writeUInt8(MESSAGE_TYPES[header.name], 4);
    return Buffer.concat([head, held]);
  }

  #fail(err: NatterError): never {
    this.#failure = err;
    this.#parts = [];
    this.#buffered = 0;
    this.#offset = 0;
    throw err;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** The first n buffered bytes without consuming them (n <= buffered). */
  #peekHeader(n: number): Buffer {
    const first = this.#parts[0] as Buffer;
    if (first.length - this.#offset >= n) return first.subarray(this.#offset, this.#offset + n);
    return this.#copyOut(n, false);
  }

  /** Drops the first n buffered bytes, which span several parts (a header that arrived in pieces). */
  #skip(n: number): void {
    this.#copyOut(n, true);
  }

  /** Removes and returns the first n buffered bytes (n <= buffered). */
  #take(n: number): Buffer {
    const first = this.#parts[0];
    if (first !== undefined && first.length - this.#offset >= n) {
      const view = first.subarray(this.#offset, this.#offset + n);
      this.#advance(first, n);
      return view;
    }
    return this.#copyOut(n, true);
  }

  #advance(first: Buffer, n: number): void {
    this.#offset += n;
    this.#buffered -= n;
    if (this.#offset === first.length) {
      // A fresh empty list rather than shift(): an idle connection should not keep a grown backing store.
      if (this.#parts.length === 1) this.#parts = [];
      else this.#parts.shift();
      this.#offset = 0;
    }
  }

  /** Copies the first n bytes across parts; consumes them when asked. */
  #copyOut(n: number, consume: boolean): Buffer {
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    let index = 0;
    let offset = this.#offset;
    while (copied < n) {
      const part = this.#parts[index] as Buffer;
      const count = Math.min(n - copied, part.length - offset);
      part.copy(out, copied, offset, offset + count);
      copied += count;
      offset += count;
      if (offset === part.length) {
        index++;
        offset = 0;
      }
    }
    if (consume) {
      this.#parts.splice(0, index);
      this.#offset = offset;
      this.#buffered -= n;
    }
    return out;
  }
}
