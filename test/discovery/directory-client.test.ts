import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Socket } from 'node:net';
import { DirectoryServer } from '../../src/directory/server.ts';
import { ERROR_CODES, NatterError, errorFromWire, type NatterErrorCode } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import type { Message } from '../../src/protocol/messages.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import type { SecureStream } from '../../src/transport/secure.ts';
import { acceptSecure } from '../../src/transport/tcp.ts';
import { startServer, type TestServer } from '../helpers/net.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { textMsg } from '../helpers/messages.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function directory(options = {}) {
  const server = new DirectoryServer({ aliveIntervalMs: 500, ...options });
  const { port } = await server.listen(0);
  cleanup.push(() => server.shutdown());
  return { server, port };
}

async function connect(port: number, requestTimeoutMs?: number) {
  const client = await DirectoryClient.connect({
    host: '127.0.0.1',
    port,
    keyPair: newKeyPair(),
    ...(requestTimeoutMs ? { requestTimeoutMs } : {}),
  });
  cleanup.push(() => client.close());
  return client;
}

const hasCode = (code: NatterErrorCode) => (e: unknown) => e instanceof NatterError && e.code === code;

/** The plaintext side of every connection the scripted directories accepted. */
const scriptedStreams: SecureStream[] = [];

/** A fake directory that answers each request with the frames a test scripts. */
async function scripted(answers: (msg: Message) => Message[]): Promise<TestServer> {
  const { FrameDecoder } = await import('../../src/protocol/decoder.ts');
  const keyPair = newKeyPair();
  const server = await startServer((socket: Socket) => {
    void acceptSecure(socket, keyPair).then(
      (stream) => {
        scriptedStreams.push(stream);
        const d = new FrameDecoder();
        stream.on('data', (chunk: Buffer) => {
          d.push(chunk);
          for (let m = d.next(); m !== undefined; m = d.next()) {
            const replies = m.type === 'HELLO' ? [m] : answers(m);
            for (const r of replies) stream.write(encodeMessage(r));
          }
        });
        stream.on('error', () => {});
      },
      () => {},
    );
  });
  cleanup.push(() => server.close());
  return server;
}

describe('DirectoryClient', () => {
  it('registers, lists, heartbeats and leaves', async () => {
    const { port } = await directory();
    const alice = await connect(port);
    const bob = await connect(port);
    const reg = await alice.register('alice', '', 51_000);
    // The directory also says where it sees this connection come from: this very socket.
    assert.deepEqual(reg, { port: 51_000, aliveIntervalMs: 500, seenIp: '127.0.0.1', seenPort: alice.localPort });
    await bob.register('bob');
    assert.deepEqual((await bob.who()).map((p) => p.name).sort(), ['alice', 'bob']);
    assert.deepEqual(await alice.alive(), reg);
    alice.down();
    assert.equal(await alice.alive(), undefined, 'NACK after DOWN');
    assert.deepEqual(
      (await bob.who()).map((p) => p.name),
      ['bob'],
    );
  });

  it('an empty listing resolves at once from HDR(0)', async () => {
    const server = await scripted((m) => (m.type === 'WHO' ? [{ type: 'HDR', count: 0 }] : []));
    const c = await connect(server.port);
    assert.deepEqual(await c.who(), []);
  });

  it('rejects a request the directory refuses, with the code it sent', async () => {
    const { port } = await directory();
    await (await connect(port)).register('taken');
    const c = await connect(port);
    await assert.rejects(c.register('taken'), hasCode(ERROR_CODES.NAME_TAKEN));
    await assert.rejects(c.who(), hasCode(ERROR_CODES.NOT_REGISTERED));
  });

  it('maps unknown remote codes to NATTER_ERR_REMOTE_ERROR', () => {
    const e = errorFromWire('SOMETHING_NEW', 'from the future');
    assert.equal(e.code, ERROR_CODES.REMOTE_ERROR);
    assert.match(e.message, /SOMETHING_NEW: from the future/);
  });

  it('emits shutdown when the directory stops, then close; pending requests fail', async () => {
    const { server, port } = await directory();
    const c = await connect(port);
    await c.register('x');
    const shutdown = new Promise((r) => c.once('shutdown', () => r('shutdown')));
    const closed = new Promise((r) => c.once('close', () => r('close')));
    void server.shutdown();
    assert.equal(await shutdown, 'shutdown');
    assert.equal(await closed, 'close');
    await assert.rejects(c.who(), hasCode(ERROR_CODES.CONNECTION_CLOSED));
  });

  it('times out a request the directory never answers', async () => {
    const server = await scripted(() => []);
    const c = await connect(server.port, 100);
    await assert.rejects(c.who(), hasCode(ERROR_CODES.TIMEOUT));
  });

  it('treats an answer nobody asked for as a protocol error', async () => {
    for (const reply of [
      { type: 'ACK', port: 1, aliveIntervalMs: 1, seenIp: '', seenPort: 0 },
      { type: 'MEET', name: 'm', ip: '192.0.2.1', port: 1 },
      { type: 'PROBED', isReachable: true, isRelaying: false, seenIp: '', seenPort: 0, detail: '' },
      { type: 'JOINED', isFirst: true },
      { type: 'NACK', reason: 'x' },
      { type: 'HDR', count: 1 },
      { type: 'PEER', name: 'p', ip: '', port: 1, key: Buffer.alloc(32) },
      { type: 'STATE', more: false, data: Buffer.from('{}') },
      textMsg('hello?'),
    ] as Message[]) {
      const server = await scripted((m) =>
        m.type === 'DUMP' ? [reply] : m.type === 'WHO' ? [{ type: 'STATE', more: false, data: Buffer.from('{}') }] : [],
      );
      const c = await connect(server.port);
      const request = reply.type === 'STATE' ? c.who() : c.dump();
      await assert.rejects(request, (e) => e instanceof NatterError, JSON.stringify(reply));
      assert.equal(c.conn.failure?.code, ERROR_CODES.UNEXPECTED_MESSAGE);
    }
  });

  it('rejects a DUMP whose state is not JSON', async () => {
    const server = await scripted(() => [
      { type: 'STATE', more: true, data: Buffer.from('{"a"') },
      { type: 'STATE', more: false, data: Buffer.from(':') },
    ]);
    const c = await connect(server.port);
    await assert.rejects(c.dump(), hasCode(ERROR_CODES.MALFORMED));
  });

  it('an ERROR about the connection itself (nothing pending) becomes the close reason', async () => {
    const server = await scripted(() => []);
    const c = await connect(server.port);
    const closed = new Promise<NatterError | undefined>((r) => c.once('close', r));
    const stream = scriptedStreams.at(-1) as SecureStream;
    stream.write(encodeMessage({ type: 'ERROR', code: ERROR_CODES.RATE_LIMITED, reason: 'slow down' }));
    stream.end();
    assert.equal((await closed)?.code, ERROR_CODES.RATE_LIMITED);
  });

  it('a request on a closed connection fails at once', async () => {
    const { port } = await directory();
    const c = await connect(port);
    await c.close();
    await assert.rejects(c.register('late'), hasCode(ERROR_CODES.CONNECTION_CLOSED));
  });
});
