/**
 * Rooms between real PeerNodes on 127.0.0.1 (src/peer/rooms, protocol.md
 * §7.2): invitations, fan-out with receipts per member, catch-up from any
 * member, removal, and refusals of what is forged or comes from outside.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, it } from 'node:test';
import { ERROR_CODES, NatterError } from '../../../src/errors.ts';
import { PeerNode, type PeerNodeOptions } from '../../../src/peer/peer-node.ts';
import { signItem, readItem } from '../../../src/peer/rooms/room-item.ts';
import type { RoomView } from '../../../src/peer/rooms/rooms.ts';
import { MemoryRoomStore, type RoomStore } from '../../../src/peer/store/room-store.ts';
import { keyPairFromSeed, type KeyPair } from '../../../src/transport/secure.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { Book } from '../../helpers/book.ts';
import { until } from '../../helpers/until.ts';

const nodes: PeerNode[] = [];
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const c of cleanup.splice(0)) c();
});

interface Peer {
  node: PeerNode;
  keyPair: KeyPair;
  store: RoomStore;
  events: unknown[][];
}

const seeds = new Map<string, Buffer>();
function keysOf(name: string): KeyPair {
  let seed = seeds.get(name);
  if (seed === undefined) {
    seed = randomBytes(32);
    seeds.set(name, seed);
  }
  return keyPairFromSeed(seed);
}

async function start(book: Book, name: string, options: Partial<PeerNodeOptions> & { port?: number } = {}): Promise<Peer> {
  const { roomStore: store = new MemoryRoomStore(), port = 0, ...rest } = options;
  const keyPair = keysOf(name);
  const node = new PeerNode({
    name,
    discovery: book,
    listenPort: port,
    keyPair,
    roomStore: store,
    retryIntervalMs: 40,
    maxRetryIntervalMs: 200,
    stopGraceMs: 300,
    ...rest,
  });
  const events: unknown[][] = [];
  const rooms = node.rooms;
  for (const type of ['joined', 'invite', 'message', 'members', 'left', 'queued', 'delivered', 'problem'] as const) {
    rooms.on(type, (...args: unknown[]) => events.push([type, ...args.map((a) => (a instanceof NatterError ? a.code : a))]));
  }
  node.on('problem', (err) => events.push(['node-problem', err.code]));
  const address = await node.start();
  book.entries.set(name, { name, ip: '127.0.0.1', port: address.port, key: keyPair.publicKey });
  nodes.push(node);
  return { node, keyPair, store, events };
}

async function stop(p: Peer): Promise<void> {
  await p.node.stop();
  nodes.splice(nodes.indexOf(p.node), 1);
}

const ofType = (p: Peer, type: string): unknown[][] => p.events.filter((e) => e[0] === type);
const texts = (p: Peer): string[] => ofType(p, 'message').map((e) => (e[2] as { text: string }).text);
const names = (view: RoomView): string[] => view.members.map((m) => m.name).sort();

/** amy creates #club and invites the others, who join. */
async function club(book: Book, others: string[]): Promise<{ amy: Peer; peers: Peer[]; room: string }> {
  const amy = await start(book, 'amy');
  const peers: Peer[] = [];
  for (const n of others) peers.push(await start(book, n));
  const room = amy.node.rooms.create('club').id;
  for (const p of peers) await amy.node.rooms.invite(room, p.node.name);
  for (const p of peers) {
    await until(() => ofType(p, 'invite').length > 0, `${p.node.name}'s invitation`, 20_000);
    p.node.rooms.join(room);
  }
  await until(
    () =>
      peers.every((p) => p.node.rooms.members(room).members.length === others.length + 1) &&
      amy.node.rooms.members(room).members.length === others.length + 1,
    'everyone in',
    60_000,
  );
  return { amy, peers, room };
}

