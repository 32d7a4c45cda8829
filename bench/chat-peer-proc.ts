/**
 * One peer for bench/chat, alone in its process:
 *
 *   node bench/chat-peer-proc.ts <encrypted|plaintext|baseline> <sender|receiver>
 *
 *   encrypted  a PeerNode (always over the encrypted channel: Noise XX, then
 *              encrypted records) with a static Discovery that calls the other
 *              peer a friend, so the chat opens without asking; sends with
 *              `node.send(peer, text)`, awaiting the last of each burst
 *              (BURST), which waits when the connection's queue is full. Each side's key pair comes from a
 *              fixed seed: the sender's friends table gives the receiver's
 *              key (verified), the receiver pins the sender's on first use.
 *   plaintext  natter's framing over plain TCP, the same path without the
 *              encryption: the sender dial()s without a key pair, the
 *              receiver wraps the accepted socket in a FramedConnection
 *              (answering HELLO); both gather each turn's frames as PeerNode does, and
 *              the sender waits for the drain above PeerNode's high-water
 *              mark, as PeerNode.send() does
 *   baseline   a bare node:net socket, noDelay, one `socket.write(text + '\n')`
 *              per message (waiting for 'drain' when write() returns false);
 *              the reader splits on newlines
 *
 *   durable    the encrypted mode with a FileMessageStore on each side, in a fresh
 *              data directory removed at exit: what `natter chat` runs
 *   unacked    the encrypted channel and the framing alone: the sender
 *              dial()s with a key pair, the receiver runs acceptSecure() and
 *              a FramedConnection; TEXT frames, no receipts, no store
 *
 * PeerNode senders also report when the last receipt came in (every message
 * delivered), for bench/delivery.
 *
 * The receiver either counts messages (throughput) or sends each one straight
 * back (round trips). Every phase has a deadline in here, and the parent has
 * its own: a stuck phase ends the process, never hangs it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import type { Discovery, PeerInfo } from '../src/discovery/discovery.ts';
import { DirectoryClient } from '../src/discovery/directory-client.ts';
import { DirectoryLink } from '../src/discovery/directory-link.ts';
import { openRelay } from '../src/discovery/rendezvous.ts';
import type { ConnectorContext } from '../src/peer/links/connector.ts';
import { RELAY_JOIN_MS, RelayConnector } from '../src/peer/links/paths.ts';
import { PeerNode } from '../src/peer/peer-node.ts';
import { FramedConnection } from '../src/transport/framed-connection.ts';
import { keyPairFromSeed, type KeyPair } from '../src/transport/secure.ts';
import { acceptSecure, dial } from '../src/transport/tcp.ts';
import { FileMessageStore } from '../src/peer/store/file-message-store.ts';
import type { MessageStore } from '../src/peer/store/message-store.ts';
import type { BlastReply, ChatCalls, ChatMode, ChatRole, CountedReport, PingpongReply } from './chat-ipc.ts';
import { report, serveCalls, type Handlers } from './child.ts';
import { textMsg } from '../test/helpers/messages.ts';

const HOST = '127.0.0.1';
const SENDER_NAME = 'alice';
const RECEIVER_NAME = 'bob';
/** Bound on stopping the peer before exiting. */
const STOP_TIMEOUT_MS = 1_000;

/**
 * Queued bytes above which PeerNode.send() waits for the connection to drain
 * (SEND_HIGH_WATER in src/peer/peer-node.ts): the plaintext path waits at the
 * same mark, so both paths batch alike.
 */
const SEND_HIGH_WATER = 64 * 1024;

const mode = process.argv[2] as ChatMode;
const role = process.argv[3] as ChatRole;
if (!['encrypted', 'plaintext', 'baseline', 'durable', 'unacked', 'relayed'].includes(mode) || (role !== 'sender' && role !== 'receiver')) {
  throw new Error('usage: chat-peer-proc.ts <encrypted|plaintext|baseline|durable|unacked|relayed> <sender|receiver>');
}

/** Ends the process on anything unexpected; the parent sees the exit and fails the run. */
function die(why: string): never {
  console.error(`chat-peer-proc (${mode} ${role}): ${why}`);
  process.exit(1);
}

