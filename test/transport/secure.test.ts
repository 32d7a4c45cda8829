import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import Noise from 'noise-handshake';
import sodium from 'sodium-universal';
import { ERROR_CODES, NatterError, isNatterError } from '../../src/errors.ts';
import type { Message } from '../../src/protocol/messages.ts';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { MAX_RECORD_BYTES, RecordGuard, keyPairFromSeed, secureSocket, type KeyPair } from '../../src/transport/secure.ts';
import { acceptSecure, dial } from '../../src/transport/tcp.ts';
import { rawConnect, startServer, type TestServer } from '../helpers/net.ts';
import { textMsg, nextMessage } from '../helpers/messages.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));
const mallory = keyPairFromSeed(Buffer.alloc(32, 3));

function x25519Of(keyPair: KeyPair): { publicKey: Buffer; secretKey: Buffer } {
  const dh = { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(32) };
  sodium.crypto_sign_ed25519_pk_to_curve25519(dh.publicKey, keyPair.publicKey);
  sodium.crypto_sign_ed25519_sk_to_curve25519(dh.secretKey, keyPair.secretKey);
  return dh;
}

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** A server that runs the handshake as `keyPair` and records framed connections and handshake failures. */
async function secureServer(keyPair: KeyPair, handshakeTimeoutMs?: number) {
  const conns: FramedConnection[] = [];
  const failures: NatterError[] = [];
  let onConn: (conn: FramedConnection) => void = () => {};
  const server = await startServer((socket: Socket) => {
    acceptSecure(socket, keyPair, handshakeTimeoutMs).then(
      (stream) => {
        const conn = new FramedConnection(stream, { hello: 'answer' });
        conns.push(conn);
        onConn(conn);
      },
      (err: NatterError) => failures.push(err),
    );
  });
  servers.push(server);
  return {
    server,
    conns,
    failures,
    nextConn: () => new Promise<FramedConnection>((resolve) => (onConn = resolve)),
  };
}

