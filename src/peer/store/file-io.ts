/**
 * The file operations of FileMessageStore: whole writes and reads over
 * descriptors, atomic rewrites, parsing a line, and the error that
 * names the file a failed call was about.
 */
import { closeSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { ERROR_CODES, NatterError } from '../../errors.ts';

/** The byte that ends every record. */
export const NEWLINE = 0x0a;

/** STORAGE_FAILED, naming the file and what could not be done to it. */
export function storageError(action: string, file: string, cause: unknown): NatterError {
  return new NatterError(ERROR_CODES.STORAGE_FAILED, `cannot ${action} ${file}: ${(cause as Error).message}`, { cause });
}

/** Writes all of `buf` to `fd` (at `position`, or appending when null), looping over partial writes. */
export function writeAll(fd: number, buf: Buffer, position: number | null): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position === null ? null : position + off);
    if (n <= 0) throw new Error(`write returned ${n}`);
    off += n;
  }
}

/** Reads exactly `buf.length` bytes at `position` (the file must hold them). */
export function readAll(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n === 0) throw new Error('file shrank while being read');
    off += n;
  }
}

/** One line parsed as JSON; undefined when it is empty or does not parse. */
export function parseLine(line: string): unknown {
  if (line === '') return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Replaces `file` with what `write` writes to the descriptor it is given, so
 * that a crash leaves either the old file or the new one: written to a
 * temporary file, fsynced, renamed over. The temporary name is fixed because
 * the directory lock makes us its only writer.
 */
export function replaceAtomically(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w', 0o600);
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // Already failing; the rename did not happen, so the old file stands.
      }
    }
    rmSync(tmp, { force: true });
    throw storageError('rewrite', file, err);
  }
}