/** Runs `fn`, ending the process if it is not done within `timeoutMs`. */
async function withDeadline<T>(what: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const timer = setTimeout(() => die(`${what} not done within ${timeoutMs} ms`), timeoutMs);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Receiver state, shared by every mode: what `arm` asked to count.

type ReceiverPhase = 'count' | 'echo';
let phase: ReceiverPhase = 'count';
let target = 0;
let received = 0;
let expected = '';
let isArmed = false;
let armCpu = process.cpuUsage();

function arm(count: number, text: string): void {
  phase = 'count';
  target = count;
  received = 0;
  expected = text;
  isArmed = true;
  armCpu = process.cpuUsage();
}

/** Called once `received` reached `target`; `last` is the last message received. */
function counted(last: string): void {
  const endNs = process.hrtime.bigint();
  isArmed = false;
  const cpu = process.cpuUsage(armCpu);
  report<CountedReport>({ endNs, received, isIntact: last === expected, cpuMicros: cpu.user + cpu.system });
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const cpu = process.cpuUsage(start);
  return cpu.user + cpu.system;
}

// ---------------------------------------------------------------------------
// Sender, shared by every mode: a timed blast, timed round trips.

/**
 * Messages entered at a time by a blast, before the sender awaits the last
 * of them: a burst, as a bot relaying a batch or a paste of many lines
 * enters them. Every path is driven the same way.
 */
export const BURST = 64;

/**
 * `count` sends, any mode, BURST at a time: `sendOne` returns a promise when
 * the send may have to be waited for (backpressure, or, for a PeerNode, the
 * message being recorded); the last one of each burst is awaited, so a plain
 * write() adds no tick. With `untilDone` (PeerNode modes: every receipt in),
 * deliveredNs says when that resolved.
 */
async function timeBlast(count: number, sendOne: () => Promise<unknown> | undefined, untilDone?: () => Promise<void>): Promise<BlastReply> {
  const cpu = process.cpuUsage();
  const startNs = process.hrtime.bigint();
  for (let i = 0; i < count; ) {
    let waiting: Promise<unknown> | undefined;
    for (let k = 0; k < BURST && i < count; k++, i++) {
      const w = sendOne();
      if (w !== undefined) waiting = w;
    }
    if (waiting !== undefined) await waiting;
  }
  const sentNs = process.hrtime.bigint();
  if (untilDone === undefined) return { startNs, sentNs, cpuMicros: cpuSince(cpu) };
  await untilDone();
  return { startNs, sentNs, deliveredNs: process.hrtime.bigint(), cpuMicros: cpuSince(cpu) };
}

/**
 * `rounds` sequential round trips of `text`, any mode: each waits for the
 * echo `nextEcho` promises before the next. `send` returns a promise only
 * when it must be awaited, so a plain write() adds no tick.
 */
async function timeRoundTrips(
  rounds: number,
  text: string,
  nextEcho: () => Promise<string>,
  send: (text: string) => Promise<void> | undefined,
): Promise<PingpongReply> {
  const latenciesMicros: number[] = new Array(rounds);
  const cpu = process.cpuUsage();
  for (let i = 0; i < rounds; i++) {
    const echoed = nextEcho();
    const t0 = process.hrtime.bigint();
    const sent = send(text);
    if (sent !== undefined) await sent;
    const back = await echoed;
    latenciesMicros[i] = Number(process.hrtime.bigint() - t0) / 1_000;
    if (back !== text) die(`round ${i}: the echo differs from the text sent`);
  }
  return { latenciesMicros, cpuMicros: cpuSince(cpu) };
}

// ---------------------------------------------------------------------------
// encrypted: two PeerNodes

/** A peer's identity for the bench: the same key pair in every run, so the sender knows the receiver's key up front. */
function benchKeyPair(name: string): KeyPair {
  return keyPairFromSeed(createHash('sha256').update(`natter bench chat ${name}`).digest());
}

/** A friends-only directory of one: the other peer, always trusted, its key (when given) fixed like a friends table's. */
function staticDiscovery(peers: PeerInfo[]): Discovery {
  return {
    lookup: async (name) => peers.find((p) => p.name === name),
    list: async () => peers,
    isFriend: () => true,
    keyAuthority: 'friends-table',
  };
}

let node: PeerNode | undefined;

/** The durable mode's data directory, removed at exit. */
let dataDir: string | undefined;

/** relayed: the directory the relay runs through, and this peer's registration there. */
let link: DirectoryLink | undefined;

async function registerForRelay(name: string): Promise<DirectoryLink> {
  const at = process.env.NATTER_BENCH_DIRECTORY ?? die('relayed needs NATTER_BENCH_DIRECTORY=HOST:PORT');
  const [host = '', portText = ''] = at.split(':');
  const port = Number(portText);
  const keyPair = benchKeyPair(name);
  const l = new DirectoryLink({
    name,
    connect: () => DirectoryClient.connect({ host, port, keyPair, localPort: 0 }),
    relay: (peer) => openRelay({ host, port, keyPair }, peer, RELAY_JOIN_MS),
  });
  await l.start();
  link = l;
  return l;
}

function startNode(name: string, peers: PeerInfo[]): PeerNode {
  let store: MessageStore | undefined;
  if (mode === 'durable') {
    dataDir = mkdtempSync(join(tmpdir(), `natter-bench-${name}-`));
    store = FileMessageStore.open({ dir: dataDir });
  }
  const relayed =
    mode === 'relayed' && link !== undefined
      ? {
          discovery: link,
          // The receiver answers the relay's CALL through it. The sender has none: with one it
          // would move the link to a punched path as soon as one got through (on loopback one
          // does), and the bench would time that path instead of the relay.
          ...(role === 'receiver' ? { rendezvous: link } : {}),
          isAutoAccept: true,
          connector: (ctx: ConnectorContext) => new RelayConnector(ctx, link as DirectoryLink),
        }
      : { discovery: staticDiscovery(peers) };
  const n = new PeerNode({
    name,
    ...relayed,
    listenHost: HOST,
    listenPort: 0,
    keyPair: benchKeyPair(name),
    ...(store === undefined ? {} : { store }),
    // Every run's messages are delivered before the next: the bound is for offline friends, not for a blast.
    maxOutbox: 1_000_000,
    // The bench measures how fast a peer can take messages: a pace set for chat would be all it measured.
    maxFramesPerSecond: 100_000_000,
  });
  n.on('problem', (err) => die(`peer problem ${err.code}: ${err.message}`));
  // The other side ending the chat on purpose is how every run ends; losing it mid-run is a failure.
  n.on('ended', (peer, reason, detail) => {
    if (reason !== 'remote' && !isExiting) die(`chat with ${peer} ended (${reason}): ${detail}`);
  });
  node = n;
  return n;
}

async function encryptedListen(): Promise<number> {
  if (mode === 'relayed') await registerForRelay(RECEIVER_NAME);
  // No key for the sender: the receiver's KeyBook pins it on first use.
  const n = startNode(RECEIVER_NAME, []);
  n.on('message', (from, text) => {
    if (phase === 'echo') {
      n.send(from, text).catch((err: unknown) => die(`echo failed: ${String(err)}`));
      return;
    }
    if (!isArmed) return;
    if (++received === target) counted(text);
  });
  return (await n.start()).port;
}

async function encryptedConnect(port: number): Promise<void> {
  if (mode === 'relayed') await registerForRelay(SENDER_NAME);
  const n = startNode(SENDER_NAME, [{ name: RECEIVER_NAME, ip: HOST, port, key: benchKeyPair(RECEIVER_NAME).publicKey }]);
  await n.start();
  const isConnected = once(n, 'connected');
  await n.connect(RECEIVER_NAME);
  await isConnected;
}

async function encryptedBlast(count: number, text: string): Promise<BlastReply> {
  const n = node as PeerNode;
  let delivered = 0;
  let isAllDelivered: (() => void) | undefined;
  const allDelivered = new Promise<void>((resolve) => (isAllDelivered = resolve));
  const onDelivered = (): void => {
    if (++delivered === count) isAllDelivered?.();
  };
  n.on('delivered', onDelivered);
  try {
    return await timeBlast(
      count,
      () => n.send(RECEIVER_NAME, text),
      () => allDelivered,
    );
  } finally {
    n.off('delivered', onDelivered);
  }
}

async function encryptedPingpong(rounds: number, text: string): Promise<PingpongReply> {
  const n = node as PeerNode;
  let onEcho: ((text: string) => void) | undefined;
  const listener = (_from: string, echoed: string): void => onEcho?.(echoed);
  n.on('message', listener);
  try {
    return await timeRoundTrips(
      rounds,
      text,
      () => new Promise<string>((resolve) => (onEcho = resolve)),
      (t) => n.send(RECEIVER_NAME, t).then(() => undefined),
    );
  } finally {
    n.off('message', listener);
  }
}

// ---------------------------------------------------------------------------
// plaintext: FramedConnection over plain TCP

/** The one framed connection: the receiver's accepted one, or the sender's dialed one. */
let framed: FramedConnection | undefined;
/** Sender side: called with each TEXT received (the echoes). */
let onText: ((text: string) => void) | undefined;

const RESOLVED = Promise.resolve();

/**
 * PeerNode.send()'s hot path, minus the chat bookkeeping: queue the frame,
 * wait above the high-water mark, and return a promise either way, as
 * PeerNode does, so that both paths pay the same await per message.
 */
function plainSend(conn: FramedConnection, text: string): Promise<void> {
  if (!conn.send(textMsg(text))) return Promise.reject(new Error('the connection is closed'));
  return conn.queuedBytes >= SEND_HIGH_WATER ? conn.drained() : RESOLVED;
}

function watchFramed(conn: FramedConnection): void {
  framed = conn;
  conn.on('failure', (err) => {
    if (!isExiting) die(`connection failed ${err.code}: ${err.message}`);
  });
  conn.on('close', () => {
    if (!isExiting && role === 'sender') die('the receiver closed the connection');
  });
}

/** The receiver's FramedConnection on an accepted socket: plain, or (unacked) inside the encrypted channel. */
async function framedOnAccepted(socket: Socket): Promise<FramedConnection> {
  if (mode !== 'unacked') return new FramedConnection(socket, { hello: 'answer' });
  const stream = await acceptSecure(socket, benchKeyPair(RECEIVER_NAME));
  return new FramedConnection(stream, { hello: 'answer' });
}

async function plaintextListen(): Promise<number> {
  const srv = createServer({ noDelay: true }, async (socket) => {
    if (framed !== undefined) {
      socket.destroy(); // one sender only
      return;
    }
    const conn = await framedOnAccepted(socket);
    watchFramed(conn);
    conn.on('message', (msg) => {
      if (msg.type !== 'TEXT') return;
      if (phase === 'echo') {
        conn.send(textMsg(msg.text));
        return;
      }
      if (!isArmed) return;
      if (++received === target) counted(msg.text);
    });
  });
  server = srv;
  srv.listen(0, HOST);
  await once(srv, 'listening');
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function plaintextConnect(port: number, timeoutMs: number): Promise<void> {
  const conn = await dial({
    host: HOST,
    port,
    timeoutMs,
    ...(mode === 'unacked' ? { keyPair: benchKeyPair(SENDER_NAME), verifyKey: (key: Buffer) => checkReceiverKey(key) } : {}),
  });
  watchFramed(conn);
  conn.on('message', (msg) => {
    if (msg.type === 'TEXT') onText?.(msg.text);
  });
}

function checkReceiverKey(key: Buffer): void {
  if (!key.equals(benchKeyPair(RECEIVER_NAME).publicKey)) throw new Error('the receiver proved another key');
}

async function plaintextBlast(count: number, text: string): Promise<BlastReply> {
  const conn = framed as FramedConnection;
  // Only a wait for the drain is awaited (the last of a burst, as for every path).
  return timeBlast(count, () => {
    const waiting = plainSend(conn, text);
    return waiting === RESOLVED ? undefined : waiting;
  });
}

async function plaintextPingpong(rounds: number, text: string): Promise<PingpongReply> {
  const conn = framed as FramedConnection;
  try {
    return await timeRoundTrips(
      rounds,
      text,
      () => new Promise<string>((resolve) => (onText = resolve)),
      (t) => plainSend(conn, t),
    );
  } finally {
    onText = undefined;
  }
}

// ---------------------------------------------------------------------------
// baseline: raw sockets, newline framing

let server: Server | undefined;
let socket: Socket | undefined;
/** Sender side: called with each line received (the echoes). */
let onLine: ((line: string) => void) | undefined;

/** Splits a socket's bytes into lines; a chunk may end inside a line or a UTF-8 sequence. */
function lineReader(onLines: (lines: string[]) => void): (chunk: Buffer) => void {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  return (chunk) => {
    const lines = (rest + decoder.write(chunk)).split('\n');
    rest = lines.pop() as string;
    if (lines.length > 0) onLines(lines);
  };
}

async function baselineListen(): Promise<number> {
  const srv = createServer({ noDelay: true }, (s) => {
    socket = s;
    s.on('error', (err) => die(`socket error: ${err.message}`));
    s.on(
      'data',
      lineReader((lines) => {
        if (phase === 'echo') {
          for (const line of lines) s.write(`${line}\n`);
          return;
        }
        if (!isArmed) return;
        received += lines.length;
        if (received >= target) counted(lines[lines.length - 1] as string);
      }),
    );
  });
  server = srv;
  srv.listen(0, HOST);
  await once(srv, 'listening');
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

async function baselineConnect(port: number): Promise<void> {
  const s = netConnect({ host: HOST, port, noDelay: true });
  socket = s;
  s.on('error', (err) => {
    if (!isExiting) die(`socket error: ${err.message}`);
  });
  s.on(
    'data',
    lineReader((lines) => {
      for (const line of lines) onLine?.(line);
    }),
  );
  await once(s, 'connect');
}

async function baselineBlast(count: number, text: string): Promise<BlastReply> {
  const s = socket as Socket;
  return timeBlast(count, () => (s.write(`${text}\n`) ? undefined : once(s, 'drain')));
}

async function baselinePingpong(rounds: number, text: string): Promise<PingpongReply> {
  const s = socket as Socket;
  try {
    return await timeRoundTrips(
      rounds,
      text,
      () => new Promise<string>((resolve) => (onLine = resolve)),
      (t) => void s.write(`${t}\n`),
    );
  } finally {
    onLine = undefined;
  }
}

// ---------------------------------------------------------------------------
// Calls from the parent

let isExiting = false;

async function exit(): Promise<void> {
  isExiting = true;
  socket?.destroy();
  framed?.destroy();
  server?.close();
  if (node === undefined) return;
  const store = node.store;
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)));
  await Promise.race([node.stop(), giveUp]);
  clearTimeout(timer);
  await link?.stop();
  store.close();
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
}

