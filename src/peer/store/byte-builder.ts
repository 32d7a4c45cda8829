/**
 * The bytes of one append put together in place: a buffer written from the
 * front and grown as needed, so that a batch of records costs no string per
 * line, no joined string for the batch and no second copy into a Buffer.
 * Kept from one batch to the next: bytes() is valid until the next reset().
 *
 * Short strings are written a character at a time from JavaScript: for the
 * few dozen bytes of a record's fields that is cheaper than a call into
 * the runtime's encoder per field.
 */

/** Bytes a builder starts with. */
const INITIAL_BYTES = 16 * 1024;
/** A builder that grew past this for one big batch gives the memory back at its next reset. */
const KEPT_BYTES = 1 << 20;

/** Longer strings than this go through the runtime's encoder. */
const SHORT_CHARS = 256;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Lower-case hex digits as character codes. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** A growable buffer of record bytes, written from the front and reused batch after batch (see the top of this file). */
export class ByteBuilder {
  #buf: Buffer;
  #length = 0;
  /** The last two numbers written, and their digits (16 at most each): a history line has two times. */
  readonly #numbers = new Float64Array([-1, -1]);
  readonly #digits = new Uint8Array(32);
  readonly #digitCounts = new Uint8Array(2);
  #nextSlot = 0;

  constructor(capacity = INITIAL_BYTES) {
    this.#buf = Buffer.allocUnsafe(capacity);
  }

  /** Bytes written since the last reset. */
  get length(): number {
    return this.#length;
  }

  /** The bytes written since the last reset (a view, valid until the next reset). */
  bytes(): Buffer {
    return this.#buf.subarray(0, this.#length);
  }

  /**
   * The bytes from `start` to the end so far: a view that stays valid when
   * more is appended (a buffer that grows is copied, not overwritten), until
   * the next reset().
   */
  view(start: number): Buffer {
    return this.#buf.subarray(start, this.#length);
  }

  /** Starts over, keeping the buffer unless one batch made it large. */
  reset(): void {
    this.#length = 0;
    if (this.#buf.length > KEPT_BYTES) this.#buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Appends `s`, which must be ASCII (fixed keys, digits, hex): one byte per character. */
  ascii(s: string): void {
    const n = s.length;
    this.#room(n);
    if (n > SHORT_CHARS) {
      this.#length += this.#buf.write(s, this.#length, 'latin1');
      return;
    }
    const buf = this.#buf;
    let at = this.#length;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.#length = at;
  }

  /**
   * Appends `n` as JSON.stringify writes it (null when not finite). A time
   * in ms costs no string, and one of the last two again (the lines of a
   * batch mostly share theirs) is a copy of the digits written then.
   */
  number(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) {
      this.ascii(Number.isFinite(n) ? String(n) : 'null');
      return;
    }
    const numbers = this.#numbers;
    const digits = this.#digits;
    let slot = n === numbers[0] ? 0 : n === numbers[1] ? 1 : -1;
    if (slot < 0) {
      slot = this.#nextSlot;
      this.#nextSlot = 1 - slot;
      let count = 1;
      for (let p = 10; p <= n; p *= 10) count++;
      let rest = n;
      for (let i = slot * 16 + count - 1; i >= slot * 16; i--) {
        const q = Math.floor(rest / 10);
        digits[i] = 0x30 + rest - 10 * q;
        rest = q;
      }
      numbers[slot] = n;
      this.#digitCounts[slot] = count;
    }
    const from = slot * 16;
    const end = from + (this.#digitCounts[slot] as number);
    this.#room(end - from);
    const buf = this.#buf;
    let at = this.#length;
    for (let i = from; i < end; i++) buf[at++] = digits[i] as number;
    this.#length = at;
  }

  /**
   * Appends `s` as JSON.stringify writes it, in UTF-8. A string with nothing
   * to escape (no quote, backslash or control character) and no surrogate
   * is written between quotes as it is, encoded here; any other goes through
   * JSON.stringify, which escapes it and knows a lone surrogate from a pair.
   */
  json(s: string): void {
    const n = s.length;
    if (n <= SHORT_CHARS) {
      this.#room(3 * n + 2);
      const buf = this.#buf;
      let at = this.#length;
      buf[at++] = QUOTE;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80) {
          if (c < 0x20 || c === QUOTE || c === BACKSLASH) break;
          buf[at++] = c;
        } else if (c < 0x800) {
          buf[at++] = 0xc0 | (c >> 6);
          buf[at++] = 0x80 | (c & 0x3f);
        } else if (c >= 0xd800 && c <= 0xdfff) {
          break;
        } else {
          buf[at++] = 0xe0 | (c >> 12);
          buf[at++] = 0x80 | ((c >> 6) & 0x3f);
          buf[at++] = 0x80 | (c & 0x3f);
        }
      }
      if (i === n) {
        buf[at++] = QUOTE;
        this.#length = at;
        return;
      }
      // Something to escape: what was written so far is written over.
    }
    this.utf8(JSON.stringify(s));
  }

  /** Appends `s` as UTF-8. */
  utf8(s: string): void {
    this.#room(s.length * 3);
    this.#length += this.#buf.write(s, this.#length, 'utf8');
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#length++] = b;
  }

  /** Appends `bytes` as lower-case hex digits, two per byte. */
  hex(bytes: Uint8Array): void {
    this.#room(bytes.length * 2);
    const buf = this.#buf;
    let at = this.#length;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      buf[at++] = HEX[b >> 4] as number;
      buf[at++] = HEX[b & 15] as number;
    }
    this.#length = at;
  }

  /** Appends bytes [start, end) of what `from` holds. */
  copyFrom(from: ByteBuilder, start: number, end: number): void {
    this.#room(end - start);
    this.#length += from.#buf.copy(this.#buf, this.#length, start, end);
  }

  /** Makes room for `n` more bytes. */
  #room(n: number): void {
    const need = this.#length + n;
    if (need <= this.#buf.length) return;
    const buf = Buffer.allocUnsafe(Math.max(need, 2 * this.#buf.length));
    this.#buf.copy(buf, 0, 0, this.#length);
    this.#buf = buf;
  }
}
