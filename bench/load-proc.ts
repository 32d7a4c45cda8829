/**
 * One load generator for bench/directory. Several run at once, each in its
 * own process, because one process may hold only 20,000 open files and the
 * clients must not share a CPU-bound event loop with the server.
 *
 * A generator speaks raw frames, not natter's client library: it sends
 * prebuilt frames and reads back only frame headers, so the same generator
 * drives the natter directory and the bare baseline server and costs both
 * the same, but for the encryption. The natter directory takes only
 * encrypted connections, so for it (StormRequest.isSecure) each client first
 * runs the Noise XX handshake with its own key pair, made before the storm
 * is timed (an identity exists before its owner connects), and the same
 * frames then go through the encrypted stream; the bare server gets them on
 * plain TCP.
 *
 *   storm       open this generator's share of the N clients, at most
 *               `window` at once: [handshake,] HELLO + UP  →  wait for HELLO and ACK
 *   who         on the first client: WHO → HDR(count) + count × PEER, timed
 *   heartbeat   every client: ALIVE at its phase of the interval → ACK
 *
 * The clients stay open from the storm to the end: the later phases run
 * with all N registered.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { ByteStream } from '../src/transport/byte-stream.ts';
import { decodePayload, encodeMessage } from '../src/protocol/codec.ts';
import { HEADER_BYTES } from '../src/protocol/limits.ts';
import { MESSAGE_TYPES, PROTOCOL_VERSION, messageNameOf } from '../src/protocol/messages.ts';
import { keyPairFromSeed, secureSocket, type KeyPair } from '../src/transport/secure.ts';
import { serveCalls } from './child.ts';
import {
  localAddressOf,
  type GeneratorCalls,
  type HeartbeatReply,
  type HeartbeatRequest,
  type StormReply,
  type StormRequest,
  type WhoReply,
  type WhoRequest,
} from './directory-ipc.ts';

const HELLO = encodeMessage({ type: 'HELLO', version: PROTOCOL_VERSION });
const WHO = encodeMessage({ type: 'WHO' });
const ALIVE = encodeMessage({ type: 'ALIVE' });

/** Called for each whole frame a client receives; each phase installs its own. */
type FrameHandler = (client: LoadClient, type: number, payload: Buffer) => void;

/** The server's handshake deadline is 10 s; a client's own is the same. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** One client connection with a header-only frame reader. */
class LoadClient {
  readonly index: number;
  readonly socket: Socket;
  /** What frames are written to: the socket, or the encrypted stream over it once its handshake is done. */
  stream: ByteStream | undefined;
  hasHello = false;
  isRegistered = false;
  /** When set, every chunk received is kept (the WHO answer handed to the baseline). */
  capture: Buffer[] | undefined;
  #rest: Buffer | undefined;

  constructor(index: number, socket: Socket) {
    this.index = index;
    this.socket = socket;
  }

  /** Cuts whole frames out of the byte stream; keeps an unfinished one for the next chunk. */
  push(chunk: Buffer): void {
    this.capture?.push(chunk);
    const buf = this.#rest === undefined ? chunk : Buffer.concat([this.#rest, chunk]);
    let offset = 0;
    while (buf.length - offset >= HEADER_BYTES) {
      const end = offset + HEADER_BYTES + buf.readUInt32BE(offset);
      if (end > buf.length) break;
      onFrame(this, buf[offset + 4] as number, buf.subarray(offset + HEADER_BYTES, end));
      offset = end;
    }
    this.#rest = offset === buf.length ? undefined : buf.subarray(offset);
  }

  /** True when no partial frame is held: the last answer ended exactly at a frame boundary. */
  get isAtBoundary(): boolean {
    return this.#rest === undefined;
  }
}

const clients: LoadClient[] = [];
/** Between phases nothing may arrive: a frame then is a fault. */
const betweenPhases: FrameHandler = (client, type, payload) => fault(client, `received ${describe(type, payload)} between phases`);
let onFrame: FrameHandler = betweenPhases;
/** The running phase's way to fail; faults are also counted for the `faults` call. */
let phaseFailed: (err: Error) => void = () => {};
let faults = 0;
let firstFault = '';

