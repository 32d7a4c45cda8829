import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { keyPairFromSeed, secureSocket, type SecureStream } from '../../src/transport/secure.ts';
import { startServer, type TestServer } from '../helpers/net.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

/** Both ends of one encrypted connection over TCP, and every write the accepting side made on its socket. */
async function connected(): Promise<{ dialer: SecureStream; acceptor: SecureStream; acceptorWrites: Buffer[] }> {
  let accepted: Promise<SecureStream> | undefined;
  const acceptorWrites: Buffer[] = [];
  const server = await startServer((socket: Socket) => {
    const write = socket.write.bind(socket) as (data: Uint8Array) => boolean;
    socket.write = ((data: Uint8Array) => {
      acceptorWrites.push(Buffer.from(data));
      return write(data);
    }) as Socket['write'];
    accepted = secureSocket(socket, false, { keyPair: bob });
  });
  servers.push(server);
  const dialer = await secureSocket(connect({ host: '127.0.0.1', port: server.port }), true, { keyPair: alice });
  while (accepted === undefined) await new Promise((r) => setImmediate(r));
  return { dialer, acceptor: await accepted, acceptorWrites };
}

/** Resolves with the next `n` chunks of plaintext `stream` emits. */
function chunks(stream: SecureStream, n: number): Promise<string[]> {
  const out: string[] = [];
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      out.push(chunk.toString());
      if (out.length === n) {
        stream.off('data', onData);
        resolve(out);
      }
    };
    stream.on('data', onData);
  });
}

describe('SecureStream', () => {
  it('sends its stream header with its first records, in one write', async () => {
    const { dialer, acceptor, acceptorWrites } = await connected();
    const writesAtHandshake = acceptorWrites.length; // [2]
    const got = chunks(dialer, 1);
    acceptor.write(Buffer.from('first'));
    assert.deepEqual(await got, ['first']);
    assert.equal(acceptorWrites.length, writesAtHandshake + 1);
    const first = acceptorWrites.at(-1) as Buffer;
    assert.equal(first.length, 3 + 56 + 3 + 17 + 'first'.length, 'the stream header and one record');
    dialer.destroy();
  });

  it('stops between two records when paused, and delivers the rest (then the end) on resume', async () => {
    const { dialer, acceptor } = await connected();
    const got: string[] = [];
    acceptor.on('data', (c: Buffer) => {
      got.push(c.toString());
      if (got.length === 1) acceptor.pause();
    });
    let hasEnded = false;
    acceptor.on('end', () => (hasEnded = true));
    // Three records and the end of the stream, in one segment.
    dialer.write(Buffer.from('one'));
    dialer.write(Buffer.from('two'));
    dialer.write(Buffer.from('three'));
    dialer.end();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['one']);
    assert.equal(hasEnded, false);
    const ended = new Promise<void>((resolve) => acceptor.once('end', resolve));
    acceptor.resume();
    await ended;
    assert.deepEqual(got, ['one', 'two', 'three']);
    acceptor.destroy();
  });

  it('closes on destroy() when its socket closed under records still held', async () => {
    const { dialer, acceptor } = await connected();
    acceptor.on('data', () => acceptor.pause());
    dialer.write(Buffer.from('one'));
    dialer.write(Buffer.from('two'));
    dialer.end();
    await new Promise<void>((resolve) => acceptor.socket.once('close', resolve));
    let isClosed = false;
    acceptor.on('close', () => (isClosed = true));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(isClosed, false, 'held for a reader');
    const closed = new Promise<void>((resolve) => acceptor.once('close', resolve));
    acceptor.destroy();
    await closed;
  });

  it('starts reading on the tick after someone listens, never inside the call that listens', async () => {
    const { dialer, acceptor } = await connected();
    dialer.write(Buffer.from('early'));
    await new Promise((r) => setTimeout(r, 20)); // arrived, and held: nobody reads yet
    const got: string[] = [];
    acceptor.on('data', (c: Buffer) => got.push(c.toString()));
    assert.deepEqual(got, [], 'a listener added next to this one would have missed it');
    for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, ['early']);
    dialer.destroy();
  });

  it('carries large writes one after another intact (they are sealed into buffers used again)', async () => {
    const { dialer, acceptor } = await connected();
    const writes = [1, 2, 3, 4, 5, 6].map((k) => Buffer.alloc(300_000 + k * 1000, k));
    const expected = Buffer.concat(writes);
    const got: Buffer[] = [];
    let bytes = 0;
    const done = new Promise<void>((resolve) =>
      acceptor.on('data', (c: Buffer) => {
        got.push(Buffer.from(c));
        bytes += c.length;
        if (bytes >= expected.length) resolve();
      }),
    );
    // Three in one turn, three after the first were written.
    for (const w of writes.slice(0, 3)) dialer.write(w);
    await new Promise((r) => setTimeout(r, 20));
    let written = 0;
    for (const w of writes.slice(3)) dialer.write(w, () => written++);
    await done;
    assert.ok(Buffer.concat(got).equals(expected));
    assert.equal(written, 3, 'each write called back');
    dialer.destroy();
  });

  it('stays paused when someone starts listening after pause(), as a Node.js stream does', async () => {
    const { dialer, acceptor } = await connected();
    acceptor.pause();
    const got: string[] = [];
    acceptor.on('data', (c: Buffer) => got.push(c.toString()));
    dialer.write(Buffer.from('held'));
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, []);
    const next = chunks(acceptor, 1);
    acceptor.resume();
    assert.deepEqual(await next, ['held']);
    dialer.destroy();
  });

  it('writes nothing once ended, and closes with its socket', async () => {
    const { dialer, acceptor } = await connected();
    dialer.on('data', () => {}); // reading, so that the other side's end is seen
    dialer.end();
    assert.equal(dialer.write(Buffer.from('late')), false);
    const closed = new Promise<void>((resolve) => dialer.once('close', resolve));
    acceptor.on('data', () => {});
    acceptor.on('end', () => acceptor.end());
    await closed;
    assert.equal(dialer.destroyed, true);
  });
});
