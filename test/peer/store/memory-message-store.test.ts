import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ERROR_CODES } from '../../../src/errors.ts';
import { FileMessageStore } from '../../../src/peer/store/file-message-store.ts';
import { MemoryMessageStore } from '../../../src/peer/store/memory-message-store.ts';
import type { StoredMessage } from '../../../src/peer/store/message-store.ts';
import { cleanUp, freshDir, msg, out, recordedAt, stores, throwsCode } from './fixtures.ts';
import { runMessageStoreContract } from './message-store-contract.ts';

afterEach(cleanUp);

runMessageStoreContract('MemoryMessageStore', (options = {}) => {
  const s = new MemoryMessageStore({ wallClock: recordedAt, ...options });
  stores.push(s);
  return s;
});

describe('MemoryMessageStore', () => {
  it('keeps at most historyLimit entries per peer', () => {
    const s = new MemoryMessageStore({ historyLimit: 3, wallClock: recordedAt });
    const sent = Array.from({ length: 5 }, () => msg('alice'));
    s.enqueue(sent);
    s.enqueue([msg('bob')]);
    assert.deepEqual(s.history('alice', 10), sent.slice(2).map(out));
    assert.equal(s.history('bob', 10).length, 1);
  });

  it('remembers received ids of at most 1,000 senders: the one heard from least recently is forgotten', () => {
    const s = new MemoryMessageStore({ isHistoryOn: false });
    const first = msg('p0');
    const second = msg('p1');
    s.received([first, second]);
    // p0 speaks again, so p1 is now the quietest.
    const again = msg('p0');
    s.received([again]);
    const latest: StoredMessage[] = [];
    for (let i = 2; i <= 1_000; i++) {
      const m = msg(`p${i}`);
      latest.push(m);
      s.received([m]);
    }
    assert.equal(s.hasReceived('p1', second.id), false, 'the quietest sender is forgotten');
    assert.equal(s.hasReceived('p0', first.id), true);
    assert.equal(s.hasReceived('p0', again.id), true);
    assert.ok(
      latest.every((m) => s.hasReceived(m.peer, m.id)),
      'every other sender is remembered',
    );
  });

  it('validates its options', () => {
    throwsCode(() => new MemoryMessageStore({ historyLimit: 0 }), ERROR_CODES.INVALID_ARGUMENT);
    throwsCode(() => new MemoryMessageStore({ receivedWindow: 1.5 }), ERROR_CODES.INVALID_ARGUMENT);
    throwsCode(() => FileMessageStore.open({ dir: freshDir(), receivedWindow: -1 }), ERROR_CODES.INVALID_ARGUMENT);
  });
});
