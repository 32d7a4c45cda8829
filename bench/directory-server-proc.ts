/**
 * The natter directory under test, alone in its process (run by
 * bench/directory.ts with --expose-gc): its memory and CPU figures are then
 * the directory's own, and its N sockets do not count against the load
 * generators' open-file limit.
 *
 * Usage: directory-server-proc.ts MAX_CLIENTS [REDIS_URL] [--handshake-threads=N] [--plaintext]
 * With REDIS_URL, the online list is kept there (bench/directory-redis.ts
 * runs two of these on one Redis); otherwise in memory. The environment
 * variable NATTER_BENCH_DIRECTORY_OPTIONS may hold directory options as JSON
 * (numbers and booleans), applied last: bench/soak shortens the alive
 * interval and keeps the default rate limits with it.
 *
 * With --plaintext the same directory serves plain TCP: each accepted socket
 * goes straight to DirectoryServer.handle() with a key of its own (as if its
 * handshake had proved one) and nothing is encrypted. bench/directory sets
 * it beside the encrypted directory to show what the encryption alone costs.
 */
import { createServer } from 'node:net';
import type { DirectoryOptions } from '../src/directory/options.ts';
import { DirectoryServer } from '../src/directory/server.ts';
import { RedisStore } from '../src/directory/store/redis-store.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { serveCalls } from './child.ts';
import { measureProcess, type ServerCalls } from './directory-ipc.ts';

const threadsArg = process.argv.find((a) => a.startsWith('--handshake-threads='));
const handshakeThreads = threadsArg === undefined ? 0 : Number(threadsArg.slice('--handshake-threads='.length));
const isPlaintext = process.argv.includes('--plaintext');
const [maxClientsArg, redisUrl] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const maxClients = Number(maxClientsArg);
if (!Number.isSafeInteger(maxClients) || maxClients < 1) throw new Error('usage: directory-server-proc.ts MAX_CLIENTS [REDIS_URL]');
const store = redisUrl === undefined ? undefined : await RedisStore.connect({ url: redisUrl });

const directory = new DirectoryServer({
  ...(store === undefined ? {} : { store }),
  // Processes of one directory show one key (a fixed one: this is a bench).
  keyPair: keyPairFromSeed(Buffer.alloc(32, 7)),
  // The default (16,384) would do for 10,000 clients; set it so a larger N keeps working.
  maxClients,
  // 0: the handshakes run on the main thread.
  handshakeThreads,
  // The WHO bench sends back-to-back requests from one client. With the
  // default bucket (32 at once, 16/s) it would time the rate limiter's
  // waits instead of the directory's work. Every other option keeps its
  // default, the alive interval included.
  rateBurst: 1_000_000,
  ratePerSecond: 1_000_000,
  ...optionsFromEnvironment(),
});
const port = isPlaintext ? await listenPlaintext() : (await directory.listen(0, '127.0.0.1')).port;

serveCalls<ServerCalls>(
  {
    measure: async ({ gc }) => {
      const online = await directory.store.size();
      return {
        ...measureProcess(gc, {
          connections: directory.connectionCount,
          online,
          heartbeats: directory.counters.alivesReceived,
          expirations: directory.counters.expirations,
        }),
        counters: { ...directory.counters },
      };
    },
    exit: async () => ({}),
  },
  { port, exitAfter: 'exit' },
);

/** Plain TCP with the directory's socket options and backlog; each client's key is its connection's number. */
async function listenPlaintext(): Promise<number> {
  let connections = 0;
  const server = createServer({ noDelay: true }, (socket) => {
    const remoteKey = Buffer.alloc(32);
    remoteKey.writeUInt32BE(++connections);
    directory.handle(socket, { remoteAddress: socket.remoteAddress, remotePort: socket.remotePort, remoteKey });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return address.port;
}

/** Directory options from NATTER_BENCH_DIRECTORY_OPTIONS: numbers and booleans only (no store, key or logger). */
function optionsFromEnvironment(): Partial<DirectoryOptions> {
  const text = process.env.NATTER_BENCH_DIRECTORY_OPTIONS;
  if (text === undefined || text === '') return {};
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object') throw new Error('NATTER_BENCH_DIRECTORY_OPTIONS must be a JSON object');
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'number' && typeof value !== 'boolean')
      throw new Error(`NATTER_BENCH_DIRECTORY_OPTIONS: ${key} must be a number or a boolean`);
  }
  return parsed as Partial<DirectoryOptions>;
}
