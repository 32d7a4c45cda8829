/**
 * One entry of a room's log (protocol.md §4.20): a membership record or a
 * message, signed by its author's Ed25519 identity key (libsodium's
 * crypto_sign_detached), so that any member can pass it on and every member
 * can check who wrote it.
 *
 *   offset  size  field
 *   0       16    room id
 *   16      32    author   Ed25519 public key
 *   48      4     seq      u32, the author's own count in this room, from 1
 *   52      8     clock    u64, the Lamport clock (ms): max(now, last seen + 1)
 *   60      1     kind     1 create … 8 message
 *   61      n     body     per kind
 *   61+n    64    signature of "natter-room-v1" ‖ bytes 0 … 61+n
 */
import sodium from 'sodium-universal';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { PayloadReader, normalizeName } from '../../protocol/fields.ts';
import type { KeyPair } from '../../transport/secure.ts';

export const ROOM_ID_BYTES = 16;
export const KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;
/** Fixed fields before the body. */
const HEAD_BYTES = ROOM_ID_BYTES + KEY_BYTES + 4 + 8 + 1;
/** Every signature covers this first, so a room signature can never be taken for anything else the key signs. */
const DOMAIN = Buffer.from('natter-room-v1', 'ascii');
const TWO_32 = 2 ** 32;
const MAX_U32 = 0xffff_ffff;

export const ITEM_KINDS = { create: 1, invite: 2, join: 3, decline: 4, leave: 5, kick: 6, admin: 7, message: 8 } as const;
export type ItemKind = keyof typeof ITEM_KINDS;
const KIND_BY_CODE = new Map<number, ItemKind>((Object.entries(ITEM_KINDS) as [ItemKind, number][]).map(([k, v]) => [v, k]));

export type RoomBody =
  | { kind: 'create'; nonce: Buffer; name: string; label: string }
  | { kind: 'invite'; key: Buffer; label: string }
  | { kind: 'join' }
  | { kind: 'decline' }
  | { kind: 'leave' }
  | { kind: 'kick'; key: Buffer; upTo: number }
  | { kind: 'admin'; key: Buffer }
  | { kind: 'message'; text: string };

export interface RoomItem {
  /** The room id, 32 lower-case hex digits. */
  room: string;
  author: Buffer;
  /** The author's key as hex: how members are keyed. */
  authorHex: string;
  seq: number;
  clock: number;
  body: RoomBody;
  /** The whole encoded item, signature included: what is stored and passed on. */
  bytes: Buffer;
  /** 16 bytes of BLAKE2b of the signature, as 32 hex digits: the item's id in events. */
  id: string;
}

export interface ItemLimits {
  maxNameBytes: number;
  maxTextBytes: number;
}

function u32(v: number, what: string): Buffer {
  if (!Number.isInteger(v) || v < 0 || v > MAX_U32) throw new NatterError(ERROR_CODES.MALFORMED, `${what} must be a u32, got ${v}`);
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v);
  return b;
}

function str8(text: string, what: string): Buffer {
  const b = Buffer.from(text, 'utf8');
  if (b.length > 0xff) throw new NatterError(ERROR_CODES.MALFORMED, `${what} is ${b.length} bytes, at most 255 fit`);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function key(k: Buffer, what: string): Buffer {
  if (!Buffer.isBuffer(k) || k.length !== KEY_BYTES) throw new NatterError(ERROR_CODES.MALFORMED, `${what} must be ${KEY_BYTES} bytes`);
  return k;
}

function encodeBody(body: RoomBody, limits: ItemLimits): Buffer {
  switch (body.kind) {
    case 'create':
      if (body.nonce.length !== ROOM_ID_BYTES) throw new NatterError(ERROR_CODES.MALFORMED, 'a room nonce is 16 bytes');
      return Buffer.concat([
        body.nonce,
        str8(normalizeName(body.name, limits.maxNameBytes), 'room name'),
        str8(normalizeName(body.label, limits.maxNameBytes), 'name'),
      ]);
    case 'invite':
      return Buffer.concat([key(body.key, 'invited key'), str8(normalizeName(body.label, limits.maxNameBytes), 'name')]);
    case 'kick':
      return Buffer.concat([key(body.key, 'removed key'), u32(body.upTo, 'last seq kept')]);
    case 'admin':
      return key(body.key, 'new admin key');
    case 'message': {
      const text = Buffer.from(body.text, 'utf8');
      if (text.length > limits.maxTextBytes)
        throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, `text is ${text.length} bytes of UTF-8, the limit is ${limits.maxTextBytes}`);
      const len = Buffer.allocUnsafe(2);
      len.writeUInt16BE(text.length);
      return Buffer.concat([len, text]);
    }
    case 'join':
    case 'decline':
    case 'leave':
      return Buffer.alloc(0);
  }
}

function itemId(signature: Uint8Array): string {
  const out = Buffer.allocUnsafe(16);
  sodium.crypto_generichash(out, signature);
  return out.toString('hex');
}

/** The id of the room a creator's nonce makes: BLAKE2b-128 of its key and the nonce, so nobody else can write that room's create record. */
export function roomIdOf(creator: Buffer, nonce: Buffer): string {
  const out = Buffer.allocUnsafe(ROOM_ID_BYTES);
  sodium.crypto_generichash(out, Buffer.concat([creator, nonce]));
  return out.toString('hex');
}

