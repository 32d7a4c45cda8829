/**
 * Keeps a conversation's history log within its cap: when the log passes
 * it, the oldest lines go and the newest `keepBytes` (cut at a line
 * boundary) stay, rewritten atomically. Trimming to less than the cap means
 * a steady conversation rewrites its log once per quarter of the cap, not
 * on every message.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { NEWLINE, readAll, rewriteAtomically, storageError } from './file-io.ts';

/** What a trim took away. */
export interface Trimmed {
  droppedBytes: number;
  keptBytes: number;
}

/**
 * Rewrites `file` with its newest lines, at most `keepBytes` of them.
 * Undefined when the file is no larger than that. STORAGE_FAILED when it
 * cannot be read or rewritten (the old file then stands).
 */
export function trimHistory(file: string, keepBytes: number): Trimmed | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw storageError('open', file, err);
  }
  let tail: Buffer;
  let size: number;
  try {
    size = fstatSync(fd).size;
    if (size <= keepBytes) return undefined;
    // One byte more than kept: the byte before the tail says whether the tail starts a line.
    tail = Buffer.allocUnsafe(keepBytes + 1);
    readAll(fd, tail, size - keepBytes - 1);
  } catch (err) {
    throw storageError('read', file, err);
  } finally {
    closeSync(fd);
  }
  // Everything up to the first newline is part of a line that does not fit: it goes.
  const firstEnd = tail.indexOf(NEWLINE);
  const kept = firstEnd < 0 ? Buffer.alloc(0) : tail.subarray(firstEnd + 1);
  rewriteAtomically(file, kept);
  return { droppedBytes: size - kept.length, keptBytes: kept.length };
}
