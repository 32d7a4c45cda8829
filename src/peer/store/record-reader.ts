/**
 * Reads a JSON-lines file of the data directory one record at a time,
 * treating every line as input from outside: a line that does not parse,
 * is longer than the limit, or that the caller's check refuses is skipped
 * and reported (file and line number), and the rest is read on. Memory is
 * bounded by the limit, not by the file: an overlong line is dropped as it
 * streams past, never gathered.
 *
 * A last line without its newline is a write torn by a kill; it is skipped
 * without a report, as it is expected after a crash.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { NEWLINE, storageError } from './file-io.ts';

/** Bytes read at a time. */
const CHUNK_BYTES = 64 * 1024;
/** Damaged records described one by one in a report; the rest are counted. */
const DESCRIBED_AT_MOST = 3;

/** A record that was skipped: its line (from 1) and why. */
export interface DamagedRecord {
  line: number;
  why: string;
}

export interface RecordsRead {
  /** Complete lines seen, empty ones aside (valid or not). */
  lines: number;
  /** Skipped records, the first DESCRIBED_AT_MOST of them. */
  damaged: DamagedRecord[];
  /** How many records were skipped in all. */
  damagedCount: number;
  /** The file ended in a torn line. */
  isTorn: boolean;
}

/**
 * Calls `take` with each record of `file` that parses, in order; `take`
 * returns why the record is refused, or undefined when it took it.
 * A missing file reads as empty. STORAGE_FAILED when it cannot be read.
 */
export function readRecords(file: string, maxLineBytes: number, take: (value: unknown) => string | undefined): RecordsRead {
  const out: RecordsRead = { lines: 0, damaged: [], damagedCount: 0, isTorn: false };
  /** Lines seen, empty ones included: what a text editor numbers. */
  let lineNo = 0;
  const skip = (why: string): void => {
    out.damagedCount++;
    if (out.damaged.length < DESCRIBED_AT_MOST) out.damaged.push({ line: lineNo, why });
  };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
    throw storageError('open', file, err);
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    /** Pieces of the line being read, and their length. */
    let pieces: Buffer[] = [];
    let pendingBytes = 0;
    let isOverlong = false;
    // Bounded by the file's size: each pass reads at least one byte or stops.
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK_BYTES, null);
      if (n === 0) break;
      let from = 0;
      while (from < n) {
        const nl = chunk.indexOf(NEWLINE, from);
        const end = nl < 0 || nl >= n ? n : nl;
        if (!isOverlong) {
          pendingBytes += end - from;
          if (pendingBytes > maxLineBytes) {
            isOverlong = true;
            pieces = [];
          } else if (end > from) {
            pieces.push(Buffer.from(chunk.subarray(from, end)));
          }
        }
        if (end === n) break;
        // A whole line.
        lineNo++;
        if (isOverlong) {
          out.lines++;
          skip(`a line longer than ${maxLineBytes.toLocaleString('en-US')} bytes`);
        } else if (pendingBytes > 0) {
          out.lines++;
          const why = parseAndTake(Buffer.concat(pieces, pendingBytes).toString('utf8'), take);
          if (why !== undefined) skip(why);
        }
        pieces = [];
        pendingBytes = 0;
        isOverlong = false;
        from = end + 1;
      }
    }
    out.isTorn = pendingBytes > 0 || isOverlong;
  } catch (err) {
    throw storageError('read', file, err);
  } finally {
    closeSync(fd);
  }
  return out;
}

function parseAndTake(line: string, take: (value: unknown) => string | undefined): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line) as unknown;
  } catch {
    return 'not valid JSON';
  }
  return take(value);
}

/** The one warning for a file with skipped records (undefined when there are none). */
export function damageNotice(file: string, read: RecordsRead): string | undefined {
  if (read.damagedCount === 0) return undefined;
  const each = read.damaged.map((d) => `line ${d.line}: ${d.why}`).join('; ');
  const more = read.damagedCount - read.damaged.length;
  const records = read.damagedCount === 1 ? 'a damaged record' : `${read.damagedCount} damaged records`;
  return `${file}: skipped ${records} (${each}${more > 0 ? `; and ${more} more` : ''}); everything else in it was kept`;
}
