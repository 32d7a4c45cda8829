import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { dial } from '../../src/transport/tcp.ts';
import { collect, rawConnect, startServer, type TestServer } from '../helpers/net.ts';
import { textMsg, nextMessage } from '../helpers/messages.ts';

const HELLO = encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION });

function decodeStream(bytes: Buffer): Message[] {
  const d = new FrameDecoder();
  d.push(bytes);
  const out: Message[] = [];
  for (let m = d.next(); m !== undefined; m = d.next()) out.push(m);
  return out;
}

/** A server whose accepted connections are FramedConnections, recorded with their failures. */
async function framedServer(setup: (conn: FramedConnection) => void = () => {}, options = {}) {
  const conns: FramedConnection[] = [];
  const failures: NatterError[] = [];
  const server = await startServer((socket: Socket) => {
    const conn = new FramedConnection(socket, options);
    conn.on('failure', (err) => failures.push(err));
    conns.push(conn);
    setup(conn);
  });
  return { server, conns, failures };
}

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

async function refusedWith(code: NatterErrorCode, bytes: Buffer) {
  const { server, failures } = await framedServer();
  servers.push(server);
  const socket = await rawConnect(server.port);
  const received = collect(socket);
  socket.write(bytes);
  const frames = decodeStream(await received);
  assert.deepEqual(frames[0], { type: 'HELLO', version: PROTOCOL_VERSION });
  const error = frames[1];
  assert.equal(error?.type, 'ERROR');
  assert.equal(error.type === 'ERROR' && error.code, code);
  assert.equal(frames.length, 2, 'one ERROR frame, then close');
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.code, code);
}

