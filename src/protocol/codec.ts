/**
 * Message <-> frame bytes (protocol.md §2-§4). Pure: no I/O, no timers.
 *
 *   frame = length:u32be  type:u8  payload[length]
 *
 * The encoder refuses to produce a frame the decoder on the other side would
 * reject (a bad name, a text over the limit, an oversized frame), so a caller
 * learns about it before anything reaches the wire.
 */
import { isUtf8 } from 'node:buffer';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { PayloadReader, checkPort, checkWireCode, ipToBytes, normalizeName } from './fields.ts';
import { DEFAULT_LIMITS, HEADER_BYTES, type ProtocolLimits } from './limits.ts';
import { HELLO_MAGIC, MESSAGE_TYPES, type Message, type MessageName } from './messages.ts';

type Limits = Pick<ProtocolLimits, 'maxFrameBytes' | 'maxNameBytes' | 'maxTextBytes'>;

const MAX_U16 = 0xffff;
const MAX_U32 = 0xffff_ffff;

function str8(text: string, what: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > 0xff) {
    throw new NatterError(ERROR_CODES.MALFORMED, `${what} is ${bytes.length} bytes, at most 255 fit`);
  }
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function bytes16(data: Buffer | string, what: string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (bytes.length > MAX_U16) {
    throw new NatterError(ERROR_CODES.MALFORMED, `${what} is ${bytes.length} bytes, at most 65535 fit`);
  }
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function u8(v: number): Buffer {
  return Buffer.from([v]);
}

function u16(v: number, what: string): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U16) {
    throw new NatterError(ERROR_CODES.MALFORMED, `${what} must be an integer from 0 to 65535, got ${v}`);
  }
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v);
  return b;
}

function frame(type: MessageName, parts: Buffer[], limits: Limits): Buffer {
  let length = 0;
  for (const p of parts) length += p.length;
  checkFrameSize(length, limits.maxFrameBytes);
  const out = Buffer.allocUnsafe(HEADER_BYTES + length);
  out.writeUInt32BE(length, 0);
  out.writeUInt8(MESSAGE_TYPES[type], 4);
  let offset = HEADER_BYTES;
  for (const p of parts) offset += p.copy(out, offset);
  return out;
}

function checkFrameSize(payloadBytes: number, maxFrameBytes: number): void {
  if (HEADER_BYTES + payloadBytes > maxFrameBytes) {
    throw new NatterError(
      ERROR_CODES.FRAME_TOO_LARGE,
      `frame of ${HEADER_BYTES + payloadBytes} bytes exceeds the limit of ${maxFrameBytes}`,
    );
  }
}

function textTooLong(bytes: number, max: number): NatterError {
  return new NatterError(ERROR_CODES.TEXT_TOO_LONG, `text is ${bytes} bytes of UTF-8, the limit is ${max}`);
}

/** Bytes of a message id on the wire (protocol.md §4.12). */
export const MESSAGE_ID_BYTES = 16;
/** TEXT's fixed fields before the text: id, time (u64), text length. */
const TEXT_FIXED = MESSAGE_ID_BYTES + 8 + 2;
const TWO_32 = 2 ** 32;

function checkId(id: Uint8Array): Uint8Array {
  if (!(id instanceof Uint8Array) || id.length !== MESSAGE_ID_BYTES) {
    throw new NatterError(
      ERROR_CODES.MALFORMED,
      `a message id must be ${MESSAGE_ID_BYTES} bytes, got ${id instanceof Uint8Array ? id.length : typeof id}`,
    );
  }
  return id;
}

function checkTime(ts: number): number {
  if (!Number.isSafeInteger(ts) || ts < 0) {
    throw new NatterError(ERROR_CODES.MALFORMED, `a time must be an integer of ms from 0 to 2^53-1, got ${ts}`);
  }
  return ts;
}

/**
 * TEXT is the hot path (bench/codec): one allocation, the fields and the
 * string written in place, no intermediate buffers.
 */
