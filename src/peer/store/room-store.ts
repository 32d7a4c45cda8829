/**
 * Where a peer keeps its rooms' logs (src/peer/rooms): every signed item of
 * every room it is in or invited to, as the bytes that were signed, so they
 * can be passed on to other members exactly as their authors wrote them.
 *
 *   rooms/<room id>.log    one item per line, as hex; appended, never rewritten
 *
 * The file store writes each batch with one write(2) on a descriptor opened
 * for append (the data directory's lock makes this process its only
 * writer), so a batch survives a kill at any moment once append() returns; a
 * torn last line is skipped when read, and the next append starts a line of
 * its own (append-file.ts).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { AppendFile } from './append-file.ts';
import { storageError } from './file-io.ts';

const ROOM_ID = /^[0-9a-f]{32}$/;
const HEX_LINE = /^(?:[0-9a-f]{2})+$/;

/** The rooms' logs. Items are opaque bytes here: src/peer/rooms reads and checks them. */
export interface RoomStore {
  /** Every stored item, per room id, in the order they were appended. */
  load(): Map<string, Buffer[]>;
  /** Durably records items of one room, in one write. @throws NatterError STORAGE_FAILED (then none of them counts) */
  append(room: string, items: readonly Buffer[]): void;
  /** Releases files. Idempotent; appending afterwards throws STORAGE_FAILED. */
  close(): void;
}

function checkRoom(room: string): void {
  if (!ROOM_ID.test(room)) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `a room id is 32 hex digits, got ${JSON.stringify(room)}`);
}

/** Keeps everything in memory: the library's default; forgets at exit. */
export class MemoryRoomStore implements RoomStore {
  readonly #rooms = new Map<string, Buffer[]>();
  #isClosed = false;

  load(): Map<string, Buffer[]> {
    return new Map([...this.#rooms].map(([room, items]) => [room, [...items]]));
  }

  append(room: string, items: readonly Buffer[]): void {
    checkRoom(room);
    if (this.#isClosed) throw new NatterError(ERROR_CODES.STORAGE_FAILED, 'the room store is closed');
    let list = this.#rooms.get(room);
    if (list === undefined) {
      list = [];
      this.#rooms.set(room, list);
    }
    for (const item of items) list.push(Buffer.from(item));
  }

  close(): void {
    this.#isClosed = true;
  }
}

/** One append-only file per room under `<data dir>/rooms/`. Share the data directory (and its lock) with the FileMessageStore. */
export class FileRoomStore implements RoomStore {
  readonly dir: string;
  readonly #files = new Map<string, AppendFile>();
  #isClosed = false;

  /** @throws NatterError STORAGE_FAILED when the directory cannot be made */
  constructor(dataDir: string) {
    this.dir = join(resolve(dataDir), 'rooms');
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw storageError('create', this.dir, err);
    }
  }

  load(): Map<string, Buffer[]> {
    const out = new Map<string, Buffer[]>();
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      throw storageError('read', this.dir, err);
    }
    for (const file of names) {
      const room = file.endsWith('.log') ? file.slice(0, -4) : '';
      if (!ROOM_ID.test(room)) continue;
      const items: Buffer[] = [];
      for (const line of readText(join(this.dir, file)).split('\n')) {
        // A torn last line (a kill in the middle of a write) is not hex of whole bytes, or fails its signature later.
        if (HEX_LINE.test(line)) items.push(Buffer.from(line, 'hex'));
      }
      out.set(room, items);
    }
    return out;
  }

  append(room: string, items: readonly Buffer[]): void {
    checkRoom(room);
    if (this.#isClosed) throw new NatterError(ERROR_CODES.STORAGE_FAILED, `the room store in ${this.dir} is closed`);
    if (items.length === 0) return;
    let file = this.#files.get(room);
    if (file === undefined) {
      file = new AppendFile(join(this.dir, `${room}.log`));
      this.#files.set(room, file);
    }
    const size = file.size;
    try {
      file.append(items.map((b) => `${b.toString('hex')}\n`).join(''));
    } catch (err) {
      file.truncate(size);
      throw err;
    }
  }

  close(): void {
    this.#isClosed = true;
    for (const file of this.#files.values()) file.close();
    this.#files.clear();
  }
}

/** The text of `file`, '' when it does not exist. */
function readText(file: string): string {
  try {
    return readFileSync(file, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw storageError('read', file, err);
  }
}
