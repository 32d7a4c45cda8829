/**
 * The directory's part in reaching peers (protocol.md §6.7-§6.9): the
 * dial-back PROBE, coordinated punching (PUNCH, MEET, CALL) and the blind
 * relay with its caps. Real sockets on 127.0.0.1, real clients.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { ByteStream } from '../../src/transport/byte-stream.ts';
import { afterEach, describe, it } from 'node:test';
import { DirectoryServer } from '../../src/directory/server.ts';
import type { DirectoryOptions } from '../../src/directory/options.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { openRelay, type RelayedStream } from '../../src/discovery/rendezvous.ts';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import type { CallMessage } from '../../src/protocol/messages.ts';
import type { KeyPair } from '../../src/transport/secure.ts';
import { acceptSecure } from '../../src/transport/tcp.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { until } from '../helpers/until.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function directory(options: Partial<DirectoryOptions> = {}) {
  const server = new DirectoryServer({ aliveIntervalMs: 60_000, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanup.push(() => server.close());
  return { server, port };
}

interface Peer {
  name: string;
  keyPair: KeyPair;
  client: DirectoryClient;
  calls: CallMessage[];
  relay(to: string, timeoutMs?: number): Promise<RelayedStream>;
}

/** A registered peer: its directory connection, and the CALLs it gets. */
async function peer(port: number, name: string): Promise<Peer> {
  const keyPair = newKeyPair();
  const client = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair, localPort: 0 });
  cleanup.push(() => client.close());
  await client.register(name);
  const calls: CallMessage[] = [];
  client.on('call', (c) => calls.push(c));
  const relay = async (to: string, timeoutMs = 3_000): Promise<RelayedStream> => {
    const r = await openRelay({ host: '127.0.0.1', port, keyPair }, to, timeoutMs);
    cleanup.push(() => void r.stream.destroy());
    return r;
  };
  return { name, keyPair, client, calls, relay };
}

const hasCode = (code: NatterErrorCode) => (e: unknown) => e instanceof NatterError && e.code === code;

/** Reads from `stream` until `n` bytes have come; resolves with them. */
function read(stream: ByteStream, n: number, first: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  const chunks: Buffer[] = first.length > 0 ? [first] : [];
  let got = first.length;
  return new Promise((resolve, reject) => {
    if (got >= n) return resolve(Buffer.concat(chunks));
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        stream.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    stream.on('data', onData);
    stream.once('close', () => reject(new Error(`closed after ${got} of ${n} bytes`)));
    stream.resume();
  });
}

