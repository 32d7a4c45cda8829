/**
 * natter's record layer against @hyperswarm/secret-stream, the library
 * earlier natter versions ran their records through: the same handshake,
 * then each side in turn on either end of a real TCP connection. Peers and
 * directories that run the earlier code must keep working with this one.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import NoiseSecretStream from '@hyperswarm/secret-stream';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { IdentityHandshake, keyPairFromSeed, type HandshakeResult, type KeyPair } from '../../src/transport/handshake.ts';
import { MAX_RECORD_PLAINTEXT } from '../../src/transport/records.ts';
import { acceptSecure, dial } from '../../src/transport/tcp.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';
import { startServer, type TestServer } from '../helpers/net.ts';
import { textMsg, nextMessage } from '../helpers/messages.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

const servers: TestServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

function unit(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([body.length & 0xff, (body.length >> 8) & 0xff, body.length >> 16]), body]);
}

/** The earlier implementation: natter's handshake over the socket, then the records through @hyperswarm/secret-stream. */
function legacyChannel(socket: Socket, isInitiator: boolean, keyPair: KeyPair): Promise<NoiseSecretStream> {
  const handshake = new IdentityHandshake(isInitiator, keyPair);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 3) {
        const end = 3 + buf.readUIntLE(0, 3);
        if (buf.length < end) return;
        const reply = handshake.receive(buf.subarray(3, end));
        buf = buf.subarray(end);
        if (reply !== undefined) socket.write(unit(reply));
        const result = handshake.result;
        if (result !== undefined) {
          socket.off('data', onData);
          socket.pause();
          const rest = Buffer.from(buf);
          resolve(
            new NoiseSecretStream(isInitiator, socket, {
              handshake: result as HandshakeResult,
              ...(rest.length > 0 ? { data: rest } : {}),
            }),
          );
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    if (isInitiator) socket.write(unit(handshake.start()));
  });
}

/** Frames in plaintext chunks: every message, in order. */
function frameReader(stream: NoiseSecretStream): { messages: Message[]; until(n: number): Promise<void> } {
  const decoder = new FrameDecoder();
  const messages: Message[] = [];
  let wake: (() => void) | undefined;
  stream.on('data', (chunk: Buffer) => {
    decoder.push(chunk);
    for (let m = decoder.next(); m !== undefined; m = decoder.next()) messages.push(m);
    wake?.();
  });
  return {
    messages,
    async until(n) {
      while (messages.length < n) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
}

/** Texts large enough that one turn's frames fill several records. */
function manyTexts(count: number): Message[] {
  return Array.from({ length: count }, (_, i) => textMsg(`${i} `.padEnd(4_000, 'x')));
}

/** Writes `bytes` to the earlier stream one record's worth at a time (it seals each write whole). */
function legacyWrite(stream: NoiseSecretStream, bytes: Buffer): void {
  for (let at = 0; at < bytes.length; at += MAX_RECORD_PLAINTEXT) stream.write(bytes.subarray(at, at + MAX_RECORD_PLAINTEXT));
}

describe('the record layer and @hyperswarm/secret-stream', () => {
  it('interoperate with natter dialing a listener that runs the earlier code', async () => {
    const server = await startServer((socket) => {
      // The earlier listener: the handshake, then HELLO back, then whatever comes.
      void legacyChannel(socket, false, bob).then((stream) => {
        legacy = stream;
        reader = frameReader(stream);
        stream.write(encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION }));
      });
    });
    let legacy: NoiseSecretStream | undefined;
    let reader: ReturnType<typeof frameReader> | undefined;
    servers.push(server);
    const conn = await dial({ host: '127.0.0.1', port: server.port, keyPair: alice, timeoutMs: 5_000 });
    const stream = legacy as NoiseSecretStream;
    assert.deepEqual(stream.remotePublicKey, alice.publicKey);
    assert.deepEqual(conn.remoteKey, bob.publicKey);
    const texts = manyTexts(60);
    for (const t of texts) conn.send(t);
    const frames = reader as ReturnType<typeof frameReader>;
    await frames.until(texts.length + 1);
    assert.deepEqual(frames.messages, [{ type: 'HELLO', version: PROTOCOL_VERSION }, ...texts]);
    const got: Message[] = [];
    conn.on('message', (m) => got.push(m));
    const back = manyTexts(40);
    legacyWrite(stream, Buffer.concat(back.map((m) => encodeMessage(m))));
    while (got.length < back.length) await nextMessage(conn);
    assert.deepEqual(got, back);
    conn.destroy();
    stream.destroy();
  });

  it('interoperate with a dialer that runs the earlier code, and a natter listener', async () => {
    let accepted: FramedConnection | undefined;
    const server = await startServer((socket) => {
      acceptSecure(socket, bob).then(
        (stream) => {
          accepted = new FramedConnection(stream, { hello: 'none' });
          accepted.on('message', (m) => accepted?.send(m)); // echo
        },
        () => {},
      );
    });
    servers.push(server);
    const socket = connect({ host: '127.0.0.1', port: server.port });
    const stream = await legacyChannel(socket, true, alice);
    assert.deepEqual(stream.remotePublicKey, bob.publicKey);
    const reader = frameReader(stream);
    const texts = manyTexts(50);
    legacyWrite(stream, Buffer.concat(texts.map((m) => encodeMessage(m))));
    await reader.until(texts.length);
    assert.deepEqual(reader.messages, texts);
    assert.deepEqual(accepted?.remoteKey, alice.publicKey);
    stream.destroy();
  });
});