function encodeText(id: Uint8Array, ts: number, text: string, limits: Limits): Buffer {
  const n = Buffer.byteLength(text, 'utf8');
  if (n > limits.maxTextBytes) throw textTooLong(n, limits.maxTextBytes);
  checkFrameSize(TEXT_FIXED + n, limits.maxFrameBytes);
  checkTime(ts);
  const out = Buffer.allocUnsafe(HEADER_BYTES + TEXT_FIXED + n);
  out.writeUInt32BE(TEXT_FIXED + n, 0);
  out.writeUInt8(MESSAGE_TYPES.TEXT, 4);
  out.set(checkId(id), HEADER_BYTES);
  out.writeUInt32BE(Math.floor(ts / TWO_32), HEADER_BYTES + 16);
  out.writeUInt32BE(ts % TWO_32, HEADER_BYTES + 20);
  out.writeUInt16BE(n, HEADER_BYTES + 24);
  out.write(text, HEADER_BYTES + TEXT_FIXED, 'utf8');
  return out;
}

/** A frame whose payload is a few fixed-size integers: one allocation, written in place. */
function fixed(type: MessageName, payloadBytes: number, limits: Limits): Buffer {
  checkFrameSize(payloadBytes, limits.maxFrameBytes);
  const out = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  out.writeUInt32BE(payloadBytes, 0);
  out.writeUInt8(MESSAGE_TYPES[type], 4);
  return out;
}

/** An Ed25519 public key is 32 bytes (protocol.md §3.6). */
export const KEY_BYTES = 32;

function checkKey(key: Buffer): Buffer {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new NatterError(ERROR_CODES.MALFORMED, `a key must be ${KEY_BYTES} bytes, got ${Buffer.isBuffer(key) ? key.length : typeof key}`);
  }
  return key;
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U32) {
    throw new NatterError(ERROR_CODES.MALFORMED, `${what} must be an integer from 0 to 4294967295, got ${v}`);
  }
  return v;
}

/**
 * Encodes one message as a complete frame. Throws a NatterError when a field
 * is out of range or a limit would be exceeded.
 */
export function encodeMessage(msg: Message, limits: Limits = DEFAULT_LIMITS): Buffer {
  switch (msg.type) {
    case 'TEXT':
      return encodeText(msg.id, msg.ts, msg.text, limits);
    case 'RCPT': {
      const out = fixed(msg.type, MESSAGE_ID_BYTES, limits);
      out.set(checkId(msg.id), HEADER_BYTES);
      return out;
    }
    case 'RITEMS':
      return encodeRitems(msg.items, limits);
    case 'RHAVE':
      return encodeRhave(msg.room, msg.isAsking, msg.have, limits);
    case 'HELLO':
      return frame(msg.type, [HELLO_MAGIC, u16(msg.version, 'version')], limits);
    case 'ERROR':
      return frame(msg.type, [str8(checkWireCode(msg.code), 'error code'), bytes16(msg.reason, 'reason')], limits);
    case 'UP':
    case 'PEER':
    case 'CONN': {
      // One layout: name, ip, port; PEER adds the key it registered with.
      const fields = [
        str8(normalizeName(msg.name, limits.maxNameBytes), 'name'),
        ipToBytes(msg.ip),
        u16(checkPort(msg.port, msg.type === 'UP'), 'port'),
      ];
      if (msg.type === 'PEER') fields.push(checkKey(msg.key));
      return frame(msg.type, fields, limits);
    }
    case 'ACK': {
      const head = Buffer.allocUnsafe(6);
      head.writeUInt16BE(checkPort(msg.port, false), 0);
      head.writeUInt32BE(checkU32(msg.aliveIntervalMs, 'alive interval'), 2);
      return frame(msg.type, [head, ipToBytes(msg.seenIp), u16(checkPort(msg.seenPort, true), 'seen port')], limits);
    }
    case 'PROBE':
      return frame(msg.type, [u16(checkPort(msg.port, false), 'port')], limits);
    case 'PROBED':
      return frame(
        msg.type,
        [
          u8(msg.isReachable ? 1 : 0),
          u8(msg.isRelaying ? 1 : 0),
          ipToBytes(msg.seenIp),
          u16(checkPort(msg.seenPort, true), 'seen port'),
          bytes16(msg.detail, 'detail'),
        ],
        limits,
      );
    case 'PUNCH':
    case 'RELAY':
    case 'FIND':
      return frame(msg.type, [str8(normalizeName(msg.name, limits.maxNameBytes), 'name')], limits);
    case 'MEET':
      return frame(
        msg.type,
        [str8(normalizeName(msg.name, limits.maxNameBytes), 'name'), ipToBytes(msg.ip), u16(checkPort(msg.port, false), 'port')],
        limits,
      );
    case 'CALL': {
      const isPunch = msg.via === 'punch';
      checkCallAddress(isPunch, msg.ip, msg.port);
      return frame(
        msg.type,
        [
          u8(isPunch ? CALL_VIA_PUNCH : CALL_VIA_RELAY),
          str8(normalizeName(msg.name, limits.maxNameBytes), 'name'),
          ipToBytes(msg.ip),
          u16(checkPort(msg.port, msg.ip === ''), 'port'),
        ],
        limits,
      );
    }
    case 'NACK':
      return frame(msg.type, [bytes16(msg.reason, 'reason')], limits);
    case 'HDR': {
      const out = fixed(msg.type, 4, limits);
      out.writeUInt32BE(checkU32(msg.count, 'count'), 5);
      return out;
    }
    case 'STATE':
      return frame(msg.type, [u8(msg.more ? 1 : 0), msg.data], limits);
    case 'RESP':
      return frame(msg.type, [u8(msg.accept ? 1 : 0), str8(msg.reason, 'reason')], limits);
    case 'PING':
    case 'PONG': {
      const out = fixed(msg.type, 4, limits);
      out.writeUInt32BE(checkU32(msg.nonce, 'nonce'), 5);
      return out;
    }
    case 'DOWN':
    case 'WHO':
    case 'ALIVE':
    case 'END':
    case 'SHUTDOWN':
    case 'DUMP':
      return fixed(msg.type, 0, limits);
    case 'JOINED':
      return frame(msg.type, [u8(msg.isFirst ? 1 : 0)], limits);
  }
}

