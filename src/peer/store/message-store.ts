/**
 * The durable message store of a peer: an outbox of messages typed for
 * friends who may be offline, the ids of messages already received (so a
 * re-sent message is shown once), and one history log per conversation.
 *
 * This file holds the contract every store meets and the checks all of them
 * share; MemoryMessageStore and FileMessageStore implement it.
 */
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { isMessageId, type MessageId } from './message-id.ts';

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
  /** True when a message with this id from `peer` was received before (within the remembered window). */
  hasReceived(peer: string, id: MessageId): boolean;
  /**
   * Durably records received messages (for dedup, and history 'in' unless
   * history is off) before they are shown or acknowledged. One write per file
   * per call. STORAGE_FAILED on failure, and then none of them counts as received.
   */
  received(msgs: readonly StoredMessage[]): void;
  /** The last `n` history entries of the conversation with `peer`, oldest first ([] when history is off or empty). */
  history(peer: string, n: number): HistoryEntry[];
  /** Whether history is kept. */
  readonly isHistoryOn: boolean;
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
