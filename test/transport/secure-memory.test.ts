/**
 * What an open encrypted channel keeps. In a file of its own: the count
 * below is of the whole process, and other tests leave handshakes in
 * progress on purpose.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { queryObjects } from 'node:v8';
import { FramedConnection } from '../../src/transport/framed-connection.ts';
import { IdentityHandshake } from '../../src/transport/handshake.ts';
import { keyPairFromSeed } from '../../src/transport/secure.ts';
import { acceptSecure, dial } from '../../src/transport/tcp.ts';
import { nextMessage, textMsg } from '../helpers/messages.ts';
import { startServer, type TestServer } from '../helpers/net.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));
const CHANNELS = 10;

let server: TestServer | undefined;
after(async () => {
  await server?.close();
});

describe('memory of an open encrypted channel', () => {
  it('keeps nothing of the handshake, on either side', async () => {
    // The handshake's state holds small buffers cut from Node's shared pool: kept for a connection's
    // life, each would keep a whole pool slab (64 KB on Node 24) alive with it.
    const accepted: FramedConnection[] = [];
    let onAccepted: () => void = () => {};
    server = await startServer((socket: Socket) => {
      acceptSecure(socket, bob).then(
        (stream) => {
          accepted.push(new FramedConnection(stream, { hello: 'answer' }));
          onAccepted();
        },
        () => {},
      );
    });
    const dialed: FramedConnection[] = [];
    for (let i = 0; i < CHANNELS; i++) {
      const isAccepted = new Promise<void>((resolve) => (onAccepted = resolve));
      dialed.push(await dial({ host: '127.0.0.1', port: server.port, keyPair: alice }));
      await isAccepted;
    }
    // Both ends are open and carry frames.
    const got = nextMessage(accepted[0] as FramedConnection);
    (dialed[0] as FramedConnection).send(textMsg('still open'));
    await got;
    // queryObjects collects garbage first, then counts what is left.
    assert.equal(queryObjects(IdentityHandshake, { format: 'count' }), 0, `handshakes kept by ${CHANNELS * 2} open channel ends`);
    await Promise.all([...dialed, ...accepted].map((c) => c.close()));
  });
});
