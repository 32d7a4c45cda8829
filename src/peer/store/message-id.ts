/**
 * Message ids: what names a message in the outbox, in receipts and in
 * history, so that a receiver drops a copy sent again (protocol.md §7.1).
 * On the wire an id is 16 bytes; where people and files see it (events,
 * JSON, the data directory) it is those bytes as 32 lower-case hex digits.
 */
import { randomFillSync } from 'node:crypto';

/** A message id as people and files see it: 16 random bytes as 32 lower-case hex digits. */
export type MessageId = string;

/** Bytes of a message id (protocol.md §4.12). */
export const MESSAGE_ID_BYTES = 16;
const MESSAGE_ID = /^[0-9a-f]{32}$/;

/** True for a well-formed MessageId: 32 lower-case hex digits. */
export function isMessageId(value: unknown): value is MessageId {
  return typeof value === 'string' && MESSAGE_ID.test(value);
}

/** Random bytes drawn ahead, so that an id costs no system call of its own (256 ids per pool). */
const POOL_BYTES = 4096;
let pool = Buffer.allocUnsafe(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * A fresh id: its 16 bytes from the cryptographic generator (a view of a
 * pool that is never written again) and its hex form.
 */
export function newMessageIdPair(): { bytes: Buffer; id: MessageId } {
  if (poolOffset + MESSAGE_ID_BYTES > POOL_BYTES) {
    // A new pool each time: ids handed out keep viewing the old one.
    pool = Buffer.allocUnsafe(POOL_BYTES);
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = pool.subarray(poolOffset, poolOffset + MESSAGE_ID_BYTES);
  poolOffset += MESSAGE_ID_BYTES;
  return { bytes, id: bytes.toString('hex') };
}

/** A fresh random MessageId. */
export function newMessageId(): MessageId {
  return newMessageIdPair().id;
}

/** The hex form of an id's bytes. */
export function hexOfId(bytes: Uint8Array): MessageId {
  return (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).toString(
    'hex',
    0,
    MESSAGE_ID_BYTES,
  );
}

/** The bytes of a well-formed MessageId. */
export function bytesOfId(id: MessageId): Buffer {
  return Buffer.from(id, 'hex');
}
