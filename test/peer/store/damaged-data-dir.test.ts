/**
 * A damaged data directory: every record read back is checked as a frame
 * from the network would be, a bad one is skipped with one notice naming
 * the file and line, and the rest still counts. Lines are read with a
 * bounded length. History is capped per conversation.
 */
import assert from 'node:assert/strict';
import { appendFileSync, openSync, closeSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { MAX_RECORD_LINE_BYTES } from '../../../src/peer/store/records.ts';
import { cleanUp, freshDir, ids, msg, openFile } from './fixtures.ts';

afterEach(cleanUp);

const line = (v: unknown): string => `${JSON.stringify(v)}\n`;
const queue = (m: { id: string; peer: string; ts: number; text: string }): string => line({ op: 'queue', ...m });

function noticesOf(store: { onNotice(listener: (m: string) => void): void }): string[] {
  const got: string[] = [];
  store.onNotice((m) => got.push(m));
  return got;
}

describe('a damaged data directory', () => {
  it('skips outbox records the wire would refuse, says where they were, and keeps the rest in order', () => {
    const dir = freshDir();
    const first = msg('bob', 'before the damage');
    const last = msg('bob', 'after the damage');
    const outbox = join(dir, 'outbox.jsonl');
    writeFileSync(
      outbox,
      queue(first) +
        queue({ ...msg('bob'), text: 'x'.repeat(5_000) }) +
        queue({ ...msg('bob'), ts: 1e20 }) +
        '{"op":"queue","id":\n' +
        '\n' +
        queue({ ...msg('bad name'), text: 'to nobody' }) +
        queue(last),
    );
    const store = openFile({ dir });
    assert.deepEqual(ids(store.pending()), ids([first, last]));
    const notices = noticesOf(store);
    assert.equal(notices.length, 1, 'one notice for the file');
    const notice = notices[0] as string;
    assert.ok(notice.startsWith(`${outbox}: skipped 4 damaged records`), notice);
    assert.match(notice, /line 2: a text of 5,000 bytes \(the most is 4,096\)/);
    assert.match(notice, /line 3: a time out of range \(100000000000000000000\)/);
    assert.match(notice, /line 4: not valid JSON/);
    assert.match(notice, /and 1 more/);
    store.close();

    // The file was rewritten without them: the next start has nothing to say.
    const again = openFile({ dir });
    assert.deepEqual(ids(again.pending()), ids([first, last]));
    assert.deepEqual(noticesOf(again), []);
  });

  it('skips received ids that are not records of that file, and still knows the good ones', () => {
    const dir = freshDir();
    const good = msg('bob');
    writeFileSync(join(dir, 'received.jsonl'), line({ peer: 'bob', id: 'not hex' }) + line({ peer: 'bob', id: good.id }) + line([1, 2]));
    const store = openFile({ dir });
    assert.equal(store.hasReceived('bob', good.id), true);
    const [notice] = noticesOf(store);
    assert.match(notice as string, /received\.jsonl: skipped 2 damaged records \(line 1: not a received id.*; line 3: not a received id/);
  });

  it('reads past a line longer than the limit without holding it, and keeps what follows', () => {
    const dir = freshDir();
    const file = join(dir, 'received.jsonl');
    const good = msg('bob');
    // Three times the limit, written in pieces: one huge line with no newline until the end.
    const fd = openSync(file, 'w');
    const piece = Buffer.alloc(256 * 1024, 'a');
    writeSync(fd, '{"peer":"bob","id":"');
    for (let written = 0; written < 3 * MAX_RECORD_LINE_BYTES; written += piece.length) writeSync(fd, piece);
    writeSync(fd, '"}\n');
    closeSync(fd);
    appendFileSync(file, line({ peer: 'bob', id: good.id }));
    const heapBefore = process.memoryUsage().heapUsed;
    const store = openFile({ dir });
    const grew = process.memoryUsage().heapUsed - heapBefore;
    assert.equal(store.hasReceived('bob', good.id), true);
    const [notice] = noticesOf(store);
    assert.match(notice as string, /skipped a damaged record \(line 1: a line longer than 1,048,576 bytes\)/);
    assert.ok(grew < 2 * MAX_RECORD_LINE_BYTES, `the heap grew by ${grew} bytes reading a line of ${3 * MAX_RECORD_LINE_BYTES}`);
    assert.ok(statSync(file).size < 1_000, 'rewritten without the long line');
  });

  it('treats a torn last line as the end of a crash, not as damage', () => {
    const dir = freshDir();
    const first = msg('bob');
    writeFileSync(join(dir, 'outbox.jsonl'), `${queue(first)}{"op":"queue","id":"ab`);
    const store = openFile({ dir });
    assert.deepEqual(ids(store.pending()), ids([first]));
    assert.deepEqual(noticesOf(store), []);
  });
});

describe('the history cap', () => {
  it('drops the oldest lines of a conversation past historyMaxBytes, keeps the newest, and says so once per trim', () => {
    const dir = freshDir();
    const max = 8 * 1024;
    const store = openFile({ dir, historyMaxBytes: max });
    const notices = noticesOf(store);
    const sent = [];
    for (let i = 0; i < 200; i++) {
      const m = msg('bob', `message ${i} ${'.'.repeat(60)}`);
      sent.push(m);
      store.enqueue([m]);
    }
    const file = join(dir, 'history', 'bob.jsonl');
    assert.ok(statSync(file).size <= max, `${statSync(file).size} bytes kept`);
    const kept = store.history('bob', 1_000);
    assert.ok(kept.length > 20 && kept.length < 200, `${kept.length} lines kept`);
    assert.deepEqual(
      kept.map((e) => e.id),
      ids(sent.slice(-kept.length)),
      'the newest, in order, none torn',
    );
    assert.ok(notices.length >= 2, `${notices.length} trims told`);
    assert.match(notices[0] as string, /^history with bob passed 8 KiB: its oldest \d+ KiB were dropped, the newest 6 KiB kept$/);
    // Every line left parses: the cut fell on a line boundary.
    for (const l of readFileSync(file, 'utf8').trimEnd().split('\n')) JSON.parse(l);
  });

  it('leaves other conversations and the outbox alone', () => {
    const dir = freshDir();
    const store = openFile({ dir, historyMaxBytes: 4 * 1024 });
    const alice = msg('alice', 'hello alice');
    store.enqueue([alice]);
    for (let i = 0; i < 100; i++) store.enqueue([msg('bob', `message ${i} ${'.'.repeat(60)}`)]);
    assert.deepEqual(
      store.history('alice', 10).map((e) => e.id),
      [alice.id],
    );
    assert.equal(store.pending().length, 101);
  });
});
