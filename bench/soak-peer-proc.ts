/**
 * One side of every chat of bench/soak, alone in its process so that its
 * memory is its own:
 *
 *   node bench/soak-peer-proc.ts
 *
 * Side A's nodes are a0, a1, ...; side B's b0, b1, ...; a<i> chats with b<i>.
 * Each knows its partner from a friends table (address and key), so chats
 * open without asking and no directory lookup is involved. Both sides send:
 * each message's text is its number in its chat and direction, so the
 * receiver checks, in constant memory, that every message is shown exactly
 * once and in order; the sender matches receipts to the ids it sent, each
 * once.
 *
 * Talking follows the plan: each chat alternates between talking (a few
 * messages a second each way) and a quiet spell longer than the idle
 * timeout, so its connection closes and the next message opens a new one;
 * now and then side A ends some chats (END) and the next message opens
 * them again, and side B stops reading on some nodes for a while (a UI that
 * cannot keep up). Every loop is bounded by the plan's duration and every
 * wait by a deadline.
 */
import { randomBytes } from 'node:crypto';
import type { Discovery, KeyAuthority, PeerInfo } from '../src/discovery/discovery.ts';
import { isNatterError } from '../src/errors.ts';
import { PeerNode } from '../src/peer/peer-node.ts';
import { MemoryMessageStore } from '../src/peer/store/memory-message-store.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { serveCalls, type Handlers } from './child.ts';
import { measureProcess } from './directory-ipc.ts';
import type { ChatPlan, ChatTally, PeerAddress, PeerCalls, PeerReport, PeerSide } from './soak-ipc.ts';

const HOST = '127.0.0.1';
/**
 * Bounds of each node's store, far below the defaults (10,000 received ids
 * and 1,000 history lines per peer), so that a run of minutes fills them and
 * memory that keeps growing after that is a leak, not a window still filling.
 */
const RECEIVED_WINDOW = 500;
const HISTORY_LIMIT = 100;

/** The partner, as a friends table has it: its address and the key it must prove. */
class Partner implements Discovery {
  readonly keyAuthority: KeyAuthority = 'friends-table';
  info: PeerInfo | undefined;
  async lookup(name: string): Promise<PeerInfo | undefined> {
    return this.info?.name === name ? this.info : undefined;
  }
  async list(): Promise<PeerInfo[]> {
    return this.info === undefined ? [] : [this.info];
  }
  isFriend(name: string): boolean {
    return this.info?.name === name;
  }
}

/** One chat, from this side. */
interface Chat {
  node: PeerNode;
  discovery: Partner;
  peer: string;
  sent: number;
  /** Ids sent and not yet acknowledged. */
  outstanding: Set<string>;
  /** Receipts that came before send() handed back their id (none expected), or twice. */
  unmatched: Set<string>;
  delivered: number;
  received: number;
  duplicates: number;
  outOfOrder: number;
  highest: number;
}

let side: PeerSide = 'a';
const chats: Chat[] = [];
const problems = new Map<string, number>();
let lostChats = 0;
const lostReasons = new Map<string, number>();
const MAX_LOST_REASONS = 10;
let reopened = 0;

function tally(chat: Chat): ChatTally {
  return {
    peer: chat.peer,
    sent: chat.sent,
    delivered: chat.delivered,
    deliveredTwice: chat.unmatched.size,
    received: chat.received,
    duplicates: chat.duplicates,
    outOfOrder: chat.outOfOrder,
    highest: chat.highest,
  };
}

function report(): PeerReport {
  let dialed = 0;
  let accepted = 0;
  for (const { node } of chats) {
    dialed += node.counters.dialed;
    accepted += node.counters.accepted;
  }
  return {
    chats: chats.map(tally),
    problems: Object.fromEntries(problems),
    lostChats,
    lostReasons: Object.fromEntries(lostReasons),
    reopened,
    connectionsDialed: dialed,
    connectionsAccepted: accepted,
  };
}