const wrongRole = (name: string) => async (): Promise<never> => {
  throw new Error(`a ${role} does not answer ${name}`);
};

/** Each mode's way to do what a call asks. */
interface ModeOps {
  listen(): Promise<number>;
  connect(port: number, timeoutMs: number): Promise<void>;
  blast(count: number, text: string): Promise<BlastReply>;
  pingpong(rounds: number, text: string): Promise<PingpongReply>;
}

const OPS: Record<ChatMode, ModeOps> = {
  encrypted: { listen: encryptedListen, connect: encryptedConnect, blast: encryptedBlast, pingpong: encryptedPingpong },
  plaintext: { listen: plaintextListen, connect: plaintextConnect, blast: plaintextBlast, pingpong: plaintextPingpong },
  baseline: { listen: baselineListen, connect: baselineConnect, blast: baselineBlast, pingpong: baselinePingpong },
  durable: { listen: encryptedListen, connect: encryptedConnect, blast: encryptedBlast, pingpong: encryptedPingpong },
  unacked: { listen: plaintextListen, connect: plaintextConnect, blast: plaintextBlast, pingpong: plaintextPingpong },
  relayed: { listen: encryptedListen, connect: encryptedConnect, blast: encryptedBlast, pingpong: encryptedPingpong },
};
const ops = OPS[mode];