describe('FramedConnection over TCP', () => {
  it('exchanges HELLO and carries messages both ways', async () => {
    const { server } = await framedServer((conn) => {
      conn.on('message', (msg) => {
        if (msg.type === 'TEXT') conn.send(textMsg(`echo: ${msg.text}`));
      });
    });
    servers.push(server);
    const client = await dial({ host: '127.0.0.1', port: server.port });
    assert.equal(client.isReady, true);
    client.send(textMsg('héllo'));
    const [reply] = await nextMessage(client);
    assert.deepEqual(reply, textMsg('echo: héllo'));
    await client.close();
    assert.equal(client.state, 'closed');
    assert.equal(client.send({ type: 'END' }), false, 'nothing is sent once closed');
  });

  it('answers garbage with one ERROR frame and closes', async () => {
    await refusedWith(ERROR_CODES.UNKNOWN_TYPE, Buffer.concat([HELLO, Buffer.from([0, 0, 0, 0, 0x99])]));
  });

  it('answers an oversized length with NATTER_ERR_FRAME_TOO_LARGE', async () => {
    await refusedWith(ERROR_CODES.FRAME_TOO_LARGE, Buffer.concat([HELLO, Buffer.from([0x7f, 0xff, 0xff, 0xff, 0x22])]));
  });

  it('refuses a message before HELLO', async () => {
    await refusedWith(ERROR_CODES.UNEXPECTED_MESSAGE, encodeMessage({ type: 'WHO' }));
  });

  it('refuses a second HELLO', async () => {
    await refusedWith(ERROR_CODES.UNEXPECTED_MESSAGE, Buffer.concat([HELLO, HELLO]));
  });

  it('refuses another protocol version', async () => {
    await refusedWith(ERROR_CODES.VERSION_MISMATCH, encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION + 1 }));
  });

  it('refuses a stranger that does not speak natter', async () => {
    await refusedWith(ERROR_CODES.BAD_MAGIC, Buffer.concat([Buffer.from([0, 0, 0, 6, 1]), Buffer.from('GET /\r\n')]).subarray(0, 11));
  });

  it('reports a stream that ends inside a frame as NATTER_ERR_TRUNCATED', async () => {
    const { server, failures, conns } = await framedServer();
    servers.push(server);
    const socket = await rawConnect(server.port);
    socket.end(Buffer.concat([HELLO, encodeMessage(textMsg('cut')).subarray(0, 7)]));
    while (conns.length === 0) await new Promise((r) => setImmediate(r));
    await conns[0]?.closed();
    assert.equal(failures[0]?.code, ERROR_CODES.TRUNCATED);
    assert.equal(conns[0]?.failure?.code, ERROR_CODES.TRUNCATED);
  });

  it('cuts off a peer that stops reading once the output queue is full', async () => {
    const { server, conns, failures } = await framedServer(() => {}, { maxQueueBytes: 64 * 1024 });
    servers.push(server);
    const socket = await rawConnect(server.port);
    socket.pause(); // never read
    socket.write(HELLO);
    while (conns.length === 0 || !conns[0]?.isReady) await new Promise((r) => setImmediate(r));
    const conn = conns[0] as FramedConnection;
    const text = 'z'.repeat(4000);
    let sent = 0;
    // Bounded: at most 64 MiB offered before the cap (64 KiB plus socket buffers) must trip.
    while (conn.send(textMsg(text)) && sent < 16_000) {
      sent++;
      if (sent % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await conn.closed();
    assert.equal(failures[0]?.code, ERROR_CODES.OUTPUT_QUEUE_FULL);
    assert.ok(sent < 16_000, 'the cap tripped');
    socket.destroy();
  });

  it('pause() holds messages until resume()', async () => {
    const got: Message[] = [];
    const { server, conns } = await framedServer((conn) => conn.on('message', (m) => got.push(m)));
    servers.push(server);
    const client = await dial({ host: '127.0.0.1', port: server.port });
    const conn = conns[0] as FramedConnection;
    conn.pause();
    client.send({ type: 'PING', nonce: 1 });
    client.send({ type: 'PING', nonce: 2 });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(got.length, 0);
    conn.resume();
    while (got.length < 2) await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, [
      { type: 'PING', nonce: 1 },
      { type: 'PING', nonce: 2 },
    ]);
    conn.resume(); // idempotent
    client.destroy();
    client.destroy();
    await client.closed();
  });

  it('dial fails clearly when nobody listens', async () => {
    const { server } = await framedServer();
    const port = server.port;
    await server.close();
    await assert.rejects(
      dial({ host: '127.0.0.1', port }),
      (err) => err instanceof NatterError && err.code === ERROR_CODES.CONNECTION_CLOSED,
    );
  });

  it('dial gives up when the other side never says HELLO', async () => {
    const silent = await startServer(() => {});
    servers.push(silent);
    await assert.rejects(
      dial({ host: '127.0.0.1', port: silent.port, timeoutMs: 100 }),
      (err) => err instanceof NatterError && err.code === ERROR_CODES.TIMEOUT,
    );
  });

  it('a graceful close after the peer went quiet is forced by the deadline', async () => {
    // The other side keeps its half open and never ends: only the deadline can finish the close.
    const silent = await startServer((socket) => socket.write(HELLO), { allowHalfOpen: true });
    servers.push(silent);
    const client = await dial({ host: '127.0.0.1', port: silent.port, closeTimeoutMs: 50 });
    const started = performance.now();
    await client.close();
    const elapsed = performance.now() - started;
    assert.equal(client.state, 'closed');
    assert.ok(elapsed >= 45 && elapsed < 2000, `closed after ${elapsed} ms`);
  });

  it('a peer that half-closes and stops reading is let go after the close deadline', async () => {
    const { server, conns } = await framedServer(() => {}, { closeTimeoutMs: 100, maxQueueBytes: 64 * 1024 * 1024 });
    servers.push(server);
    const socket = await rawConnect(server.port);
    socket.pause();
    socket.write(HELLO);
    while (conns.length === 0 || !conns[0]?.isReady) await new Promise((r) => setImmediate(r));
    const conn = conns[0] as FramedConnection;
    // Fill the socket buffers so our end cannot finish while the peer does not read.
    for (let i = 0; i < 2_000; i++) conn.send(textMsg('q'.repeat(4000)));
    socket.end();
    const started = performance.now();
    await conn.closed();
    assert.ok(performance.now() - started < 2_000, 'closed by the deadline, not held forever');
    socket.destroy();
  });

  it('frames the other side sent before it saw our close are still delivered', async () => {
    const got: Message[] = [];
    const { server, conns } = await framedServer((conn) => conn.on('message', (m) => got.push(m)));
    servers.push(server);
    const socket = await rawConnect(server.port);
    socket.write(HELLO);
    while (conns.length === 0 || !conns[0]?.isReady) await new Promise((r) => setImmediate(r));
    const closing = (conns[0] as FramedConnection).close();
    socket.end(encodeMessage(textMsg('crossed in flight')));
    await closing;
    assert.deepEqual(got, [textMsg('crossed in flight')]);
  });

  it('the output cap: a backlog exactly at maxQueueBytes may still grow, one byte past it is cut off', async () => {
    const frame = encodeMessage(textMsg('x'.repeat(95))); // 102 bytes
    for (const [cap, isCut] of [
      [frame.length, false],
      [frame.length - 1, true],
    ] as const) {
      // An in-memory stream that takes bytes and never finishes writing them: a reader that stopped.
      const stalled = new Duplex({ read() {}, write() {} });
      const conn = new FramedConnection(stalled, { hello: 'none', maxQueueBytes: cap });
      const failures: NatterError[] = [];
      conn.on('failure', (e) => failures.push(e));
      assert.equal(conn.send(textMsg('x'.repeat(95))), true, 'an empty queue always takes a frame');
      await conn.drained(); // written to the stream, which holds it: the backlog is now one frame
      assert.equal(conn.queuedBytes, frame.length);
      assert.equal(conn.send(textMsg('x'.repeat(95))), !isCut, `cap ${cap}`);
      assert.deepEqual(
        failures.map((f) => f.code),
        isCut ? [ERROR_CODES.OUTPUT_QUEUE_FULL] : [],
      );
      conn.destroy();
    }
  });

  it('validates its options', () => {
    assert.throws(
      () => new FramedConnection(null as never, { maxQueueBytes: 0 }),
      (err) => err instanceof NatterError && err.code === ERROR_CODES.INVALID_ARGUMENT,
    );
  });
});
