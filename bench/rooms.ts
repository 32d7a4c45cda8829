/**
 * bench/rooms: what a room costs its author, and how fast a member catches up.
 *
 *   fan-out    one author process and one process holding N members (4, 16,
 *              32). The author sends COUNT room messages to a room of N
 *              members, each held by every member (their RHAVE receipts), and,
 *              in the same run on the same connections, the same COUNT
 *              messages to each of the N members one to one (TEXT, RCPT,
 *              the outbox): N × COUNT sends. The figure is the author's CPU
 *              time and the wall time of each path, and their ratio.
 *   latency    one message at a time, until every member holds it: to the
 *              room, then to each member one to one.
 *   catch-up   a member that missed 10,000 messages comes back (in this
 *              process); the time from its start() until it has shown every
 *              one, passed on by another member (signatures checked), and by
 *              the author itself (on its own link).
 */
import { randomBytes } from 'node:crypto';
import { PeerNode } from '../src/peer/peer-node.ts';
import { MemoryRoomStore } from '../src/peer/store/room-store.ts';
import { keyPairFromSeed, type KeyPair } from '../src/transport/secure.ts';
import { Child } from './child.ts';
import { fmt, median, percentile, table } from './harness.ts';
import type { RoomsCalls, Timed } from './rooms-ipc.ts';
import { Book } from '../test/helpers/book.ts';

/** Members besides the author: 31 fills a room (32 with the author). */
const SIZES = [4, 16, 31];
const COUNT = 2_000;
const RUNS = 3;
const LATENCY_SAMPLES = 50;
const CATCH_UP = 10_000;
/** Targets: a room message to 16 members costs at most 1.2× sixteen one-to-one sends; a 10,000-message catch-up within 2 s. */
export const TARGET_FANOUT_RATIO = 1.2;
export const TARGET_CATCH_UP_SECONDS = 2;

export interface FanoutRow {
  members: number;
  room: Timed;
  direct: Timed;
  roomMs: number[];
  directMs: number[];
}

export interface RoomsResult {
  count: number;
  rows: FanoutRow[];
  catchUp: { fromMember: number; fromAuthor: number };
}

export async function runRoomsBench(): Promise<RoomsResult> {
  const rows: FanoutRow[] = [];
  for (const n of SIZES) {
    rows.push(await fanout(n));
    process.stderr.write(`bench/rooms: fan-out to ${n} done\n`);
  }
  return { count: COUNT, rows, catchUp: { fromMember: await catchUp(false), fromAuthor: await catchUp(true) } };
}

async function fanout(n: number): Promise<FanoutRow> {
  const author = new Child<RoomsCalls>('room author', './rooms-proc.ts', ['author'], []);
  const members = new Child<RoomsCalls>(`${n} room members`, './rooms-proc.ts', ['members'], []);
  try {
    await Promise.all([author.ready(), members.ready()]);
    const [a] = await author.call('start', { count: 1, known: [] }, 10_000);
    if (a === undefined) throw new Error('no author');
    const ms = await members.call('start', { count: n, known: [a] }, 30_000);
    await author.call('meet', { known: ms }, 5_000);
    const names = ms.map((m) => m.name);
    const room = await author.call('room', { members: names }, 60_000);
    // Members reach each other too (catch-up runs between any two); measure once those connections are made.
    await members.call('settled', { quietMs: 1_000 }, 60_000);
    // Warm up both paths (connections open, code hot).
    await author.call('fanout', { room, count: 200, members: n }, 60_000);
    await author.call('direct', { count: 200, names }, 60_000);
    const roomRuns: Timed[] = [];
    const directRuns: Timed[] = [];
    for (let run = 0; run < RUNS; run++) {
      roomRuns.push(await author.call('fanout', { room, count: COUNT, members: n }, 120_000));
      directRuns.push(await author.call('direct', { count: COUNT, names }, 120_000));
    }
    const { roomMs, directMs } = await author.call('latency', { room, samples: LATENCY_SAMPLES, members: n, names }, 60_000);
    await author.call('stop', null, 20_000);
    await members.call('stop', null, 20_000);
    return { members: n, room: medianTimed(roomRuns), direct: medianTimed(directRuns), roomMs, directMs };
  } finally {
    await author.kill();
    await members.kill();
  }
}

