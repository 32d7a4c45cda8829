/**
 * What an attacker on the network sends, for the tests that check natter
 * survives it: built from the real handshake, byte by byte, over real sockets.
 */
import { connect, type Socket } from 'node:net';
import { IdentityHandshake } from '../../src/transport/handshake.ts';
import type { KeyPair } from '../../src/transport/secure.ts';
import { newKeyPair } from './raw-client.ts';

/**
 * What the record layer takes for a stream header (a 24-byte message: any
 * bytes will do) followed by a record that cannot decrypt: it fails the
 * stream as soon as it reads them.
 */
export const GARBAGE_AFTER_HANDSHAKE = Buffer.concat([unit(Buffer.alloc(24, 0x11)), unit(Buffer.alloc(40, 0xee))]);

/** A handshake message as the wire carries it: a 3-byte little-endian length, then the body. */
function unit(body: Buffer): Buffer {
  const out = Buffer.alloc(3 + body.length);
  out.writeUIntLE(body.length, 0, 3);
  body.copy(out, 3);
  return out;
}

/**
 * Completes the Noise handshake as the initiator and writes `after` in the
 * same write as its last message (a bad stream header, a garbage record), so
 * that the other side's record layer fails at once. Resolves with the socket,
 * once that write is out; the caller closes it (or leaves it to the other side).
 */
export async function handshakeThenGarbage(
  port: number,
  after: Buffer,
  options: { host?: string; keyPair?: KeyPair } = {},
): Promise<Socket> {
  const socket = connect({ host: options.host ?? '127.0.0.1', port });
  socket.on('error', () => {});
  const handshake = new IdentityHandshake(true, options.keyPair ?? newKeyPair());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(unit(handshake.start()));
  let held = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      held = Buffer.concat([held, chunk]);
      if (held.length < 3) return;
      const end = 3 + held.readUIntLE(0, 3);
      if (held.length < end) return;
      socket.off('data', onData);
      try {
        const third = handshake.receive(held.subarray(3, end)) as Buffer;
        socket.write(Buffer.concat([unit(third), after]), () => resolve());
      } catch (err) {
        reject(err as Error);
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('closed during the handshake')));
  });
  return socket;
}
