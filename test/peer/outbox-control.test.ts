/**
 * The user's hold on the outbox (drop), the hint for a name never seen, and
 * what stop() waits for: real PeerNodes and a real half-deaf peer on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import type { Discovery, KeyAuthority, PeerInfo } from '../../src/discovery/discovery.ts';
import { ManualClock } from '../../src/clock.ts';
import { NatterError } from '../../src/errors.ts';
import { KeyBook } from '../../src/peer/key-book.ts';
import { KnownPeers } from '../../src/peer/known-peers.ts';
import { PeerNode, type PeerNodeOptions } from '../../src/peer/peer-node.ts';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { acceptSecure } from '../../src/transport/tcp.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { until } from '../helpers/until.ts';

class Book implements Discovery {
  readonly entries = new Map<string, PeerInfo>();
  readonly listed = new Set<string>();
  readonly keyAuthority: KeyAuthority;
  constructor(keyAuthority: KeyAuthority) {
    this.keyAuthority = keyAuthority;
  }
  async lookup(name: string) {
    return this.entries.get(name);
  }
  async list() {
    return [...this.entries.values()];
  }
  isFriend() {
    return false;
  }
  hasSeen(name: string) {
    return this.listed.has(name);
  }
}

const nodes: PeerNode[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const s of servers.splice(0)) s.close();
});

function node(book: Book, name: string, options: Partial<PeerNodeOptions> = {}): PeerNode {
  const n = new PeerNode({ name, discovery: book, listenPort: 0, retryIntervalMs: 30, maxRetryIntervalMs: 60, ...options });
  // A memory store's undelivered messages are reported as errors at stop(); these tests expect some.
  n.on('problem', () => {});
  nodes.push(n);
  return n;
}

/**
 * A peer that takes the chat (RESP accept) and the messages, but never sends
 * a receipt: as if it were killed the moment after reading them.
 */
async function deafPeer(): Promise<{ port: number; texts: string[] }> {
  const texts: string[] = [];
  const keyPair = newKeyPair();
  const server = createServer((socket) => {
    acceptSecure(socket, keyPair, 5_000).then(
      (stream) => {
        const conn = new FramedConnection(stream, { hello: 'answer' });
        conn.on('message', (msg) => {
          if (msg.type === 'CONN') conn.send({ type: 'RESP', accept: true, reason: '' });
          if (msg.type === 'TEXT') texts.push(msg.text);
        });
      },
      () => socket.destroy(),
    );
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, texts };
}

describe("the outbox, the user's to clear", () => {
  it('drop() takes every waiting message out, for good, and says how many', async () => {
    const book = new Book('friends-table');
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: 9 }); // nothing answers there
    const alice = node(book, 'alice');
    await alice.start();
    for (const t of ['one', 'two', 'three']) await alice.send('bob', t);
    assert.equal(alice.outbox().length, 3);
    assert.equal(alice.drop('bob'), 3);
    assert.deepEqual(alice.outbox(), []);
    assert.deepEqual(alice.store.pending(), [], 'gone from the store too');
    assert.equal(alice.drop('bob'), 0);
    assert.equal(alice.drop('carol'), 0, 'a name with nothing waiting');
    assert.throws(
      () => alice.drop('alice'),
      (e: unknown) => e instanceof NatterError && e.code === 'NATTER_ERR_INVALID_ARGUMENT',
    );

    // bob comes online: nothing of what was dropped reaches him.
    const bob = node(book, 'bob', { isAutoAccept: true });
    const heard: string[] = [];
    bob.on('message', (_from, text) => heard.push(text));
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: (await bob.start()).port });
    await alice.send('bob', 'four');
    await until(() => heard.length === 1, 'the new message');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(heard, ['four']);
  });

  it('tells whether a name that cannot be reached was ever seen by any source', async () => {
    const book = new Book('directory');
    book.listed.add('listed');
    const known = new KnownPeers();
    known.pinPeer('pinned', newKeyPair().publicKey);
    const alice = node(book, 'alice', { keyBook: new KeyBook(known) });
    await alice.start();
    const waiting = new Map<string, boolean>();
    alice.on('waiting', (peer, _count, _err, { isNeverSeen }) => waiting.set(peer, isNeverSeen));
    for (const name of ['typo', 'listed', 'pinned']) await alice.send(name, 'hello?');
    await until(() => waiting.size === 3, 'three waiting events');
    assert.deepEqual(Object.fromEntries(waiting), { typo: true, listed: false, pinned: false });
  });
});

describe('stop(), and what it waits for', () => {
  it('does not wait for a chat request put to a user who does not answer: its messages stay queued', async () => {
    const book = new Book('directory');
    const bob = node(book, 'bob'); // asks his user, who never answers
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: (await bob.start()).port, key: bob.publicKey });
    const requested = new Promise((resolve) => bob.once('request', resolve));
    const clock = new ManualClock();
    const alice = node(book, 'alice', { stopGraceMs: 30_000, clock });
    await alice.start();
    book.entries.set('alice', { name: 'alice', ip: '127.0.0.1', port: alice.address?.port ?? 0, key: alice.publicKey });
    await alice.send('bob', 'are you there?');
    await requested;
    // A peer that accepts by itself answers within a round trip; bob is asking his user.
    clock.advance(2_000);
    const told: unknown[] = [];
    alice.on('stopping', (due) => told.push(due));
    const stopped = alice.stop().then(() => 'stopped');
    const late = new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2_000).unref());
    assert.equal(await Promise.race([stopped, late]), 'stopped');
    assert.deepEqual(told, [], 'nothing to wait for, nothing said');
  });

  it('waits for receipts due on an open chat, and says for whom', async () => {
    const deaf = await deafPeer();
    const book = new Book('friends-table');
    book.entries.set('bob', { name: 'bob', ip: '127.0.0.1', port: deaf.port });
    const alice = node(book, 'alice', { stopGraceMs: 200 });
    await alice.start();
    await alice.send('bob', 'one');
    await alice.send('bob', 'two');
    await until(() => deaf.texts.length === 2, 'the messages to go out');
    const told: unknown[] = [];
    alice.on('stopping', (due, graceMs) => told.push([due, graceMs]));
    await alice.stop();
    assert.deepEqual(told, [[[{ peer: 'bob', count: 2 }], 200]]);
  });
});
