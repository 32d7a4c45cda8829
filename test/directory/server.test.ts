import assert from 'node:assert/strict';
import { once } from 'node:events';
import { duplexPair } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { DirectoryServer } from '../../src/directory/server.ts';
import type { DirectoryOptions } from '../../src/directory/options.ts';
import { MemoryDirectoryStore } from '../../src/directory/store/memory-store.ts';
import type { PeerRecord } from '../../src/directory/store/store.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { fingerprint } from '../../src/transport/identity.ts';
import { rawConnect } from '../helpers/net.ts';
import { RawClient, newKeyPair } from '../helpers/raw-client.ts';
import { textMsg } from '../helpers/messages.ts';

/** An ACK without where the connection is seen from (checked where it matters), for comparing ports and intervals. */
function withoutSeen(msg: Message): unknown {
  if (msg.type !== 'ACK') return msg;
  const { seenIp: _ip, seenPort: _port, ...rest } = msg;
  return rest;
}

const running: { server: DirectoryServer; clients: RawClient[] }[] = [];

async function start(options: Partial<DirectoryOptions> = {}) {
  const server = new DirectoryServer({ aliveIntervalMs: 1_000, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  const entry = { server, clients: [] as RawClient[] };
  running.push(entry);
  const client = async (opts: Parameters<typeof RawClient.connect>[1] = {}) => {
    const c = await RawClient.connect(port, opts);
    entry.clients.push(c);
    return c;
  };
  return { server, port, client };
}

afterEach(async () => {
  for (const { server, clients } of running.splice(0)) {
    for (const c of clients) c.destroy();
    await server.shutdown('test over');
  }
});

function errorCode(msg: unknown): string | undefined {
  return (msg as { type?: string; code?: string }).type === 'ERROR' ? (msg as { code: string }).code : undefined;
}

describe('directory: UP', () => {
  it('answers ACK with a port from the range and the alive interval', async () => {
    const { client } = await start({ aliveIntervalMs: 1_234, portRange: { lo: 52_000, hi: 52_010 } });
    const alice = await client();
    const ack = await alice.up('alice');
    assert.equal(ack.type, 'ACK');
    assert.ok(ack.type === 'ACK' && ack.port >= 52_000 && ack.port <= 52_010);
    assert.ok(ack.type === 'ACK' && ack.aliveIntervalMs === 1_234);
  });

  it('answers HELLO and UP that come in one segment with the last handshake message (as load tools send them)', async () => {
    const { client } = await start();
    const eager = await client({ hello: false });
    // The dialer's last handshake message is held for its first write: all of it leaves at once.
    eager.sendBytes(
      Buffer.concat([
        encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION }),
        encodeMessage({ type: 'UP', name: 'eager', ip: '', port: 0 }),
      ]),
    );
    assert.equal((await eager.next()).type, 'HELLO');
    assert.equal((await eager.next()).type, 'ACK');
  });

  it('an unspecified IP means the address the directory sees; a given IP is kept', async () => {
    const { client } = await start();
    const alice = await client({ localAddress: '127.0.0.5' });
    await alice.up('alice');
    const bob = await client();
    await bob.up('bob', 0, '192.0.2.7');
    const peers = await bob.who();
    assert.deepEqual(peers.map((p) => [p.name, p.ip]).sort(), [
      ['alice', '127.0.0.5'],
      ['bob', '192.0.2.7'],
    ]);
  });

  it('honours a requested free port and assigns another when it is taken', async () => {
    const { client } = await start();
    const a = await client();
    const b = await client();
    assert.deepEqual(withoutSeen(await a.up('a', 51_234)), { type: 'ACK', port: 51_234, aliveIntervalMs: 1_000 });
    const second = await b.up('b', 51_234);
    assert.equal(second.type, 'ACK');
    assert.notEqual(second.type === 'ACK' && second.port, 51_234);
  });

  it('assigns ports unique per IP, and reuses a port at another IP', async () => {
    const { client } = await start({ portRange: { lo: 53_000, hi: 53_099 } });
    const ports: number[] = [];
    for (let i = 0; i < 60; i++) {
      const ack = await (await client()).up(`user${i}`);
      assert.equal(ack.type, 'ACK');
      if (ack.type === 'ACK') ports.push(ack.port);
    }
    assert.equal(new Set(ports).size, 60);
    const elsewhere = await (await client()).up('remote', ports[0], '198.51.100.1');
    assert.deepEqual(withoutSeen(elsewhere), { type: 'ACK', port: ports[0], aliveIntervalMs: 1_000 });
  });

  it('refuses a name already online with NATTER_ERR_NAME_TAKEN and keeps the connection', async () => {
    const { client } = await start();
    await (await client()).up('alice');
    const impostor = await client();
    assert.equal(errorCode(await impostor.up('alice')), ERROR_CODES.NAME_TAKEN);
    assert.equal((await impostor.up('alice2')).type, 'ACK', 'the same connection can pick another name');
  });

  it('refuses an UP under another name on a registered connection; the same name again is idempotent', async () => {
    const { client } = await start();
    const alice = await client();
    const ack = await alice.up('alice');
    assert.equal(errorCode(await alice.up('mallory')), ERROR_CODES.ALREADY_REGISTERED);
    assert.deepEqual(await alice.up('alice'), ack);
    assert.deepEqual(
      (await alice.who()).map((p) => p.name),
      ['alice'],
    );
  });

  it('refuses with NATTER_ERR_PORTS_EXHAUSTED when the range is used up', async () => {
    const { client } = await start({ portRange: { lo: 54_000, hi: 54_001 } });
    await (await client()).up('a');
    await (await client()).up('b');
    assert.equal(errorCode(await (await client()).up('c')), ERROR_CODES.PORTS_EXHAUSTED);
  });

  it('refuses a bad name in UP as malformed input with NATTER_ERR_INVALID_NAME', async () => {
    const { client } = await start();
    const c = await client();
    // name "a b" (a space) built by hand: the encoder would refuse it
    c.sendBytes(Buffer.from([0, 0, 0, 7, 0x10, 3, 0x61, 0x20, 0x62, 0, 0, 0]));
    assert.equal(errorCode(await c.next()), ERROR_CODES.INVALID_NAME);
    await c.closed();
  });
});