async function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('encrypted channel', () => {
  it('proves both static keys and carries natter frames both ways', async () => {
    const s = await secureServer(bob);
    const accepted = s.nextConn();
    const conn = await dial({ host: '127.0.0.1', port: s.server.port, keyPair: alice });
    const other = await accepted;
    assert.deepEqual(conn.remoteKey, bob.publicKey);
    assert.deepEqual(other.remoteKey, alice.publicKey);
    const got = nextMessage(other);
    conn.send(textMsg('hello bob'));
    assert.deepEqual((await got)[0], textMsg('hello bob'));
    const back = nextMessage(conn);
    other.send(textMsg('hi alice'));
    assert.deepEqual((await back)[0], textMsg('hi alice'));
    await conn.close();
    await other.closed();
  });

  it('carries writes larger than one record, cut into records', async () => {
    const s = await secureServer(bob);
    const accepted = s.nextConn();
    const conn = await dial({ host: '127.0.0.1', port: s.server.port, keyPair: alice });
    const other = await accepted;
    const received: Message[] = [];
    other.on('message', (m) => received.push(m));
    const text = 'x'.repeat(4000);
    for (let i = 0; i < 100; i++) conn.send(textMsg(text)); // about 400 KB in one write
    await waitFor(() => received.length === 100, '100 messages');
    assert.ok(received.every((m) => m.type === 'TEXT' && m.text === text));
    await conn.close();
  });

  it('lets the dialer refuse a key it did not expect before any frame is sent', async () => {
    const s = await secureServer(mallory);
    const expected = bob.publicKey;
    await assert.rejects(
      dial({
        host: '127.0.0.1',
        port: s.server.port,
        keyPair: alice,
        verifyKey: (key) => {
          if (!key.equals(expected)) throw new NatterError(ERROR_CODES.KEY_MISMATCH, 'not bob');
        },
      }),
      (err) => isNatterError(err, ERROR_CODES.KEY_MISMATCH),
    );
    assert.equal(s.conns.length, 0);
  });

  it('fails a connection that sends garbage instead of a handshake, and nothing else', async () => {
    const s = await secureServer(bob);
    const good = s.nextConn();
    const conn = await dial({ host: '127.0.0.1', port: s.server.port, keyPair: alice });
    await good;
    const garbage = await rawConnect(s.server.port);
    garbage.on('error', () => {});
    garbage.write(Buffer.from('GET / HTTP/1.1\r\nHost: natter\r\n\r\n'));
    await once(garbage, 'close');
    await waitFor(() => s.failures.length === 1, 'the failure');
    assert.equal(s.failures[0]?.code, ERROR_CODES.HANDSHAKE_FAILED);
    // The good connection is untouched.
    const got = nextMessage(s.conns[0] as FramedConnection);
    conn.send(textMsg('still here'));
    assert.deepEqual((await got)[0], textMsg('still here'));
    await conn.close();
  });

  it('refuses a dialer that proves one key and claims another, and takes nothing from it', async () => {
    const s = await secureServer(bob);
    const socket = await rawConnect(s.server.port);
    socket.on('error', () => {});
    // mallory runs the handshake with her own static key and puts alice's Ed25519 key in her payload.
    const liar = new Noise('XX', true, x25519Of(mallory));
    liar.initialise(Buffer.alloc(0));
    const unit = (body: Uint8Array) => Buffer.concat([Buffer.from([body.length & 0xff, body.length >> 8, 0]), body]);
    socket.write(unit(liar.send()));
    const [reply] = (await once(socket, 'data')) as [Buffer];
    liar.recv(reply.subarray(3));
    socket.write(unit(liar.send(alice.publicKey)));
    await once(socket, 'close');
    await waitFor(() => s.failures.length === 1, 'the failure');
    assert.equal(s.failures[0]?.code, ERROR_CODES.HANDSHAKE_FAILED);
    assert.match(s.failures[0]?.message ?? '', /does not belong to the key it proved/);
    assert.equal(s.conns.length, 0);
  });

  it('refuses a handshake message that declares a huge length, before reading it', async () => {
    const s = await secureServer(bob);
    const socket = await rawConnect(s.server.port);
    socket.on('error', () => {});
    socket.write(Buffer.from([0xff, 0xff, 0xff, 1, 2, 3]));
    await once(socket, 'close');
    await waitFor(() => s.failures.length === 1, 'the failure');
    assert.equal(s.failures[0]?.code, ERROR_CODES.HANDSHAKE_FAILED);
    assert.match(s.failures[0]?.message ?? '', /16777215 bytes/);
  });

  it('closes a truncated handshake at the deadline', async () => {
    const s = await secureServer(bob, 150);
    const socket = await rawConnect(s.server.port);
    socket.on('error', () => {});
    socket.write(Buffer.from([32, 0, 0, 1, 2, 3])); // promises 32 bytes, sends 3
    await once(socket, 'close');
    assert.equal(s.failures[0]?.code, ERROR_CODES.TIMEOUT);
  });

  it('reports a refused connection as closed, not as a handshake failure', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await assert.rejects(dial({ host: '127.0.0.1', port, keyPair: alice }), (err) => isNatterError(err, ERROR_CODES.CONNECTION_CLOSED));
  });

  it('cuts off a peer that sends an encrypted record larger than natter ever sends', async () => {
    // A hand-made client: the handshake through the library, then a raw oversized record header on the socket.
    const s = await secureServer(bob);
    const accepted = s.nextConn();
    const socket = connect({ host: '127.0.0.1', port: s.server.port });
    const stream = await secureSocket(socket, true, { keyPair: alice });
    const conn = await accepted;
    const closed = conn.closed();
    const over = MAX_RECORD_BYTES + 1;
    socket.write(Buffer.from([over & 0xff, (over >> 8) & 0xff, over >> 16]));
    await closed;
    assert.equal(conn.failure?.code, ERROR_CODES.FRAME_TOO_LARGE);
    stream.destroy();
  });

  it('sends no readable chat text over the wire', async () => {
    // A relay between the two sides records every byte in both directions.
    const s = await secureServer(bob);
    const wire: Buffer[] = [];
    const relay = await startServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port: s.server.port });
      inbound.on('data', (c: Buffer) => {
        wire.push(c);
        outbound.write(c);
      });
      outbound.on('data', (c: Buffer) => {
        wire.push(c);
        inbound.write(c);
      });
      inbound.on('close', () => outbound.destroy());
      outbound.on('close', () => inbound.destroy());
      outbound.on('error', () => {});
      inbound.on('error', () => {});
    });
    servers.push(relay);
    const accepted = s.nextConn();
    const conn = await dial({ host: '127.0.0.1', port: relay.port, keyPair: alice });
    const other = await accepted;
    const secret = 'the eagle lands at midnight';
    const got = nextMessage(other);
    conn.send(textMsg(secret));
    await got;
    const back = nextMessage(conn);
    other.send(textMsg(secret.toUpperCase()));
    await back;
    await conn.close();
    const bytes = Buffer.concat(wire);
    assert.ok(bytes.length > 100);
    for (const needle of [secret, secret.toUpperCase(), 'eagle', 'EAGLE']) {
      assert.equal(bytes.indexOf(Buffer.from(needle)), -1, `"${needle}" crossed the wire in clear`);
    }
  });
});

describe('RecordGuard', () => {
  it('reads lengths split over any chunks, and refuses the first oversized one', () => {
    const record = (n: number) => Buffer.concat([Buffer.from([n & 0xff, (n >> 8) & 0xff, n >> 16]), Buffer.alloc(n)]);
    const stream = Buffer.concat([record(32), record(96), record(70_000 - 20_000), record(MAX_RECORD_BYTES)]);
    for (let cut = 1; cut < 200; cut += 7) {
      const g = new RecordGuard(2);
      for (let at = 0; at < stream.length; at += cut) assert.equal(g.push(stream.subarray(at, at + cut)), undefined);
    }
    const g = new RecordGuard(1);
    assert.equal(g.push(record(96)), undefined);
    assert.match(g.push(record(MAX_RECORD_BYTES + 1)) ?? '', /encrypted record/);
    assert.match(new RecordGuard(1).push(record(257)) ?? '', /handshake message of 257 bytes/);
    // The largest handshake message is 128 bytes (protocol.md §1.1); one byte more is refused.
    assert.equal(new RecordGuard(1).push(record(128)), undefined);
    assert.match(new RecordGuard(1).push(record(129)) ?? '', /handshake message of 129 bytes \(the most is 128\)/);
    assert.match(new RecordGuard(1).push(record(31)) ?? '', /handshake message of 31 bytes \(at least 32\)/);
  });
});
