/**
 * Punching and relaying between peers registered at different processes of
 * one directory (two DirectoryServers sharing a real redis-server this file
 * starts): the CALL crosses over through Redis, MEET carries the address the
 * other process saw, and a relay's two halves meet at the process a relay
 * CALL names, which must prove the directory's key.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { DirectoryServer } from '../../src/directory/server.ts';
import type { DirectoryOptions } from '../../src/directory/options.ts';
import { RedisStore } from '../../src/directory/store/redis-store.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { DirectoryLink } from '../../src/discovery/directory-link.ts';
import { openRelay, relayThrough } from '../../src/discovery/rendezvous.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { RELAY_JOIN_MS } from '../../src/peer/links/paths.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import type { CallMessage } from '../../src/protocol/messages.ts';
import type { KeyPair } from '../../src/transport/secure.ts';
import type { ByteStream } from '../../src/transport/byte-stream.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { hasRedisServer, RedisServer } from '../helpers/redis-server.ts';
import { until } from '../helpers/until.ts';

const skip = hasRedisServer() ? false : 'redis-server is not installed: skipped';

let redis: RedisServer | undefined;
before(async () => {
  if (skip === false) redis = await RedisServer.start();
});
after(async () => {
  await redis?.stop();
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let prefixes = 0;

/** Two processes of one directory: the same key, the same Redis prefix. */
async function twoProcesses(options: [Partial<DirectoryOptions>, Partial<DirectoryOptions>] = [{}, {}]) {
  const keyPair = newKeyPair();
  const prefix = `reach${++prefixes}:`;
  const processes = [];
  for (const extra of options) {
    const store = await RedisStore.connect({ url: (redis as RedisServer).url, prefix, connectTimeoutMs: 5_000 });
    // Ports nothing listens on: the directory's addresses for the peers never answer, so paths beyond them are used.
    const server = new DirectoryServer({ keyPair, store, aliveIntervalMs: 60_000, portRange: { lo: 1, hi: 20 }, ...extra });
    const { port } = await server.listen(0, '127.0.0.1');
    cleanup.push(() => server.close());
    processes.push({ server, port });
  }
  return {
    keyPair,
    p1: processes[0] as { server: DirectoryServer; port: number },
    p2: processes[1] as { server: DirectoryServer; port: number },
  };
}

interface Peer {
  keyPair: KeyPair;
  client: DirectoryClient;
  calls: CallMessage[];
}

async function peer(port: number, name: string): Promise<Peer> {
  const keyPair = newKeyPair();
  const client = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair, localPort: 0 });
  cleanup.push(() => client.close());
  await client.register(name);
  const calls: CallMessage[] = [];
  client.on('call', (c) => calls.push(c));
  return { keyPair, client, calls };
}

function read(stream: ByteStream, n: number, first: Buffer): Promise<string> {
  const chunks = [first];
  let got = first.length;
  return new Promise((resolve) => {
    const done = (): void => resolve(Buffer.concat(chunks).toString());
    if (got >= n) return done();
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got < n) return;
      stream.off('data', onData);
      done();
    };
    stream.on('data', onData);
    // A detached stream is paused (ByteStream): reading starts it again.
    stream.resume();
  });
}

