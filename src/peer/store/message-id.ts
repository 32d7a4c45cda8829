/**
 * Message ids: what names a message in the outbox, in receipts and in
 * history, so that a receiver drops a copy sent again (protocol.md §7.1).
 */
import { randomFillSync } from 'node:crypto';
import { isMessageId } from '../../protocol/codec.ts';

/** A message id: 16 random bytes as 32 lower-case hex digits (in files and JSON). */
export type MessageId = string;

/** Random bytes drawn ahead, so that an id costs no system call of its own (256 ids per refill). */
const ID_POOL = Buffer.alloc(4096);
let idPoolOffset = ID_POOL.length;

/** A fresh random MessageId: 16 bytes from the cryptographic generator. */
export function newMessageId(): MessageId {
  if (idPoolOffset + 16 > ID_POOL.length) {
    randomFillSync(ID_POOL);
    idPoolOffset = 0;
  }
  const id = ID_POOL.toString('hex', idPoolOffset, idPoolOffset + 16);
  idPoolOffset += 16;
  return id;
}

/** True when `value` is a well-formed MessageId: the wire's own check (protocol.md §4.12). */
export { isMessageId };