const handlers: Handlers<ChatCalls> = {
  listen: role === 'receiver' ? async () => ({ port: await ops.listen() }) : wrongRole('listen'),
  arm:
    role === 'receiver'
      ? async ({ count, text }) => {
          arm(count, text);
          return {};
        }
      : wrongRole('arm'),
  echo:
    role === 'receiver'
      ? async () => {
          phase = 'echo';
          return {};
        }
      : wrongRole('echo'),
  connect:
    role === 'sender'
      ? async ({ port, timeoutMs }) => {
          await withDeadline('connect', timeoutMs, () => ops.connect(port, timeoutMs));
          return {};
        }
      : wrongRole('connect'),
  blast:
    role === 'sender' ? ({ count, text, timeoutMs }) => withDeadline('blast', timeoutMs, () => ops.blast(count, text)) : wrongRole('blast'),
  pingpong:
    role === 'sender'
      ? ({ rounds, text, timeoutMs }) => withDeadline('pingpong', timeoutMs, () => ops.pingpong(rounds, text))
      : wrongRole('pingpong'),
  usage: async () => ({ cpuMicros: cpuSince({ user: 0, system: 0 }) }),
  exit: async () => {
    await exit();
    return {};
  },
};

// After answering exit, leave once the answer is out (process.exit lets --cpu-prof write its profile).
serveCalls<ChatCalls>(handlers, { exitAfter: 'exit' });
