/**
 * Reaching a peer by another path than its address, on 127.0.0.1 with a
 * real directory: punched (simultaneous open from the directory
 * connections' ports), relayed (through the directory), and a relayed
 * chat moving to a direct connection. Peers here never listen where the
 * directory says they do, so the direct path always fails.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { ManualScheduler } from '../../../src/clock.ts';
import { DirectoryServer } from '../../../src/directory/server.ts';
import type { Discovery, PeerInfo } from '../../../src/discovery/discovery.ts';
import { DirectoryClient } from '../../../src/discovery/directory-client.ts';
import { DirectoryLink } from '../../../src/discovery/directory-link.ts';
import { openRelay } from '../../../src/discovery/rendezvous.ts';
import { DirectConnector } from '../../../src/peer/links/connector.ts';
import { FallbackConnector, RelayConnector, RELAY_JOIN_MS } from '../../../src/peer/links/paths.ts';
import { PeerNode, type PeerNodeOptions } from '../../../src/peer/peer-node.ts';
import { startServer } from '../../helpers/net.ts';
import { newKeyPair } from '../../helpers/raw-client.ts';
import { until } from '../../helpers/until.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function directory() {
  // Ports nothing listens on (below 1024, as no test runs a server there): the directory's addresses never answer.
  const server = new DirectoryServer({ aliveIntervalMs: 60_000, portRange: { lo: 1, hi: 20 } });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanup.push(() => server.close());
  return { server, port };
}

interface Started {
  node: PeerNode;
  link: DirectoryLink;
  events: unknown[][];
  texts: string[];
}

/** A peer registered with the directory, listening somewhere else than where the directory says it does. */
async function start(port: number, name: string, options: Partial<PeerNodeOptions> = {}): Promise<Started> {
  const keyPair = newKeyPair();
  const link = new DirectoryLink({
    name,
    connect: () => DirectoryClient.connect({ host: '127.0.0.1', port, keyPair, localPort: 0 }),
    relay: (peer) => openRelay({ host: '127.0.0.1', port, keyPair }, peer, RELAY_JOIN_MS),
  });
  await link.start();
  const node = new PeerNode({ name, discovery: link, rendezvous: link, keyPair, listenPort: 0, isAutoAccept: true, ...options });
  node.on('problem', () => {});
  const events: unknown[][] = [];
  const texts: string[] = [];
  for (const type of ['connected', 'moved', 'ended'] as const) node.on(type, (...args: unknown[]) => events.push([type, ...args]));
  node.on('message', (_from, text) => texts.push(text));
  await node.start();
  cleanup.push(async () => {
    await node.stop();
    await link.stop();
  });
  return { node, link, events, texts };
}

