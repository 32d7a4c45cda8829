/**
 * A FileMessageStore keeps the outbox, the received ids and the history of
 * each conversation in append-only JSON-lines files under its data
 * directory (one JSON object per line; records.ts has their formats):
 *
 *   lock                    our pid; one process per directory (data-dir-lock.ts)
 *   outbox.jsonl            messages queued, then done with (delivered or dropped)
 *   received.jsonl          the ids of messages received, per peer
 *   history/<name>.jsonl    one conversation, both directions
 *
 * Every batch is one synchronous write(2) on a file descriptor opened for
 * append, so once a call returns the kernel holds the records and they
 * survive the process being killed at any moment (SIGKILL included). A kill
 * in the middle of a write can leave a torn last line: readers skip lines
 * that are unterminated or do not parse, and a file whose last byte is not a
 * newline gets one before anything else is appended to it, so a torn line
 * never merges with the next record.
 *
 * There is no fsync per message: a power failure or kernel crash may lose the
 * last writes (those the kernel had not yet flushed to disk). Rewrites that
 * replace a whole file (compaction) are fsynced before they are renamed into
 * place, so a power failure never loses more than the records written since.
 *
 * Order of writes matters where a crash falls between two files:
 *  - enqueue writes the outbox before the history: a crash in between sends a
 *    message that is missing from our own history, never the reverse (a
 *    "sent" line for a message that was never queued);
 *  - received writes the history before the received record: a crash in
 *    between logs the sender's retry a second time (history() shows each id
 *    once), never drops it as a duplicate of something that was never shown.
 * A failed write is undone (the file is truncated back to its size before
 * the call), so nothing of a failed call counts.
 *
 * What is read back is input from outside, like a frame from the network:
 * each outbox and received record is checked as the wire would check it
 * (record-reader.ts, records.ts), lines are read with a bounded length, and
 * a damaged record is skipped with one notice per file naming the file and
 * line, so the rest still goes. A conversation's history is capped
 * (historyMaxBytes): past the cap its oldest lines go (history-logs.ts), and
 * a notice says so.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appendAll, AppendFile, type PlannedAppend } from './append-file.ts';
import { acquireLock, releaseLock } from './data-dir-lock.ts';
import { replaceAtomically, storageError } from './file-io.ts';
import { HistoryLogs } from './history-logs.ts';
import { damageNotice } from './record-reader.ts';
import { DEFAULT_LIMITS } from '../../protocol/limits.ts';
import { ByteBuilder } from './byte-builder.ts';
import { bytesOfId, type MessageId } from './message-id.ts';
import {
  checkIdBytes,
  checkMessages,
  clampCount,
  closedError,
  DEFAULT_RECEIVED_WINDOW,
  idBytesOf,
  positiveInteger,
  type HistoryEntry,
  type MessageStore,
  type StoredMessage,
} from './message-store.ts';
import { newToOutbox, type Outbox } from './outbox.ts';
import type { ReceivedWindow } from './received-window.ts';
import {
  type LineMessage,
  replayOutbox,
  replayReceived,
  writeDoneLines,
  writeOutboxFile,
  writeQueueLine,
  writeReceivedFile,
  writeReceivedLine,
  type WrittenTexts,
} from './records.ts';

/** When nothing is pending, an outbox bigger than this is emptied. */
const OUTBOX_TRUNCATE_BYTES = 1 << 20;
/**
 * A runtime rewrite costs every record still needed, an fsync, a rename and
 * the old file's blocks freed. Rewriting when a file holds RATIO times what
 * is needed rewrites 1 / (RATIO - 1) lines per line appended: 1/7 for the
 * outbox, 1/3 for received.jsonl, so that with thousands of messages in
 * flight the rewrites stay a fraction of the appends. The price is a file
 * up to RATIO times what it must hold, read once at start-up.
 */
/** The outbox is rewritten when it holds more lines than this and … */
const OUTBOX_COMPACT_MIN_LINES = 10_000;
/** … more than this many times the lines still needed. */
const OUTBOX_COMPACT_RATIO = 8;
/** received.jsonl is rewritten when it holds more than this many times the ids remembered … */
const RECEIVED_COMPACT_RATIO = 4;
/** … and more lines than this, so that small windows do not rewrite on every call. */
const RECEIVED_COMPACT_MIN_LINES = 1_024;
/** The most bytes of history kept per conversation unless told otherwise. */
export const DEFAULT_HISTORY_MAX_BYTES = 16 * 1024 * 1024;
/** Notices held for a listener still to come, at most. */
const MAX_HELD_NOTICES = 100;