describe('directory: names bound to keys', () => {
  it('publishes each name with the key that registered it', async () => {
    const { client } = await start();
    const alice = await client();
    await alice.up('alice');
    const [entry] = await alice.who();
    assert.deepEqual(entry?.key, alice.keyPair.publicKey);
  });

  it('refuses an impostor (same name, another key) while the first is online, and lets the same key take over', async () => {
    const { client } = await start();
    const aliceKey = newKeyPair();
    const alice = await client({ keyPair: aliceKey });
    assert.equal((await alice.up('alice')).type, 'ACK');
    const impostor = await client();
    const refusal = await impostor.up('alice');
    assert.equal(errorCode(refusal), ERROR_CODES.NAME_TAKEN);
    assert.deepEqual(
      (await alice.who()).map((p) => p.key),
      [aliceKey.publicKey],
    );
    // Alice again, on a new connection (her old one not yet gone): she takes her name over.
    const again = await client({ keyPair: aliceKey });
    assert.equal((await again.up('alice')).type, 'ACK');
    alice.send({ type: 'ALIVE' });
    assert.equal((await alice.next()).type, 'NACK', 'the old connection no longer speaks for the name');
    alice.send({ type: 'DOWN' });
    alice.destroy();
    await alice.closed();
    const listed = await again.who();
    assert.deepEqual(
      listed.map((p) => [p.name, p.key]),
      [['alice', aliceKey.publicKey]],
      'DOWN and close on the old connection leave the entry alone',
    );
  });

  it("spoofed DOWN and ALIVE from another key's connection affect nothing", async () => {
    const { client } = await start();
    const alice = await client();
    await alice.up('alice');
    const mallory = await client();
    mallory.send({ type: 'DOWN' });
    mallory.send({ type: 'ALIVE' });
    assert.equal((await mallory.next()).type, 'NACK');
    assert.deepEqual(
      (await alice.who()).map((p) => p.name),
      ['alice'],
    );
    alice.send({ type: 'ALIVE' });
    assert.equal((await alice.next()).type, 'ACK');
  });

  it('closes connections whose handshake is garbage, and keeps serving the others', async () => {
    const { server, port, client } = await start({ handshakeTimeoutMs: 200 });
    const good = await client();
    await good.up('good');
    for (const bytes of [
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0]),
      Buffer.from([5, 0, 0, 1, 2, 3, 4, 5]),
      Buffer.from([40, 0, 0, 1]),
    ]) {
      const socket = await rawConnect(port);
      socket.on('error', () => {});
      socket.write(bytes);
      await once(socket, 'close');
      assert.deepEqual(
        (await good.who()).map((p) => p.name),
        ['good'],
      );
    }
    assert.equal(server.counters.handshakeFailures, 4);
  });
});

