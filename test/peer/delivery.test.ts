/**
 * Message ids, receipts and the outbox (protocol.md §7.1) between real
 * PeerNodes on 127.0.0.1, with FileMessageStores in fresh directories.
 */
import assert from 'node:assert/strict';

import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { PeerInfo } from '../../src/discovery/discovery.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { FileMessageStore } from '../../src/peer/store/file-message-store.ts';
import { MemoryMessageStore } from '../../src/peer/store/memory-message-store.ts';
import type { MessageStore } from '../../src/peer/store/message-store.ts';
import { PeerNode, type PeerNodeOptions } from '../../src/peer/peer-node.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { newKeyPair, RawClient } from '../helpers/raw-client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { Book } from '../helpers/book.ts';
import { until } from '../helpers/until.ts';

const nodes: PeerNode[] = [];
const stores: MessageStore[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const s of stores.splice(0)) s.close();
});

function dataDir(): string {
  return tempDir('delivery');
}

function openStore(dir: string): FileMessageStore {
  const store = FileMessageStore.open({ dir });
  stores.push(store);
  return store;
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Started {
  node: PeerNode;
  /** Every event, in order, as [type, ...args]. */
  events: unknown[][];
}

async function start(book: Book, name: string, options: Partial<PeerNodeOptions> & { port?: number } = {}): Promise<Started> {
  const { port = 0, ...rest } = options;
  const node = new PeerNode({
    name,
    discovery: book,
    listenPort: port,
    retryIntervalMs: 40,
    maxRetryIntervalMs: 200,
    stopGraceMs: 500,
    ...rest,
  });
  const events: unknown[][] = [];
  for (const type of ['queued', 'sent', 'delivered', 'waiting', 'kept', 'message', 'problem'] as const) {
    node.on(type, (...args: unknown[]) => events.push([type, ...args.map((a) => (a instanceof NatterError ? a.code : a))]));
  }
  const address = await node.start();
  book.entries.set(name, { name, ip: '127.0.0.1', port: address.port });
  nodes.push(node);
  return { node, events };
}

const texts = (events: unknown[][]): string[] => events.filter((e) => e[0] === 'message').map((e) => e[2] as string);
const ofType = (events: unknown[][], type: string): unknown[][] => events.filter((e) => e[0] === type);

describe('delivery', () => {
  it('every message is queued, sent and delivered, in that order, and the receipt names its id', async () => {
    const book = new Book();
    const bob = await start(book, 'bob', { store: openStore(dataDir()) });
    const alice = await start(book, 'alice', { store: openStore(dataDir()) });
    const before = Date.now();
    const ids = [await alice.node.send('bob', 'one'), await alice.node.send('bob', 'two'), await alice.node.send('bob', 'three')];
    await until(() => ofType(alice.events, 'delivered').length === 3, 'three receipts');
    for (const id of ids) {
      const states = alice.events.filter((e) => e[2] === id || (e[0] === 'queued' && (e[2] as { id: string }).id === id)).map((e) => e[0]);
      assert.deepEqual(states, ['queued', 'sent', 'delivered'], id);
    }
    assert.deepEqual(texts(bob.events), ['one', 'two', 'three']);
    const meta = ofType(bob.events, 'message').map((e) => e[3] as { id: string; ts: number });
    assert.deepEqual(
      meta.map((m) => m.id),
      ids,
      "the receiver sees the sender's ids",
    );
    assert.ok(
      meta.every((m) => m.ts >= before - 1000 && m.ts <= Date.now()),
      'the time is when it was entered',
    );
    assert.deepEqual(alice.node.outbox(), [], 'nothing left waiting');
    // Both ends keep the conversation.
    assert.deepEqual(
      alice.node.history('bob', 10).map((h) => [h.dir, h.text]),
      [
        ['out', 'one'],
        ['out', 'two'],
        ['out', 'three'],
      ],
    );
    assert.deepEqual(
      bob.node.history('alice', 2).map((h) => [h.dir, h.id]),
      [
        ['in', ids[1]],
        ['in', ids[2]],
      ],
    );
  });

  it('a friend who is offline gets the messages, in order and once, as soon as it comes online', async () => {
    const book = new Book();
    const bobPort = await freePort();
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: bobPort });
    const alice = await start(book, 'alice', { store: openStore(dataDir()) });
    for (const t of ['are', 'you', 'there']) await alice.node.send('bob', t);
    await until(() => ofType(alice.events, 'waiting').length > 0, 'a waiting notice');
    const [waiting] = ofType(alice.events, 'waiting');
    assert.deepEqual(waiting?.slice(0, 4), ['waiting', 'bob', 3, ERROR_CODES.PEER_UNREACHABLE]);
    // Several retries fail the same way: the user is told once.
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(ofType(alice.events, 'waiting').length, 1);
    assert.equal(ofType(alice.events, 'sent').length, 0);
    const bob = await start(book, 'bob', { port: bobPort, store: openStore(dataDir()) });
    await until(() => ofType(alice.events, 'delivered').length === 3, 'delivery after bob came online');
    assert.deepEqual(texts(bob.events), ['are', 'you', 'there']);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(texts(bob.events), ['are', 'you', 'there'], 'nothing twice');
  });

  it('a peer that dials us gets what waited for it at once, without waiting for the next retry', async () => {
    const book = new Book();
    const bobPort = await freePort();
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: bobPort });
    const alice = await start(book, 'alice', { store: openStore(dataDir()), retryIntervalMs: 60_000, maxRetryIntervalMs: 60_000 });
    await alice.node.send('bob', 'waiting for you');
    await until(() => ofType(alice.events, 'waiting').length > 0, 'a waiting notice');
    const bob = await start(book, 'bob', { port: bobPort, store: openStore(dataDir()) });
    await bob.node.send('alice', 'hello, I am back');
    await until(() => texts(bob.events).length === 1, 'the waiting message');
    assert.deepEqual(texts(bob.events), ['waiting for you']);
  });

  it('restarting both ends loses nothing and repeats nothing', async () => {
    const book = new Book();
    const bobPort = await freePort();
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: bobPort });
    const aliceDir = dataDir();
    const bobDir = dataDir();
    const aliceKeys = newKeyPair();

    // Alice writes to an offline bob and quits: the messages stay in her outbox.
    const aliceStore1 = FileMessageStore.open({ dir: aliceDir });
    const alice1 = await start(book, 'alice', { store: aliceStore1, keyPair: aliceKeys });
    await alice1.node.send('bob', 'first');
    await alice1.node.send('bob', 'second');
    await alice1.node.stop();
    aliceStore1.close();
    assert.deepEqual(ofType(alice1.events, 'kept'), [['kept', 'bob', 2]]);

    // Bob comes online; then Alice again, who finds them and delivers them.
    const bobStore1 = FileMessageStore.open({ dir: bobDir });
    const bob1 = await start(book, 'bob', { port: bobPort, store: bobStore1 });
    const alice2 = await start(book, 'alice', { store: openStore(aliceDir), keyPair: aliceKeys });
    assert.deepEqual(
      alice2.node.outbox().map((o) => o.message.text),
      ['first', 'second'],
      'recovered from disk',
    );
    await until(() => ofType(alice2.events, 'delivered').length === 2, 'delivery after the restart');
    assert.deepEqual(texts(bob1.events), ['first', 'second']);

    // Bob restarts too; a copy of an old message (same id) is dropped by the new process.
    await bob1.node.stop();
    bobStore1.close();
    const bob2 = await start(book, 'bob', { port: bobPort, store: openStore(bobDir) });
    const client = await RawClient.connect(bobPort, { keyPair: aliceKeys });
    client.send({ type: 'CONN', name: 'alice', ip: '127.0.0.1', port: 9 });
    assert.equal((await client.next()).type, 'RESP');
    const firstMessage = ofType(bob1.events, 'message')[0];
    assert.ok(firstMessage !== undefined);
    const oldId = Buffer.from((firstMessage[3] as { id: string }).id, 'hex');
    client.send({ type: 'TEXT', id: oldId, ts: Date.now(), text: 'first' });
    assert.deepEqual(await client.next(), { type: 'RCPT', id: oldId }, 'a copy is acknowledged again');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(texts(bob2.events), [], 'and not shown');
    assert.deepEqual(
      bob2.node.history('alice', 10).map((h) => h.text),
      ['first', 'second'],
      'history has each once',
    );
    client.destroy();
  });

  it('a copy sent again on the same or a new connection is shown once and acknowledged each time', async () => {
    const book = new Book();
    const bob = await start(book, 'bob', { store: openStore(dataDir()) });
    const port = book.entries.get('bob')?.port as number;
    const keyPair = newKeyPair();
    book.entries.set('carol', { name: 'carol', ip: '127.0.0.1', port: 9 });
    const id = Buffer.from('a1'.repeat(16), 'hex');
    for (let round = 0; round < 2; round++) {
      const c = await RawClient.connect(port, { keyPair });
      c.send({ type: 'CONN', name: 'carol', ip: '127.0.0.1', port: 9 });
      assert.deepEqual(await c.next(), { type: 'RESP', accept: true, reason: '' });
      c.send({ type: 'TEXT', id, ts: 1, text: 'once only' });
      c.send({ type: 'TEXT', id, ts: 1, text: 'once only' });
      assert.deepEqual(
        [await c.next(), await c.next()],
        [
          { type: 'RCPT', id },
          { type: 'RCPT', id },
        ],
      );
      c.destroy();
    }
    assert.deepEqual(texts(bob.events), ['once only']);
  });

  it('messages that come in one read are recorded together and shown in order, before an END that follows them', async () => {
    const book = new Book();
    const dir = dataDir();
    const bob = await start(book, 'bob', { store: openStore(dir) });
    const order: string[] = [];
    bob.node.on('message', (_from, text) => order.push(`message ${text}`));
    bob.node.on('ended', (peer) => order.push(`ended ${peer}`));
    const port = book.entries.get('bob')?.port as number;
    book.entries.set('erin', { name: 'erin', ip: '127.0.0.1', port: 9 });
    const c = await RawClient.connect(port, { keyPair: newKeyPair() });
    c.send({ type: 'CONN', name: 'erin', ip: '127.0.0.1', port: 9 });
    assert.equal((await c.next()).type, 'RESP');
    const ids = [1, 2, 3].map((i) => Buffer.alloc(16, i));
    c.sendBytes(
      Buffer.concat([...ids.map((id, i) => encodeMessage({ type: 'TEXT', id, ts: i, text: `t${i}` })), encodeMessage({ type: 'END' })]),
    );
    for (const id of ids) assert.deepEqual(await c.next(), { type: 'RCPT', id });
    await until(() => order.length === 4, 'the messages and the end');
    assert.deepEqual(order, ['message t0', 'message t1', 'message t2', 'ended erin']);
    assert.deepEqual(
      bob.node.history('erin', 10).map((h) => h.text),
      ['t0', 't1', 't2'],
    );
    c.destroy();
  });

  it('a frame cut short by a sender that dies is never shown; the whole message sent again is, once', async () => {
    const book = new Book();
    const bob = await start(book, 'bob', { store: openStore(dataDir()) });
    const port = book.entries.get('bob')?.port as number;
    const keyPair = newKeyPair();
    book.entries.set('dave', { name: 'dave', ip: '127.0.0.1', port: 9 });
    const id = Buffer.from('b2'.repeat(16), 'hex');
    const frame = encodeMessage({ type: 'TEXT', id, ts: 2, text: 'cut in the middle of this sentence' });
    for (const cut of [3, 5, 20, frame.length - 1]) {
      const c = await RawClient.connect(port, { keyPair });
      c.send({ type: 'CONN', name: 'dave', ip: '127.0.0.1', port: 9 });
      await c.next();
      c.sendBytes(frame.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 20));
      c.destroy(); // the sender dies halfway through the frame
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(texts(bob.events), [], 'no part of a cut frame is shown');
    const c = await RawClient.connect(port, { keyPair });
    c.send({ type: 'CONN', name: 'dave', ip: '127.0.0.1', port: 9 });
    await c.next();
    c.sendBytes(frame);
    assert.deepEqual(await c.next(), { type: 'RCPT', id });
    assert.deepEqual(texts(bob.events), ['cut in the middle of this sentence']);
    c.destroy();
  });

  it('a connection lost before the receipts sends the unacknowledged messages again, in order', async () => {
    const book = new Book();
    const alice = await start(book, 'alice', { store: openStore(dataDir()) });
    // A "bob" that takes the messages but never acknowledges them, then vanishes.
    const fakeKeys = newKeyPair();
    const fake = new PeerNode({ name: 'bob', discovery: book, listenPort: 0, keyPair: fakeKeys });
    const seen: string[] = [];
    const { port } = await fake.start();
    nodes.push(fake);
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port });
    // The fake's store refuses to record anything: nothing is shown or acknowledged, and it drops the connection.
    fake.on('problem', () => {});
    fake.on('message', (_f, t) => seen.push(t));
    (fake.store as MemoryMessageStore).commit = () => {
      throw new NatterError(ERROR_CODES.STORAGE_FAILED, 'disk full');
    };
    await alice.node.send('bob', 'm1');
    await alice.node.send('bob', 'm2');
    await until(() => ofType(alice.events, 'sent').length >= 2 && ofType(alice.events, 'waiting').length > 0, 'sent, then lost');
    assert.equal(ofType(alice.events, 'delivered').length, 0);
    assert.deepEqual(seen, [], 'the receiver shows nothing it could not record');
    await fake.stop();
    // The real bob, with the same key, comes up where the fake was: both arrive, in order.
    const bob = await start(book, 'bob', { keyPair: fakeKeys, port, store: openStore(dataDir()) });
    await until(() => ofType(alice.events, 'delivered').length === 2, 'delivery to the real bob');
    assert.deepEqual(texts(bob.events), ['m1', 'm2']);
  });

  it('a message the store cannot take is refused, and nothing leaves', async () => {
    const book = new Book();
    const bob = await start(book, 'bob');
    const store = new MemoryMessageStore();
    store.enqueue = () => {
      throw new NatterError(ERROR_CODES.STORAGE_FAILED, 'outbox.jsonl: no space left on device');
    };
    const alice = await start(book, 'alice', { store });
    await assert.rejects(alice.node.send('bob', 'lost?'), (e) => e instanceof NatterError && e.code === ERROR_CODES.STORAGE_FAILED);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(texts(bob.events), []);
    assert.deepEqual(alice.node.outbox(), []);
  });

  it('a busy peer keeps the messages waiting, and gets them once it has room', async () => {
    const book = new Book();
    const bob = await start(book, 'bob', { maxChats: 1 });
    const carol = await start(book, 'carol');
    await carol.node.send('bob', 'taking the only chat');
    await until(() => texts(bob.events).length === 1, 'carol in');
    const alice = await start(book, 'alice', { store: openStore(dataDir()) });
    await alice.node.send('bob', 'when you are free');
    await until(() => ofType(alice.events, 'waiting').length > 0, 'busy');
    assert.equal(ofType(alice.events, 'waiting')[0]?.[3], ERROR_CODES.TOO_MANY_CHATS);
    assert.equal(alice.node.outbox().length, 1, 'busy: still waiting');
    carol.node.end('bob');
    await until(() => texts(bob.events).includes('when you are free'), 'delivered once bob had room');
  });

  it('a full outbox of long messages reaches a friend who comes online, without overrunning the connection', async () => {
    const book = new Book();
    const bobPort = await freePort();
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: bobPort });
    const alice = await start(book, 'alice');
    const text = (i: number): string => `${String(i).padStart(4, '0')}${'x'.repeat(4000)}`;
    // 400 × 4 KB: 1.6 MB, more than a connection may hold queued (1 MiB) if sent at once.
    for (let i = 0; i < 400; i++) void alice.node.send('bob', text(i));
    await until(() => alice.node.outbox().length === 400 && ofType(alice.events, 'waiting').length > 0, 'all queued, bob offline');
    const bob = await start(book, 'bob', { port: bobPort });
    await until(() => ofType(alice.events, 'delivered').length === 400, 'all 400 delivered', 15_000);
    assert.deepEqual(
      texts(bob.events),
      Array.from({ length: 400 }, (_, i) => text(i)),
      'each once, in order',
    );
    assert.equal(ofType(alice.events, 'waiting').length, 1, 'told once that bob could not be reached, and no connection was lost after');
  });

  it('ending the chat while the dial is under way does not strand what was typed', async () => {
    const book = new Book();
    const bob = await start(book, 'bob');
    // A slow way to find bob: the dial is still under way when the user ends the chat.
    const slow = new Book();
    slow.entries.set('bob', book.entries.get('bob') as PeerInfo);
    slow.lookup = async (name: string) => {
      await new Promise((r) => setTimeout(r, 100));
      return slow.entries.get(name);
    };
    const alice = await start(slow, 'alice', { retryIntervalMs: 60_000, maxRetryIntervalMs: 60_000 });
    book.entries.set('alice', slow.entries.get('alice') as PeerInfo); // bob's friend too
    await alice.node.send('bob', 'hi');
    alice.node.end('bob');
    await until(() => texts(bob.events).length === 1, 'the message, delivered after all');
    assert.deepEqual(texts(bob.events), ['hi']);
    // bob shows it before his receipt reaches alice: her outbox empties a moment later.
    await until(() => alice.node.outbox().length === 0, 'the receipt');
  });

  it('an outbox has a bound, and a name the friends table lacks is refused at once', async () => {
    const book = new Book();
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: await freePort() });
    const alice = await start(book, 'alice', { maxOutbox: 3 });
    for (let i = 0; i < 3; i++) await alice.node.send('bob', `m${i}`);
    await assert.rejects(alice.node.send('bob', 'one too many'), (e) => e instanceof NatterError && e.code === ERROR_CODES.OUTBOX_FULL);
    await assert.rejects(alice.node.send('nobody', 'hi'), (e) => e instanceof NatterError && e.code === ERROR_CODES.UNKNOWN_PEER);
    const errors: string[] = [];
    alice.node.on('problem', (e) => errors.push(e.code));
    await alice.node.stop();
    assert.deepEqual(errors, [ERROR_CODES.NOT_DELIVERED], 'a memory outbox says at stop what it could not deliver');
  });
});