/** Options of FileMessageStore.open. */
export interface FileMessageStoreOptions {
  /** The data directory; created (mode 0700) when missing. */
  dir: string;
  /** Keep per-conversation history logs (default true). When false no history file is written. */
  isHistoryOn?: boolean;
  /** Received ids remembered per peer for dedup (default 10,000). */
  receivedWindow?: number;
  /** The wall clock that dates history lines ('at'), ms since 1970. Default Date.now. */
  wallClock?: () => number;
  /** The most bytes of history kept per conversation (default 16 MiB); past it the oldest lines go. */
  historyMaxBytes?: number;
  /** Texts longer than this (UTF-8 bytes) in the outbox are damage: they could never be sent. Default: the protocol's limit. */
  maxTextBytes?: number;
}

/** A MessageStore kept in append-only JSON-lines files under a data directory (see the top of this file). */
export class FileMessageStore implements MessageStore {
  /** The data directory (absolute). */
  readonly dir: string;
  readonly isHistoryOn: boolean;
  /** The most bytes a conversation's history log may hold (trimmed to three quarters when it passes). */
  readonly historyMaxBytes: number;
  /** Notices for the user, held until someone listens (onNotice). */
  #notices: string[] | undefined;
  #noticeListener: ((message: string) => void) | undefined;
  readonly #lockFile: string;
  /** The conversations' logs; undefined when history is off. */
  readonly #history: HistoryLogs | undefined;
  readonly #outbox: Outbox;
  readonly #outboxFile: AppendFile;
  /** Records in outbox.jsonl (queue and done lines). */
  #outboxLines: number;
  /** Set when a failed call could not be undone in outbox.jsonl: the file is rewritten from memory before the next append. */
  #isOutboxStale = false;
  /** Outbox lines at the last failed runtime compaction; no retry until the file doubles. */
  #outboxCompactFailedAt = 0;
  readonly #received: ReceivedWindow;
  readonly #receivedFile: AppendFile;
  #receivedLines: number;
  #isReceivedStale = false;
  #receivedCompactFailedAt = 0;
  readonly #wallClock: () => number;
  /** The bytes of the batch being appended to outbox.jsonl, and to received.jsonl. */
  readonly #outboxBatch = new ByteBuilder();
  /** Where the texts of the batch went in #outboxBatch, for its history lines. */
  readonly #outboxTexts: WrittenTexts = { from: this.#outboxBatch, spans: [] };
  readonly #receivedBatch = new ByteBuilder();
  /** Received messages taken since the last commit (receive()), in order. */
  #taken: { peer: string; id: Uint8Array; ts: number; text: string }[] = [];
  #isClosed = false;

  private constructor(init: {
    dir: string;
    isHistoryOn: boolean;
    historyMaxBytes: number;
    notices: string[];
    wallClock: () => number;
    lockFile: string;
    outbox: Outbox;
    outboxFile: AppendFile;
    received: ReceivedWindow;
    receivedFile: AppendFile;
  }) {
    this.dir = init.dir;
    this.isHistoryOn = init.isHistoryOn;
    this.historyMaxBytes = init.historyMaxBytes;
    this.#notices = init.notices;
    this.#wallClock = init.wallClock;
    this.#lockFile = init.lockFile;
    this.#history = init.isHistoryOn
      ? new HistoryLogs(join(init.dir, 'history'), init.historyMaxBytes, (message) => this.#notice(message))
      : undefined;
    this.#outbox = init.outbox;
    this.#outboxFile = init.outboxFile;
    this.#outboxLines = init.outbox.size;
    this.#received = init.received;
    this.#receivedFile = init.receivedFile;
    this.#receivedLines = init.received.count;
  }

  /**
   * Opens (creating, mode 0700 dir / 0600 files) the data directory, takes
   * its lock, replays the outbox and received record and rewrites both
   * compacted. Throws DATA_DIR_LOCKED when another live process holds the
   * directory, STORAGE_FAILED when it cannot be read or written.
   */
  static open(options: FileMessageStoreOptions): FileMessageStore {
    const dir = resolve(options.dir);
    const isHistoryOn = options.isHistoryOn ?? true;
    const window = positiveInteger(options.receivedWindow, DEFAULT_RECEIVED_WINDOW, 'receivedWindow');
    const maxTextBytes = positiveInteger(options.maxTextBytes, DEFAULT_LIMITS.maxTextBytes, 'maxTextBytes');
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw storageError('create', dir, err);
    }
    const lockFile = acquireLock(dir);
    const outboxFile = new AppendFile(join(dir, 'outbox.jsonl'));
    const receivedFile = new AppendFile(join(dir, 'received.jsonl'));
    try {
      const notices: string[] = [];
      const outboxPath = outboxFile.path;
      const { outbox, read: outboxRead } = replayOutbox(outboxPath, maxTextBytes);
      // Rewritten compacted, without what was damaged, torn or done with.
      const lines = new ByteBuilder();
      if (outboxRead.lines !== outbox.size || outboxRead.isTorn) replaceAtomically(outboxPath, (fd) => writeOutboxFile(fd, outbox, lines));
      const receivedPath = receivedFile.path;
      const { received, read: receivedRead } = replayReceived(receivedPath, window);
      if (receivedRead.lines !== received.count || receivedRead.isTorn)
        replaceAtomically(receivedPath, (fd) => writeReceivedFile(fd, received, lines));
      for (const read of [outboxRead, receivedRead]) {
        const notice = damageNotice(read === outboxRead ? outboxPath : receivedPath, read);
        if (notice !== undefined) notices.push(notice);
      }
      outboxFile.ensureOpen();
      receivedFile.ensureOpen();
      if (isHistoryOn) {
        const historyDir = join(dir, 'history');
        try {
          mkdirSync(historyDir, { recursive: true, mode: 0o700 });
        } catch (err) {
          throw storageError('create', historyDir, err);
        }
      }
      const historyMaxBytes = positiveInteger(options.historyMaxBytes, DEFAULT_HISTORY_MAX_BYTES, 'historyMaxBytes');
      return new FileMessageStore({
        dir,
        isHistoryOn,
        historyMaxBytes,
        wallClock: options.wallClock ?? Date.now,
        lockFile,
        outbox,
        outboxFile,
        received,
        receivedFile,
        notices,
      });
    } catch (err) {
      outboxFile.close();
      receivedFile.close();
      releaseLock(dir, lockFile);
      throw err;
    }
  }