/** Writes and signs one item. @throws NatterError MALFORMED, INVALID_NAME or TEXT_TOO_LONG for a field out of range */
export function signItem(
  keyPair: KeyPair,
  fields: { room: string; seq: number; clock: number; body: RoomBody },
  limits: ItemLimits,
): RoomItem {
  if (!/^[0-9a-f]{32}$/.test(fields.room)) throw new NatterError(ERROR_CODES.MALFORMED, 'a room id is 32 hex digits');
  if (!Number.isSafeInteger(fields.clock) || fields.clock < 0)
    throw new NatterError(ERROR_CODES.MALFORMED, `a clock must be 0 to 2^53-1, got ${fields.clock}`);
  const clock = Buffer.allocUnsafe(8);
  clock.writeUInt32BE(Math.floor(fields.clock / TWO_32), 0);
  clock.writeUInt32BE(fields.clock % TWO_32, 4);
  const signed = Buffer.concat([
    Buffer.from(fields.room, 'hex'),
    keyPair.publicKey,
    u32(fields.seq, 'seq'),
    clock,
    Buffer.from([ITEM_KINDS[fields.body.kind]]),
    encodeBody(fields.body, limits),
  ]);
  const sig = Buffer.allocUnsafe(SIGNATURE_BYTES);
  sodium.crypto_sign_detached(sig, Buffer.concat([DOMAIN, signed]), keyPair.secretKey);
  const bytes = Buffer.concat([signed, sig]);
  return {
    room: fields.room,
    author: Buffer.from(keyPair.publicKey),
    authorHex: keyPair.publicKey.toString('hex'),
    seq: fields.seq,
    clock: fields.clock,
    body: fields.body,
    bytes,
    id: itemId(sig),
  };
}

/**
 * Reads one item and checks its signature. Refuses (NatterError) what is
 * cut short or has bytes left over (TRUNCATED, MALFORMED), a bad name or
 * text (INVALID_NAME, TEXT_TOO_LONG), and a signature that does not verify
 * (BAD_SIGNATURE). The rights of its author are the membership log's to check.
 * `isSigned: 'trusted'` skips the signature, for items whose author is
 * proven otherwise: read back from our own store, or carried on the
 * author's own authenticated link (docs/security.md, "Rooms").
 */
export function readItem(bytes: Buffer, limits: ItemLimits, options: { isSigned?: 'check' | 'trusted' } = {}): RoomItem {
  if (bytes.length < HEAD_BYTES + SIGNATURE_BYTES) {
    throw new NatterError(ERROR_CODES.TRUNCATED, `a room item is at least ${HEAD_BYTES + SIGNATURE_BYTES} bytes, got ${bytes.length}`);
  }
  const signed = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  const sig = bytes.subarray(bytes.length - SIGNATURE_BYTES);
  const r = new PayloadReader(signed);
  const room = r.bytes(ROOM_ID_BYTES, 'room id').toString('hex');
  const author = r.bytes(KEY_BYTES, 'author');
  const seq = r.u32('seq');
  if (seq === 0) throw new NatterError(ERROR_CODES.MALFORMED, 'a room item seq starts at 1');
  const hi = r.u32('clock');
  if (hi > 0x1f_ffff) throw new NatterError(ERROR_CODES.MALFORMED, 'clock is above 2^53-1 ms');
  const clock = hi * TWO_32 + r.u32('clock');
  const code = r.u8('kind');
  const kind = KIND_BY_CODE.get(code);
  if (kind === undefined) throw new NatterError(ERROR_CODES.MALFORMED, `unknown room item kind ${code}`);
  const name = (): string => normalizeName(r.utf8(r.u8('name length'), 'name'), limits.maxNameBytes);
  let body: RoomBody;
  switch (kind) {
    case 'create': {
      const nonce = r.bytes(ROOM_ID_BYTES, 'nonce');
      body = { kind, nonce, name: name(), label: name() };
      break;
    }
    case 'invite':
      body = { kind, key: r.bytes(KEY_BYTES, 'invited key'), label: name() };
      break;
    case 'kick':
      body = { kind, key: r.bytes(KEY_BYTES, 'removed key'), upTo: r.u32('last seq kept') };
      break;
    case 'admin':
      body = { kind, key: r.bytes(KEY_BYTES, 'new admin key') };
      break;
    case 'message': {
      const n = r.u16('text length');
      if (n > limits.maxTextBytes)
        throw new NatterError(ERROR_CODES.TEXT_TOO_LONG, `text is ${n} bytes of UTF-8, the limit is ${limits.maxTextBytes}`);
      body = { kind, text: r.utf8(n, 'text') };
      break;
    }
    default:
      body = { kind };
  }
  r.end('room item');
  if (options.isSigned !== 'trusted' && !sodium.crypto_sign_verify_detached(sig, Buffer.concat([DOMAIN, signed]), author)) {
    throw new NatterError(
      ERROR_CODES.BAD_SIGNATURE,
      `room item ${seq} of ${author.toString('hex').slice(0, 16)}… does not carry its author's signature`,
    );
  }
  return { room, author, authorHex: author.toString('hex'), seq, clock, body, bytes: Buffer.from(bytes), id: itemId(sig) };
}

/**
 * The order every member's history agrees on: by Lamport clock, then by
 * author key, then by the author's seq. Negative when `a` comes first.
 */
export function compareItems(a: RoomItem, b: RoomItem): number {
  if (a.clock !== b.clock) return a.clock - b.clock;
  const byAuthor = Buffer.compare(a.author, b.author);
  return byAuthor !== 0 ? byAuthor : a.seq - b.seq;
}
