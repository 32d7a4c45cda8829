/**
 * What an attacker on the network can do to a peer, tried against real
 * PeerNodes on 127.0.0.1 (and other loopback addresses, as other machines):
 * each case is an attack that once worked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { KeyBook } from '../../src/peer/key-book.ts';
import { KnownPeers } from '../../src/peer/known-peers.ts';
import { PeerNode, type PeerNodeOptions } from '../../src/peer/peer-node.ts';
import { DirectoryServer } from '../../src/directory/server.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { DirectoryLink } from '../../src/discovery/directory-link.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { GARBAGE_AFTER_HANDSHAKE, handshakeThenGarbage } from '../helpers/attacks.ts';
import { newKeyPair, RawClient } from '../helpers/raw-client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FriendsBook } from '../helpers/book.ts';
import { TEST_PORT_RANGE } from '../helpers/ports.ts';
import { until } from '../helpers/until.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A node with no listener of any event: whatever happens must not throw. */
async function start(book: FriendsBook, name: string, options: Partial<PeerNodeOptions> = {}): Promise<PeerNode> {
  const node = new PeerNode({ name, discovery: book, listenPort: 0, stopGraceMs: 200, ...options });
  const { port } = await node.start();
  book.entries.set(name, { name, ip: '127.0.0.1', port });
  cleanup.push(() => node.stop());
  return node;
}

/** `to` receives `text` from `from`, sent through the node's own API. */
async function chatWorks(from: PeerNode, to: PeerNode, text: string): Promise<void> {
  const got = new Promise<string>((resolve) => to.once('message', (_f, t) => resolve(t)));
  await from.send(to.name, text);
  assert.equal(await got, text);
}

describe('peer: connections an attacker leaves behind', () => {
  it('connections whose stream fails right after the handshake are gone with it; friends still get through', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice');
    const bob = await start(book, 'bob');
    book.friends.add('alice').add('bob');
    const port = alice.address?.port as number;
    for (let i = 0; i < 80; i++) {
      const socket = await handshakeThenGarbage(port, GARBAGE_AFTER_HANDSHAKE);
      cleanup.push(() => void socket.destroy());
    }
    await until(() => alice.connectionCount === 0, 'every such connection to be forgotten');
    await chatWorks(bob, alice, 'still here');
  });

  it('a node with no listeners survives a stranger that sends CONN and then an ERROR frame', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true });
    const stranger = await RawClient.connect(alice.address?.port as number);
    cleanup.push(() => stranger.destroy());
    stranger.send({ type: 'CONN', name: 'mallory', ip: '', port: 1 });
    assert.deepEqual(await stranger.next(), { type: 'RESP', accept: true, reason: '' });
    stranger.send({ type: 'ERROR', code: 'NATTER_ERR_INTERNAL', reason: 'boom' });
    const problems: string[] = [];
    // Heard as a problem by whoever listens; thrown at nobody who does not.
    await new Promise((r) => setTimeout(r, 100));
    alice.on('problem', (e) => problems.push(e.code));
    stranger.send({ type: 'ERROR', code: 'NATTER_ERR_INTERNAL', reason: 'again' });
    await until(() => problems.length === 1, 'the second ERROR, as a problem');
    assert.deepEqual(problems, ['NATTER_ERR_INTERNAL']);
  });
});

