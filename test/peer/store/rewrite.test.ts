/**
 * Whole-file rewrites of outbox.jsonl and received.jsonl (at start-up and
 * when they grow past what they must hold) go out a chunk at a time: files
 * of many chunks come out whole, in order, and load back the same.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { cleanUp, freshDir, ids, msg, openFile, records } from './fixtures.ts';

afterEach(cleanUp);

/** Texts long enough that a few thousand queue lines make several chunks of a rewrite. */
const LONG = 'ü'.repeat(1_000);

describe('FileMessageStore rewrites', () => {
  it('compacts an outbox of many chunks at run time and on open, keeping every pending message in order', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, isHistoryOn: false });
    const msgs = Array.from({ length: 12_000 }, (_, i) => msg(i % 3 === 0 ? 'bob' : 'alice', `${i} ${LONG}`));
    for (let i = 0; i < msgs.length; i += 500) s.enqueue(msgs.slice(i, i + 500));
    // Past 10,000 lines and eight times the pending ones: rewritten at run time.
    const delivered = msgs.filter((m, i) => m.peer === 'alice' || i < 11_000);
    s.delivered('alice', ids(delivered.filter((m) => m.peer === 'alice')));
    s.delivered('bob', ids(delivered.filter((m) => m.peer === 'bob')));
    const pending = msgs.filter((m) => !delivered.includes(m));
    assert.deepEqual(s.pending(), pending);
    const outbox = join(dir, 'outbox.jsonl');
    assert.equal(records(outbox).length, pending.length);
    // And again on open, after a done line for every other pending one.
    const dropped = pending.filter((_, i) => i % 2 === 0);
    s.dropped('bob', ids(dropped.filter((m) => m.peer === 'bob')));
    s.dropped('alice', ids(dropped.filter((m) => m.peer === 'alice')));
    s.close();
    const left = pending.filter((m) => !dropped.includes(m));
    const again = openFile({ dir, isHistoryOn: false });
    assert.deepEqual(again.pending(), left);
    assert.deepEqual(
      records(outbox).map((r) => (r as { id: string }).id),
      ids(left),
    );
  });

  it('compacts received ids of many chunks and knows the same ones after a reopen', () => {
    const dir = join(freshDir(), 'data');
    const window = 6_000;
    const s = openFile({ dir, receivedWindow: window, isHistoryOn: false });
    // Past four times the ids remembered: rewritten at run time, and again on open.
    const got = Array.from({ length: 60_000 }, (_, i) => msg(i % 2 === 0 ? 'carol' : 'dave'));
    for (let i = 0; i < got.length; i += 1_000) s.received(got.slice(i, i + 1_000));
    assert.ok(records(join(dir, 'received.jsonl')).length <= 4 * 2 * window + 1_000);
    s.close();
    const again = openFile({ dir, receivedWindow: window, isHistoryOn: false });
    const remembered = (i: number): boolean => i >= got.length - 2 * window;
    assert.deepEqual(
      got.map((m) => again.hasReceived(m.peer, m.id)),
      got.map((_, i) => remembered(i)),
    );
    assert.equal(records(join(dir, 'received.jsonl')).length, 2 * window);
  });
});