function medianTimed(runs: Timed[]): Timed {
  return { seconds: median(runs.map((r) => r.seconds)), cpuMicros: median(runs.map((r) => r.cpuMicros)) };
}

/** Seconds from a member's start() until it has shown CATCH_UP messages it missed: from another member, or from their author. */
async function catchUp(isFromAuthor: boolean): Promise<number> {
  const book = new Book();
  const keys = new Map<string, KeyPair>();
  const start = async (name: string, store = new MemoryRoomStore()): Promise<PeerNode> => {
    const keyPair = keys.get(name) ?? keyPairFromSeed(randomBytes(32));
    keys.set(name, keyPair);
    const node = new PeerNode({
      name,
      discovery: book,
      listenPort: 0,
      keyPair,
      roomStore: store,
      maxFramesPerSecond: 1_000,
      retryIntervalMs: 100,
      maxRetryIntervalMs: 500,
    });
    const address = await node.start();
    book.entries.set(name, { name, ip: '127.0.0.1', port: address.port, key: keyPair.publicKey });
    return node;
  };
  const author = await start('author');
  const helper = await start('helper');
  const lateStore = new MemoryRoomStore();
  let late = await start('late', lateStore);
  const nodes = [author, helper];
  try {
    for (const m of [helper, late]) m.rooms.on('invite', (r) => m.rooms.join(r.id));
    const room = author.rooms.create('club').id;
    await author.rooms.invite(room, 'helper');
    await author.rooms.invite(room, 'late');
    await waitFor(
      () => author.rooms.members(room).members.length === 3 && helper.rooms.members(room).members.length === 3,
      'everyone in the room',
    );
    await late.stop();
    let held = 0;
    helper.rooms.on('message', () => held++);
    for (let i = 0; i < CATCH_UP; i++) {
      author.rooms.send(room, `message ${i} the late member missed, about sixty bytes long`);
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => held === CATCH_UP, 'the helper holding every message');
    await (isFromAuthor ? helper : author).stop();
    let shown = 0;
    const t0 = performance.now();
    late = await start('late', lateStore);
    nodes.push(late);
    late.rooms.on('message', () => shown++);
    await waitFor(() => shown === CATCH_UP, `the late member catching up (${shown} so far)`);
    return (performance.now() - t0) / 1000;
  } finally {
    for (const n of nodes) await n.stop();
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`bench/rooms: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function printRooms(r: RoomsResult): void {
  console.log(
    `rooms: ${fmt(r.count)} messages of ~100 B from one author process to a room of N members in another process, until every member holds every one ` +
      `(RHAVE receipts), against the same ${fmt(r.count)} messages sent to each member one to one (TEXT, RCPT) on the same connections; median of ${RUNS} runs`,
  );
  console.log(
    table(
      [
        'members',
        'room: author CPU µs/msg',
        'one to one ×N: author CPU µs/msg',
        'CPU ratio',
        'room wall s',
        'one to one wall s',
        'wall ratio',
        'latency room p50/p99 ms',
        'latency 1:1 ×N p50/p99 ms',
      ],
      r.rows.map((row) => [
        String(row.members),
        fmt(row.room.cpuMicros / r.count, 1),
        fmt(row.direct.cpuMicros / r.count, 1),
        fmt(row.room.cpuMicros / row.direct.cpuMicros, 2),
        fmt(row.room.seconds, 2),
        fmt(row.direct.seconds, 2),
        fmt(row.room.seconds / row.direct.seconds, 2),
        `${fmt(percentile(row.roomMs, 50), 1)} / ${fmt(percentile(row.roomMs, 99), 1)}`,
        `${fmt(percentile(row.directMs, 50), 1)} / ${fmt(percentile(row.directMs, 99), 1)}`,
      ]),
    ),
  );
  console.log(
    `rooms catch-up: ${fmt(CATCH_UP)} missed messages shown in ${fmt(r.catchUp.fromMember, 2)} s from another member (signatures checked), ${fmt(r.catchUp.fromAuthor, 2)} s from their author`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv[2] === 'catch-up') console.log(await catchUp(false), await catchUp(true));
  else if (process.argv[2] === 'fanout') console.log(await fanout(Number(process.argv[3])));
  else printRooms(await runRoomsBench());
}
