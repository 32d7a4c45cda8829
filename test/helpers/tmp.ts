/** Temporary directories for tests, each removed when the test process exits (whatever the outcome). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A new empty directory under the system's temporary directory, named natter-PREFIX-XXXXXX. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `natter-${prefix}-`));
  made.push(dir);
  return dir;
}

/**
 * A friends table (docs/chat.md) in a new temporary directory, every friend on
 * 127.0.0.1 at the port given for its name; returns the file's path.
 */
export function loopbackFriends(prefix: string, ports: Record<string, number>): string {
  const file = join(tempDir(prefix), 'friends.json');
  writeFileSync(file, JSON.stringify({ friends: Object.entries(ports).map(([name, port]) => ({ name, ip: '127.0.0.1', port })) }));
  return file;
}
