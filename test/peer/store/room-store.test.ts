/** The rooms' logs on disk and in memory: what is appended is loaded again, a torn last line is skipped, bad room ids are refused. */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../../src/errors.ts';
import { FileRoomStore, MemoryRoomStore, type RoomStore } from '../../../src/peer/store/room-store.ts';
import { tempDir } from '../../helpers/tmp.ts';

const ROOM = '00112233445566778899aabbccddeeff';
const OTHER = 'ffeeddccbbaa99887766554433221100';

for (const [kind, make] of [
  ['memory', () => ({ store: new MemoryRoomStore() as RoomStore, reopen: (s: RoomStore) => s })],
  [
    'file',
    () => {
      const dir = tempDir('room-store');
      return { store: new FileRoomStore(dir) as RoomStore, reopen: () => new FileRoomStore(dir) as RoomStore };
    },
  ],
] as const) {
  describe(`${kind} room store`, () => {
    it('loads what was appended, per room, in order', () => {
      const { store, reopen } = make();
      store.append(ROOM, [Buffer.from('0102', 'hex'), Buffer.from('03', 'hex')]);
      store.append(OTHER, [Buffer.from('ff', 'hex')]);
      store.append(ROOM, [Buffer.from('04', 'hex')]);
      const loaded = reopen(store).load();
      assert.deepEqual(
        loaded.get(ROOM)?.map((b) => b.toString('hex')),
        ['0102', '03', '04'],
      );
      assert.deepEqual(
        loaded.get(OTHER)?.map((b) => b.toString('hex')),
        ['ff'],
      );
    });

    it('refuses a room id that is not 32 hex digits, and appends nothing once closed', () => {
      const { store } = make();
      assert.throws(() => store.append('../x', [Buffer.from('01', 'hex')]), { code: ERROR_CODES.INVALID_ARGUMENT });
      store.close();
      assert.throws(() => store.append(ROOM, [Buffer.from('01', 'hex')]), { code: ERROR_CODES.STORAGE_FAILED });
    });
  });
}

describe('file room store', () => {
  it('skips a line torn by a kill in the middle of a write, and starts the next append on a line of its own', () => {
    const dir = tempDir('room-store');
    const store = new FileRoomStore(dir);
    store.append(ROOM, [Buffer.from('0a0b', 'hex')]);
    store.close();
    appendFileSync(join(dir, 'rooms', `${ROOM}.log`), '0c0');
    const again = new FileRoomStore(dir);
    assert.deepEqual(
      again
        .load()
        .get(ROOM)
        ?.map((b) => b.toString('hex')),
      ['0a0b'],
    );
    again.append(ROOM, [Buffer.from('0d', 'hex')]);
    assert.deepEqual(
      again
        .load()
        .get(ROOM)
        ?.map((b) => b.toString('hex')),
      ['0a0b', '0d'],
    );
    assert.match(readFileSync(join(dir, 'rooms', `${ROOM}.log`), 'utf8'), /^0a0b\n0c0\n0d\n$/);
  });
});