/** Most items one RITEMS frame may carry (protocol.md §4.20). */
export const MAX_ROOM_ITEMS = 1_024;
/** Most authors one RHAVE may list (protocol.md §4.21). */
export const MAX_ROOM_AUTHORS = 255;
/** Bytes of a room id (protocol.md §4.21). */
export const ROOM_ID_WIRE_BYTES = 16;
const ROOM_ID = /^[0-9a-f]{32}$/;

function encodeRitems(items: readonly Buffer[], limits: Limits): Buffer {
  if (items.length < 1 || items.length > MAX_ROOM_ITEMS) {
    throw new NatterError(ERROR_CODES.MALFORMED, `RITEMS carries 1 to ${MAX_ROOM_ITEMS} items, got ${items.length}`);
  }
  return frame('RITEMS', [u16(items.length, 'item count'), ...items.map((item) => bytes16(item, 'room item'))], limits);
}

function encodeRhave(room: string, isAsking: boolean, have: readonly { key: Buffer; seq: number }[], limits: Limits): Buffer {
  if (!ROOM_ID.test(room))
    throw new NatterError(ERROR_CODES.MALFORMED, `a room id must be 32 lower-case hex digits, got ${JSON.stringify(room)}`);
  if (have.length > MAX_ROOM_AUTHORS)
    throw new NatterError(ERROR_CODES.MALFORMED, `RHAVE lists at most ${MAX_ROOM_AUTHORS} authors, got ${have.length}`);
  const parts = [Buffer.from(room, 'hex'), u8(isAsking ? 1 : 0), u8(have.length)];
  for (const h of have) {
    const seq = Buffer.allocUnsafe(4);
    seq.writeUInt32BE(checkU32(h.seq, 'seq'));
    parts.push(checkKey(h.key), seq);
  }
  return frame('RHAVE', parts, limits);
}

/**
 * A punch CALL names where to dial; a relay CALL either names the directory
 * process to join at or nothing ("where you registered"): an address and a
 * port together, or neither (protocol.md §4.17).
 */