/** A frame for an error message; ERROR frames are decoded so the reason shows. */
function describe(type: number, payload: Buffer): string {
  const name = messageNameOf(type) ?? `type 0x${type.toString(16)}`;
  if (name !== 'ERROR') return `unexpected ${name}`;
  try {
    const err = decodePayload('ERROR', payload);
    return err.type === 'ERROR' ? `ERROR ${err.code}: ${err.reason}` : 'ERROR';
  } catch {
    return 'an undecodable ERROR';
  }
}

/** A client closed, failed or received something out of turn: counted, and fatal to the running phase. */
function fault(client: LoadClient, why: string): void {
  const what = `client ${client.index} (${localAddressOf(client.index)}) ${why}`;
  faults++;
  if (firstFault === '') firstFault = what;
  phaseFailed(new Error(what));
}

/**
 * Starts a phase: returns its one way to end, which is also phaseFailed until
 * then. The first call clears the phase's timer, puts the between-phases
 * handlers back and calls `finish`; later calls do nothing.
 */
function beginPhase(timer: () => NodeJS.Timeout | undefined, finish: (err?: Error) => void): (err?: Error) => void {
  let isSettled = false;
  const settle = (err?: Error): void => {
    if (isSettled) return;
    isSettled = true;
    clearTimeout(timer());
    phaseFailed = () => {};
    onFrame = betweenPhases;
    finish(err);
  };
  phaseFailed = settle;
  return settle;
}

/** Writes frames to a client; every client is open (handshake done, registered) by the end of the storm. */
function write(client: LoadClient, frames: Buffer): void {
  if (client.stream === undefined) fault(client, 'was written to before it was open');
  else client.stream.write(frames);
}

/**
 * Opens client `index`, with the Noise handshake first when `keyPair` is
 * given. HELLO need not wait for the server's (protocol.md §5): HELLO and UP
 * leave in one write.
 */
function open(index: number, port: number, keyPair: KeyPair | undefined): void {
  const socket = connect({ host: '127.0.0.1', port, localAddress: localAddressOf(index), noDelay: true });
  const client = new LoadClient(index, socket);
  clients.push(client);
  const register = Buffer.concat([HELLO, encodeMessage({ type: 'UP', name: `c${index}`, ip: '', port: 0 })]);
  socket.on('error', (err) => fault(client, `failed: ${err.message}`));
  socket.on('close', () => fault(client, 'was closed by the server'));
  if (keyPair === undefined) {
    socket.on('connect', () => {
      client.stream = socket;
      socket.write(register);
    });
    socket.on('data', (chunk: Buffer) => client.push(chunk));
    return;
  }
  secureSocket(socket, true, { keyPair, handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS }).then(
    (secure) => {
      client.stream = secure;
      secure.on('error', (err: Error) => fault(client, `failed: ${err.message}`));
      secure.on('data', (chunk: Buffer) => client.push(chunk));
      secure.write(register);
    },
    (err: Error) => fault(client, `handshake failed: ${err.message}`),
  );
}

function storm(req: StormRequest): Promise<StormReply> {
  const mine: number[] = [];
  for (let i = req.generator; i < req.total; i += req.generators) mine.push(i);
  // Every client's own identity, made before the clock starts.
  const keyPairs = req.isSecure ? mine.map(() => keyPairFromSeed(randomBytes(32))) : undefined;
  const startNs = process.hrtime.bigint();
  const startCpu = process.cpuUsage();
  let endNs = startNs;
  let next = 0;
  let inFlight = 0;
  let registered = 0;
  return new Promise((resolve, reject) => {
    const settle = beginPhase(
      () => timer,
      (err) => {
        const cpu = process.cpuUsage(startCpu);
        if (err === undefined) resolve({ registered, startNs, endNs, cpuMicros: cpu.user + cpu.system });
        else reject(err);
      },
    );
    const timer = setTimeout(
      () => settle(new Error(`storm: ${registered} of ${mine.length} registered within ${req.timeoutMs} ms`)),
      req.timeoutMs,
    );
    // Opening a new client only when one finishes keeps at most `window` connects in flight.
    const launch = (): void => {
      while (inFlight < req.window && next < mine.length) {
        const index = mine[next] as number;
        open(index, req.ports === undefined ? req.port : (req.ports[index % req.ports.length] as number), keyPairs?.[next]);
        next++;
        inFlight++;
      }
    };
    onFrame = (client, type, payload) => {
      if (type === MESSAGE_TYPES.HELLO && !client.hasHello) {
        client.hasHello = true;
      } else if (type === MESSAGE_TYPES.ACK && client.hasHello && !client.isRegistered) {
        client.isRegistered = true;
        endNs = process.hrtime.bigint();
        registered++;
        inFlight--;
        if (registered === mine.length) settle();
        else launch();
      } else {
        settle(new Error(`storm: client ${client.index}: ${describe(type, payload)}`));
      }
    };
    launch();
  });
}

