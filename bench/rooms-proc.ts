/**
 * A process of bench/rooms: the author (one PeerNode) or the members (many
 * PeerNodes in one process), on 127.0.0.1, every store in memory, everyone a
 * friend of everyone with the key a friends table would give.
 *
 *   node bench/rooms-proc.ts author|members
 */
import { randomBytes } from 'node:crypto';
import type { PeerInfo } from '../src/discovery/discovery.ts';
import { PeerNode } from '../src/peer/peer-node.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { serveCalls } from './child.ts';
import type { RoomsCalls, Who } from './rooms-ipc.ts';
import { Book } from '../test/helpers/book.ts';

const role = process.argv[2];
const book = new Book();
const nodes: PeerNode[] = [];
/** Room messages and 1:1 messages the members received, in all. */
let received = 0;
let roomReceived = 0;
/** Chats the members opened (with the author, and with each other: members of a room reach each other). */
let connects = 0;
let lastConnectAt = 0;

async function node(name: string): Promise<PeerNode> {
  const keyPair = keyPairFromSeed(randomBytes(32));
  const n = new PeerNode({
    name,
    discovery: book,
    listenPort: 0,
    keyPair,
    maxChats: 64,
    maxOutbox: 100_000,
    maxFramesPerSecond: 1_000_000,
    retryIntervalMs: 100,
    maxRetryIntervalMs: 1_000,
  });
  const address = await n.start();
  book.entries.set(name, { name, ip: '127.0.0.1', port: address.port, key: keyPair.publicKey });
  nodes.push(n);
  return n;
}

function who(n: PeerNode): Who {
  const entry = book.entries.get(n.name) as PeerInfo;
  return { name: n.name, port: entry.port, key: entry.key as Buffer };
}

/** The author's delivered counts: per room message id, and 1:1 receipts. */
let roomDelivered = 0;
let directDelivered = 0;
const waiters: (() => void)[] = [];
function wake(): void {
  for (const w of waiters.splice(0)) w();
}
function until(cond: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (cond()) resolve();
      else waiters.push(check);
    };
    check();
  });
}

serveCalls<RoomsCalls>({
  start: async ({ count, known }) => {
    for (const k of known) book.entries.set(k.name, { name: k.name, ip: '127.0.0.1', port: k.port, key: k.key });
    const made: Who[] = [];
    for (let i = 0; i < count; i++) {
      const n = await node(role === 'author' ? 'author' : `m${i}`);
      if (role === 'author') {
        n.rooms.on('delivered', () => {
          roomDelivered++;
          wake();
        });
        n.on('delivered', () => {
          directDelivered++;
          wake();
        });
      } else {
        n.rooms.on('invite', (room) => n.rooms.join(room.id));
        n.rooms.on('message', () => roomReceived++);
        n.on('message', () => received++);
        n.on('connected', () => {
          connects++;
          lastConnectAt = performance.now();
        });
      }
      made.push(who(n));
    }
    return made;
  },
  meet: async ({ known }) => {
    for (const k of known) book.entries.set(k.name, { name: k.name, ip: '127.0.0.1', port: k.port, key: k.key });
    return null;
  },
  room: async ({ members }) => {
    const author = nodes[0] as PeerNode;
    const room = author.rooms.create(`r${members.length}`).id;
    for (const m of members) await author.rooms.invite(room, m);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (author.rooms.members(room).members.length === members.length + 1) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    return room;
  },
  fanout: async ({ room, count, members }) => {
    const author = nodes[0] as PeerNode;
    const target = roomDelivered + count * members;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      author.rooms.send(room, `room message ${i} of a bench run, about a hundred bytes long: 0123456789abcdefghij`);
      // The same pace as the one-to-one path below: a turn of the event loop per message.
      if (i % 64 === 63) await new Promise((r) => setImmediate(r));
    }
    await until(() => roomDelivered >= target);
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu);
    return { seconds, cpuMicros: used.user + used.system };
  },
  direct: async ({ count, names }) => {
    const author = nodes[0] as PeerNode;
    const target = directDelivered + count * names.length;
    const cpu = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      const sends = names.map((n) => author.send(n, `room message ${i} of a bench run, about a hundred bytes long: 0123456789abcdefghij`));
      if (i % 64 === 63) await Promise.all(sends);
    }
    await until(() => directDelivered >= target);
    const seconds = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu);
    return { seconds, cpuMicros: used.user + used.system };
  },
  latency: async ({ room, samples, members, names }) => {
    const author = nodes[0] as PeerNode;
    const roomMs: number[] = [];
    const directMs: number[] = [];
    for (let i = 0; i < samples; i++) {
      let target = roomDelivered + members;
      let t0 = performance.now();
      author.rooms.send(room, `latency ${i}`);
      await until(() => roomDelivered >= target);
      roomMs.push(performance.now() - t0);
      target = directDelivered + names.length;
      t0 = performance.now();
      for (const n of names) void author.send(n, `latency ${i}`);
      await until(() => directDelivered >= target);
      directMs.push(performance.now() - t0);
    }
    return { roomMs, directMs };
  },
  received: async () => ({ received, roomReceived }),
  settled: async ({ quietMs }) => {
    while (performance.now() - lastConnectAt < quietMs) await new Promise((r) => setTimeout(r, 50));
    return connects;
  },
  stop: async () => {
    for (const n of nodes) await n.stop();
    return null;
  },
});