describe('PROBE: is my listener reachable from outside?', () => {
  /** A listener that completes the handshake as `keyPair` (as a peer's would). */
  async function listener(keyPair: KeyPair): Promise<{ server: Server; port: number }> {
    const server = createServer((socket) => {
      acceptSecure(socket, keyPair, 2_000).then(
        (s) => s.destroy(),
        () => socket.destroy(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { server, port: (server.address() as AddressInfo).port };
  }

  it("dials back the asker's own address and checks the key that answers", async () => {
    const { port } = await directory({ probeIntervalMs: 1 });
    const me = await peer(port, 'me');
    const mine = await listener(me.keyPair);
    const yes = await me.client.probe(mine.port);
    assert.deepEqual(yes, { isReachable: true, detail: '', isRelaying: true, seenIp: '127.0.0.1', seenPort: me.client.localPort });
    const someoneElse = await listener(newKeyPair());
    await new Promise((r) => setTimeout(r, 5));
    const wrongKey = await me.client.probe(someoneElse.port);
    assert.equal(wrongKey.isReachable, false);
    assert.match(wrongKey.detail, /answers, but with another key/);
    const closed = someoneElse.port;
    await new Promise<void>((resolve) => someoneElse.server.close(() => resolve()));
    await new Promise((r) => setTimeout(r, 5));
    const nothing = await me.client.probe(closed);
    assert.equal(nothing.isReachable, false);
    assert.match(nothing.detail, /cannot be reached from here/);
  });

  it('gives up on an address that does not answer, and limits probes per address', async () => {
    const { server, port } = await directory({ probeTimeoutMs: 200, probeIntervalMs: 60_000 });
    const me = await peer(port, 'me');
    // A listener that never completes a handshake: the probe waits for its deadline.
    const held = new Set<import('node:net').Socket>();
    const silent = createServer((socket) => {
      held.add(socket);
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => {
      for (const socket of held) socket.destroy();
      return new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const r = await me.client.probe((silent.address() as AddressInfo).port);
    assert.equal(r.isReachable, false);
    await assert.rejects(me.client.probe(1), hasCode(ERROR_CODES.RATE_LIMITED));
    const other = await peer(port, 'other');
    await assert.rejects(other.client.probe(1), hasCode(ERROR_CODES.RATE_LIMITED), 'per address, not per connection');
    assert.equal(server.counters.probes, 1);
  });
});

describe('PUNCH: both sides told where the other is, at once', () => {
  it("answers MEET with the other's seen address and CALLs the other with the asker's", async () => {
    const { server, port } = await directory();
    const alice = await peer(port, 'alice');
    const bob = await peer(port, 'bob');
    const meet = await alice.client.punch('bob');
    assert.deepEqual(meet, { ip: '127.0.0.1', port: bob.client.localPort });
    await until(() => bob.calls.length === 1, 'the CALL');
    assert.deepEqual(bob.calls[0], { type: 'CALL', via: 'punch', name: 'alice', ip: '127.0.0.1', port: alice.client.localPort });
    assert.equal(server.counters.punches, 1);
  });

  it('refuses an unknown peer, oneself, an unregistered asker, and a flood', async () => {
    const { port } = await directory({ punchBurst: 2 });
    const alice = await peer(port, 'alice');
    await peer(port, 'bob');
    await assert.rejects(alice.client.punch('nobody'), hasCode(ERROR_CODES.UNKNOWN_PEER));
    await assert.rejects(alice.client.punch('alice'), hasCode(ERROR_CODES.INVALID_ARGUMENT));
    await assert.rejects(alice.client.punch('bob'), hasCode(ERROR_CODES.RATE_LIMITED), 'the third in a burst of two');
    const stranger = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    cleanup.push(() => stranger.close());
    await assert.rejects(stranger.punch('bob'), hasCode(ERROR_CODES.NOT_REGISTERED));
  });
});

describe('RELAY: joined only when both ask, bytes carried blind, within caps', () => {
  it('joins two registered peers that both asked, and carries bytes both ways', async () => {
    const { server, port } = await directory();
    const alice = await peer(port, 'alice');
    const bob = await peer(port, 'bob');
    const aliceSide = alice.relay('bob');
    await until(() => bob.calls.length === 1, 'the relay CALL');
    assert.deepEqual(bob.calls[0], { type: 'CALL', via: 'relay', name: 'alice', ip: '', port: 0 });
    const bobSide = await bob.relay('alice');
    const a = await aliceSide;
    assert.equal(a.isFirst, true, 'alice asked first: she dials over it');
    assert.equal(bobSide.isFirst, false);
    a.stream.write(Buffer.from('from alice'));
    assert.equal((await read(bobSide.stream, 10, bobSide.initial)).toString(), 'from alice');
    bobSide.stream.write(Buffer.from('from bob'));
    assert.equal((await read(a.stream, 8, a.initial)).toString(), 'from bob');
    assert.deepEqual(server.relay.counts, { links: 1, pending: 0 });
    assert.equal(server.counters.relaysJoined, 1);
    // One side closing closes the other.
    a.stream.destroy();
    await until(() => bobSide.stream.destroyed, 'the other side to close');
    await until(() => server.relay.counts.links === 0, 'the link to go');
  });

  it('refuses what it must: relaying off, an unregistered asker, an unknown peer, a pair already waiting', async () => {
    const off = await directory({ isRelaying: false });
    const a1 = await peer(off.port, 'alice');
    await peer(off.port, 'bob');
    await assert.rejects(a1.relay('bob'), hasCode(ERROR_CODES.RELAY_REFUSED));

    const { port } = await directory({ relayJoinTimeoutMs: 300 });
    const alice = await peer(port, 'alice');
    await peer(port, 'bob');
    await assert.rejects(openRelay({ host: '127.0.0.1', port, keyPair: newKeyPair() }, 'bob', 2_000), hasCode(ERROR_CODES.NOT_REGISTERED));
    await assert.rejects(alice.relay('nobody'), hasCode(ERROR_CODES.UNKNOWN_PEER));
    const waiting = alice.relay('bob');
    await assert.rejects(alice.relay('bob'), hasCode(ERROR_CODES.RELAY_REFUSED), 'the same pair twice');
    // bob never asks: the first half is given up at the join deadline.
    await assert.rejects(waiting, hasCode(ERROR_CODES.TIMEOUT));
  });

  it('holds the caps on links: in all and per client, and other clients are not affected', async () => {
    const { server, port } = await directory({ relayMaxPerClient: 2, relayMaxLinks: 3, relayJoinTimeoutMs: 5_000 });
    const [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map((n) => peer(port, n)));
    const joined: RelayedStream[] = [];
    const join = async (x: Peer, y: Peer): Promise<void> => {
      const first = x.relay(y.name);
      await until(() => y.calls.some((c) => c.name === x.name), `${y.name} called`);
      y.calls.splice(0);
      joined.push(await y.relay(x.name), await first);
    };
    await join(alice as Peer, bob as Peer);
    await join(alice as Peer, carol as Peer);
    await assert.rejects(
      (alice as Peer).relay('dave'),
      (e) => hasCode(ERROR_CODES.RELAY_REFUSED)(e) && /alice already has 2 relayed links/.test((e as Error).message),
    );
    await join(carol as Peer, dave as Peer);
    assert.deepEqual(server.relay.counts, { links: 3, pending: 0 });
    await assert.rejects(
      (bob as Peer).relay('dave'),
      (e) => hasCode(ERROR_CODES.RELAY_REFUSED)(e) && /the relay is full/.test((e as Error).message),
    );
    assert.ok(server.counters.relaysRefused >= 2);
    // The links that are there still carry bytes.
    const [ab, ba] = [joined[1] as RelayedStream, joined[0] as RelayedStream];
    ab.stream.write(Buffer.from('still here'));
    assert.equal((await read(ba.stream, 10, ba.initial)).toString(), 'still here');
  });

  it('slows a link to its rate, and closes one that stays idle', async () => {
    const rate = 20_000;
    const { port } = await directory({ relayBytesPerSecond: rate, relayIdleTimeoutMs: 400 });
    const alice = await peer(port, 'alice');
    const bob = await peer(port, 'bob');
    const first = alice.relay('bob');
    await until(() => bob.calls.length === 1, 'the CALL');
    const b = await bob.relay('alice');
    const a = await first;
    const size = 60_000; // the first `rate` bytes pass at once (the burst), the rest at `rate` a second
    const started = Date.now();
    const got = read(b.stream, size, b.initial);
    a.stream.write(Buffer.alloc(size, 7));
    await got;
    const took = Date.now() - started;
    assert.ok(took >= ((size - rate) / rate) * 1000 * 0.9, `60 kB at 20 kB/s took ${took} ms`);
    // Nothing either way for the idle timeout: the relay closes the link.
    await until(() => a.stream.destroyed && b.stream.destroyed, 'the idle link to close', 5_000);
  });
});