/** One WHO on `client`: resolves with the HDR count once that many PEER frames are in. */
function whoOnce(client: LoadClient, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let expected = -1;
    let peers = 0;
    const settle = beginPhase(
      () => timer,
      (err) => (err === undefined ? resolve(expected) : reject(err)),
    );
    const timer = setTimeout(() => settle(new Error(`WHO: ${peers} of ${expected} PEER frames within ${timeoutMs} ms`)), timeoutMs);
    onFrame = (c, type, payload) => {
      if (c !== client) settle(new Error(`WHO: client ${c.index} got ${describe(type, payload)}`));
      else if (type === MESSAGE_TYPES.HDR && expected < 0) {
        expected = payload.readUInt32BE(0);
        if (expected === 0) settle();
      } else if (type === MESSAGE_TYPES.PEER && expected >= 0) {
        peers++;
        if (peers === expected) settle();
      } else settle(new Error(`WHO: ${describe(type, payload)} after ${peers} of ${expected} PEER frames`));
    };
    write(client, WHO);
  });
}

async function who(req: WhoRequest): Promise<WhoReply> {
  const client = clients[0];
  if (client === undefined || !client.isRegistered) throw new Error('WHO: this generator has no registered client');
  const latenciesMs: number[] = [];
  let peers = 0;
  const total = req.warmup + req.rounds;
  for (let round = 0; round < total; round++) {
    const isLast = round === total - 1;
    if (isLast) client.capture = [];
    const start = process.hrtime.bigint();
    peers = await whoOnce(client, req.timeoutMs);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (round >= req.warmup) latenciesMs.push(ms);
  }
  const listing = Buffer.concat(client.capture ?? []);
  client.capture = undefined;
  if (!client.isAtBoundary) throw new Error('WHO: bytes beyond the last PEER frame');
  return { latenciesMs, peers, listing };
}

/**
 * ALIVE from every client at its own phase of the interval. One timer walks
 * the clients in phase order (they are opened in index order, which is
 * phase order), so 2,500 clients cost one timer, not 2,500.
 */
function heartbeat(req: HeartbeatRequest): Promise<HeartbeatReply> {
  const n = clients.length;
  const phaseMs = clients.map((c) => (c.index / req.total) * req.intervalMs);
  const elapsedMs = (): number => Number(process.hrtime.bigint() - req.startNs) / 1e6;
  const durationMs = Number(req.stopNs - req.startNs) / 1e6;
  let k = 0;
  let cycle = 0;
  let sent = 0;
  let acked = 0;
  let others = 0;
  const dueMs = (): number => (phaseMs[k] as number) + cycle * req.intervalMs;
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let isDone = false;
    const settle = beginPhase(
      () => timer,
      (err) => (err !== undefined ? reject(err) : resolve({ sent, acked, others })),
    );
    const checkDone = (): void => {
      if (isDone && acked + others === sent) settle();
    };
    onFrame = (_client, type) => {
      if (type === MESSAGE_TYPES.ACK) acked++;
      else others++;
      checkDone();
    };
    const tick = (): void => {
      const now = elapsedMs();
      // Bounded: each pass sends one ALIVE and moves the next due time forward.
      while (n > 0 && dueMs() <= now && dueMs() < durationMs) {
        write(clients[k] as LoadClient, ALIVE);
        sent++;
        if (++k === n) {
          k = 0;
          cycle++;
        }
      }
      if (n === 0 || dueMs() >= durationMs) {
        isDone = true;
        timer = setTimeout(() => settle(), req.replyTimeoutMs); // the orchestrator checks acked === sent
        checkDone();
        return;
      }
      timer = setTimeout(tick, Math.max(0, dueMs() - now));
    };
    timer = setTimeout(tick, Math.max(0, -elapsedMs()));
  });
}

serveCalls<GeneratorCalls>({
  storm,
  who,
  heartbeat,
  faults: async () => ({ faults, firstFault }),
});
