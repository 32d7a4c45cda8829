/** The lock that makes one process the only writer of a data directory: a file `lock` holding its pid. */
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { storageError, writeAll } from './file-io.ts';

/**
 * Directories locked by this process. A lock file naming our own pid is ours
 * only if it is in here; otherwise it was left by an earlier process that had
 * the same pid (common in containers, where the peer is often pid 1).
 */
const LOCKED_HERE = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else. Anything but ESRCH is treated as alive: never steal a lock on a guess.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** The pid in a lock file's text, or undefined for garbage (including 0 and negatives, which kill(2) would read as process groups). */
function parsePid(text: string): number | undefined {
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  if (m === null) return undefined;
  const pid = Number(m[1]);
  return pid > 0 && pid <= 0x7fffffff ? pid : undefined;
}

/**
 * Takes `dir`'s lock: creates `lock` with O_EXCL holding our pid. A lock
 * naming a live process (other than a stale one of our own pid) throws
 * DATA_DIR_LOCKED; a dead or garbage one is removed and taken over.
 *
 * Two processes taking over the same stale lock at the same instant could
 * both succeed (each removes the file, one may remove the other's fresh one);
 * that needs a crashed peer and two starts within microseconds of each other.
 */
export function acquireLock(dir: string): string {
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeAll(fd, Buffer.from(`${process.pid}\n`), null);
      } finally {
        closeSync(fd);
      }
      LOCKED_HERE.add(dir);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storageError('create', file, err);
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released meanwhile: try again
      throw storageError('read', file, err);
    }
    const pid = parsePid(text);
    const isOurs = pid === process.pid;
    if (pid !== undefined && ((isOurs && LOCKED_HERE.has(dir)) || (!isOurs && isAlive(pid)))) {
      throw new NatterError(
        ERROR_CODES.DATA_DIR_LOCKED,
        `data directory ${dir} is in use by process ${pid} (lock file ${file}); stop that process, or remove the file if it is not natter`,
      );
    }
    try {
      rmSync(file, { force: true });
    } catch (err) {
      throw storageError('remove stale lock', file, err);
    }
  }
  throw new NatterError(ERROR_CODES.DATA_DIR_LOCKED, `data directory ${dir}: could not take the lock ${file} (it keeps changing)`);
}

/** Gives back a lock taken by acquireLock: forgets it here, and removes the file if it still names us. */
export function releaseLock(dir: string, file: string): void {
  LOCKED_HERE.delete(dir);
  try {
    // Only if it is still ours: someone may have taken over a lock they thought stale.
    if (parsePid(readFileSync(file, 'utf8')) === process.pid) rmSync(file, { force: true });
  } catch {
    // Gone or unreadable: nothing of ours to remove.
  }
}
