/**
 * One load generator for bench/directory. Several run at once, each in its
 * own process, because one process may hold only 20,000 open files and the
 * clients must not share a CPU-bound event loop with the server.
 *
 * A generator speaks raw bytes, not natter's client library: it sends
 * prebuilt frames and reads back only frame headers, so the same generator
 * drives the natter directory and the bare baseline server and costs both
 * the same.
 *
 *   storm       open this generator's share of the N clients, at most
 *               `window` at once: HELLO + UP  →  wait for HELLO and ACK
 *   who         on the first client: WHO → HDR(count) + count × PEER, timed
 *   heartbeat   every client: ALIVE at its phase of the interval → ACK
 *
 * The clients stay open from the storm to the end: the later phases run
 * with all N registered.
 */
import { connect, type Socket } from 'node:net';
import { decodePayload, encodeMessage } from '../src/protocol/codec.ts';
import { HEADER_BYTES } from '../src/protocol/limits.ts';
import { MESSAGE_TYPES, PROTOCOL_VERSION, messageNameOf } from '../src/protocol/messages.ts';
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

/** One client connection with a header-only frame reader. */
class LoadClient {
  readonly index: number;
  readonly socket: Socket;
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

function open(index: number, port: number): void {
  const socket = connect({ host: '127.0.0.1', port, localAddress: localAddressOf(index), noDelay: true });
  const client = new LoadClient(index, socket);
  clients.push(client);
  // HELLO need not wait for the server's (protocol.md §5): both frames leave in one write.
  socket.on('connect', () => socket.write(Buffer.concat([HELLO, encodeMessage({ type: 'UP', name: `c${index}`, ip: '', port: 0 })])));
  socket.on('data', (chunk: Buffer) => client.push(chunk));
  socket.on('error', (err) => fault(client, `failed: ${err.message}`));
  socket.on('close', () => fault(client, 'was closed by the server'));
}

function storm(req: StormRequest): Promise<StormReply> {
  const mine: number[] = [];
  for (let i = req.generator; i < req.total; i += req.generators) mine.push(i);
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
        open(mine[next++] as number, req.port);
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
    client.socket.write(WHO);
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
        (clients[k] as LoadClient).socket.write(ALIVE);
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