describe('paths beyond the address', () => {
  it('tries every path in turn: the address refuses, punching cannot meet on one machine, the relay carries the chat', async () => {
    // (Punching needs NATs that drop what they were not asked for; test/netns/ has them.)
    const { server, port } = await directory();
    const bob = await start(port, 'bob');
    const alice = await start(port, 'alice');
    await alice.node.send('bob', 'by whatever path');
    await until(() => bob.texts.includes('by whatever path'), 'the message');
    assert.deepEqual(alice.events[0], ['connected', 'bob', { link: 'relay' }]);
    assert.deepEqual(bob.events[0], ['connected', 'alice', { link: 'relay' }]);
    await bob.node.send('alice', 'and back');
    await until(() => alice.texts.includes('and back'), 'the answer');
    assert.equal(server.counters.punches, 1, 'punching was tried');
    assert.equal(server.counters.relaysJoined, 1);
    assert.equal(alice.node.linkOf('bob'), 'relay');
  });

  it('relays when nothing else gets through, end to end, with the same key checks', async () => {
    const { server, port } = await directory();
    // Punching is left out: the relay is what remains.
    const bob = await start(port, 'bob');
    let rendezvous: DirectoryLink | undefined;
    const alice: Started = await start(port, 'alice', {
      connector: (ctx) =>
        new FallbackConnector([
          { kind: 'direct', connector: new DirectConnector(ctx, { connectTimeoutMs: 500 }) },
          { kind: 'relay', connector: { connect: (peer) => new RelayConnector(ctx, rendezvous as DirectoryLink).connect(peer) } },
        ]),
    });
    rendezvous = alice.link;
    await alice.node.connect('bob');
    await until(() => alice.events.length > 0, 'the chat to open');
    // As fast as the connection takes them: the channel inside the relayed one writes records of its largest size.
    const sent = Array.from({ length: 5_000 }, (_, i) => `relayed ${i} ${'x'.repeat(90)}`);
    for (const t of sent) await alice.node.send('bob', t);
    await until(() => bob.texts.length === sent.length, 'every message');
    assert.deepEqual(bob.texts, sent);
    assert.deepEqual(alice.events[0], ['connected', 'bob', { link: 'relay' }]);
    assert.deepEqual(bob.events[0], ['connected', 'alice', { link: 'relay' }]);
    await bob.node.send('alice', 'relayed back');
    await until(() => alice.texts.includes('relayed back'), 'the answer');
    assert.equal(server.counters.relaysJoined, 1);
    assert.ok(server.counters.relayedBytes > 5_000 * 100, 'the bytes went through the directory');
    assert.equal(alice.node.outbox().length, 0, 'every message has its receipt');
  });

  it('moves a relayed chat to a direct connection once one gets through, losing and repeating nothing', async () => {
    const { server, port } = await directory();
    const scheduler = new ManualScheduler();
    const bob = await start(port, 'bob');
    // alice finds bob through a book that first gives a dead address, then the real one, behind a
    // proxy that holds what alice sends for 150 ms: her CONN on the new path reaches bob well after
    // anything she does to the relayed link would.
    const proxy = await startServer((from) => {
      const to = connect({ host: '127.0.0.1', port: bob.node.address?.port ?? 0 });
      from.on('data', (chunk) => setTimeout(() => to.write(chunk), 150));
      from.on('end', () => setTimeout(() => to.end(), 150));
      to.on('data', (chunk) => from.write(chunk));
      to.on('end', () => from.end());
      for (const s of [from, to]) s.on('error', () => (s === from ? to : from).destroy());
    });
    cleanup.push(() => proxy.close());
    const real = { name: 'bob', ip: '127.0.0.1', port: proxy.port };
    let bobAt: PeerInfo = { ...real, port: 9 };
    const aliceKeys = newKeyPair();
    const aliceLink = new DirectoryLink({
      name: 'alice',
      connect: () => DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: aliceKeys, localPort: 0 }),
      relay: (peer) => openRelay({ host: '127.0.0.1', port, keyPair: aliceKeys }, peer, RELAY_JOIN_MS),
    });
    await aliceLink.start();
    const book: Discovery = {
      keyAuthority: 'friends-table',
      lookup: async (name) => (name === 'bob' ? bobAt : undefined),
      list: async () => [bobAt],
      isFriend: () => true,
    };
    const alice = new PeerNode({
      name: 'alice',
      discovery: book,
      keyPair: aliceKeys,
      listenPort: 0,
      scheduler,
      keepaliveIntervalMs: 86_400_000,
      connector: (ctx) => new RelayConnector(ctx, aliceLink),
      rendezvous: aliceLink,
    });
    alice.on('problem', () => {});
    const moved: unknown[] = [];
    alice.on('moved', (...args) => moved.push(args));
    await alice.start();
    cleanup.push(async () => {
      await alice.stop();
      await aliceLink.stop();
    });
    for (let i = 0; i < 5; i++) await alice.send('bob', `before ${i}`);
    await until(() => bob.texts.length === 5, 'five relayed messages');
    assert.equal(alice.linkOf('bob'), 'relay');
    // The first try at a better path fails (bob's address is dead, punching cannot meet here), the second gets through.
    const timers = scheduler.pending;
    scheduler.advance(2_000);
    await until(() => scheduler.pending === timers, 'the first try to fail and the next to be set');
    assert.equal(alice.linkOf('bob'), 'relay', 'still relayed');
    bobAt = real;
    const during = Array.from({ length: 20 }, (_, i) => alice.send('bob', `during ${i}`));
    scheduler.advance(5_000);
    await Promise.all(during);
    await until(() => alice.linkOf('bob') === 'direct', 'the move to a direct connection');
    for (let i = 0; i < 5; i++) await alice.send('bob', `after ${i}`);
    const expected = [
      ...Array.from({ length: 5 }, (_, i) => `before ${i}`),
      ...Array.from({ length: 20 }, (_, i) => `during ${i}`),
      ...Array.from({ length: 5 }, (_, i) => `after ${i}`),
    ];
    await until(() => bob.texts.length >= expected.length && alice.outbox().length === 0, 'every message and receipt');
    assert.deepEqual(bob.texts, expected, 'each once, in order');
    assert.deepEqual(moved, [['bob', { link: 'direct' }]]);
    // bob took the new connection for the same chat: the relayed one leaving was no loss to it.
    assert.deepEqual(
      bob.events.filter(([type]) => type === 'ended'),
      [],
    );
    await until(() => server.relay.counts.links === 0, 'the relayed link to close');
  });
});