function checkCallAddress(isPunch: boolean, ip: string, port: number): void {
  if (isPunch && ip === '') throw new NatterError(ERROR_CODES.MALFORMED, 'a punch CALL needs an address');
  if (ip === '' && port !== 0) throw new NatterError(ERROR_CODES.MALFORMED, 'a relay CALL with a port needs an address');
  if (ip !== '' && port === 0) throw new NatterError(ERROR_CODES.MALFORMED, 'a CALL with an address needs a port');
  checkPort(port, ip === '');
}

/** CALL's `via` byte (protocol.md §4.17). */
const CALL_VIA_PUNCH = 1;
const CALL_VIA_RELAY = 2;

/** TEXT is the hot path: no reader object, one UTF-8 check and one string. Same errors as the general path. */
function decodeText(payload: Buffer, limits: Limits): Message {
  if (payload.length < TEXT_FIXED) {
    throw new NatterError(
      ERROR_CODES.TRUNCATED,
      `payload ends inside TEXT's id, time or length: needs ${TEXT_FIXED} bytes, ${payload.length} left`,
    );
  }
  const n = payload.readUInt16BE(TEXT_FIXED - 2);
  if (n > limits.maxTextBytes) throw textTooLong(n, limits.maxTextBytes);
  const left = payload.length - TEXT_FIXED;
  if (left < n) throw new NatterError(ERROR_CODES.TRUNCATED, `payload ends inside text: needs ${n} bytes, ${left} left`);
  if (left > n) throw new NatterError(ERROR_CODES.MALFORMED, `TEXT payload has ${left - n} unexpected trailing bytes`);
  const ts = readTime(payload, MESSAGE_ID_BYTES);
  if (!isUtf8(payload.subarray(TEXT_FIXED))) throw new NatterError(ERROR_CODES.MALFORMED, 'text is not valid UTF-8');
  // The id stays a view of the payload: a receipt is built straight from it, and whoever keeps it copies it.
  return { type: 'TEXT', id: payload.subarray(0, MESSAGE_ID_BYTES), ts, text: payload.toString('utf8', TEXT_FIXED) };
}

/** A u64 time in ms; above 2^53-1 it would not survive as a JavaScript number. */
function readTime(buf: Buffer, offset: number): number {
  const hi = buf.readUInt32BE(offset);
  if (hi > 0x1f_ffff) throw new NatterError(ERROR_CODES.MALFORMED, 'time is above 2^53-1 ms');
  return hi * TWO_32 + buf.readUInt32BE(offset + 4);
}

function readName(r: PayloadReader, limits: Limits): string {
  const raw = r.utf8(r.u8('name length'), 'name');
  return normalizeName(raw, limits.maxNameBytes);
}

function readBool(r: PayloadReader, what: string): boolean {
  const v = r.u8(what);
  if (v > 1) throw new NatterError(ERROR_CODES.MALFORMED, `${what} must be 0 or 1, got ${v}`);
  return v === 1;
}

/**
 * Decodes the payload of a frame whose type code is known. Throws
 * NATTER_ERR_TRUNCATED, NATTER_ERR_MALFORMED, NATTER_ERR_INVALID_NAME or
 * NATTER_ERR_TEXT_TOO_LONG.
 */