describe('peer: strangers cannot take what friends need', () => {
  async function stranger(port: number, name: string): Promise<RawClient> {
    const c = await RawClient.connect(port);
    cleanup.push(() => c.destroy());
    c.send({ type: 'CONN', name, ip: '', port: 1 });
    return c;
  }

  it('unanswered requests do not count against open chats: a friend is not turned away as busy', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { maxChats: 8, maxRequests: 8 });
    const requests: string[] = [];
    alice.on('request', (from) => requests.push(from));
    for (let i = 0; i < 8; i++) await stranger(alice.address?.port as number, `stranger${i}`);
    await until(() => requests.length === 8, 'eight requests');
    const bob = await start(book, 'bob');
    book.friends.add('bob');
    await chatWorks(bob, alice, 'a friend, not busy');
    assert.equal(alice.chatState('bob'), 'open');
  });

  it('requests have a cap and a deadline of their own', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { maxRequests: 2, requestTimeoutMs: 300 });
    const ended: string[] = [];
    alice.on('ended', (peer, reason, detail) => ended.push(`${peer} (${reason}): ${detail}`));
    const port = alice.address?.port as number;
    const first = await stranger(port, 'one');
    await stranger(port, 'two');
    await until(() => alice.chats().length === 2, 'two requests');
    const third = await stranger(port, 'three');
    assert.deepEqual(await third.next(), { type: 'RESP', accept: false, reason: 'busy' });
    // Nobody answers: each is declined at its deadline, and the user hears of it.
    assert.deepEqual(await first.next(2_000), { type: 'RESP', accept: false, reason: 'no answer' });
    await until(() => ended.length === 2, 'both requests to end');
    assert.match(ended[0] as string, /^one \(unanswered\): one's request went unanswered for 300 ms; declined$/);
    assert.deepEqual(alice.chats(), []);
  });

  it('strangers who only knock leave no pins: a key is pinned when a chat opens; the file is bounded', async () => {
    const file = join(tempDir('pins'), 'known-peers.json');
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { keyBook: new KeyBook(new KnownPeers(file)), maxRequests: 4 });
    const port = alice.address?.port as number;
    for (let i = 0; i < 100; i++) {
      const c = await stranger(port, `knock${i}`);
      // Its CONN is taken (its key checked): a request, or busy once four wait.
      await until(() => c.pending.length > 0 || alice.chatState(`knock${i}`) === 'incoming', `knock${i}'s CONN to be taken`);
      c.destroy();
    }
    assert.equal(existsSync(file), false, 'not one pin written');
    const bob = await start(book, 'bob');
    book.friends.add('bob');
    await chatWorks(bob, alice, 'hello');
    const pins = JSON.parse(readFileSync(file, 'utf8')) as { peers: Record<string, unknown> };
    assert.deepEqual(Object.keys(pins.peers), ['bob']);
    // However many chats a lifetime holds, the file keeps the most recent MAX of them.
    const small = new KnownPeers(join(tempDir('pins'), 'known-peers.json'), () => new Date(), 3);
    for (const name of ['a', 'b', 'c', 'd', 'b']) small.pinPeer(name, alice.publicKey);
    assert.deepEqual(Object.keys((JSON.parse(readFileSync(small.file as string, 'utf8')) as { peers: object }).peers), ['c', 'd', 'b']);
  });
});

describe('peer: slow and silent connections', () => {
  /** A TCP connection from `localAddress` that sends nothing; resolves once connected (or refused). */
  function silent(port: number, localAddress: string): Promise<Socket> {
    return new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress });
      socket.on('error', () => {});
      socket.once('connect', () => resolve(socket));
      socket.once('close', () => resolve(socket));
    });
  }

  it('one address holding 400 silent connections does not keep a friend from another address out', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true });
    const port = alice.address?.port as number;
    const idle = await Promise.all(Array.from({ length: 400 }, () => silent(port, '127.0.0.2')));
    cleanup.push(() => {
      for (const s of idle) s.destroy();
    });
    await until(() => idle.filter((s) => !s.destroyed).length <= 8, 'all but that address’s share to be closed');
    // A friend elsewhere gets in, every time.
    const keyPair = newKeyPair();
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.connect(port, { localAddress: '127.0.0.3', keyPair });
      c.send({ type: 'CONN', name: 'friend', ip: '', port: 1 });
      assert.deepEqual(await c.next(), { type: 'RESP', accept: true, reason: '' });
      c.destroy();
    }
  });

  it('a stranger has one short deadline from accept to CONN, the handshake included', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { inboundTimeoutMs: 300 });
    const port = alice.address?.port as number;
    const mute = await silent(port, '127.0.0.1');
    const handshaken = await RawClient.connect(port); // then says nothing
    cleanup.push(() => {
      mute.destroy();
      handshaken.destroy();
    });
    const since = Date.now();
    await until(() => mute.destroyed && handshaken.isClosed, 'both to be closed', 3_000);
    assert.ok(Date.now() - since < 1_500, `closed after ${Date.now() - since} ms`);
  });
});