describe('directory: handshakes on worker threads', () => {
  it('registers clients whose handshakes ran on its threads, each bound to the key it proved', async () => {
    const { client } = await start({ handshakeThreads: 2 });
    const clients = await Promise.all(Array.from({ length: 8 }, () => client()));
    await Promise.all(clients.map((c, i) => c.up(`t${i}`)));
    const listed = await (clients[0] as RawClient).who();
    assert.deepEqual(listed.map((p) => p.name).sort(), clients.map((_, i) => `t${i}`).sort());
    for (const [i, c] of clients.entries()) assert.deepEqual(listed.find((p) => p.name === `t${i}`)?.key, c.keyPair.publicKey);
  });

  it('fails garbage and handshakes cut off at the deadline there too, and keeps serving', async () => {
    const { server, port, client } = await start({ handshakeThreads: 1, handshakeTimeoutMs: 200 });
    // Half a handshake: the first message, then silence until the deadline.
    const stalled = await rawConnect(port);
    stalled.on('error', () => {});
    stalled.resume(); // reading, so that the directory's close is seen
    stalled.write(Buffer.concat([Buffer.from([32, 0, 0]), Buffer.alloc(32, 9)]));
    const garbage = await rawConnect(port);
    garbage.on('error', () => {});
    garbage.write(Buffer.from([5, 0, 0, 1, 2, 3, 4, 5]));
    await Promise.all([once(stalled, 'close'), once(garbage, 'close')]);
    assert.equal(server.counters.handshakeFailures, 2);
    const good = await client();
    assert.equal((await good.up('good')).type, 'ACK');
  });

  it('refuses a number of threads that is not a whole number from 0 to 64', () => {
    for (const handshakeThreads of [-1, 1.5, 65]) {
      assert.throws(
        () => new DirectoryServer({ handshakeThreads }),
        (err) => err instanceof NatterError && err.code === ERROR_CODES.INVALID_ARGUMENT,
      );
    }
  });
});