describe('reaching peers across the processes of one directory', { skip }, () => {
  it('PUNCH: the asker gets MEET with the address the other process saw; the other gets its CALL through Redis', async () => {
    const { p1, p2 } = await twoProcesses();
    const alice = await peer(p1.port, 'alice');
    const bob = await peer(p2.port, 'bob');
    const meet = await alice.client.punch('bob');
    assert.deepEqual(meet, { ip: '127.0.0.1', port: bob.client.localPort });
    await until(() => bob.calls.length === 1, 'the CALL at the other process');
    assert.deepEqual(bob.calls[0], { type: 'CALL', via: 'punch', name: 'alice', ip: '127.0.0.1', port: alice.client.localPort });
    assert.equal(p1.server.counters.punches, 1);
    assert.equal(alice.calls.length, 0, 'nothing comes back to the asker');
  });

  it('RELAY: the CALL names the process holding the first half; the other joins there, and bytes go both ways', async () => {
    const { p1, p2 } = await twoProcesses();
    const alice = await peer(p1.port, 'alice');
    const bob = await peer(p2.port, 'bob');
    const aliceSide = openRelay({ host: '127.0.0.1', port: p1.port, keyPair: alice.keyPair }, 'bob', 3_000);
    await until(() => bob.calls.length === 1, 'the relay CALL');
    assert.deepEqual(bob.calls[0], { type: 'CALL', via: 'relay', name: 'alice', ip: '127.0.0.1', port: p1.port });
    const call = bob.calls[0] as CallMessage;
    const join = relayThrough({ host: '127.0.0.1', port: p2.port, keyPair: bob.keyPair }, 3_000);
    const bobSide = await join('alice', { ip: call.ip, port: call.port, key: bob.client.directoryKey as Buffer });
    const a = await aliceSide;
    cleanup.push(() => void a.stream.destroy());
    cleanup.push(() => void bobSide.stream.destroy());
    assert.equal(a.isFirst, true);
    assert.equal(bobSide.isFirst, false);
    a.stream.write(Buffer.from('from alice'));
    assert.equal(await read(bobSide.stream, 10, bobSide.initial), 'from alice');
    bobSide.stream.write(Buffer.from('from bob'));
    assert.equal(await read(a.stream, 8, a.initial), 'from bob');
    assert.equal(p1.server.counters.relaysJoined, 1, 'joined where the first half waited');
    assert.equal(p2.server.counters.relaysJoined, 0);
  });

  it('--advertise: the relay CALL names the address given, not the one the asker came in at', async () => {
    const { p1, p2 } = await twoProcesses([{ advertise: { host: '127.0.0.3', port: 7447 } }, {}]);
    const alice = await peer(p1.port, 'alice');
    const bob = await peer(p2.port, 'bob');
    const pending = openRelay({ host: '127.0.0.1', port: p1.port, keyPair: alice.keyPair }, 'bob', 500);
    await until(() => bob.calls.length === 1, 'the relay CALL');
    assert.deepEqual(bob.calls[0], { type: 'CALL', via: 'relay', name: 'alice', ip: '127.0.0.3', port: 7447 });
    await assert.rejects(pending, (e: unknown) => e instanceof NatterError && e.code === ERROR_CODES.TIMEOUT, 'bob never joined');
  });

  it('a relay CALL cannot send a peer to anyone but the directory: another key there is refused', async () => {
    const { p1 } = await twoProcesses();
    // Someone else's directory, with its own key.
    const stranger = new DirectoryServer({ aliveIntervalMs: 60_000 });
    const { port: strangerPort } = await stranger.listen(0, '127.0.0.1');
    cleanup.push(() => stranger.close());
    const keyPair = newKeyPair();
    const link = new DirectoryLink({
      name: 'bob',
      connect: () => DirectoryClient.connect({ host: '127.0.0.1', port: p1.port, keyPair, localPort: 0 }),
      relay: relayThrough({ host: '127.0.0.1', port: p1.port, keyPair }, 1_000),
    });
    await link.start();
    cleanup.push(() => link.stop());
    await assert.rejects(
      link.relay('alice', { ip: '127.0.0.1', port: strangerPort }),
      (e: unknown) => e instanceof NatterError && e.code === ERROR_CODES.KEY_MISMATCH && /not the directory's/.test(e.message),
    );
    assert.equal(stranger.counters.relaysRefused + stranger.counters.relaysJoined, 0, 'no RELAY was sent to it');
  });

  it('two peers at two processes chat over the relay, as if both were at one', async () => {
    const { p1, p2 } = await twoProcesses();
    const start = async (port: number, name: string) => {
      const keyPair = newKeyPair();
      const link = new DirectoryLink({
        name,
        connect: () => DirectoryClient.connect({ host: '127.0.0.1', port, keyPair, localPort: 0 }),
        relay: relayThrough({ host: '127.0.0.1', port, keyPair }, RELAY_JOIN_MS),
      });
      await link.start();
      // Listening somewhere else than the directory says: the direct path fails, punching cannot meet on one machine.
      const node = new PeerNode({ name, discovery: link, rendezvous: link, keyPair, listenPort: 0, isAutoAccept: true });
      node.on('problem', () => {});
      const texts: string[] = [];
      const links: unknown[] = [];
      node.on('message', (_from, text) => texts.push(text));
      node.on('connected', (_with, info) => links.push(info));
      await node.start();
      cleanup.push(async () => {
        await node.stop();
        await link.stop();
      });
      return { node, texts, links };
    };
    const alice = await start(p1.port, 'alice');
    const bob = await start(p2.port, 'bob');
    await alice.node.send('bob', 'across two processes');
    await until(() => bob.texts.includes('across two processes'), 'the message', 10_000);
    await bob.node.send('alice', 'and back');
    await until(() => alice.texts.includes('and back'), 'the answer');
    assert.deepEqual(alice.links, [{ link: 'relay' }]);
    assert.deepEqual(bob.links, [{ link: 'relay' }]);
    assert.equal(p1.server.counters.punches, 1, 'punching was tried first');
    assert.equal(p1.server.counters.relaysJoined, 1);
  });
});