describe('peer: a flood of strangers does not spend its directory budget', () => {
  it('300 CONNs under new names: the peer asks the directory little, is never rate-limited off it, and friends still chat', async () => {
    const directory = new DirectoryServer({ aliveIntervalMs: 60_000, portRange: TEST_PORT_RANGE });
    const { port: dirPort } = await directory.listen(0, '127.0.0.1');
    cleanup.push(() => directory.close());
    const lost: unknown[] = [];
    const join = async (name: string): Promise<PeerNode> => {
      const keyPair = newKeyPair();
      const link = new DirectoryLink({ name, connect: () => DirectoryClient.connect({ host: '127.0.0.1', port: dirPort, keyPair }) });
      link.on('lost', (err) => lost.push(err));
      const { port } = await link.start();
      const node = new PeerNode({ name, discovery: link, keyPair, listenPort: port, isAutoAccept: true, stopGraceMs: 200 });
      await node.start();
      cleanup.push(async () => {
        await node.stop();
        await link.stop();
      });
      return node;
    };
    const alice = await join('alice');
    const port = alice.address?.port as number;
    const since = Date.now();
    const refusals = new Map<string, number>();
    for (let batch = 0; batch < 30; batch++) {
      await Promise.all(
        Array.from({ length: 10 }, async (_, i) => {
          const c = await RawClient.connect(port, { localAddress: `127.0.0.${10 + i}` });
          c.send({ type: 'CONN', name: `flood${batch}x${i}`, ip: '', port: 1 });
          const answer = await c.next().catch(() => undefined);
          const code = answer?.type === 'ERROR' ? answer.code : String(answer?.type);
          refusals.set(code, (refusals.get(code) ?? 0) + 1);
          c.destroy();
        }),
      );
    }
    const seconds = (Date.now() - since) / 1000;
    assert.equal(directory.counters.rateLimited, 0, 'the directory never had to slow alice down');
    assert.deepEqual(lost, [], 'alice kept her directory connection');
    assert.ok(
      directory.counters.findsServed <= 8 + Math.ceil(2 * seconds) + 2,
      `${directory.counters.findsServed} lookups in ${seconds.toFixed(1)} s`,
    );
    assert.ok((refusals.get(ERROR_CODES.RATE_LIMITED) ?? 0) > 200, JSON.stringify([...refusals]));
    const bob = await join('bob');
    await chatWorks(bob, alice, 'after the flood');
  });
});

describe('peer: a flooding friend', () => {
  it('is read at its pace while everyone else is read as usual', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true, maxFramesPerSecond: 100 });
    const bob = await start(book, 'bob');
    book.friends.add('alice').add('bob');
    const from = new Map<string, number>();
    alice.on('message', (f) => from.set(f, (from.get(f) ?? 0) + 1));
    const flooder = await RawClient.connect(alice.address?.port as number);
    cleanup.push(() => flooder.destroy());
    flooder.send({ type: 'CONN', name: 'flood', ip: '', port: 1 });
    assert.deepEqual(await flooder.next(), { type: 'RESP', accept: true, reason: '' });
    const since = Date.now();
    // 3,000 messages at once, in records of a reasonable size.
    const frames = Buffer.concat(
      Array.from({ length: 3_000 }, (_, i) =>
        encodeMessage({ type: 'TEXT', id: Buffer.from(i.toString(16).padStart(32, '0'), 'hex'), ts: Date.now(), text: `flood ${i}` }),
      ),
    );
    for (let at = 0; at < frames.length; at += 32_768) flooder.sendBytes(frames.subarray(at, at + 32_768));
    // bob's messages go through meanwhile.
    for (let i = 0; i < 20; i++) await bob.send('alice', `bob ${i}`);
    await until(() => from.get('bob') === 20, "bob's messages", 3_000);
    const flooded = from.get('flood') ?? 0;
    const elapsed = (Date.now() - since) / 1000;
    assert.ok(flooded <= 200 + 100 * elapsed + 10, `${flooded} of the flood taken in ${elapsed.toFixed(2)} s: more than its pace`);
    assert.ok(flooded >= 100, `${flooded}: the flood is read, at its pace`);
  });

  it('a consumer that pauses the node after each message still hears everyone in turn', async () => {
    const book = new FriendsBook();
    const alice = await start(book, 'alice', { isAutoAccept: true, maxFramesPerSecond: 1_000_000 });
    const bob = await start(book, 'bob');
    book.friends.add('alice').add('bob');
    const order: string[] = [];
    alice.on('message', (f) => {
      order.push(f);
      // As a UI whose output is full: nobody is read until it drains.
      alice.pauseInput();
      setImmediate(() => alice.resumeInput());
    });
    const flooder = await RawClient.connect(alice.address?.port as number);
    cleanup.push(() => flooder.destroy());
    flooder.send({ type: 'CONN', name: 'flood', ip: '', port: 1 });
    assert.deepEqual(await flooder.next(), { type: 'RESP', accept: true, reason: '' });
    const frames = Buffer.concat(
      Array.from({ length: 3_000 }, (_, i) =>
        encodeMessage({ type: 'TEXT', id: Buffer.from(i.toString(16).padStart(32, '0'), 'hex'), ts: Date.now(), text: `flood ${i}` }),
      ),
    );
    for (let at = 0; at < frames.length; at += 32_768) flooder.sendBytes(frames.subarray(at, at + 32_768));
    await until(() => order.length > 10, 'the flood to start');
    for (let i = 0; i < 5; i++) await bob.send('alice', `bob ${i}`);
    await until(() => order.filter((f) => f === 'bob').length === 5, "bob's messages", 10_000);
    const floodBefore = order.lastIndexOf('bob') + 1 - 5;
    assert.ok(floodBefore < 1_500, `${floodBefore} of the flood's messages went before bob's last`);
  });
});
