/**
 * Field encodings shared by the messages (protocol.md §3): integers, strings,
 * display names, addresses. Pure functions; every failure is a NatterError.
 */
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Ip } from './messages.ts';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Address family byte (protocol.md §3.4). */
export const ADDRESS_FAMILY = { UNSPECIFIED: 0, IPV4: 4, IPV6: 6 } as const;

/**
 * Characters a display name may not contain: control and format characters
 * (which could rewrite a terminal line or hide text), any whitespace or
 * line/paragraph separator (names are single words in commands such as
 * `/accept NAME`), and '/' (the `friend/message` separator).
 */
const FORBIDDEN_IN_NAME = /[\p{Cc}\p{Cf}\p{Z}\s/]/u;

const PLAIN_ASCII_NAME = /^[!-.0-~]+$/;

/** An ERROR code on the wire: upper-case ASCII letters, digits and '_'. */
const WIRE_CODE = /^[A-Z0-9_]{1,64}$/;

/**
 * Normalises a display name to NFC and checks it (protocol.md §3.3):
 * 1..maxBytes UTF-8 bytes, no control, format or whitespace characters, no '/'.
 * Returns the normalised name or throws NATTER_ERR_INVALID_NAME.
 */
export function normalizeName(raw: string, maxBytes: number): string {
  // Most names are printable ASCII without space or '/': already NFC, nothing to check but the length.
  if (raw.length <= maxBytes && PLAIN_ASCII_NAME.test(raw)) return raw;
  const name = raw.normalize('NFC');
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0) {
    throw new NatterError(ERROR_CODES.INVALID_NAME, 'display name is empty');
  }
  if (bytes > maxBytes) {
    throw new NatterError(ERROR_CODES.INVALID_NAME, `display name is ${bytes} bytes, the limit is ${maxBytes}`);
  }
  if (FORBIDDEN_IN_NAME.test(name)) {
    throw new NatterError(ERROR_CODES.INVALID_NAME, 'display name may not contain control characters, spaces or "/"');
  }
  return name;
}

/** Checks an ERROR code field (protocol.md §4.2). */
export function checkWireCode(code: string): string {
  if (!WIRE_CODE.test(code)) {
    throw new NatterError(ERROR_CODES.MALFORMED, 'error code must be 1-64 characters of A-Z, 0-9 and _');
  }
  return code;
}

/** Checks a port field: an integer 0..65535 (0 only where the message allows it). */
export function checkPort(port: number, allowZero: boolean): number {
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 0xffff) {
    throw new NatterError(ERROR_CODES.MALFORMED, `port must be an integer from ${allowZero ? 0 : 1} to 65535, got ${port}`);
  }
  return port;
}

/**
 * Converts an IP address in text to its wire bytes: family byte then 0, 4 or
 * 16 address bytes. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as Node
 * reports peers on a dual-stack socket) is sent as plain IPv4.
 */
export function ipToBytes(ip: Ip): Buffer {
  if (ip === '') {
    return Buffer.from([ADDRESS_FAMILY.UNSPECIFIED]);
  }
  if (isIPv4(ip)) {
    // Dotted decimal, checked by isIPv4: four numbers of 0..255, read in place (every ACK carries one).
    const out = Buffer.allocUnsafe(5);
    out[0] = ADDRESS_FAMILY.IPV4;
    let at = 0;
    for (let k = 1; k <= 4; k++) {
      const dot = k === 4 ? ip.length : ip.indexOf('.', at);
      out[k] = Number(ip.slice(at, dot));
      at = dot + 1;
    }
    return out;
  }
  if (isIPv6(ip)) {
    const parsed = ipaddr.process(ip);
    const family = parsed.kind() === 'ipv4' ? ADDRESS_FAMILY.IPV4 : ADDRESS_FAMILY.IPV6;
    return Buffer.from([family, ...parsed.toByteArray()]);
  }
  throw new NatterError(ERROR_CODES.MALFORMED, `not an IP address: ${JSON.stringify(ip)}`);
}

const MAPPED_V4 = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/**
 * Canonical text form of an IP address (the form decoding yields): IPv4
 * dotted, IPv4-mapped IPv6 as plain IPv4, other IPv6 compressed (RFC 5952).
 * Plain IPv4, the common case of every accepted connection, is returned as is.
 */
export function canonicalIp(ip: Ip): Ip {
  if (ip === '' || isIPv4(ip)) return ip;
  const mapped = MAPPED_V4.exec(ip)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) return mapped;
  return ipaddr.process(ip).toString();
}

/** Sequential reader over one frame payload. */
export class PayloadReader {
  #offset = 0;
  readonly #buf: Buffer;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #need(n: number, what: string): void {
    if (this.#buf.length - this.#offset < n) {
      throw new NatterError(
        ERROR_CODES.TRUNCATED,
        `payload ends inside ${what}: needs ${n} more bytes, ${this.#buf.length - this.#offset} left`,
      );
    }
  }

  u8(what: string): number {
    this.#need(1, what);
    return this.#buf.readUInt8(this.#offset++);
  }

  u16(what: string): number {
    this.#need(2, what);
    const v = this.#buf.readUInt16BE(this.#offset);
    this.#offset += 2;
    return v;
  }

  u32(what: string): number {
    this.#need(4, what);
    const v = this.#buf.readUInt32BE(this.#offset);
    this.#offset += 4;
    return v;
  }

  /** A copy of the next n bytes (copied so a payload view never pins a socket chunk). */
  bytes(n: number, what: string): Buffer {
    this.#need(n, what);
    const out = Buffer.from(this.#buf.subarray(this.#offset, this.#offset + n));
    this.#offset += n;
    return out;
  }

  /** All bytes left in the payload. */
  rest(): Buffer {
    return this.bytes(this.#buf.length - this.#offset, 'rest');
  }

  /** UTF-8 text of n bytes; invalid UTF-8 is NATTER_ERR_MALFORMED. */
  utf8(n: number, what: string): string {
    this.#need(n, what);
    const view = this.#buf.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    try {
      return STRICT_UTF8.decode(view);
    } catch (cause) {
      throw new NatterError(ERROR_CODES.MALFORMED, `${what} is not valid UTF-8`, { cause });
    }
  }

  /** An address: family byte then its bytes (protocol.md §3.4). */
  ip(what: string): Ip {
    const family = this.u8(`${what} family`);
    if (family === ADDRESS_FAMILY.UNSPECIFIED) {
      return '';
    }
    if (family === ADDRESS_FAMILY.IPV4) {
      this.#need(4, what);
      return ipaddr.fromByteArray([...this.bytes(4, what)]).toString();
    }
    if (family === ADDRESS_FAMILY.IPV6) {
      this.#need(16, what);
      return ipaddr.fromByteArray([...this.bytes(16, what)]).toString();
    }
    throw new NatterError(ERROR_CODES.MALFORMED, `${what} has unknown address family ${family}`);
  }

  /** Fails with NATTER_ERR_MALFORMED if bytes are left over: every field is accounted for. */
  end(type: string): void {
    const left = this.#buf.length - this.#offset;
    if (left !== 0) {
      throw new NatterError(ERROR_CODES.MALFORMED, `${type} payload has ${left} unexpected trailing bytes`);
    }
  }
}