describe('directory: DOWN, WHO, ALIVE', () => {
  it('DOWN removes the sender and nobody else', async () => {
    const { client } = await start();
    const alice = await client();
    const bob = await client();
    await alice.up('alice');
    await bob.up('bob');
    alice.send({ type: 'DOWN' });
    assert.deepEqual(
      (await bob.who()).map((p) => p.name),
      ['bob'],
    );
    bob.send({ type: 'DOWN' });
    bob.send({ type: 'DOWN' }); // twice is harmless, and DOWN has no answer
    bob.send({ type: 'WHO' });
    assert.equal(errorCode(await bob.next()), ERROR_CODES.NOT_REGISTERED, 'the first answer is to WHO');
  });

  it('WHO before UP is refused with NATTER_ERR_NOT_REGISTERED', async () => {
    const { client } = await start();
    const c = await client();
    c.send({ type: 'WHO' });
    assert.equal(errorCode(await c.next()), ERROR_CODES.NOT_REGISTERED);
    assert.equal((await c.up('late')).type, 'ACK');
  });

  it('ALIVE answers ACK with the assigned port; ALIVE from an unknown client gets NACK', async () => {
    const { client } = await start();
    const alice = await client();
    const ack = await alice.up('alice');
    alice.send({ type: 'ALIVE' });
    assert.deepEqual(await alice.next(), ack);
    const stranger = await client();
    stranger.send({ type: 'ALIVE' });
    assert.equal((await stranger.next()).type, 'NACK');
  });

  it('a closed connection leaves the list at once', async () => {
    const { client } = await start();
    const alice = await client();
    const bob = await client();
    await alice.up('alice');
    await bob.up('bob');
    alice.destroy();
    await alice.closed();
    for (let i = 0; i < 50; i++) {
      if ((await bob.who()).length === 1) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.fail('alice still listed');
  });
});

describe('directory: expiry on the monotonic clock', () => {
  it('removes a client silent for two alive intervals; its ALIVE then gets NACK and it can register again', async () => {
    const clock = new ManualClock(1_000);
    const { server, client } = await start({ clock, aliveIntervalMs: 1_000 });
    const quiet = await client();
    const chatty = await client();
    const ack = await quiet.up('quiet');
    await chatty.up('chatty');
    clock.advance(1_500);
    chatty.send({ type: 'ALIVE' });
    await chatty.next();
    await server.sweep();
    assert.equal((await chatty.who()).length, 2, 'not yet: 1.5 intervals');
    clock.advance(600); // quiet: 2.1 intervals silent; chatty: 0.6
    await server.sweep();
    assert.deepEqual(
      (await chatty.who()).map((p) => p.name),
      ['chatty'],
    );
    quiet.send({ type: 'ALIVE' });
    assert.equal((await quiet.next()).type, 'NACK');
    assert.equal(ack.type, 'ACK');
    // A client re-registering asks for the port it still listens on.
    assert.deepEqual(await quiet.up('quiet', ack.type === 'ACK' ? ack.port : 0), ack, 'registers again with its port');
    assert.equal(server.counters.expirations, 1);
  });

  it('any request counts as being heard from: a client that only sends WHO stays listed', async () => {
    const clock = new ManualClock();
    const { server, client } = await start({ clock, aliveIntervalMs: 1_000 });
    const c = await client();
    await c.up('lister');
    for (let i = 0; i < 5; i++) {
      clock.advance(900);
      assert.equal((await c.who()).length, 1);
      await server.sweep();
    }
    assert.equal(server.counters.expirations, 0, 'heard from every 0.9 intervals for 4.5 intervals');
  });

  it('exactly two intervals of silence is not yet expiry', async () => {
    const clock = new ManualClock();
    const { server, client } = await start({ clock, aliveIntervalMs: 1_000 });
    const c = await client();
    await c.up('edge');
    clock.advance(2_000);
    await server.sweep();
    assert.equal((await c.who()).length, 1);
  });

  it('a wall-clock step changes nothing', async () => {
    const { server, client } = await start({ aliveIntervalMs: 60_000 });
    const c = await client();
    await c.up('steady');
    const realNow = Date.now;
    try {
      Date.now = () => realNow() + 365 * 24 * 3600 * 1000;
      await server.sweep();
      Date.now = () => realNow() - 365 * 24 * 3600 * 1000;
      await server.sweep();
    } finally {
      Date.now = realNow;
    }
    assert.equal((await c.who()).length, 1);
  });

  it('closes a connection that stays silent for three intervals', async () => {
    const clock = new ManualClock();
    const { server, client } = await start({ clock, aliveIntervalMs: 1_000 });
    const c = await client();
    await c.up('sleepy');
    clock.advance(3_100);
    await server.sweep();
    await c.closed();
    assert.equal(server.counters.idleClosed, 1);
  });
});

describe('directory: WHO consistency', () => {
  it('HDR always matches the PEER records while hundreds register and leave concurrently', async () => {
    const { client } = await start({ maxClients: 2_000 });
    const watcher = await client();
    await watcher.up('watcher');
    const churn = async (i: number) => {
      const c = await client();
      await c.up(`churn${i}`);
      if (i % 2 === 0) c.send({ type: 'DOWN' });
      else c.destroy();
    };
    const listings: number[] = [];
    const watching = (async () => {
      for (let i = 0; i < 40; i++) listings.push((await watcher.who()).length); // who() checks HDR == PEER count strictly
    })();
    await Promise.all(Array.from({ length: 300 }, (_, i) => churn(i)));
    await watching;
    assert.equal(listings.length, 40);
    assert.ok(listings.every((n) => n >= 1 && n <= 301));
  });
});

describe('directory: what the WHO answer keeps', () => {
  it('keeps one buffer for the whole listing, however the names came and went', async () => {
    // Frames cached from listings made at different times, each a slice of Node's shared pool,
    // would keep a pool slab (64 KB on Node 24) each for as long as the name stays online.
    const { server, client } = await start();
    const watcher = await client();
    await watcher.up('watcher');
    for (let i = 0; i < 20; i++) {
      await (await client()).up(`early${i}`);
      Buffer.allocUnsafe(40_000); // the pool moves on between listings, as it does under traffic
      assert.equal((await watcher.who()).length, i + 2);
    }
    const names = ['watcher', ...Array.from({ length: 20 }, (_, i) => `early${i}`)];
    const listing = await server.listing();
    for (const name of names) {
      const frame = await server.peerFrame(name);
      assert.ok(frame !== undefined && frame.buffer === listing.buffer, `${name}'s PEER frame is a view of the listing`);
    }
  });
});

describe('directory: administrator messages', () => {
  it('are refused from keys that are not admin keys, including a registered client, and nothing stops', async () => {
    const admin = newKeyPair();
    const { server, port, client } = await start({ adminKeys: [admin.publicKey] });
    const member = await client();
    await member.up('member');
    member.send({ type: 'SHUTDOWN' });
    const refusal = await member.next();
    assert.equal(errorCode(refusal), ERROR_CODES.NOT_AUTHORIZED);
    assert.match((refusal as { reason: string }).reason, new RegExp(fingerprint(member.keyPair.publicKey)));
    member.send({ type: 'DUMP' });
    assert.equal(errorCode(await member.next()), ERROR_CODES.NOT_AUTHORIZED);
    assert.equal(server.isShuttingDown, false);
    assert.equal((await member.who()).length, 1, 'the refused client keeps its registration');
    const stranger = await RawClient.connect(port);
    stranger.send({ type: 'SHUTDOWN' });
    assert.equal(errorCode(await stranger.next()), ERROR_CODES.NOT_AUTHORIZED);
    stranger.destroy();
    assert.equal(server.counters.adminRefused, 3);
  });

  it("are taken from the directory's own key by default, from any address", async () => {
    const own = newKeyPair();
    const server = new DirectoryServer({ keyPair: own });
    running.push({ server, clients: [] });
    const { port } = await server.listen(0, '127.0.0.1');
    const admin = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: own });
    assert.deepEqual(admin.directoryKey, own.publicKey);
    assert.equal(((await admin.dump()) as { server: string }).server, 'natter-directory');
    await admin.close();
    // A stream with no proven key (handle() over an in-memory pair) may not administer or register.
    const [ours, theirs] = duplexPair();
    server.handle(theirs, { remoteAddress: '203.0.113.9' });
    const conn = new FramedConnection(ours);
    const client = new DirectoryClient(conn);
    await new Promise<void>((r) => conn.once('ready', () => r()));
    await assert.rejects(
      client.dump(),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.NOT_AUTHORIZED && /unauthenticated/.test(e.message),
    );
    await assert.rejects(client.register('nokey'), (e) => e instanceof NatterError && e.code === ERROR_CODES.NOT_AUTHORIZED);
    conn.destroy();
  });

  it('DUMP returns the state as JSON, in several STATE frames when large', async () => {
    const admin = newKeyPair();
    const { port, client } = await start({ adminKeys: [admin.publicKey], limits: { maxFrameBytes: 300 } });
    for (let i = 0; i < 30; i++) await (await client()).up(`member${i}`);
    const conn = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: admin, limits: { maxFrameBytes: 300 } });
    const state = (await conn.dump()) as {
      online: number;
      clients: { name: string; port: number; fingerprint: string; lastHeardMsAgo: number }[];
      counters: { registrations: number };
    };
    assert.equal(state.online, 30);
    assert.equal(state.clients.length, 30);
    assert.equal(state.counters.registrations, 30);
    assert.ok(
      state.clients.every((c) => c.port >= 50_000 && c.lastHeardMsAgo >= 0 && /^([a-z2-7]{4} ){7}[a-z2-7]{4}$/.test(c.fingerprint)),
    );
    await conn.close();
  });

  it('SHUTDOWN reaches every registered client, closes them all and stops the directory', async () => {
    const adminKey = newKeyPair();
    const { server, port, client } = await start({ adminKeys: [adminKey.publicKey] });
    const members = await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const c = await client();
        await c.up(`m${i}`);
        return c;
      }),
    );
    const stopped = new Promise((resolve) => server.once('shutdown', resolve));
    const admin = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: adminKey });
    await admin.shutdown();
    for (const m of members) {
      assert.deepEqual(await m.next(), { type: 'SHUTDOWN' });
      await m.closed();
    }
    assert.equal(await stopped, 'administrator');
    await assert.rejects(RawClient.connect(port), 'no longer accepting');
  });
});

