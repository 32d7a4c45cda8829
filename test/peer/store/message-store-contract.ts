/**
 * The contract every MessageStore must meet. Each store's test file calls
 * runMessageStoreContract with a factory; MemoryMessageStore and
 * FileMessageStore pass the same suite.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES } from '../../../src/errors.ts';
import { newMessageId } from '../../../src/peer/store/message-id.ts';
import type { MessageStore, StoredMessage } from '../../../src/peer/store/message-store.ts';
import { ids, inn, msg, out, throwsCode } from './fixtures.ts';

export type MessageStoreFactory = (options?: { isHistoryOn?: boolean; receivedWindow?: number; wallClock?: () => number }) => MessageStore;

export function runMessageStoreContract(name: string, make: MessageStoreFactory): void {
  describe(`MessageStore contract: ${name}`, () => {
    it('keeps enqueued messages pending in order across peers, as copies', () => {
      const s = make();
      assert.deepEqual(s.pending(), []);
      const a1 = msg('alice');
      const b1 = msg('bob');
      const a2 = msg('alice', 'second');
      s.enqueue([a1, b1]);
      s.enqueue([a2]);
      s.enqueue([]);
      assert.deepEqual(s.pending(), [a1, b1, a2]);
      const got = s.pending();
      (got[0] as StoredMessage).text = 'changed';
      got.pop();
      assert.deepEqual(s.pending(), [a1, b1, a2]);
    });

    it('skips an id already pending or repeated within a call', () => {
      const s = make();
      const a = msg('alice');
      const b = msg('bob');
      s.enqueue([a, a, b]);
      s.enqueue([{ ...a, text: 'again' }]);
      assert.deepEqual(s.pending(), [a, b]);
      assert.deepEqual(s.history('alice', 10), [out(a)]);
    });

    it('rejects a malformed message with INVALID_ARGUMENT and records nothing of the call', () => {
      const s = make();
      const good = msg('alice');
      const bad: unknown[] = [
        { ...msg('alice'), id: 'ABCDEF00ABCDEF00ABCDEF00ABCDEF00' },
        { ...msg('alice'), id: 'abc' },
        { ...msg('alice'), ts: Number.NaN },
        { ...msg('alice'), text: 42 },
        { id: newMessageId(), ts: 1, text: 'no peer' },
        null,
      ];
      for (const b of bad) {
        throwsCode(() => s.enqueue([good, b as StoredMessage]), ERROR_CODES.INVALID_ARGUMENT);
        throwsCode(() => s.received([good, b as StoredMessage]), ERROR_CODES.INVALID_ARGUMENT);
      }
      assert.deepEqual(s.pending(), []);
      assert.equal(s.hasReceived('alice', good.id), false);
      assert.deepEqual(s.history('alice', 10), []);
    });

    it('removes exactly the delivered ids, ignoring unknown ones and those of another peer', () => {
      const s = make();
      const [a1, a2, a3, b1] = [msg('alice'), msg('alice'), msg('alice'), msg('bob')];
      s.enqueue([a1, a2, a3, b1]);
      s.delivered('alice', [a2.id, newMessageId(), b1.id, a2.id]);
      assert.deepEqual(s.pending(), [a1, a3, b1]);
      s.delivered('bob', [b1.id]);
      s.delivered('bob', [b1.id]);
      assert.deepEqual(s.pending(), [a1, a3]);
      s.delivered('alice', []);
      assert.deepEqual(s.pending(), [a1, a3]);
    });

    it('removes exactly the dropped ids', () => {
      const s = make();
      const [a1, b1, b2] = [msg('alice'), msg('bob'), msg('bob')];
      s.enqueue([a1, b1, b2]);
      s.dropped('bob', [b2.id, a1.id, newMessageId()]);
      assert.deepEqual(s.pending(), [a1, b1]);
      s.dropped('alice', [a1.id]);
      s.dropped('bob', [b1.id]);
      assert.deepEqual(s.pending(), []);
    });

    it('remembers received ids per peer, forgetting the oldest beyond the window', () => {
      const s = make({ receivedWindow: 3 });
      const fromAlice = [msg('alice'), msg('alice'), msg('alice'), msg('alice'), msg('alice')];
      const fromBob = msg('bob');
      assert.equal(s.hasReceived('alice', (fromAlice[0] as StoredMessage).id), false);
      s.received(fromAlice.slice(0, 2));
      s.received([fromBob]);
      s.received(fromAlice.slice(2));
      assert.deepEqual(
        fromAlice.map((m) => s.hasReceived('alice', m.id)),
        [false, false, true, true, true],
      );
      assert.equal(s.hasReceived('bob', fromBob.id), true, "alice's messages do not push bob's out");
      assert.equal(s.hasReceived('carol', fromBob.id), false, 'ids are per peer');
    });

    it('records a repeated received message once', () => {
      const s = make();
      const a = msg('alice');
      s.received([a, a]);
      s.received([a]);
      assert.deepEqual(s.history('alice', 10), [inn(a)]);
      assert.equal(s.hasReceived('alice', a.id), true);
    });

    it("keeps history in the order it happened here, each line dated by this machine, whatever the sender's clock said", () => {
      let now = 5_000;
      const s = make({ wallClock: () => now });
      const question = msg('alice', 'what time is it?');
      s.enqueue([question]);
      now = 6_000;
      // The answer comes from a machine whose clock runs an hour behind.
      const answer = { ...msg('alice', 'half past'), ts: question.ts - 3_600_000 };
      s.received([answer]);
      assert.deepEqual(
        s.history('alice', 10).map((h) => [h.text, h.ts, h.at]),
        [
          ['what time is it?', question.ts, 5_000],
          ['half past', answer.ts, 6_000],
        ],
      );
    });

    it('keeps history in both directions and returns the last n, oldest first', () => {
      const s = make();
      assert.equal(s.isHistoryOn, true);
      const sent = [msg('alice', 'one'), msg('alice', 'three')];
      const got = [msg('alice', 'two'), msg('alice', 'four')];
      const other = msg('bob', 'to bob');
      s.enqueue([sent[0] as StoredMessage, other]);
      s.received([got[0] as StoredMessage]);
      s.enqueue([sent[1] as StoredMessage]);
      s.received([got[1] as StoredMessage]);
      const all = [
        out(sent[0] as StoredMessage),
        inn(got[0] as StoredMessage),
        out(sent[1] as StoredMessage),
        inn(got[1] as StoredMessage),
      ];
      assert.deepEqual(s.history('alice', 10), all);
      assert.deepEqual(s.history('alice', 4), all);
      assert.deepEqual(s.history('alice', 2), all.slice(2));
      assert.deepEqual(s.history('alice', 2.7), all.slice(2));
      assert.deepEqual(s.history('alice', 0), []);
      assert.deepEqual(s.history('alice', -5), []);
      assert.deepEqual(s.history('alice', Number.NaN), []);
      assert.deepEqual(s.history('bob', 10), [out(other)]);
      assert.deepEqual(s.history('carol', 10), []);
      // Delivery does not touch history.
      s.delivered('alice', ids(sent));
      assert.deepEqual(s.history('alice', 10), all);
    });

    it('keeps no history when it is off, but still queues and dedups', () => {
      const s = make({ isHistoryOn: false });
      assert.equal(s.isHistoryOn, false);
      const a = msg('alice');
      const b = msg('alice');
      s.enqueue([a]);
      s.received([b]);
      assert.deepEqual(s.history('alice', 10), []);
      assert.deepEqual(s.pending(), [a]);
      assert.equal(s.hasReceived('alice', b.id), true);
    });

    it('takes received messages by the 16 bytes of their id: a copy is known at once, the record is whole at commit', () => {
      const s = make();
      const a = msg('alice', 'one');
      const b = msg('alice', 'two');
      const bytes = (m: StoredMessage): Buffer => Buffer.from(m.id, 'hex');
      assert.equal(s.receive('alice', bytes(a), a.ts, a.text), true);
      assert.equal(s.receive('alice', bytes(a), a.ts, a.text), false, 'a copy in the same batch');
      assert.equal(s.hasReceived('alice', bytes(a)), true);
      assert.equal(s.hasReceived('alice', a.id), true, 'asked by its hex form too');
      assert.equal(s.hasReceived('bob', bytes(a)), false);
      assert.equal(s.receive('alice', bytes(b), b.ts, b.text), true);
      s.commit();
      s.commit(); // nothing taken: nothing to do
      assert.equal(s.receive('alice', bytes(b), b.ts, b.text), false, 'a copy after the commit');
      assert.deepEqual(s.history('alice', 10), [inn(a), inn(b)]);
      throwsCode(() => s.receive('alice', Buffer.alloc(15), 1, 'x'), ERROR_CODES.INVALID_ARGUMENT);
      assert.equal(s.hasReceived('alice', Buffer.alloc(15)), false);
      assert.equal(s.hasReceived('alice', 'not an id'), false);
    });

    it('keeps the bytes it was given for an id, not a view of them', () => {
      const s = make();
      const a = msg('alice');
      const chunk = Buffer.from(a.id, 'hex');
      s.receive('alice', chunk, a.ts, a.text);
      s.commit();
      chunk.fill(0); // the buffer it came in is reused
      assert.equal(s.hasReceived('alice', a.id), true);
      assert.deepEqual(s.history('alice', 1), [inn(a)]);
    });

    it('closes idempotently and refuses to record afterwards', () => {
      const s = make();
      s.close();
      s.close();
      throwsCode(() => s.enqueue([msg('alice')]), ERROR_CODES.STORAGE_FAILED);
      throwsCode(() => s.received([msg('alice')]), ERROR_CODES.STORAGE_FAILED);
      throwsCode(() => s.delivered('alice', [newMessageId()]), ERROR_CODES.STORAGE_FAILED);
      throwsCode(() => s.receive('alice', Buffer.alloc(16), 1, 'x'), ERROR_CODES.STORAGE_FAILED);
    });
  });
}
