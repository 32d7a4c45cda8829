/** What the message store tests share: temporary directories, stores and child processes cleaned up after each test, and message makers. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNatterError, type NatterErrorCode } from '../../../src/errors.ts';
import { FileMessageStore } from '../../../src/peer/store/file-message-store.ts';
import { newMessageId } from '../../../src/peer/store/message-id.ts';
import type { HistoryEntry, MessageStore, StoredMessage } from '../../../src/peer/store/message-store.ts';

export const isRoot = process.getuid?.() === 0;

const tempDirs: string[] = [];
export const stores: MessageStore[] = [];
const children: ChildProcess[] = [];

/** Closes the stores, kills the children and removes the directories a test made (each test file runs it afterEach). */
export async function cleanUp(): Promise<void> {
  for (const s of stores.splice(0)) s.close();
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGKILL');
      await once(c, 'exit');
    }
  }
  for (const d of tempDirs.splice(0)) {
    chmodTree(d);
    rmSync(d, { recursive: true, force: true });
  }
}

/** Gives back write permission a test took away, so the directory can be removed. */
function chmodTree(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodTree(join(dir, e.name));
}

export function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'natter-store-'));
  tempDirs.push(dir);
  return dir;
}

/** The wall-clock time the test stores date history lines with (see out() and inn()). */
export const RECORDED_AT = 1_800_000_000_000;
export const recordedAt = (): number => RECORDED_AT;

/** Opens a FileMessageStore that afterEach closes; its history lines are dated RECORDED_AT unless told otherwise. */
export function openFile(options: Parameters<typeof FileMessageStore.open>[0]): FileMessageStore {
  const s = FileMessageStore.open({ wallClock: recordedAt, ...options });
  stores.push(s);
  return s;
}

let clock = 1_700_000_000_000;
export function msg(peer: string, text = `hello ${peer}`): StoredMessage {
  return { id: newMessageId(), peer, ts: clock++, text };
}

export function ids(msgs: readonly { id: string }[]): string[] {
  return msgs.map((m) => m.id);
}

export function out(m: StoredMessage): HistoryEntry {
  return { ts: m.ts, dir: 'out', id: m.id, text: m.text, at: RECORDED_AT };
}

export function inn(m: StoredMessage): HistoryEntry {
  return { ts: m.ts, dir: 'in', id: m.id, text: m.text, at: RECORDED_AT };
}

export function throwsCode(fn: () => unknown, code: NatterErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isNatterError(err, code), `expected ${code}, got ${String(err)}`);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

/** The lines of a JSON-lines file, each parsed (throws on a line that is not JSON). */
export function records(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${file} ends with a newline`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

/** Runs `node` with `args`, without the coverage variable (a SIGKILLed child would leave a torn coverage file). */
export function node(args: string[]): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** The pid of a process that has exited (and been reaped). */
export async function deadPid(): Promise<number> {
  const child = node(['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}
