/**
 * The history logs of a FileMessageStore: one append-only JSON-lines file
 * per conversation under `history/` (records.ts has the line format), each
 * capped at `maxBytes` (history-trim.ts), with at most
 * MAX_OPEN_HISTORY_FILES descriptors kept open at once.
 */
import { join } from 'node:path';
import { AppendFile, type PlannedAppend } from './append-file.ts';
import { ByteBuilder } from './byte-builder.ts';
import { fileSafeName } from './data-dir.ts';
import { readHistoryTail } from './history-tail.ts';
import { trimHistory } from './history-trim.ts';
import type { HistoryEntry } from './message-store.ts';
import { type LineMessage, type WrittenTexts, writeHistoryLine } from './records.ts';

/** History files kept open at once; the least recently written is closed first. */
const MAX_OPEN_HISTORY_FILES = 32;

/** A size for a notice: in MiB from one MiB up, else in KiB. */
function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** The positions in `msgs` of each peer's messages, in order; undefined for all of them, when they are to one peer (the usual batch). */
function groupByPeer(msgs: readonly { peer: string }[]): Iterable<[string, number[] | undefined]> {
  const first = msgs[0]?.peer;
  if (first === undefined) return [];
  if (msgs.every((m) => m.peer === first)) return [[first, undefined]];
  const out = new Map<string, number[]>();
  for (let i = 0; i < msgs.length; i++) {
    const peer = (msgs[i] as { peer: string }).peer;
    const list = out.get(peer);
    if (list === undefined) out.set(peer, [i]);
    else list.push(i);
  }
  return out;
}

/** The conversations' logs under one history directory. */
export class HistoryLogs {
  /** The history directory (absolute). */
  readonly dir: string;
  /** The most bytes a conversation's log may hold (trimmed to three quarters when it passes). */
  readonly maxBytes: number;
  /** Open history files, least recently written first. */
  readonly #files = new Map<string, AppendFile>();
  /** Where a trim is told. */
  readonly #notice: (message: string) => void;
  /** The lines of the batch being written, every conversation's in turn. */
  readonly #lines = new ByteBuilder();

  constructor(dir: string, maxBytes: number, notice: (message: string) => void) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.#notice = notice;
  }

  /**
   * One append per conversation touched by `msgs`, their lines dated `at`;
   * `texts`, when given, holds their texts written already (writeHistoryLine).
   * Its bytes are valid until the next plan.
   */
  plan(msgs: readonly LineMessage[], dir: 'in' | 'out', at: number, texts?: WrittenTexts): PlannedAppend[] {
    const lines = this.#lines;
    lines.reset();
    const plan: PlannedAppend[] = [];
    for (const [peer, positions] of groupByPeer(msgs)) {
      const start = lines.length;
      if (positions === undefined) {
        for (let i = 0; i < msgs.length; i++) writeHistoryLine(lines, msgs[i] as LineMessage, dir, at, texts, i);
      } else {
        for (const i of positions) writeHistoryLine(lines, msgs[i] as LineMessage, dir, at, texts, i);
      }
      plan.push({ file: this.#file(peer), bytes: lines.view(start) });
    }
    return plan;
  }

  /**
   * Trims each conversation of `msgs` whose log passed maxBytes, and says
   * so. Best effort, like compaction: what was just written stands whether
   * or not the trim works; a failed one is tried again at the next write.
   */
  trim(msgs: readonly { peer: string }[]): void {
    let last: string | undefined;
    for (const { peer } of msgs) {
      if (peer === last) continue;
      last = peer;
      const file = this.#files.get(peer);
      if (file === undefined || file.size <= this.maxBytes) continue;
      try {
        const trimmed = trimHistory(file.path, Math.floor((this.maxBytes * 3) / 4));
        file.release(); // the descriptor points at the old file
        if (trimmed !== undefined) {
          this.#notice(
            `history with ${peer} passed ${mib(this.maxBytes)}: its oldest ${mib(trimmed.droppedBytes)} were dropped, the newest ${mib(trimmed.keptBytes)} kept`,
          );
        }
      } catch {
        // The log stays as it is, only longer.
      }
    }
  }

  /** The last `count` entries of the conversation with `peer`, oldest first, each message once. */
  read(peer: string, count: number): HistoryEntry[] {
    return uniqueEntries(readHistoryTail(this.#path(peer), count));
  }

  close(): void {
    for (const file of this.#files.values()) file.close();
    this.#files.clear();
  }

  #path(peer: string): string {
    return join(this.dir, `${fileSafeName(peer)}.jsonl`);
  }

  /** The history file of `peer`, keeping at most MAX_OPEN_HISTORY_FILES descriptors open. */
  #file(peer: string): AppendFile {
    let file = this.#files.get(peer);
    if (file !== undefined) {
      this.#files.delete(peer); // re-inserted below as the most recent
    } else {
      file = new AppendFile(this.#path(peer));
      while (this.#files.size >= MAX_OPEN_HISTORY_FILES) {
        const [oldestPeer, oldest] = this.#files.entries().next().value as [string, AppendFile];
        oldest.close();
        this.#files.delete(oldestPeer);
      }
    }
    this.#files.set(peer, file);
    return file;
  }
}

/**
 * Each message once: a receiver killed between writing the history line and
 * the received record logs the sender's retry a second time (see the order
 * of writes in file-message-store.ts); the copy has the same id and
 * direction, and is skipped.
 */
function uniqueEntries(entries: HistoryEntry[]): HistoryEntry[] {
  const seen = new Set<string>();
  return entries.filter((e) => {
    const key = `${e.dir}:${e.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
