/**
 * Rooms end to end: `natter chat --json` processes on a friends table on
 * 127.0.0.1, the JSON room commands and events of docs/chat.md. Members go
 * away and come back, the author dies with kill -9 in the middle of a burst,
 * a member is removed: every member still ends with every message exactly
 * once, in each author's order, in one history order they all agree on.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { startDirectoryProcess, type NatterProcess } from '../helpers/cli.ts';
import { cast, type Cast } from '../helpers/room-cast.ts';

const procs: ChatProc[] = [];
const directories: NatterProcess[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exit();
  }
  for (const d of directories.splice(0)) {
    d.kill('SIGKILL');
    await d.exited;
  }
});

async function user(c: Cast, name: string): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--friends', c.table, '--retry', '0.2'], { XDG_CONFIG_HOME: c.homes.get(name) as string });
  procs.push(p);
  await p.next('ready');
  return p;
}

async function stop(p: ChatProc, signal: NodeJS.Signals): Promise<void> {
  p.kill(signal);
  await p.exit();
  procs.splice(procs.indexOf(p), 1);
}

/** Asks for the member list until it has `n` members. */
async function membersUntil(p: ChatProc, room: string, n: number): Promise<Event> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    p.send({ cmd: 'room-members', room });
    const e = await p.next('room-members', (m) => m.room === room);
    if ((e.members as string[]).length === n) return e;
    if (Date.now() > deadline) throw new Error(`members of ${room} stayed ${JSON.stringify(e.members)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** amy makes #club and invites the others, who join; returns the room id once everyone sees everyone. */
async function club(amy: ChatProc, others: ChatProc[], names: string[]): Promise<string> {
  amy.send({ cmd: 'room-create', name: 'club' });
  const room = (await amy.next('room-joined')).room as string;
  for (const n of names) amy.send({ cmd: 'room-invite', room, to: n });
  for (const p of others) {
    const invite = await p.next('room-invite');
    assert.deepEqual([invite.room, invite.name, invite.from], [room, 'club', 'amy']);
    p.send({ cmd: 'room-join', room: 'club' });
    await p.next('room-joined');
  }
  for (const p of [amy, ...others]) await membersUntil(p, room, others.length + 1);
  return room;
}

function roomMessages(p: ChatProc, room: string): Event[] {
  return p.allEvents().filter((e) => e.type === 'room-message' && e.room === room);
}

async function history(p: ChatProc, room: string): Promise<Event[]> {
  p.send({ cmd: 'room-history', room, count: 1000 });
  return (await p.next('room-history', (e) => e.room === room)).entries as Event[];
}

async function until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('natter chat --json: rooms', () => {
  it('a room of 5: two away, the author killed mid-burst; everyone ends with every message once, in one order', async () => {
    const names = ['amy', 'bob', 'cat', 'dan', 'eve'];
    const c = await cast(names);
    let [amy, bob, cat, dan, eve] = [] as ChatProc[];
    amy = await user(c, 'amy');
    bob = await user(c, 'bob');
    cat = await user(c, 'cat');
    dan = await user(c, 'dan');
    eve = await user(c, 'eve');
    const room = await club(amy, [bob, cat, dan, eve], names.slice(1));

    await stop(dan, 'SIGTERM');
    await stop(eve, 'SIGTERM');
    const has = (p: ChatProc, ids: string[]): boolean => ids.every((id) => roomMessages(p, room).some((m) => m.id === id));
    for (let i = 0; i < 3; i++) bob.send({ cmd: 'room-send', room: 'club', text: `b${i}` });
    for (let i = 0; i < 10; i++) amy.send({ cmd: 'room-send', room, text: `a${i}` });
    await amy.next('queued', (e) => e.text === 'a9');
    const first = amy
      .allEvents()
      .filter((e) => e.type === 'queued')
      .map((e) => e.id as string);
    await until(() => has(bob, first) && has(cat, first), 'bob and cat have the first ten');
    // The burst: amy dies with kill -9 in the middle of it.
    for (let i = 10; i < 60; i++) amy.send({ cmd: 'room-send', room, text: `a${i}` });
    await amy.next('queued', (e) => e.text === 'a15');
    await stop(amy, 'SIGKILL');
    const entered = amy
      .allEvents()
      .filter((e) => e.type === 'queued')
      .map((e) => e.id as string);

    // dan and eve come back while the author is dead: bob and cat have what they missed.
    dan = await user(c, 'dan');
    eve = await user(c, 'eve');
    const bobIds = bob
      .allEvents()
      .filter((e) => e.type === 'queued' && e.room === room)
      .map((e) => e.id as string);
    assert.equal(bobIds.length, 3);
    const known = (): string[] => [...new Set([...roomMessages(bob, room), ...roomMessages(cat, room)].map((m) => m.id as string))];
    await until(
      () => has(dan, first) && has(eve, first) && has(dan, bobIds) && has(eve, bobIds) && has(dan, known()) && has(eve, known()),
      'dan and eve caught up from bob and cat',
    );

    // amy comes back: whatever she recorded but had not sent goes out now.
    amy = await user(c, 'amy');
    const amyIds = (await history(amy, room)).filter((e) => e.from === 'amy').map((e) => e.id as string);
    assert.ok(
      amyIds.length >= entered.length && entered.every((id) => amyIds.includes(id)),
      'every message amy entered is in her room store',
    );
    for (const p of [bob, cat, dan, eve]) await until(() => has(p, amyIds), 'everything amy recorded reached everyone');

    const orders = [];
    for (const p of [amy, bob, cat, dan, eve]) {
      const received = roomMessages(p, room);
      assert.equal(new Set(received.map((m) => m.id)).size, received.length, 'each message shown once');
      const h = await history(p, room);
      orders.push(h.map((e) => e.id));
      const amyTexts = h.filter((e) => e.from === 'amy').map((e) => e.text);
      assert.deepEqual(
        amyTexts,
        amyTexts.map((_, i) => `a${i}`),
        "amy's messages in the order she wrote them",
      );
      assert.deepEqual(
        h.filter((e) => e.from === 'bob').map((e) => e.text),
        ['b0', 'b1', 'b2'],
      );
    }
    for (const o of orders) assert.deepEqual(o, orders[0], 'one history order everywhere');
  });

  it('/who marks the members of my rooms, the rooms each shares, and whether each is reachable now', async () => {
    const c = await cast(['amy', 'bob', 'cat']);
    const amy = await user(c, 'amy');
    const bob = await user(c, 'bob');
    await user(c, 'cat');
    const room = await club(amy, [bob], ['bob']);
    type Row = { name: string; connected?: boolean; rooms?: string[]; reachable?: boolean };
    const who = async (): Promise<Map<string, Row>> => {
      amy.send({ cmd: 'who' });
      const rows = (await amy.next('who')).peers as Row[];
      return new Map(rows.map((r) => [r.name, r]));
    };
    const now = await who();
    assert.deepEqual([now.get('bob')?.rooms, now.get('bob')?.reachable], [['club'], true]);
    assert.deepEqual([now.get('cat')?.rooms, now.get('cat')?.reachable], [undefined, undefined], 'cat shares no room');
    assert.equal(now.get('amy'), undefined);

    await stop(bob, 'SIGKILL');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const bobRow = (await who()).get('bob');
      assert.deepEqual(bobRow?.rooms, ['club'], 'still a member while away');
      if (bobRow?.reachable === false) break;
      if (Date.now() > deadline) throw new Error(`bob stayed ${JSON.stringify(bobRow)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    amy.send({ cmd: 'room-leave', room });
    await amy.next('room-left');
    assert.equal((await who()).get('bob')?.rooms, undefined, 'a room left is shared no more');
  });

  it('/who lists the members of my rooms that the directory does not list now', async () => {
    const d = await startDirectoryProcess(['--alive-interval', '0.5']);
    directories.push(d.proc);
    const target = `127.0.0.1:${d.port}`;
    const start = async (name: string): Promise<ChatProc> => {
      const p = new ChatProc(['--name', name, '--directory', target, '--auto-accept', '--retry', '0.2']);
      procs.push(p);
      await p.next('ready');
      return p;
    };
    const amy = await start('amy');
    const bob = await start('bob');
    await club(amy, [bob], ['bob']);
    amy.send({ cmd: 'who' });
    const listed = await amy.next('who');
    assert.deepEqual(
      (listed.peers as { name: string; rooms?: string[]; reachable?: boolean }[])
        .filter((p) => p.name === 'bob')
        .map((p) => [p.rooms, p.reachable]),
      [[['club'], true]],
    );
    assert.equal(listed.members, undefined, 'every member is listed');

    await stop(bob, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    for (;;) {
      amy.send({ cmd: 'who' });
      const who = await amy.next('who');
      if (!(who.peers as { name: string }[]).some((p) => p.name === 'bob')) {
        assert.deepEqual(who.members, [{ name: 'bob', rooms: ['club'], reachable: false }]);
        break;
      }
      if (Date.now() > deadline) throw new Error(`the directory still lists bob: ${JSON.stringify(who)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('a removed member gets nothing new, and its room commands are refused; delivery is told per member', async () => {
    const names = ['amy', 'bob', 'cat'];
    const c = await cast(names);
    const amy = await user(c, 'amy');
    const bob = await user(c, 'bob');
    const cat = await user(c, 'cat');
    const room = await club(amy, [bob, cat], ['bob', 'cat']);
    amy.send({ cmd: 'room-send', room, text: 'hello both' });
    const queued = await amy.next('queued', (e) => e.room === room);
    const delivered = [await amy.next('delivered', (e) => e.id === queued.id), await amy.next('delivered', (e) => e.id === queued.id)];
    assert.deepEqual(delivered.map((d) => d.to).sort(), ['bob', 'cat']);
    assert.deepEqual((await cat.next('room-message')).text, 'hello both');

    amy.send({ cmd: 'room-kick', room, name: 'cat' });
    assert.equal((await cat.next('room-left')).reason, 'removed');
    await membersUntil(bob, room, 2);
    amy.send({ cmd: 'room-send', room, text: 'just us' });
    assert.equal((await bob.next('room-message', (e) => e.text === 'just us')).from, 'amy');
    cat.send({ cmd: 'room-send', room, text: 'me too' });
    assert.equal((await cat.next('error', (e) => e.code === 'NATTER_ERR_NOT_A_MEMBER')).code, 'NATTER_ERR_NOT_A_MEMBER');
    bob.send({ cmd: 'room-send', room, text: 'ok' });
    await amy.next('room-message', (e) => e.text === 'ok');
    assert.ok(!roomMessages(cat, room).some((m) => m.text === 'just us' || m.text === 'ok'), 'nothing new reaches a removed member');
    assert.ok(!roomMessages(bob, room).some((m) => m.text === 'me too'));
    // Bad commands get clear errors and nobody falls over.
    amy.send({ cmd: 'room-send', room: 'nowhere', text: 'x' });
    assert.equal((await amy.next('error', (e) => e.code === 'NATTER_ERR_NO_SUCH_ROOM')).code, 'NATTER_ERR_NO_SUCH_ROOM');
    amy.send({ cmd: 'room-invite', room });
    assert.equal((await amy.next('error')).code, 'NATTER_ERR_BAD_COMMAND');
    bob.send({ cmd: 'room-kick', room, name: 'amy' });
    assert.equal((await bob.next('error', (e) => e.code !== 'NATTER_ERR_NOT_A_MEMBER')).code, 'NATTER_ERR_NOT_ALLOWED');
    // No member was shown an error it did not cause: races between what members know are settled quietly.
    assert.deepEqual(
      [amy, bob].flatMap((p) =>
        p
          .allEvents()
          .filter(
            (e) =>
              e.type === 'error' &&
              e.code !== 'NATTER_ERR_NO_SUCH_ROOM' &&
              e.code !== 'NATTER_ERR_BAD_COMMAND' &&
              e.code !== 'NATTER_ERR_NOT_ALLOWED',
          ),
      ),
      [],
    );
  });
});
