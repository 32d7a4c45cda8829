import { close, closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs';
import { NEWLINE, readAll, storageError, writeAll } from './file-io.ts';

/**
 * A file we append to: opened once (mode 0600 when created) and kept open,
 * its size tracked so a failed batch can be cut off again. The directory lock
 * makes us the only writer, so the tracked size is the file's size.
 */
export class AppendFile {
  readonly path: string;
  #fd: number | undefined;
  #size = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** Bytes in the file. */
  get size(): number {
    this.#open();
    return this.#size;
  }

  /** Opens the file now (it is otherwise opened on first use), so that one we cannot append to fails early. */
  ensureOpen(): void {
    this.#open();
  }

  /**
   * Appends `data` (a string as UTF-8) in one write loop. A failed write may
   * have left part of it behind: the caller cuts the file back (appendAll).
   */
  append(data: string | Buffer): void {
    const fd = this.#open();
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    try {
      writeAll(fd, buf, null);
    } catch (err) {
      throw storageError('write', this.path, err);
    }
    this.#size += buf.length;
  }

  /**
   * Cuts the file back to `size` bytes. Returns false when that failed: the
   * file is then closed, so the next append reopens it and re-checks its end.
   */
  truncate(size: number): boolean {
    try {
      ftruncateSync(this.#open(), size);
      this.#size = size;
      return true;
    } catch {
      this.close();
      return false;
    }
  }

  /** Closes the descriptor; the next use reopens the file (after it was renamed over, say). */
  close(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Nothing was buffered in user space, so nothing is lost by a failed close.
    }
  }

  /**
   * Lets go of the descriptor once the file was renamed over (the next use
   * opens the new one). The old file's blocks are freed when its last
   * descriptor closes, which takes milliseconds for a log of many MiB, so
   * that close runs off the event loop: nothing rides on it.
   */
  release(): void {
    if (this.#fd === undefined) return;
    const fd = this.#fd;
    this.#fd = undefined;
    close(fd, () => {
      // Nothing was buffered in user space, so nothing is lost by a failed close.
    });
  }

  /** Opens the file for append, making sure it ends with a newline so a torn last line never merges with our next record. */
  #open(): number {
    if (this.#fd !== undefined) return this.#fd;
    let fd: number | undefined;
    try {
      fd = openSync(this.path, 'a', 0o600);
      let size = fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        // An O_APPEND descriptor is opened write-only; read the last byte through another one.
        const rfd = openSync(this.path, 'r');
        try {
          readAll(rfd, last, size - 1);
        } finally {
          closeSync(rfd);
        }
        if (last[0] !== NEWLINE) {
          writeAll(fd, Buffer.from('\n'), null);
          size++;
        }
      }
      this.#fd = fd;
      this.#size = size;
      return fd;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw storageError('open', this.path, err);
    }
  }
}

/** One append to make as part of a call, and what to do if it cannot be undone. */
export interface PlannedAppend {
  file: AppendFile;
  bytes: Buffer;
  onUndoFailed?: () => void;
}

/**
 * Makes the appends in order; if one fails, cuts every file already written
 * back to its size before the call and rethrows, so nothing of the call counts.
 */
export function appendAll(plan: readonly PlannedAppend[]): void {
  const done: Array<{ step: PlannedAppend; before: number }> = [];
  try {
    for (const step of plan) {
      const before = step.file.size;
      done.push({ step, before });
      step.file.append(step.bytes);
    }
  } catch (err) {
    for (const { step, before } of done.reverse()) {
      if (!step.file.truncate(before)) step.onUndoFailed?.();
    }
    throw err;
  }
}