describe('directory: holding up', () => {
  it('closes a connection that does not send HELLO and UP before the deadline, however it trickles', async () => {
    const clock = new ManualClock();
    const { server, client } = await start({ clock, registerTimeoutMs: 5_000 });
    const idle = await client({ hello: false });
    const trickler = await client();
    trickler.sendBytes(Buffer.from([0, 0, 0])); // part of a header, more "coming"
    clock.advance(4_000);
    await server.sweep();
    trickler.sendBytes(Buffer.from([9]));
    assert.equal(trickler.isClosed, false);
    clock.advance(1_001);
    await server.sweep();
    for (const c of [idle, trickler]) {
      const frames: unknown[] = [];
      try {
        for (;;) frames.push(await c.next());
      } catch {
        // closed
      }
      assert.equal(errorCode(frames.at(-1)), ERROR_CODES.REGISTER_TIMEOUT);
    }
    assert.equal(server.counters.registerTimeouts, 2);
  });

  it('refuses clients past maxClients with one ERROR, then closes', async () => {
    const { client } = await start({ maxClients: 3 });
    for (let i = 0; i < 3; i++) await client();
    const extra = await client({ hello: false });
    assert.equal((await extra.next()).type, 'HELLO');
    assert.equal(errorCode(await extra.next()), ERROR_CODES.SERVER_FULL);
    await extra.closed();
  });

  it('caps connections per source IP; loopback is exempt unless configured otherwise', async () => {
    const exempt = await start({ maxConnectionsPerIp: 2 });
    for (let i = 0; i < 4; i++) assert.equal((await (await exempt.client()).up(`x${i}`)).type, 'ACK');
    const capped = await start({ maxConnectionsPerIp: 2, isLoopbackExempt: false });
    await capped.client();
    await capped.client();
    await capped.client({ localAddress: '127.0.0.2' }); // another address has its own allowance
    const third = await capped.client({ hello: false });
    await third.next();
    assert.equal(errorCode(await third.next()), ERROR_CODES.TOO_MANY_CONNECTIONS);
    await third.closed();
  });

  it('a store that fails in the call that refreshes fails that connection alone, as an internal error', async () => {
    class FailingRefresh extends MemoryDirectoryStore {
      override refreshNow(name: string, owner: string, now: number): PeerRecord | undefined {
        if (name === 'broken') throw new Error('the store broke');
        return super.refreshNow(name, owner, now);
      }
    }
    const { client } = await start({ store: new FailingRefresh() });
    const broken = await client();
    await broken.up('broken');
    const fine = await client();
    await fine.up('fine');
    broken.send({ type: 'ALIVE' });
    assert.equal(errorCode(await broken.next()), ERROR_CODES.INTERNAL);
    await broken.closed();
    fine.send({ type: 'ALIVE' });
    assert.equal((await fine.next()).type, 'ACK');
  });

  it('answers pipelined requests in the order they came, heartbeats between slower requests included', async () => {
    const { client } = await start();
    const other = await client();
    await other.up('other');
    const c = await client();
    await c.up('busy');
    // ALIVE is answered in the call that reads it, WHO and FIND a turn or more later: the ACKs must still wait their turn.
    const asked: Message[] = [{ type: 'ALIVE' }, { type: 'WHO' }, { type: 'ALIVE' }, { type: 'FIND', name: 'other' }, { type: 'ALIVE' }];
    c.sendBytes(Buffer.concat(asked.map((m) => encodeMessage(m))));
    const answers: string[] = [];
    for (let i = 0; i < 8; i++) answers.push((await c.next()).type);
    assert.deepEqual(answers, ['ACK', 'HDR', 'PEER', 'PEER', 'ACK', 'HDR', 'PEER', 'ACK']);
  });

  it('delays commands over the rate, answering all of them in order', async () => {
    const { client } = await start({ rateBurst: 5, ratePerSecond: 50 });
    const c = await client();
    await c.up('busy'); // uses one token
    const started = performance.now();
    for (let i = 0; i < 10; i++) c.send({ type: 'ALIVE' });
    for (let i = 0; i < 10; i++) assert.equal((await c.next()).type, 'ACK');
    // 4 tokens left, 6 more commands at 50/s: at least ~120 ms of pacing.
    assert.ok(performance.now() - started >= 100, 'excess commands were delayed');
  });

  it('disconnects a client that keeps exceeding the rate', async () => {
    const { server, client } = await start({ rateBurst: 2, ratePerSecond: 200, maxDelayedCommands: 5 });
    const c = await client();
    for (let i = 0; i < 30; i++) c.send({ type: 'ALIVE' });
    const frames: unknown[] = [];
    try {
      for (;;) frames.push(await c.next());
    } catch {
      // closed
    }
    assert.equal(errorCode(frames.at(-1)), ERROR_CODES.RATE_LIMITED);
    assert.ok(frames.length < 30);
    assert.equal(server.counters.rateLimited, 1);
  });

  it('cuts off a client that stops reading, and memory stays bounded', async () => {
    const { server, client } = await start({ maxQueueBytes: 16_384, rateBurst: 100_000, ratePerSecond: 100_000, maxClients: 500 });
    for (let i = 0; i < 200; i++) await (await client()).up(`filler${i}`);
    const hog = await client();
    await hog.up('hog');
    hog.socket.pause(); // never reads again
    // Each WHO answer is ~4 KiB; the kernel's socket buffers take a few MiB before the directory's queue grows.
    for (let i = 0; i < 5_000 && !hog.isClosed; i++) {
      hog.send({ type: 'WHO' });
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await hog.closed();
    assert.equal(server.counters.slowConsumersCut, 1);
  });

  it('a listing larger than the output queue cap still reaches a client that reads', async () => {
    const { client } = await start({ maxQueueBytes: 2_048, maxClients: 500 });
    for (let i = 0; i < 200; i++) await (await client()).up(`member-with-a-longer-name-${i}`);
    const reader = await client();
    await reader.up('reader');
    for (let i = 0; i < 3; i++) assert.equal((await reader.who()).length, 201, 'about 9 KiB, four times the cap');
  });

  it('garbage, oversized lengths, truncated frames and out-of-place messages get an ERROR and never disturb others', async () => {
    const { server, client } = await start();
    const good = await client();
    await good.up('good');
    const cases: [Buffer, string][] = [
      [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), ERROR_CODES.FRAME_TOO_LARGE],
      [Buffer.from([0, 0, 0, 0, 0xfe]), ERROR_CODES.UNKNOWN_TYPE],
      [Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x22]), ERROR_CODES.FRAME_TOO_LARGE],
      [Buffer.from([0, 0, 0, 2, 0x15, 0]), ERROR_CODES.UNEXPECTED_MESSAGE], // directory must not be sent HDR... truncated first
      [encodeMessage(textMsg('hello directory')), ERROR_CODES.UNEXPECTED_MESSAGE],
      [encodeMessage({ type: 'PEER', name: 'x', ip: '127.0.0.1', port: 1, key: Buffer.alloc(32) }), ERROR_CODES.UNEXPECTED_MESSAGE],
    ];
    cases[3] = [Buffer.from([0, 0, 0, 2, 0x15, 0, 0]), ERROR_CODES.TRUNCATED];
    for (const [bytes, code] of cases) {
      const bad = await client();
      bad.sendBytes(bytes);
      const answer = await bad.next();
      assert.equal(errorCode(answer), code, `${bytes.toString('hex')} → ${JSON.stringify(answer)}`);
      await bad.closed();
      assert.deepEqual(
        (await good.who()).map((p) => p.name),
        ['good'],
      );
    }
    // A frame cut off by the client closing: the directory notes it and carries on.
    const cut = await client();
    cut.sendBytes(encodeMessage({ type: 'UP', name: 'cut', ip: '', port: 0 }).subarray(0, 8));
    cut.socket.end();
    await cut.closed();
    assert.deepEqual(
      (await good.who()).map((p) => p.name),
      ['good'],
    );
    assert.ok(server.counters.protocolErrors >= cases.length);
  });

  it('validates its options', () => {
    assert.throws(
      () => new DirectoryServer({ aliveIntervalMs: 86_400_001 }),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT,
      'past a day, timers would overflow',
    );
    assert.throws(
      () => new DirectoryServer({ aliveIntervalMs: 0 }),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT,
    );
    assert.throws(
      () => new DirectoryServer({ ratePerSecond: -1 }),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT,
    );
    assert.throws(
      () => new DirectoryServer({ adminKeys: [Buffer.alloc(31)] }),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT,
    );
    assert.throws(
      () => new DirectoryServer({ handshakeTimeoutMs: 0 }),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT,
    );
  });
});
