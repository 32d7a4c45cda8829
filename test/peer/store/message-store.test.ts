import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ERROR_CODES, isNatterError, type NatterErrorCode } from '../../../src/errors.ts';
import { defaultDataDir, fileSafeName } from '../../../src/peer/store/data-dir.ts';
import { FileMessageStore } from '../../../src/peer/store/file-message-store.ts';
import { MemoryMessageStore } from '../../../src/peer/store/memory-message-store.ts';
import { isMessageId, newMessageId } from '../../../src/peer/store/message-id.ts';
import type { HistoryEntry, MessageStore, StoredMessage } from '../../../src/peer/store/message-store.ts';

const STORE_MODULE = pathToFileURL(new URL('../../../src/peer/store/file-message-store.ts', import.meta.url).pathname).href;
const ID_MODULE = pathToFileURL(new URL('../../../src/peer/store/message-id.ts', import.meta.url).pathname).href;
const isRoot = process.getuid?.() === 0;

const tempDirs: string[] = [];
const stores: MessageStore[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
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
});

/** Gives back write permission a test took away, so the directory can be removed. */
function chmodTree(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o700);
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) chmodTree(join(dir, e.name));
}

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'natter-store-'));
  tempDirs.push(dir);
  return dir;
}

/** Opens a FileMessageStore that afterEach closes. */
function openFile(options: Parameters<typeof FileMessageStore.open>[0]): FileMessageStore {
  const s = FileMessageStore.open(options);
  stores.push(s);
  return s;
}

let clock = 1_700_000_000_000;
function msg(peer: string, text = `hello ${peer}`): StoredMessage {
  return { id: newMessageId(), peer, ts: clock++, text };
}

function ids(msgs: readonly { id: string }[]): string[] {
  return msgs.map((m) => m.id);
}

function out(m: StoredMessage): HistoryEntry {
  return { ts: m.ts, dir: 'out', id: m.id, text: m.text };
}

function inn(m: StoredMessage): HistoryEntry {
  return { ts: m.ts, dir: 'in', id: m.id, text: m.text };
}

function throwsCode(fn: () => unknown, code: NatterErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isNatterError(err, code), `expected ${code}, got ${String(err)}`);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

/** The lines of a JSON-lines file, each parsed (throws on a line that is not JSON). */
function records(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `${file} ends with a newline`);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as unknown);
}

/** Runs `node` with `args`, without the coverage variable (a SIGKILLed child would leave a torn coverage file). */
function node(args: string[]): ChildProcess {
  const env = { ...process.env };
  delete env.NODE_V8_COVERAGE;
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = node(['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

type Factory = (options?: { isHistoryOn?: boolean; receivedWindow?: number }) => MessageStore;

const factories: Array<[string, Factory]> = [
  [
    'MemoryMessageStore',
    (options = {}) => {
      const s = new MemoryMessageStore(options);
      stores.push(s);
      return s;
    },
  ],
  ['FileMessageStore', (options = {}) => openFile({ dir: join(freshDir(), 'data'), ...options })],
];

for (const [name, make] of factories) {
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
      const all = [out(sent[0] as StoredMessage), inn(got[0] as StoredMessage), out(sent[1] as StoredMessage), inn(got[1] as StoredMessage)];
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

    it('closes idempotently and refuses to record afterwards', () => {
      const s = make();
      s.close();
      s.close();
      throwsCode(() => s.enqueue([msg('alice')]), ERROR_CODES.STORAGE_FAILED);
      throwsCode(() => s.received([msg('alice')]), ERROR_CODES.STORAGE_FAILED);
      throwsCode(() => s.delivered('alice', [newMessageId()]), ERROR_CODES.STORAGE_FAILED);
    });
  });
}

describe('MemoryMessageStore', () => {
  it('keeps at most historyLimit entries per peer', () => {
    const s = new MemoryMessageStore({ historyLimit: 3 });
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
    assert.ok(latest.every((m) => s.hasReceived(m.peer, m.id)), 'every other sender is remembered');
  });

  it('validates its options', () => {
    throwsCode(() => new MemoryMessageStore({ historyLimit: 0 }), ERROR_CODES.INVALID_ARGUMENT);
    throwsCode(() => new MemoryMessageStore({ receivedWindow: 1.5 }), ERROR_CODES.INVALID_ARGUMENT);
    throwsCode(() => FileMessageStore.open({ dir: freshDir(), receivedWindow: -1 }), ERROR_CODES.INVALID_ARGUMENT);
  });
});

describe('message ids and names', () => {
  it('makes ids of 32 lower-case hex digits, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newMessageId();
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.ok(isMessageId(id));
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
    assert.equal(isMessageId('0'.repeat(31)), false);
    assert.equal(isMessageId(42), false);
  });

  it('maps names to distinct file-safe names', () => {
    assert.equal(fileSafeName('..'), '%2E%2E');
    assert.equal(fileSafeName('a.b'), 'a%2Eb');
    assert.equal(fileSafeName('a*b/c'), 'a%2Ab%2Fc');
    assert.equal(fileSafeName('zoë'), 'zo%C3%AB');
    const names = ['..', '.', '%2E', 'a.b', 'a%2Eb', '\ud800', '%uD800', '*', '', 'é', 'e\u0301'];
    const safe = names.map(fileSafeName);
    assert.equal(new Set(safe).size, names.length);
    for (const s of safe) assert.match(s, /^[A-Za-z0-9%_\-!~'()]*$/);
  });

  it('puts the default data directory under XDG_DATA_HOME, else ~/.local/share', () => {
    assert.equal(defaultDataDir('a.b', { XDG_DATA_HOME: '/data' }), join('/data', 'natter', 'a%2Eb'));
    assert.equal(defaultDataDir('bob', { XDG_DATA_HOME: '' }), join(homedir(), '.local', 'share', 'natter', 'bob'));
    assert.equal(defaultDataDir('bob', {}), join(homedir(), '.local', 'share', 'natter', 'bob'));
  });
});

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

  it('refuses a directory locked by this process, and unlocks on close', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(`process ${process.pid}\\b`));
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    s.close();
    assert.equal(existsSync(join(dir, 'lock')), false);
    openFile({ dir }).close();
  });

  it('refuses a directory locked by another live process, and takes it over once that one is dead', async () => {
    const dir = join(freshDir(), 'data');
    openFile({ dir }).close();
    const sleeper = node(['-e', 'setTimeout(() => {}, 60_000)']);
    assert.ok(sleeper.pid !== undefined);
    writeFileSync(join(dir, 'lock'), `${sleeper.pid}\n`);
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(`process ${sleeper.pid}`));
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
    const s = openFile({ dir });
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid));
    s.close();
  });

  it('takes over a stale lock: a dead pid, garbage, or our own pid left by an earlier process', async () => {
    const dir = join(freshDir(), 'data');
    openFile({ dir }).close();
    for (const content of [`${await deadPid()}\n`, 'garbage', '', '0', '-1', `${process.pid}`]) {
      writeFileSync(join(dir, 'lock'), content);
      const s = openFile({ dir });
      assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid), content);
      s.close();
      assert.equal(existsSync(join(dir, 'lock')), false);
    }
  });

  it('leaves a lock that is no longer ours when closing', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    writeFileSync(join(dir, 'lock'), '999999999\n');
    s.close();
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), '999999999\n');
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
