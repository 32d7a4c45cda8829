/**
 * Keeps a conversation's history log within its cap: when the log passes
 * it, the oldest lines go and the newest `keepBytes` (cut at a line
 * boundary) stay, rewritten atomically. Trimming to less than the cap means
 * a steady conversation rewrites its log once per quarter of the cap, not
 * on every message.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { NEWLINE, readAll, replaceAtomically, storageError, writeAll } from './file-io.ts';

/** What a trim took away. */
export interface Trimmed {
  droppedBytes: number;
  keptBytes: number;
}

/** Bytes copied at a time. */
const CHUNK_BYTES = 1 << 20;
/**
 * The one buffer every trim copies through: a log of many MiB read whole
 * into a fresh buffer would fault in that much new memory on every trim,
 * which costs about as much as the copy itself.
 */
let chunk: Buffer | undefined;

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
  try {
    chunk ??= Buffer.allocUnsafe(CHUNK_BYTES);
    const buf = chunk;
    let size: number;
    let from: number;
    try {
      size = fstatSync(fd).size;
      if (size <= keepBytes) return undefined;
      // One byte more than kept: the byte before the tail says whether the tail starts a line.
      from = afterFirstNewline(fd, size - keepBytes - 1, size, buf);
    } catch (err) {
      throw storageError('read', file, err);
    }
    replaceAtomically(file, (out) => {
      for (let at = from; at < size; ) {
        const part = buf.subarray(0, Math.min(buf.length, size - at));
        readAll(fd, part, at);
        writeAll(out, part, null);
        at += part.length;
      }
    });
    return { droppedBytes: from, keptBytes: size - from };
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the kept lines start: after the first newline at or after `from`
 * (everything before it is part of a line that does not fit: it goes), or
 * `size` when there is none.
 */
function afterFirstNewline(fd: number, from: number, size: number, buf: Buffer): number {
  for (let at = from; at < size; ) {
    const part = buf.subarray(0, Math.min(buf.length, size - at));
    readAll(fd, part, at);
    const nl = part.indexOf(NEWLINE);
    if (nl >= 0) return at + nl + 1;
    at += part.length;
  }
  return size;
}
