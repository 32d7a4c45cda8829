import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ERROR_CODES } from '../../../src/errors.ts';
import { FileMessageStore } from '../../../src/peer/store/file-message-store.ts';
import type { HistoryEntry, StoredMessage } from '../../../src/peer/store/message-store.ts';
import { cleanUp, freshDir, ids, inn, isRoot, msg, node, openFile, out, records, throwsCode } from './fixtures.ts';
import { runMessageStoreContract } from './message-store-contract.ts';

const STORE_MODULE = pathToFileURL(new URL('../../../src/peer/store/file-message-store.ts', import.meta.url).pathname).href;
const ID_MODULE = pathToFileURL(new URL('../../../src/peer/store/message-id.ts', import.meta.url).pathname).href;

afterEach(cleanUp);

runMessageStoreContract('FileMessageStore', (options = {}) => openFile({ dir: join(freshDir(), 'data'), ...options }));

describe('FileMessageStore', () => {
  it('creates its directory 0700 and its files 0600', () => {
    const dir = join(freshDir(), 'nested', 'data');
    const s = openFile({ dir });
    s.enqueue([msg('alice')]);
    s.received([msg('bob')]);
    assert.equal(s.dir, dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'history')).mode & 0o777, 0o700);
    for (const f of ['lock', 'outbox.jsonl', 'received.jsonl', 'history/alice.jsonl', 'history/bob.jsonl']) {
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    }
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid));
  });

  it('writes no history file when history is off', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, isHistoryOn: false });
    s.enqueue([msg('alice')]);
    s.received([msg('bob')]);
    assert.equal(existsSync(join(dir, 'history')), false);
  });

  it('recovers pending messages in order, received ids and history after reopening', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, receivedWindow: 2 });
    const [a1, b1, a2, a3] = [msg('alice'), msg('bob'), msg('alice'), msg('alice')];
    const got = [msg('carol'), msg('carol'), msg('carol')];
    s.enqueue([a1, b1]);
    s.enqueue([a2, a3]);
    s.delivered('alice', [a2.id]);
    s.dropped('bob', [b1.id]);
    s.received(got);
    s.close();
    const again = openFile({ dir, receivedWindow: 2 });
    assert.deepEqual(again.pending(), [a1, a3]);
    assert.deepEqual(
      got.map((m) => again.hasReceived('carol', m.id)),
      [false, true, true],
    );
    assert.deepEqual(again.history('alice', 10), [a1, a2, a3].map(out));
    assert.deepEqual(again.history('carol', 10), got.map(inn));
    // And it keeps working after the reopen.
    const a4 = msg('alice');
    again.enqueue([a4]);
    again.delivered('alice', [a1.id]);
    again.close();
    assert.deepEqual(openFile({ dir }).pending(), [a3, a4]);
  });

  it('compacts the outbox on open to exactly the pending queue records', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const msgs = Array.from({ length: 10 }, (_, i) => msg(i % 2 === 0 ? 'alice' : 'bob'));
    s.enqueue(msgs);
    s.delivered('alice', ids(msgs.filter((m) => m.peer === 'alice')).slice(0, 3));
    s.dropped('bob', [(msgs[1] as StoredMessage).id]);
    assert.equal(records(join(dir, 'outbox.jsonl')).length, 14);
    s.close();
    const again = openFile({ dir });
    const expected = msgs.filter((_, i) => ![0, 1, 2, 4].includes(i));
    assert.deepEqual(again.pending(), expected);
    assert.deepEqual(
      records(join(dir, 'outbox.jsonl')),
      expected.map((m) => ({ op: 'queue', id: m.id, peer: m.peer, ts: m.ts, text: m.text })),
    );
    assert.equal(existsSync(join(dir, 'outbox.jsonl.tmp')), false);
  });

  it('writes done records, with why for dropped ones', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const [a, b] = [msg('alice'), msg('alice')];
    s.enqueue([a, b]);
    s.delivered('alice', [a.id]);
    s.dropped('alice', [b.id]);
    const recs = records(join(dir, 'outbox.jsonl')) as Array<{ op: string; id: string; why?: string }>;
    assert.deepEqual(
      recs.map((r) => [r.op, r.id, r.why !== undefined]),
      [
        ['queue', a.id, false],
        ['queue', b.id, false],
        ['done', a.id, false],
        ['done', b.id, true],
      ],
    );
  });

  it('rewrites a long outbox at run time once few of its records are still pending', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, isHistoryOn: false });
    const msgs = Array.from({ length: 11_000 }, () => msg('alice', 'x'));
    s.enqueue(msgs);
    s.delivered('alice', ids(msgs.slice(0, 10_995)));
    const left = msgs.slice(10_995);
    assert.deepEqual(
      records(join(dir, 'outbox.jsonl')),
      left.map((m) => ({ op: 'queue', id: m.id, peer: m.peer, ts: m.ts, text: m.text })),
    );
    // Appends after the rewrite go to the new file.
    const more = msg('alice');
    s.enqueue([more]);
    s.close();
    assert.deepEqual(openFile({ dir }).pending(), [...left, more]);
  });

  it('empties a big outbox at run time once nothing is pending', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, isHistoryOn: false });
    const msgs = Array.from({ length: 3_000 }, () => msg('alice', 'y'.repeat(400)));
    s.enqueue(msgs);
    s.delivered('alice', ids(msgs.slice(0, 1_000)));
    assert.ok(statSync(join(dir, 'outbox.jsonl')).size > 1 << 20);
    s.delivered('alice', ids(msgs.slice(1_000)));
    assert.equal(statSync(join(dir, 'outbox.jsonl')).size, 0);
    const next = msg('alice');
    s.enqueue([next]);
    assert.equal(records(join(dir, 'outbox.jsonl')).length, 1);
    s.close();
    assert.deepEqual(openFile({ dir }).pending(), [next]);
  });

  it('keeps received.jsonl near what is remembered', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir, receivedWindow: 10, isHistoryOn: false });
    const all: StoredMessage[] = [];
    for (let i = 0; i < 30; i++) {
      const batch = Array.from({ length: 100 }, () => msg('alice'));
      all.push(...batch);
      s.received(batch);
      assert.ok(records(join(dir, 'received.jsonl')).length <= 1_024 + 100);
    }
    s.close();
    const again = openFile({ dir, receivedWindow: 10 });
    assert.deepEqual(
      all.map((m) => again.hasReceived('alice', m.id)),
      all.map((_, i) => i >= all.length - 10),
    );
    assert.equal(records(join(dir, 'received.jsonl')).length, 10);
  });

  it('ignores a torn last line in every file, and appends valid records after it', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const a1 = msg('alice');
    const r1 = msg('alice');
    s.enqueue([a1]);
    s.received([r1]);
    s.close();
    const files = ['outbox.jsonl', 'received.jsonl', 'history/alice.jsonl'];
    for (const f of files) {
      // Half of a record, as a kill in the middle of its write leaves it.
      const first = readFileSync(join(dir, f), 'utf8').split('\n')[0] as string;
      appendFileSync(join(dir, f), first.slice(0, Math.floor(first.length / 2)));
    }
    const again = openFile({ dir });
    assert.deepEqual(again.pending(), [a1]);
    assert.equal(again.hasReceived('alice', r1.id), true);
    assert.deepEqual(again.history('alice', 10), [out(a1), inn(r1)]);
    const a2 = msg('alice');
    const r2 = msg('alice');
    again.enqueue([a2]);
    again.received([r2]);
    again.close();
    // The torn outbox and received lines are gone (rewritten on open); the
    // history keeps its torn line, ended by a newline so it stands alone.
    const history = readFileSync(join(dir, 'history/alice.jsonl'), 'utf8').split('\n');
    assert.equal(history.length, 6);
    assert.equal(history[5], '');
    assert.throws(() => JSON.parse(history[2] as string));
    assert.deepEqual(JSON.parse(history[3] as string), out(a2));
    for (const f of files.slice(0, 2)) records(join(dir, f));
    const third = openFile({ dir });
    assert.deepEqual(third.pending(), [a1, a2]);
    assert.equal(third.hasReceived('alice', r2.id), true);
    assert.deepEqual(third.history('alice', 10), [out(a1), inn(r1), out(a2), inn(r2)]);
  });

  it('ends a torn history line before its first append', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const a = msg('bob');
    s.enqueue([a]);
    s.close();
    appendFileSync(join(dir, 'history/bob.jsonl'), '{"ts":1,"dir":"out","id":"');
    const again = openFile({ dir });
    const b = msg('bob');
    again.enqueue([b]);
    assert.deepEqual(again.history('bob', 5), [out(a), out(b)]);
  });

  it('skips records that are not valid, never throwing', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const good = msg('alice');
    s.enqueue([good]);
    s.close();
    const junk = [
      'not json',
      '[]',
      'null',
      '{"op":"queue","id":"XYZ","peer":"alice","ts":1,"text":"t"}',
      '{"op":"queue","id":"0123456789abcdef0123456789abcdef","peer":5,"ts":1,"text":"t"}',
      '{"op":"queue","id":"0123456789abcdef0123456789abcdef","peer":"alice","ts":"1","text":"t"}',
      '{"op":"done","id":7}',
      '{"op":"other","id":"0123456789abcdef0123456789abcdef"}',
      '',
    ].join('\n');
    appendFileSync(join(dir, 'outbox.jsonl'), `${junk}\n`);
    appendFileSync(join(dir, 'received.jsonl'), `${junk}\n{"peer":"bob","id":"short"}\n`);
    appendFileSync(join(dir, 'history/alice.jsonl'), `${junk}\n{"ts":1,"dir":"sideways","id":"${good.id}","text":"t"}\n`);
    const again = openFile({ dir });
    assert.deepEqual(again.pending(), [good]);
    assert.equal(again.hasReceived('bob', 'short'), false);
    assert.deepEqual(again.history('alice', 10), [out(good)]);
  });

  it('keeps every conversation inside history/, whatever its name', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const names = ['..', 'a.b', '.', '*'];
    const msgs = names.map((n) => msg(n));
    s.enqueue(msgs);
    assert.deepEqual(readdirSync(join(dir, 'history')).sort(), ['%2A.jsonl', '%2E%2E.jsonl', '%2E.jsonl', 'a%2Eb.jsonl']);
    assert.deepEqual(readdirSync(dir).sort(), ['history', 'lock', 'outbox.jsonl', 'received.jsonl']);
    assert.deepEqual(readdirSync(join(dir, '..')), ['data']);
    for (const m of msgs) assert.deepEqual(s.history(m.peer, 5), [out(m)]);
  });

  it("reads history lines written without 'at' (before it was recorded), and refuses a bad one", () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const old = msg('alice', 'from an older version');
    const sent = msg('alice', 'today');
    s.enqueue([sent]);
    s.close();
    const file = join(dir, 'history', 'alice.jsonl');
    const lines = readFileSync(file, 'utf8');
    const oldLine = JSON.stringify({ ts: old.ts, dir: 'in', id: old.id, text: old.text });
    const badAt = JSON.stringify({ ts: old.ts, dir: 'in', id: msg('alice').id, text: 'bad', at: 'noon' });
    writeFileSync(file, `${oldLine}\n${badAt}\n${lines}`);
    const again = openFile({ dir });
    assert.deepEqual(again.history('alice', 10), [{ ts: old.ts, dir: 'in', id: old.id, text: old.text }, out(sent)]);
  });

  it('reads the last n entries of a big history from its tail', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const expected: HistoryEntry[] = [];
    for (let batch = 0; batch < 20; batch++) {
      const msgs = Array.from({ length: 1_000 }, (_, i) => {
        const k = batch * 1_000 + i;
        // Varied lengths and multi-byte characters, so lines and characters straddle the 64 KiB chunks.
        const text = k === 7_777 ? 'L'.repeat(200_000) : `${k} ${'é€😀'.repeat(k % 37)}`;
        return msg('alice', text);
      });
      if (batch % 2 === 0) {
        s.enqueue(msgs);
        expected.push(...msgs.map(out));
      } else {
        s.received(msgs);
        expected.push(...msgs.map(inn));
      }
    }
    assert.ok(statSync(join(dir, 'history/alice.jsonl')).size > 1 << 20);
    assert.deepEqual(s.history('alice', 20), expected.slice(-20));
    assert.deepEqual(s.history('alice', 1), expected.slice(-1));
    assert.deepEqual(s.history('alice', 12_300), expected.slice(-12_300));
    assert.deepEqual(s.history('alice', 20_000), expected);
    assert.deepEqual(s.history('alice', 25_000), expected);
  });

  it('fails with STORAGE_FAILED when the directory is not writable', { skip: isRoot && 'root ignores file modes' }, () => {
    const parent = freshDir();
    const dir = join(parent, 'data');
    chmodSync(parent, 0o500);
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.STORAGE_FAILED, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    chmodSync(parent, 0o700);
    openFile({ dir }).close();
    chmodSync(dir, 0o500);
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.STORAGE_FAILED, /lock/);
  });

  it('undoes a call whose history write fails: nothing of it is queued or received', { skip: isRoot && 'root ignores file modes' }, () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const kept = msg('alice');
    const seen = msg('alice');
    s.enqueue([kept]);
    s.received([seen]);
    const outboxSize = statSync(join(dir, 'outbox.jsonl')).size;
    const receivedSize = statSync(join(dir, 'received.jsonl')).size;
    chmodSync(join(dir, 'history'), 0o500);
    // alice's history file is open already; bob's cannot be created.
    const toBob = msg('bob');
    const toAlice = msg('alice');
    throwsCode(() => s.enqueue([toAlice, toBob]), ERROR_CODES.STORAGE_FAILED, /history\/bob\.jsonl/);
    const fromBob = msg('bob');
    throwsCode(() => s.received([fromBob]), ERROR_CODES.STORAGE_FAILED, /history\/bob\.jsonl/);
    assert.deepEqual(s.pending(), [kept]);
    assert.equal(s.hasReceived('bob', fromBob.id), false);
    assert.equal(statSync(join(dir, 'outbox.jsonl')).size, outboxSize);
    assert.equal(statSync(join(dir, 'received.jsonl')).size, receivedSize);
    assert.deepEqual(s.history('alice', 10), [out(kept), inn(seen)]);
    chmodSync(join(dir, 'history'), 0o700);
    s.enqueue([toBob]);
    s.close();
    const again = openFile({ dir });
    assert.deepEqual(again.pending(), [kept, toBob]);
    assert.equal(again.hasReceived('bob', fromBob.id), false);
  });

  it('undoes a commit whose write fails: none of its messages counts as received, and they can come again', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const before = msg('carol');
    s.received([before]);
    const receivedSize = statSync(join(dir, 'received.jsonl')).size;
    // A directory where carol's history file belongs: appending to it fails, even for root.
    const blocked = join(dir, 'history', 'dave.jsonl');
    mkdirSync(blocked);
    const [x, y] = [msg('carol'), msg('dave')];
    assert.equal(s.receive('carol', Buffer.from(x.id, 'hex'), x.ts, x.text), true);
    assert.equal(s.receive('dave', Buffer.from(y.id, 'hex'), y.ts, y.text), true);
    throwsCode(() => s.commit(), ERROR_CODES.STORAGE_FAILED, /history\/dave\.jsonl/);
    assert.equal(s.hasReceived('carol', x.id), false, 'taken back');
    assert.equal(s.hasReceived('dave', y.id), false);
    assert.equal(s.hasReceived('carol', before.id), true, 'what was recorded before stays');
    assert.equal(statSync(join(dir, 'received.jsonl')).size, receivedSize);
    assert.deepEqual(s.history('carol', 10), [inn(before)]);
    rmdirSync(blocked);
    assert.equal(s.receive('carol', Buffer.from(x.id, 'hex'), x.ts, x.text), true, 'new again');
    s.commit();
    s.close();
    const again = openFile({ dir });
    assert.equal(again.hasReceived('carol', x.id), true);
    assert.deepEqual(again.history('carol', 10), [inn(before), inn(x)]);
  });

  it('writes one line per message and one write per file for a whole batch of received messages', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    const batch = [msg('alice', 'a'), msg('alice', 'b'), msg('bob', 'c')];
    for (const m of batch) s.receive(m.peer, Buffer.from(m.id, 'hex'), m.ts, m.text);
    assert.equal(readFileSync(join(dir, 'received.jsonl'), 'utf8'), '', 'nothing before the commit');
    s.commit();
    assert.deepEqual(
      readFileSync(join(dir, 'received.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
      batch.map((m) => ({ peer: m.peer, id: m.id })),
    );
    assert.deepEqual(s.history('alice', 10), [inn(batch[0] as StoredMessage), inn(batch[1] as StoredMessage)]);
  });

  it('loses no acknowledged message when killed with SIGKILL mid-write (5 rounds)', async () => {
    const script = [
      "import { writeSync } from 'node:fs';",
      `import { FileMessageStore } from ${JSON.stringify(STORE_MODULE)};`,
      `import { newMessageId } from ${JSON.stringify(ID_MODULE)};`,
      'const store = FileMessageStore.open({ dir: process.argv[1] });',
      "const say = (line) => { const b = Buffer.from(line + '\\n'); for (let off = 0; off < b.length;) { try { off += writeSync(1, b, off); } catch (e) { if (e.code !== 'EAGAIN') throw e; } } };",
      "say('ready');",
      'const deadline = Date.now() + 20_000;',
      'for (let i = 0; Date.now() < deadline; i++) {',
      '  const id = newMessageId();',
      "  store.enqueue([{ id, peer: 'p' + (i % 3), ts: Date.now(), text: 'message ' + i + ' ' + 'x'.repeat(i % 300) }]);",
      '  say(id);',
      '}',
    ].join('\n');
    for (let round = 0; round < 5; round++) {
      const dir = join(freshDir(), 'data');
      const child = node(['--input-type=module', '-e', script, dir]);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const exited = once(child, 'exit');
      const deadline = Date.now() + 15_000;
      while (!stdout.includes('ready\n')) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `child did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      assert.equal(signal, 'SIGKILL', `child exited by itself (${code}): ${stderr}`);
      const lines = stdout.split('\n');
      lines.pop(); // a line cut by the kill, or ''
      const printed = lines.slice(1);
      assert.ok(printed.length > 0, 'the child enqueued something before the kill');
      const s = openFile({ dir });
      const pendingMsgs = s.pending();
      const pending = ids(pendingMsgs);
      assert.deepEqual(pending.slice(0, printed.length), printed);
      assert.ok(pending.length - printed.length <= 1, `${pending.length - printed.length} unacknowledged messages pending`);
      assert.equal(new Set(pending).size, pending.length);
      const inFlight = pending.length > printed.length ? pending.at(-1) : undefined;
      for (const p of ['p0', 'p1', 'p2']) {
        const hist = ids(s.history(p, 1_000_000));
        const expected = ids(pendingMsgs.filter((m) => m.peer === p));
        // A kill between the outbox and history writes leaves the in-flight message out of its history.
        if (hist.length < expected.length) assert.equal(expected.at(-1), inFlight);
        assert.deepEqual(hist, expected.slice(0, hist.length));
        assert.ok(hist.length >= expected.length - 1);
      }
      // The store goes on working where the child stopped.
      const after = msg('p0');
      s.enqueue([after]);
      s.close();
      assert.deepEqual(ids(openFile({ dir }).pending()), [...pending, after.id]);
    }
  });
});