async function start(s: PeerSide, count: number, idleTimeoutMs: number): Promise<{ peers: PeerAddress[] }> {
  side = s;
  const peers: PeerAddress[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${side}${i}`;
    const discovery = new Partner();
    const keyPair = keyPairFromSeed(randomBytes(32));
    const node = new PeerNode({
      name,
      discovery,
      listenHost: HOST,
      listenPort: 0,
      keyPair,
      idleTimeoutMs,
      store: new MemoryMessageStore({ receivedWindow: RECEIVED_WINDOW, historyLimit: HISTORY_LIMIT }),
      // The default read pace (maxFramesPerSecond) stays: a chat here is a few frames a second, and the soak keeps it in the loop.
    });
    const chat: Chat = {
      node,
      discovery,
      peer: '',
      sent: 0,
      outstanding: new Set(),
      unmatched: new Set(),
      delivered: 0,
      received: 0,
      duplicates: 0,
      outOfOrder: 0,
      highest: 0,
    };
    node.on('problem', (err) => {
      const code = isNatterError(err) ? err.code : String(err);
      problems.set(code, (problems.get(code) ?? 0) + 1);
    });
    node.on('ended', (_peer, reason, detail) => {
      if (reason !== 'lost') return;
      lostChats++;
      const why = detail.replace(/\b[ab]\d+\b/g, (name) => `${name[0]}N`);
      if (lostReasons.has(why) || lostReasons.size < MAX_LOST_REASONS) lostReasons.set(why, (lostReasons.get(why) ?? 0) + 1);
    });
    node.on('message', (_from, text) => {
      // In order, exactly once: each message is the one after the highest so far.
      const n = Number(text);
      chat.received++;
      if (n === chat.highest + 1) chat.highest = n;
      else if (n <= chat.highest) chat.duplicates++;
      else {
        chat.outOfOrder++;
        chat.highest = n;
      }
    });
    node.on('delivered', (_to, id) => {
      if (chat.outstanding.delete(id)) chat.delivered++;
      else chat.unmatched.add(id);
    });
    const { port } = await node.start();
    chats.push(chat);
    peers.push({ name, port, key: node.publicKey });
  }
  return { peers };
}

async function meet(partners: PeerAddress[], timeoutMs: number): Promise<void> {
  if (partners.length !== chats.length) throw new Error(`${partners.length} partners for ${chats.length} nodes`);
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    chats.map(async (chat, i) => {
      const partner = partners[i] as PeerAddress;
      chat.peer = partner.name;
      chat.discovery.info = { name: partner.name, ip: HOST, port: partner.port, key: Buffer.from(partner.key) };
      if (side !== 'a') return;
      await chat.node.connect(partner.name);
      // Bounded by the deadline.
      while (chat.node.chatState(partner.name) !== 'open') {
        if (Date.now() > deadline) throw new Error(`${chat.node.name} could not open its chat with ${partner.name} within ${timeoutMs} ms`);
        await sleep(10);
      }
    }),
  );
}

/** Sends the next message of `chat`, numbered; its id is matched with its receipt. */
async function sendNext(chat: Chat): Promise<void> {
  const n = ++chat.sent;
  const id = await chat.node.send(chat.peer, String(n));
  if (chat.unmatched.delete(id)) chat.delivered++;
  else chat.outstanding.add(id);
}

/** One chat's talk: spells of talking and of quiet, until `endAt`. */
async function talkOne(chat: Chat, plan: ChatPlan, endAt: number, random: () => number): Promise<void> {
  const gapMs = 1000 / plan.ratePerSecond;
  // Chats start their spells at different moments, so that not all connections close at once.
  let spellEnd = Date.now() + random() * plan.talkMs;
  let isTalking = true;
  // Bounded: each pass sends one message or sleeps until the next spell, and time moves on.
  while (Date.now() < endAt) {
    if (Date.now() >= spellEnd) {
      isTalking = !isTalking;
      spellEnd = Date.now() + (isTalking ? plan.talkMs : plan.quietMs) * (0.5 + random());
    }
    if (!isTalking) {
      await sleep(Math.min(spellEnd, endAt) - Date.now());
      continue;
    }
    await sendNext(chat);
    await sleep(gapMs * (0.5 + random()));
  }
}

/** Side A: ends a tenth of the chats now and then; the next message opens each again. */
async function reopenSome(plan: ChatPlan, endAt: number, random: () => number): Promise<void> {
  while (Date.now() + plan.reopenEveryMs < endAt) {
    await sleep(plan.reopenEveryMs);
    for (const chat of chats) {
      if (random() >= 0.1 || chat.node.chatState(chat.peer) !== 'open') continue;
      chat.node.end(chat.peer);
      reopened++;
    }
  }
}

/** Side B: a tenth of the nodes stop reading for a while, now and then. */
async function pauseSome(plan: ChatPlan, endAt: number, random: () => number): Promise<void> {
  while (Date.now() + plan.pauseEveryMs + plan.pauseMs < endAt) {
    await sleep(plan.pauseEveryMs);
    const paused = chats.filter(() => random() < 0.1);
    for (const chat of paused) chat.node.pauseInput();
    await sleep(plan.pauseMs);
    for (const chat of paused) chat.node.resumeInput();
  }
}

async function talk(plan: ChatPlan): Promise<PeerReport> {
  const endAt = Date.now() + plan.durationMs;
  const random = Math.random;
  const chores = side === 'a' ? [reopenSome(plan, endAt, random)] : [pauseSome(plan, endAt, random)];
  await Promise.all([...chats.map((chat) => talkOne(chat, plan, endAt, random)), ...chores]);
  // Every receipt, or the deadline.
  const deadline = Date.now() + plan.drainTimeoutMs;
  while (chats.some((c) => c.outstanding.size > 0) && Date.now() < deadline) await sleep(50);
  return report();
}

async function stop(): Promise<void> {
  await Promise.all(chats.map((c) => c.node.stop()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

const handlers: Handlers<PeerCalls> = {
  start: ({ side: s, count, idleTimeoutMs }) => start(s, count, idleTimeoutMs),
  meet: async ({ partners, timeoutMs }) => {
    await meet(partners, timeoutMs);
    return {};
  },
  talk,
  report: async () => report(),
  measure: async ({ gc }) => {
    let connections = 0;
    let shown = 0;
    for (const chat of chats) {
      connections += chat.node.connectionCount;
      shown += chat.received;
    }
    const online = chats.filter((c) => c.node.chatState(c.peer) === 'open').length;
    return { ...measureProcess(gc, { connections, online, heartbeats: 0, expirations: 0 }), shown };
  },
  stop: async () => {
    await stop();
    return {};
  },
};

serveCalls<PeerCalls>(handlers, { exitAfter: 'stop' });