  onNotice(listener: (message: string) => void): void {
    this.#noticeListener = listener;
    const held = this.#notices ?? [];
    this.#notices = undefined;
    for (const message of held) listener(message);
  }

  #notice(message: string): void {
    if (this.#noticeListener !== undefined) {
      this.#noticeListener(message);
      return;
    }
    this.#notices ??= [];
    if (this.#notices.length < MAX_HELD_NOTICES) this.#notices.push(message);
  }

  pending(): StoredMessage[] {
    return this.#outbox.list();
  }

  enqueue(msgs: readonly StoredMessage[]): void {
    this.#checkOpen();
    checkMessages(msgs, 'enqueue');
    const fresh = newToOutbox(this.#outbox, msgs);
    if (fresh.length === 0) return;
    this.#refreshOutbox();
    const lines = this.#outboxBatch;
    lines.reset();
    // Each text is encoded once, for its queue line; its history line copies it.
    const texts = this.#history === undefined ? undefined : this.#outboxTexts;
    for (let i = 0; i < fresh.length; i++) writeQueueLine(lines, fresh[i] as StoredMessage, texts, i);
    const plan: PlannedAppend[] = [
      { file: this.#outboxFile, bytes: lines.bytes(), onUndoFailed: () => (this.#isOutboxStale = true) },
      ...this.#historyPlan(fresh, 'out', texts),
    ];
    appendAll(plan);
    for (const m of fresh) this.#outbox.add(m);
    this.#outboxLines += fresh.length;
    this.#trimHistories(fresh);
  }

  delivered(peer: string, ids: readonly MessageId[]): void {
    this.#done(peer, ids, undefined);
  }

  dropped(peer: string, ids: readonly MessageId[]): void {
    this.#done(peer, ids, 'dropped');
  }

  hasReceived(peer: string, id: MessageId | Uint8Array): boolean {
    const bytes = idBytesOf(id);
    return bytes !== undefined && this.#received.has(peer, bytes);
  }

  received(msgs: readonly StoredMessage[]): void {
    this.#checkOpen();
    checkMessages(msgs, 'received');
    for (const m of msgs) this.receive(m.peer, bytesOfId(m.id), m.ts, m.text);
    this.commit();
  }

  receive(peer: string, id: Uint8Array, ts: number, text: string): boolean {
    this.#checkOpen();
    checkIdBytes(id);
    if (!this.#received.add(peer, id)) return false;
    // Kept as given until commit(), in this turn: its hex digits are written straight from these bytes.
    this.#taken.push({ peer, id, ts, text });
    return true;
  }

  commit(): void {
    const taken = this.#taken;
    if (taken.length === 0) return;
    this.#taken = [];
    try {
      this.#checkOpen();
      if (this.#isReceivedStale) {
        // Rewritten from memory, which must not hold what is not written yet.
        this.#forget(taken);
        this.#rewriteReceived();
        for (const m of taken) this.#received.add(m.peer, m.id);
        this.#isReceivedStale = false;
      }
      const lines = this.#receivedBatch;
      lines.reset();
      for (const m of taken) writeReceivedLine(lines, m.peer, m.id);
      appendAll([
        // History first: see the top of this file.
        ...this.#historyPlan(taken, 'in'),
        { file: this.#receivedFile, bytes: lines.bytes(), onUndoFailed: () => (this.#isReceivedStale = true) },
      ]);
    } catch (err) {
      this.#forget(taken);
      throw err;
    }
    this.#receivedLines += taken.length;
    this.#maybeCompactReceived();
    this.#trimHistories(taken);
  }

  /** Takes ids back out of memory, newest first: they were not written. */
  #forget(taken: readonly { peer: string; id: Uint8Array }[]): void {
    for (let i = taken.length - 1; i >= 0; i--) {
      const m = taken[i] as { peer: string; id: Uint8Array };
      this.#received.removeNewest(m.peer, m.id);
    }
  }

  history(peer: string, n: number): HistoryEntry[] {
    const count = clampCount(n);
    if (this.#history === undefined || count === 0) return [];
    return this.#history.read(peer, count);
  }

  close(): void {
    if (this.#isClosed) return;
    this.#isClosed = true;
    this.#outboxFile.close();
    this.#receivedFile.close();
    this.#history?.close();
    releaseLock(this.dir, this.#lockFile);
  }

  #done(peer: string, ids: readonly MessageId[], why: string | undefined): void {
    this.#checkOpen();
    const owned = this.#outbox.owned(peer, ids);
    if (owned.length === 0) return;
    this.#refreshOutbox();
    const lines = this.#outboxBatch;
    lines.reset();
    writeDoneLines(lines, owned, why);
    appendAll([{ file: this.#outboxFile, bytes: lines.bytes(), onUndoFailed: () => (this.#isOutboxStale = true) }]);
    for (const id of owned) this.#outbox.remove(id);
    this.#outboxLines += owned.length;
    this.#maybeCompactOutbox();
  }

  /** One append per conversation touched by `msgs`; none when history is off. */
  #historyPlan(msgs: readonly LineMessage[], dir: 'in' | 'out', texts?: WrittenTexts): PlannedAppend[] {
    return this.#history === undefined ? [] : this.#history.plan(msgs, dir, this.#wallClock(), texts);
  }

  /** Trims the logs of `msgs` that passed historyMaxBytes (HistoryLogs.trim). */
  #trimHistories(msgs: readonly { peer: string }[]): void {
    this.#history?.trim(msgs);
  }

  /** After a failed call that could not be undone, makes outbox.jsonl match memory again before appending. */
  #refreshOutbox(): void {
    if (!this.#isOutboxStale) return;
    this.#rewriteOutbox();
    this.#isOutboxStale = false;
  }

  #rewriteOutbox(): void {
    replaceAtomically(this.#outboxFile.path, (fd) => writeOutboxFile(fd, this.#outbox, this.#outboxBatch));
    this.#outboxFile.release(); // the descriptor points at the old file
    this.#outboxLines = this.#outbox.size;
  }

  #rewriteReceived(): void {
    replaceAtomically(this.#receivedFile.path, (fd) => writeReceivedFile(fd, this.#received, this.#receivedBatch));
    this.#receivedFile.release();
    this.#receivedLines = this.#received.count;
  }

  /**
   * Keeps outbox.jsonl near the size of what is pending. Best effort: the
   * call that triggered it has already been recorded, so a failure here is
   * not its failure; the file stays correct, only longer.
   */
  #maybeCompactOutbox(): void {
    const pending = this.#outbox.size;
    try {
      if (pending === 0 && this.#outboxFile.size > OUTBOX_TRUNCATE_BYTES) {
        if (this.#outboxFile.truncate(0)) this.#outboxLines = 0;
      } else if (
        this.#outboxLines > OUTBOX_COMPACT_RATIO * pending &&
        this.#outboxLines > OUTBOX_COMPACT_MIN_LINES &&
        this.#outboxLines >= 2 * this.#outboxCompactFailedAt
      ) {
        this.#rewriteOutbox();
      }
    } catch {
      this.#outboxCompactFailedAt = this.#outboxLines;
    }
  }

  /** Keeps received.jsonl near the size of what is remembered (best effort, like #maybeCompactOutbox). */
  #maybeCompactReceived(): void {
    if (
      this.#receivedLines > RECEIVED_COMPACT_RATIO * this.#received.count &&
      this.#receivedLines > RECEIVED_COMPACT_MIN_LINES &&
      this.#receivedLines >= 2 * this.#receivedCompactFailedAt
    ) {
      try {
        this.#rewriteReceived();
      } catch {
        this.#receivedCompactFailedAt = this.#receivedLines;
      }
    }
  }

  #checkOpen(): void {
    if (this.#isClosed) throw closedError(this.dir);
  }
}
