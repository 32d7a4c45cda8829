/**
 * The baseline for bench/directory: a bare node:net server doing the least
 * work that answers the same load generators with the same bytes, alone in
 * its process like the directory (run with --expose-gc).
 *
 * It never parses a frame. Per connection:
 *   first request (HELLO + UP)   → a fixed reply: HELLO + ACK, the 22 bytes the
 *                                  directory answers a registration with
 *   each later 5-byte request    → WHO: a prebuilt buffer, natter's own
 *                                  listing (same size, same frames);
 *                                  anything else (ALIVE): a fixed ACK
 *
 * Whatever natter costs beyond this is the cost of the directory itself.
 */
import { createServer, type Socket } from 'node:net';
import { encodeMessage } from '../src/protocol/codec.ts';
import { HEADER_BYTES } from '../src/protocol/limits.ts';
import { MESSAGE_TYPES, PROTOCOL_VERSION } from '../src/protocol/messages.ts';
import { DIRECTORY_DEFAULTS } from '../src/directory/options.ts';
import { serveCalls } from './child.ts';
import { measureProcess, type BaselineServerCalls } from './directory-ipc.ts';

const ACK = encodeMessage({
  type: 'ACK',
  port: DIRECTORY_DEFAULTS.portRange.lo,
  aliveIntervalMs: DIRECTORY_DEFAULTS.aliveIntervalMs,
  seenIp: '127.0.0.1',
  seenPort: 40000,
});
const REGISTERED = Buffer.concat([encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION }), ACK]);

let listing = Buffer.alloc(0);
let connections = 0;
let heartbeats = 0;

function serve(socket: Socket): void {
  connections++;
  let isFirst = true;
  socket.on('error', () => {}); // a reset is a closed connection, nothing more
  socket.on('close', () => connections--);
  socket.on('data', (chunk: Buffer) => {
    // A generator writes HELLO + UP in one call, which loopback delivers in one chunk.
    if (isFirst) {
      isFirst = false;
      socket.write(REGISTERED);
      return;
    }
    // Later requests are header-only frames: the type byte is all there is to look at.
    for (let offset = 0; offset + HEADER_BYTES <= chunk.length; offset += HEADER_BYTES) {
      if (chunk[offset + 4] === MESSAGE_TYPES.WHO) {
        socket.write(listing);
      } else {
        heartbeats++;
        socket.write(ACK);
      }
    }
  });
}

// The same socket options and backlog as the directory (src/transport/listen.ts).
const server = createServer({ noDelay: true }, serve);
const port = await new Promise<number>((resolve, reject) => {
  server.once('error', reject);
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => {
    const address = server.address();
    if (address === null || typeof address === 'string') reject(new Error('not listening on TCP'));
    else resolve(address.port);
  });
});

serveCalls<BaselineServerCalls>(
  {
    measure: async ({ gc }) => measureProcess(gc, { connections, online: connections, heartbeats, expirations: 0 }),
    setListing: async (args) => {
      listing = Buffer.from(args.listing);
      return { bytes: listing.length };
    },
    exit: async () => ({}),
  },
  { port, exitAfter: 'exit' },
);
