/**
 * The durable message store of a peer: an outbox of messages typed for
 * friends who may be offline, the ids of messages already received (so a
 * re-sent message is shown once), and one history log per conversation.
 *
 * This file holds the contract every store meets and the checks all of them
 * share; MemoryMessageStore and FileMessageStore implement it.
 */
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { MESSAGE_ID_BYTES, bytesOfId, isMessageId, type MessageId } from './message-id.ts';

/**
 * One message: `peer` is the recipient in the outbox, the sender for received
 * messages. `ts` = ms since the Unix epoch (sender's clock).
 */
export interface StoredMessage {
  id: MessageId;
  peer: string;
  ts: number;
  text: string;
}

/**
 * One line of a conversation's history. Lines are kept in the order they
 * happened here (sent, or received), which is the order history() returns.
 */
export interface HistoryEntry {
  /** When the sender entered it: ms since 1970 by the sender's clock (another machine's, for 'in'). */
  ts: number;
  dir: 'in' | 'out';
  id: MessageId;
  text: string;
  /** When it was recorded here (sent or received): ms since 1970 by this machine's clock. Absent in lines older versions wrote. */
  at?: number;
}

/**
 * Where a peer keeps what must not be lost. MemoryMessageStore and
 * FileMessageStore behave the same (test/peer/store/message-store-contract.ts
 * is one suite run against both), except that MemoryMessageStore forgets
 * everything when the process exits.
 *
 * Messages given to `enqueue` and `received` are checked first (id of 32 hex
 * digits, string peer and text, finite ts): a bad one throws
 * NATTER_ERR_INVALID_ARGUMENT and nothing of the call is recorded. An id that
 * is already pending (enqueue) or already received from that peer (received)
 * is skipped, as is a repeat within one call.
 */
export interface MessageStore {
  /** Queued messages not yet delivered or dropped, oldest first, all peers (what a restart must still deliver). */
  pending(): StoredMessage[];
  /**
   * Durably records messages the user entered, before they go anywhere; also
   * appends each to its conversation's history ('out'). One write per file per
   * call. Throws NatterError STORAGE_FAILED (naming the file) if the write
   * fails — then nothing of the call counts as queued.
   */
  enqueue(msgs: readonly StoredMessage[]): void;
  /** The peer acknowledged these ids: they leave the outbox. Unknown ids (or ids queued for another peer) are ignored. */
  delivered(peer: string, ids: readonly MessageId[]): void;
  /** These ids will never be delivered (the user's chat request was declined, etc.): they leave the outbox. Unknown ids ignored. */
  dropped(peer: string, ids: readonly MessageId[]): void;
  /**
   * True when a message with this id from `peer` was received before (within
   * the remembered window), or taken by receive() and not yet committed. The
   * id may be given as its 16 bytes.
   */
  hasReceived(peer: string, id: MessageId | Uint8Array): boolean;
  /**
   * Durably records received messages (for dedup, and history 'in' unless
   * history is off) before they are shown or acknowledged. One write per file
   * per call. STORAGE_FAILED on failure, and then none of them counts as received.
   * (What receive() took before is committed with them.)
   */
  received(msgs: readonly StoredMessage[]): void;
  /**
   * The receiving side's fast path, for a batch of messages (those of one
   * turn of the event loop): takes one message from `peer` whose id is the
   * 16 bytes its TEXT carried, unless one with that id was received before
   * or was taken since the last commit(); returns false for such a copy. It
   * counts as received at once (a copy of it is known as one) but is durable
   * only after commit(), which must come before it is shown or acknowledged.
   * @throws NatterError INVALID_ARGUMENT for an id that is not 16 bytes.
   */
  receive(peer: string, id: Uint8Array, ts: number, text: string): boolean;
  /**
   * Records what receive() took since the last commit: one write per file
   * for all of it (history lines first, then the ids). STORAGE_FAILED on
   * failure, and then none of them counts as received. Nothing to do when
   * nothing was taken.
   */
  commit(): void;
  /** The last `n` history entries of the conversation with `peer`, oldest first ([] when history is off or empty). */
  history(peer: string, n: number): HistoryEntry[];
  /** Whether history is kept. */
  readonly isHistoryOn: boolean;
  /**
   * Where to tell the user what the store did on its own: records of a
   * damaged data directory skipped at start, a history trimmed to its cap.
   * Notices from before the call are held and given to it first.
   */
  onNotice?(listener: (message: string) => void): void;
  /** Releases files and the lock. Idempotent. Recording anything afterwards throws STORAGE_FAILED. */
  close(): void;
}

/** How many received ids each store remembers per peer unless told otherwise. */
export const DEFAULT_RECEIVED_WINDOW = 10_000;

// ---------------------------------------------------------------------------
// What every store checks and shares

/** True for a well-formed StoredMessage: what enqueue and received accept, and what an outbox record must hold. */
export function isStoredMessage(m: unknown): m is StoredMessage {
  const v = m as Partial<StoredMessage> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    isMessageId(v.id) &&
    typeof v.peer === 'string' &&
    typeof v.ts === 'number' &&
    Number.isFinite(v.ts) &&
    typeof v.text === 'string'
  );
}

/** True for a well-formed HistoryEntry, as a line of a history log must hold one. */
export function isHistoryEntry(e: unknown): e is HistoryEntry {
  const v = e as Partial<HistoryEntry> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.ts === 'number' &&
    Number.isFinite(v.ts) &&
    (v.dir === 'in' || v.dir === 'out') &&
    isMessageId(v.id) &&
    typeof v.text === 'string' &&
    (v.at === undefined || (typeof v.at === 'number' && Number.isFinite(v.at)))
  );
}

/** Throws INVALID_ARGUMENT unless `id` is the 16 bytes of a message id. */
export function checkIdBytes(id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== MESSAGE_ID_BYTES) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `a received message needs an id of ${MESSAGE_ID_BYTES} bytes`);
  }
}

/** The 16 bytes of an id given either way; undefined for a malformed one. */
export function idBytesOf(id: MessageId | Uint8Array): Uint8Array | undefined {
  if (id instanceof Uint8Array) return id.length === MESSAGE_ID_BYTES ? id : undefined;
  return isMessageId(id) ? bytesOfId(id) : undefined;
}

/** Throws INVALID_ARGUMENT for the first malformed message: a message the file could not read back must not be accepted. */
export function checkMessages(msgs: readonly StoredMessage[], what: string): void {
  for (const m of msgs) {
    if (!isStoredMessage(m)) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `${what}: a message needs an id of 32 lower-case hex digits, a string peer and text, and a finite ts`,
      );
    }
  }
}

/** The history entry that records `m`, sent ('out') or received ('in'), at `at` (now). */
export function historyEntry(m: StoredMessage, dir: 'in' | 'out', at: number): HistoryEntry {
  return { ts: m.ts, dir, id: m.id, text: m.text, at };
}

/** `n` as a count of entries: at least 0, whole. */
export function clampCount(n: number): number {
  return Number.isNaN(n) ? 0 : Math.max(0, Math.floor(n));
}

/** A count option: `fallback` when absent, INVALID_ARGUMENT unless a positive whole number. */
export function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** What a closed store throws when asked to record anything (STORAGE_FAILED, naming the store). */
export function closedError(where: string): NatterError {
  return new NatterError(ERROR_CODES.STORAGE_FAILED, `message store ${where} is closed`);
}
