import { closeSync, fstatSync, openSync } from 'node:fs';
import { NEWLINE, parseLine, readAll, storageError } from './file-io.ts';
import { isHistoryEntry, type HistoryEntry } from './message-store.ts';

/** history() reads a log backwards in chunks of this size. */
const HISTORY_CHUNK_BYTES = 64 * 1024;
/**
 * A history line longer than this is not one we wrote (a TEXT is at most
 * 64 KiB, protocol.md §3, so even fully \u-escaped it stays well below):
 * history() skips it rather than buffer an unbounded line.
 */
const MAX_HISTORY_LINE_BYTES = 1 << 20;

/**
 * The last `n` valid entries of a history log, oldest first, reading it
 * backwards in chunks so that showing a few lines of a long log costs a few
 * reads, not the whole file.
 */
export function readHistoryTail(file: string, n: number): HistoryEntry[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw storageError('open', file, err);
  }
  const newestFirst: HistoryEntry[] = [];
  try {
    let pos = fstatSync(fd).size;
    // Bytes of a line whose start lies in a chunk not read yet.
    let carry: Buffer = Buffer.alloc(0);
    // True while skipping bytes up to the previous newline: first the
    // unterminated tail of the file (a torn write), later an overlong line.
    let isSkipping = true;
    while (pos > 0 && newestFirst.length < n) {
      const len = Math.min(HISTORY_CHUNK_BYTES, pos);
      pos -= len;
      const chunk = Buffer.allocUnsafe(len);
      readAll(fd, chunk, pos);
      const buf = carry.length === 0 ? chunk : Buffer.concat([chunk, carry]);
      let end = buf.length;
      if (isSkipping) {
        const nl = buf.lastIndexOf(NEWLINE);
        if (nl < 0) {
          carry = Buffer.alloc(0);
          continue;
        }
        end = nl;
        isSkipping = false;
      }
      // buf[0, end) ends at a line boundary; take whole lines from its end.
      while (newestFirst.length < n) {
        const nl = end === 0 ? -1 : buf.lastIndexOf(NEWLINE, end - 1);
        if (nl < 0 && pos > 0) break; // the line starts in an earlier chunk
        const value = parseLine(buf.toString('utf8', nl + 1, end));
        if (isHistoryEntry(value)) {
          newestFirst.push({
            ts: value.ts,
            dir: value.dir,
            id: value.id,
            text: value.text,
            ...(value.at === undefined ? {} : { at: value.at }),
          });
        }
        if (nl < 0) break;
        end = nl;
      }
      carry = Buffer.from(buf.subarray(0, end));
      if (carry.length > MAX_HISTORY_LINE_BYTES) {
        carry = Buffer.alloc(0);
        isSkipping = true;
      }
    }
  } catch (err) {
    throw storageError('read', file, err);
  } finally {
    closeSync(fd);
  }
  return newestFirst.reverse();
}