export function decodePayload(name: MessageName, payload: Buffer, limits: Limits = DEFAULT_LIMITS): Message {
  if (name === 'TEXT') return decodeText(payload, limits);
  const r = new PayloadReader(payload);
  let msg: Message;
  switch (name) {
    case 'HELLO': {
      const magic = r.bytes(HELLO_MAGIC.length, 'magic');
      if (!magic.equals(HELLO_MAGIC)) {
        throw new NatterError(ERROR_CODES.BAD_MAGIC, 'HELLO does not start with "NATR": not a natter peer');
      }
      msg = { type: name, version: r.u16('version') };
      break;
    }
    case 'ERROR': {
      const code = checkWireCode(r.utf8(r.u8('code length'), 'code'));
      msg = { type: name, code, reason: r.utf8(r.u16('reason length'), 'reason') };
      break;
    }
    case 'UP':
    case 'PEER':
    case 'CONN': {
      const peerName = readName(r, limits);
      const ip = r.ip('ip');
      const port = checkPort(r.u16('port'), name === 'UP');
      msg =
        name === 'PEER'
          ? { type: name, name: peerName, ip, port, key: Buffer.from(r.bytes(KEY_BYTES, 'key')) }
          : { type: name, name: peerName, ip, port };
      break;
    }
    case 'ACK':
      msg = {
        type: name,
        port: checkPort(r.u16('port'), false),
        aliveIntervalMs: r.u32('alive interval'),
        seenIp: r.ip('seen address'),
        seenPort: r.u16('seen port'),
      };
      break;
    case 'PROBE':
      msg = { type: name, port: checkPort(r.u16('port'), false) };
      break;
    case 'PROBED':
      msg = {
        type: name,
        isReachable: readBool(r, 'reachable flag'),
        isRelaying: readBool(r, 'relaying flag'),
        seenIp: r.ip('seen address'),
        seenPort: r.u16('seen port'),
        detail: r.utf8(r.u16('detail length'), 'detail'),
      };
      break;
    case 'PUNCH':
    case 'RELAY':
    case 'FIND':
      msg = { type: name, name: readName(r, limits) };
      break;
    case 'MEET': {
      const peerName = readName(r, limits);
      msg = { type: name, name: peerName, ip: r.ip('ip'), port: checkPort(r.u16('port'), false) };
      break;
    }
    case 'CALL': {
      const via = r.u8('via');
      if (via !== CALL_VIA_PUNCH && via !== CALL_VIA_RELAY) throw new NatterError(ERROR_CODES.MALFORMED, `CALL has unknown via ${via}`);
      const peerName = readName(r, limits);
      const ip = r.ip('ip');
      const port = r.u16('port');
      checkCallAddress(via === CALL_VIA_PUNCH, ip, port);
      msg = { type: name, via: via === CALL_VIA_PUNCH ? 'punch' : 'relay', name: peerName, ip, port };
      break;
    }
    case 'NACK':
      msg = { type: name, reason: r.utf8(r.u16('reason length'), 'reason') };
      break;
    case 'HDR':
      msg = { type: name, count: r.u32('count') };
      break;
    case 'STATE':
      msg = { type: name, more: readBool(r, 'more flag'), data: r.rest() };
      break;
    case 'RESP':
      msg = { type: name, accept: readBool(r, 'accept flag'), reason: r.utf8(r.u8('reason length'), 'reason') };
      break;
    case 'PING':
    case 'PONG':
      msg = { type: name, nonce: r.u32('nonce') };
      break;
    case 'RCPT':
      msg = { type: name, id: r.bytes(MESSAGE_ID_BYTES, 'message id') };
      break;
    case 'RITEMS': {
      const count = r.u16('item count');
      if (count < 1 || count > MAX_ROOM_ITEMS)
        throw new NatterError(ERROR_CODES.MALFORMED, `RITEMS carries 1 to ${MAX_ROOM_ITEMS} items, got ${count}`);
      const items: Buffer[] = [];
      for (let i = 0; i < count; i++) items.push(r.bytes(r.u16('item length'), 'room item'));
      msg = { type: name, items };
      break;
    }
    case 'RHAVE': {
      const room = r.bytes(ROOM_ID_WIRE_BYTES, 'room id').toString('hex');
      const isAsking = readBool(r, 'asking flag');
      const count = r.u8('author count');
      const have: { key: Buffer; seq: number }[] = [];
      for (let i = 0; i < count; i++) have.push({ key: r.bytes(KEY_BYTES, 'author key'), seq: r.u32('seq') });
      msg = { type: name, room, isAsking, have };
      break;
    }
    case 'DOWN':
    case 'WHO':
    case 'ALIVE':
    case 'END':
    case 'SHUTDOWN':
    case 'DUMP':
      msg = { type: name };
      break;
    case 'JOINED':
      msg = { type: name, isFirst: readBool(r, 'first flag') };
      break;
  }
  r.end(name);
  return msg;
}
