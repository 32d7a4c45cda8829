/**
 * Directory clients for bench/soak, in a process of their own (the
 * directory's memory must be the directory's alone):
 *
 *   node bench/soak-load-proc.ts
 *
 * Each client is natter's own DirectoryLink (as `natter chat` keeps its
 * registration): UP, then ALIVE at the pace the directory's ACK sets, UP
 * again after a NACK, reconnecting by itself if the connection is lost.
 * Client i dials from its own loopback address (localAddressOf), so the
 * directory sees thousands of hosts. Now and then a client leaves (DOWN,
 * close) and a new one, with a new key, name and address, joins, keeping
 * the count steady.
 *
 * Slow readers register and ask WHO every second; half of them read their
 * answers only for a moment every few seconds, the other half never: the
 * directory must bound what it queues for them (cutting off one that falls
 * too far behind), whatever the others do. A slow reader that is cut off
 * comes back a second later.
 */
import { randomBytes } from 'node:crypto';
import { DirectoryClient } from '../src/discovery/directory-client.ts';
import { DirectoryLink } from '../src/discovery/directory-link.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { serveCalls, type Handlers } from './child.ts';
import { localAddressOf } from './directory-ipc.ts';
import type { LoadCalls, LoadCounts, LoadStart } from './soak-ipc.ts';

const HOST = '127.0.0.1';
/** Slow readers: WHO this often; read for READ_MS every READ_EVERY_MS. */
const WHO_EVERY_MS = 1_000;
const READ_EVERY_MS = 4_000;
const READ_MS = 100;
const SLOW_READER_COMEBACK_MS = 1_000;
/** Registrations in flight at once while starting (see WINDOW in bench/directory.ts). */
const START_WINDOW = 100;
/** A process's slow readers have indices from its `first` plus this on, clear of its clients' (joiners included). */
const SLOW_READER_OFFSET = 90_000;

const counts: LoadCounts = {
  registered: 0,
  registrations: 0,
  left: 0,
  joined: 0,
  lost: 0,
  firstLoss: '',
  whoAnswers: 0,
  slowReadersCut: 0,
  slowReaderFailures: 0,
};

let port = 0;
/** Clients registered and not leaving, by index. */
const links = new Map<number, DirectoryLink>();
let nextIndex = 0;
let isStopping = false;
const timers = new Set<NodeJS.Timeout>();
const slowReaders = new Set<DirectoryClient>();

/** A client that joins: a new identity, name and source address; resolves once registered. */
async function join(index: number): Promise<void> {
  const keyPair = keyPairFromSeed(randomBytes(32));
  const localAddress = localAddressOf(index);
  const link = new DirectoryLink({
    name: `s${index}`,
    connect: () => DirectoryClient.connect({ host: HOST, port, keyPair, localAddress, localPort: 0 }),
  });
  link.on('registered', () => counts.registrations++);
  link.on('lost', (err) => {
    counts.lost++;
    if (counts.firstLoss === '') counts.firstLoss = `s${index}: ${err.code} ${err.message}`;
  });
  await link.start();
  links.set(index, link);
  counts.registered = links.size;
}

/** One client leaves (DOWN, close) and a new one joins in its place. */
async function churnOne(): Promise<void> {
  const indices = [...links.keys()];
  const leaving = indices[Math.floor(Math.random() * indices.length)];
  if (leaving === undefined) return;
  const link = links.get(leaving) as DirectoryLink;
  links.delete(leaving);
  await link.stop();
  counts.left++;
  await join(nextIndex++);
  counts.joined++;
  counts.registered = links.size;
}

/** A slow reader: registered, WHO every second, reading only now and then (`isStalled`: never). */
async function slowReader(index: number, isStalled: boolean): Promise<void> {
  if (isStopping) return;
  const keyPair = keyPairFromSeed(randomBytes(32));
  let client: DirectoryClient;
  try {
    client = await DirectoryClient.connect({ host: HOST, port, keyPair, localAddress: localAddressOf(index), requestTimeoutMs: 60_000 });
    await client.register(`slow${index}`);
  } catch {
    counts.slowReaderFailures++;
    later(() => void slowReader(index, isStalled), SLOW_READER_COMEBACK_MS);
    return;
  }
  slowReaders.add(client);
  client.conn.pause();
  const ask = setInterval(() => {
    client.who().then(
      () => counts.whoAnswers++,
      () => {
        // Being cut off is the directory doing its part (the close below counts it); anything else is a failure.
        if (client.conn.state === 'open') counts.slowReaderFailures++;
      },
    );
  }, WHO_EVERY_MS);
  const read = setInterval(() => {
    if (isStalled) return;
    client.conn.resume();
    later(() => client.conn.pause(), READ_MS);
  }, READ_EVERY_MS);
  // The directory cuts a reader that falls too far behind without a word (there is no room to say it): any close is that.
  client.on('close', () => {
    clearInterval(ask);
    clearInterval(read);
    slowReaders.delete(client);
    if (isStopping) return;
    counts.slowReadersCut++;
    later(() => void slowReader(index, isStalled), SLOW_READER_COMEBACK_MS);
  });
}

/** setTimeout that stop() clears. */
function later(fn: () => void, ms: number): void {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

async function start(req: LoadStart): Promise<LoadCounts> {
  port = req.port;
  nextIndex = req.first + req.clients;
  const deadline = Date.now() + req.timeoutMs;
  // At most START_WINDOW registrations in flight; bounded by the client count.
  let next = req.first;
  const worker = async (): Promise<void> => {
    while (next < req.first + req.clients) {
      if (Date.now() > deadline) throw new Error(`${links.size} of ${req.clients} clients registered within ${req.timeoutMs} ms`);
      await join(next++);
    }
  };
  await Promise.all(Array.from({ length: START_WINDOW }, worker));
  for (let i = 0; i < req.slowReaders; i++) void slowReader(req.first + SLOW_READER_OFFSET + i, i % 2 === 1);
  if (req.churnPerMinute > 0) {
    const everyMs = 60_000 / req.churnPerMinute;
    const churn = (): void => {
      if (isStopping) return;
      churnOne().then(
        () => later(churn, everyMs),
        (err: unknown) => {
          counts.lost++;
          if (counts.firstLoss === '') counts.firstLoss = `churn: ${(err as Error).message}`;
          later(churn, everyMs);
        },
      );
    };
    later(churn, everyMs);
  }
  return { ...counts };
}

async function stop(): Promise<LoadCounts> {
  isStopping = true;
  for (const timer of timers) clearTimeout(timer);
  timers.clear();
  for (const client of slowReaders) client.conn.destroy();
  await Promise.all([...links.values()].map((link) => link.stop()));
  return { ...counts };
}

const handlers: Handlers<LoadCalls> = {
  start,
  counts: async () => ({ ...counts }),
  stop,
};

serveCalls<LoadCalls>(handlers, { exitAfter: 'stop' });