describe('rooms', () => {
  it('an invitation names the room and who sent it; joining brings the member list', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob', 'cat']);
    const [bob] = peers as [Peer];
    const [invite] = ofType(bob, 'invite');
    assert.ok(invite !== undefined);
    assert.equal((invite[1] as RoomView).name, 'club');
    assert.equal(invite[2], 'amy');
    const [joined] = ofType(bob, 'joined');
    assert.ok(joined !== undefined);
    assert.equal((joined[1] as RoomView).id, room);
    assert.deepEqual(names(amy.node.rooms.members(room)), ['amy', 'bob', 'cat']);
    assert.ok(amy.node.rooms.members(room).members.find((m) => m.name === 'amy')?.isAdmin);
  });

  it('a message reaches every member once, with a receipt from each', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob', 'cat', 'dan']);
    const sent = amy.node.rooms.send(room, 'hello all');
    await until(() => ofType(amy, 'delivered').length === 3, 'three receipts');
    assert.deepEqual(
      ofType(amy, 'delivered')
        .map((e) => e[2])
        .sort(),
      ['bob', 'cat', 'dan'],
    );
    assert.ok(ofType(amy, 'delivered').every((e) => e[3] === sent.id));
    for (const p of peers) {
      await until(() => texts(p).length === 1, `${p.node.name} has it`);
      const [m] = ofType(p, 'message');
      assert.ok(m !== undefined);
      assert.deepEqual([(m[2] as { from: string }).from, (m[2] as { id: string }).id], ['amy', sent.id]);
    }
    assert.deepEqual(
      ofType(amy, 'queued').map((e) => (e[2] as { text: string }).text),
      ['hello all'],
    );
  });

  it("every member ends with the same history, in each author's order", async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob', 'cat']);
    const all = [amy, ...peers];
    for (let i = 0; i < 10; i++) for (const p of all) p.node.rooms.send(room, `${p.node.name}${i}`);
    await until(() => all.every((p) => p.node.rooms.history(room, 100).entries.length === 30), 'all 30 everywhere', 10_000);
    const orders = all.map((p) => p.node.rooms.history(room, 100).entries.map((e) => e.id));
    assert.deepEqual(orders[1], orders[0]);
    assert.deepEqual(orders[2], orders[0]);
    for (const p of all) {
      const mine = amy.node.rooms
        .history(room, 100)
        .entries.filter((e) => e.from === p.node.name)
        .map((e) => e.text);
      assert.deepEqual(
        mine,
        Array.from({ length: 10 }, (_, i) => `${p.node.name}${i}`),
      );
    }
  });

  it('a member who was away catches up from another member while the author is gone', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob', 'cat']);
    const [bob, cat] = peers as [Peer, Peer];
    const catStore = cat.store;
    const catPort = cat.node.address?.port as number;
    await stop(cat);
    for (const t of ['one', 'two', 'three']) amy.node.rooms.send(room, t);
    await until(() => texts(bob).length === 3, 'bob has them');
    await stop(amy);
    const back = await start(book, 'cat', { roomStore: catStore, port: catPort });
    await until(() => texts(back).length === 3, 'cat caught up from bob');
    assert.deepEqual(texts(back), ['one', 'two', 'three']);
    assert.deepEqual(
      back.node.rooms.history(room, 10).entries.map((e) => e.from),
      ['amy', 'amy', 'amy'],
    );
  });

  it('a removed member gets nothing new, learns it was removed, and what it still sends is refused', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob', 'cat']);
    const [bob, cat] = peers as [Peer, Peer];
    amy.node.rooms.kick(room, 'cat');
    await until(() => ofType(cat, 'left').length === 1, 'cat told');
    assert.equal(ofType(cat, 'left')[0]?.[2], 'removed');
    await until(() => bob.node.rooms.members(room).members.length === 2, 'bob sees it');
    amy.node.rooms.send(room, 'secret');
    await until(() => texts(bob).includes('secret'), 'bob has it');
    assert.throws(() => cat.node.rooms.send(room, 'let me in'), { code: ERROR_CODES.NOT_A_MEMBER });
    // cat signs a message anyway and sends it to bob on their open chat: refused.
    const forged = signItem(
      cat.keyPair,
      { room, seq: 9, clock: Date.now(), body: { kind: 'message', text: 'still here' } },
      { maxNameBytes: 32, maxTextBytes: 4096 },
    );
    const client = await RawClient.connect(bob.node.address?.port as number, { keyPair: cat.keyPair });
    cleanup.push(() => client.destroy());
    client.send({ type: 'CONN', name: 'cat', ip: '', port: 1 });
    assert.deepEqual(await client.next(), { type: 'RESP', accept: true, reason: '' });
    client.send({ type: 'RITEMS', items: [forged.bytes] });
    const refusal = await nextOf(client, 'ERROR');
    assert.equal(refusal.type === 'ERROR' && refusal.code, ERROR_CODES.NOT_A_MEMBER);
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!texts(bob).includes('still here'));
    assert.ok(!texts(cat).includes('secret'));
  });

  it('a declined invitation reaches the inviter, and is not offered again', async () => {
    const book = new Book();
    const amy = await start(book, 'amy');
    const bob = await start(book, 'bob');
    const room = amy.node.rooms.create('club').id;
    await amy.node.rooms.invite(room, 'bob');
    await until(() => ofType(bob, 'invite').length === 1, 'the invitation');
    assert.deepEqual(
      bob.node.rooms.list().map((r) => [r.name, r.status]),
      [['club', 'invited']],
    );
    bob.node.rooms.decline(room);
    assert.deepEqual(bob.node.rooms.list(), []);
    await until(() => !amy.node.rooms.isRoomName('bob'), 'amy holds no invitation for bob');
    assert.deepEqual(
      amy.node.rooms.members(room).members.map((m) => m.name),
      ['amy'],
    );
    assert.throws(() => bob.node.rooms.join(room), { code: ERROR_CODES.NO_SUCH_ROOM });
    assert.equal(ofType(bob, 'invite').length, 1);
  });

  it('a member who left can be invited again, and sees what is said after it joins again', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob']);
    const [bob] = peers as [Peer];
    bob.node.rooms.leave(room);
    await until(() => amy.node.rooms.members(room).members.length === 1, 'amy sees bob leave');
    assert.deepEqual(
      ofType(bob, 'left').map((e) => e[2]),
      ['left'],
    );
    amy.node.rooms.send(room, 'alone');
    await amy.node.rooms.invite(room, 'bob');
    await until(() => ofType(bob, 'invite').length === 2, 'the second invitation');
    bob.node.rooms.join(room);
    await until(() => amy.node.rooms.members(room).members.length === 2, 'bob back');
    amy.node.rooms.send(room, 'welcome back');
    await until(() => texts(bob).includes('welcome back'), 'bob has it');
  });

  it('a forged record (bad signature, or signed by a non-admin) changes nothing', async () => {
    const book = new Book();
    const { peers, room } = await club(book, ['bob', 'cat']);
    const [bob, cat] = peers as [Peer, Peer];
    const limits = { maxNameBytes: 32, maxTextBytes: 4096 };
    const mallory = keyPairFromSeed(randomBytes(32));
    // cat (no admin) invites mallory and makes himself admin: both signed by cat, neither counts.
    const invite = signItem(
      cat.keyPair,
      { room, seq: 50, clock: Date.now(), body: { kind: 'invite', key: mallory.publicKey, label: 'mal' } },
      limits,
    );
    const admin = signItem(
      cat.keyPair,
      { room, seq: 51, clock: Date.now() + 1, body: { kind: 'admin', key: cat.keyPair.publicKey } },
      limits,
    );
    const kick = signItem(
      cat.keyPair,
      { room, seq: 52, clock: Date.now() + 2, body: { kind: 'kick', key: keysOf('amy').publicKey, upTo: 0 } },
      limits,
    );
    // And a record in amy's name with a broken signature.
    const amyKick = Buffer.from(
      signItem(keysOf('amy'), { room, seq: 60, clock: Date.now(), body: { kind: 'kick', key: bob.keyPair.publicKey, upTo: 0 } }, limits)
        .bytes,
    );
    amyKick[amyKick.length - 1] = (amyKick[amyKick.length - 1] as number) ^ 0xff;
    assert.throws(() => readItem(amyKick, limits), { code: ERROR_CODES.BAD_SIGNATURE });
    const client = await RawClient.connect(bob.node.address?.port as number, { keyPair: cat.keyPair });
    cleanup.push(() => client.destroy());
    client.send({ type: 'CONN', name: 'cat', ip: '', port: 1 });
    assert.deepEqual(await client.next(), { type: 'RESP', accept: true, reason: '' });
    client.send({ type: 'RITEMS', items: [amyKick] });
    const refusal = await nextOf(client, 'ERROR');
    assert.equal(refusal.type === 'ERROR' && refusal.code, ERROR_CODES.BAD_SIGNATURE);
    client.send({ type: 'RITEMS', items: [invite.bytes, admin.bytes, kick.bytes] });
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(names(bob.node.rooms.members(room)), ['amy', 'bob', 'cat']);
    assert.equal(bob.node.rooms.members(room).members.find((m) => m.name === 'cat')?.isAdmin, false);
  });

  it('an outsider who knows the room id gets nothing and is refused', async () => {
    const book = new Book();
    const { amy, room } = await club(book, ['bob']);
    const eve = keyPairFromSeed(randomBytes(32));
    book.entries.set('eve', { name: 'eve', ip: '127.0.0.1', port: 1, key: eve.publicKey });
    const client = await RawClient.connect(amy.node.address?.port as number, { keyPair: eve });
    cleanup.push(() => client.destroy());
    client.send({ type: 'CONN', name: 'eve', ip: '', port: 1 });
    assert.deepEqual(await client.next(), { type: 'RESP', accept: true, reason: '' });
    client.send({ type: 'RHAVE', room, isAsking: true, have: [] });
    const refusal = await nextOf(client, 'ERROR');
    assert.equal(refusal.type === 'ERROR' && refusal.code, ERROR_CODES.NOT_A_MEMBER);
    const message = signItem(
      eve,
      { room, seq: 1, clock: Date.now(), body: { kind: 'message', text: 'hi' } },
      { maxNameBytes: 32, maxTextBytes: 4096 },
    );
    client.send({ type: 'RITEMS', items: [message.bytes, Buffer.from('garbage')] });
    const again = await nextOf(client, 'ERROR');
    assert.equal(again.type === 'ERROR' && again.code, ERROR_CODES.NOT_A_MEMBER);
    amy.node.rooms.send(room, 'members only');
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(!client.pending.some((m) => m.type === 'RITEMS'), 'no room item reaches an outsider');
    assert.equal(amy.node.rooms.history(room, 10).entries.length, 1);
  });

  it("32 members on one machine all write at once: each shows the 31 others' messages once, in one order", async () => {
    const book = new Book();
    const others = Array.from({ length: 31 }, (_, i) => `p${i}`);
    const { amy, peers, room } = await club(book, others);
    const all = [amy, ...peers];
    for (const p of all) p.node.rooms.send(room, `from ${p.node.name}`);
    await until(() => all.every((p) => p.node.rooms.history(room, 100).entries.length === 32), 'every message everywhere', 60_000);
    const order = amy.node.rooms.history(room, 100).entries.map((e) => e.id);
    for (const p of all) {
      assert.deepEqual(
        p.node.rooms.history(room, 100).entries.map((e) => e.id),
        order,
      );
      assert.equal(new Set(texts(p)).size, 31);
      assert.equal(texts(p).length, 31, 'each shown once');
    }
  });

  it('garbage, an unknown room, a clock far ahead: a clear error to the sender each, and the chat goes on', async () => {
    const book = new Book();
    const { amy, peers, room } = await club(book, ['bob']);
    const [bob] = peers as [Peer];
    const limits = { maxNameBytes: 32, maxTextBytes: 4096 };
    const client = await RawClient.connect(amy.node.address?.port as number, { keyPair: bob.keyPair });
    cleanup.push(() => client.destroy());
    client.send({ type: 'CONN', name: 'bob', ip: '', port: 1 });
    assert.deepEqual(await client.next(), { type: 'RESP', accept: true, reason: '' });
    const refusal = async (items: Buffer[]): Promise<string> => {
      client.send({ type: 'RITEMS', items });
      const e = await nextOf(client, 'ERROR');
      return e.type === 'ERROR' ? e.code : '';
    };
    assert.equal(await refusal([Buffer.from('garbage')]), ERROR_CODES.TRUNCATED);
    const ahead = signItem(
      bob.keyPair,
      { room, seq: 2, clock: Date.now() + 10 * 60_000, body: { kind: 'message', text: 'from the future' } },
      limits,
    );
    assert.equal(await refusal([ahead.bytes]), ERROR_CODES.CLOCK_AHEAD);
    const elsewhere = signItem(
      bob.keyPair,
      { room: 'ab'.repeat(16), seq: 1, clock: Date.now(), body: { kind: 'message', text: 'where?' } },
      limits,
    );
    assert.equal(await refusal([elsewhere.bytes]), ERROR_CODES.NO_SUCH_ROOM);
    client.send({ type: 'RHAVE', room: 'ab'.repeat(16), isAsking: true, have: [] });
    assert.equal((await nextOf(client, 'ERROR')).type === 'ERROR', true);
    // The chat is still open, and a good item in the same frame as a bad one counts.
    const good = signItem(bob.keyPair, { room, seq: 2, clock: Date.now(), body: { kind: 'message', text: 'still fine' } }, limits);
    assert.equal(await refusal([Buffer.from('x'), good.bytes]), ERROR_CODES.TRUNCATED);
    await until(() => amy.node.rooms.history(room, 10).entries.some((e) => e.text === 'still fine'), 'the good item counted');
    assert.ok(!amy.node.rooms.history(room, 10).entries.some((e) => e.text === 'from the future'));
  });

  it('commands on unknown rooms, and by members without the right, are clear errors', async () => {
    const book = new Book();
    const { peers, room } = await club(book, ['bob']);
    const [bob] = peers as [Peer];
    assert.throws(() => bob.node.rooms.send('nope', 'x'), { code: ERROR_CODES.NO_SUCH_ROOM });
    assert.throws(() => bob.node.rooms.kick(room, 'amy'), { code: ERROR_CODES.NOT_ALLOWED });
    await assert.rejects(bob.node.rooms.invite(room, 'zed'), { code: ERROR_CODES.NOT_ALLOWED });
    assert.throws(() => bob.node.rooms.join(room), { code: ERROR_CODES.NO_SUCH_ROOM });
    assert.throws(() => bob.node.rooms.create('two words'), { code: ERROR_CODES.INVALID_NAME });
  });
});

async function nextOf(client: RawClient, type: string): Promise<import('../../../src/protocol/messages.ts').Message> {
  for (;;) {
    const m = await client.next();
    if (m.type === type) return m;
  }
}
