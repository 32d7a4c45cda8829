/**
 * What bench/directory and its child processes share: the calls each child
 * answers over the IPC channel (bench/child.ts), the measurement a server
 * process reports, and the source address each load client dials from.
 *
 *   bench/directory.ts (orchestrator)
 *     ├── bench/directory-server-proc.ts   the natter directory  ┐ one of the two,
 *     ├── bench/baseline-server-proc.ts    a bare node:net server ┘ --expose-gc
 *     └── bench/load-proc.ts × 4           load generators, the same for both
 *
 * The channel uses Node's 'advanced' serialization so that bigint timestamps
 * and Buffers cross it as they are.
 */

/** What a server process reports about itself; every figure is read in the server process. */
export interface Measurement {
  /** process.hrtime.bigint() when measured: CLOCK_MONOTONIC, comparable across processes on Linux. */
  atNs: bigint;
  /** process.cpuUsage() user + system, µs, every thread of the process. */
  cpuMicros: number;
  /** The system (kernel) part of cpuMicros. */
  systemMicros: number;
  rss: number;
  heapUsed: number;
  /** What V8 holds for its heap, used or not: part of RSS. */
  heapTotal: number;
  /** Memory outside the JS heap held by JS objects (Buffers included). */
  external: number;
  /** Connections open. */
  connections: number;
  /** Registered clients (the bare server: connections). */
  online: number;
  /** Heartbeats answered: ALIVE for natter, 5-byte pings for the bare server. */
  heartbeats: number;
  /** Registrations the directory expired (the bare server: 0); must stay 0 during the bench. */
  expirations: number;
  /** The directory's own counters (DUMP's), when the server is natter's. */
  counters?: Record<string, number>;
}

export interface ServerCounts {
  connections: number;
  online: number;
  heartbeats: number;
  expirations: number;
}

/** Calls both server processes answer. */
export type ServerCalls = {
  measure: { request: { gc: GcKind }; reply: Measurement };
  /** Leave (process.exit, so that --cpu-prof writes its profile). */
  exit: { request: Record<string, never>; reply: Record<string, never> };
};

/** The bare server also needs the bytes to answer WHO with (natter's own listing, captured by a generator). */
export type BaselineServerCalls = ServerCalls & {
  setListing: { request: { listing: Uint8Array }; reply: { bytes: number } };
};

export interface StormRequest {
  port: number;
  /** Directory processes to spread the clients over (client i dials ports[i % length]); `port` alone when absent. */
  ports?: number[];
  /** This generator takes global client indices generator, generator + generators, ... below total. */
  generator: number;
  generators: number;
  total: number;
  /** Registrations in flight at once (see WINDOW in bench/directory.ts). */
  window: number;
  /**
   * Each client runs the Noise XX handshake with its own key pair before
   * HELLO + UP (the natter directory, which takes nothing else); false for
   * the bare server, which gets the same frames on plain TCP.
   */
  isSecure: boolean;
  timeoutMs: number;
}

export interface StormReply {
  registered: number;
  /** hrtime of the first connect and of the last ACK (same clock in every process); key pairs are made before the first. */
  startNs: bigint;
  endNs: bigint;
  /** CPU µs this generator process used for its share (user + system). */
  cpuMicros: number;
}

export interface WhoRequest {
  warmup: number;
  rounds: number;
  timeoutMs: number;
}

export interface WhoReply {
  /** One per timed round, in ms: WHO written until the last PEER frame arrived. */
  latenciesMs: number[];
  /** HDR count of the last answer (every answer's PEER frames were counted against its HDR). */
  peers: number;
  /** The whole last answer as received: HDR and every PEER frame. */
  listing: Uint8Array;
}

export interface HeartbeatRequest {
  intervalMs: number;
  /** Client i sends at startNs + (i / total) × interval, then every interval: phases spread evenly. */
  total: number;
  startNs: bigint;
  /** No heartbeat is due at or after this instant. */
  stopNs: bigint;
  /** How long to wait for the last answers after the schedule ends. */
  replyTimeoutMs: number;
}

export interface HeartbeatReply {
  sent: number;
  acked: number;
  /** Answers that were not ACK (a NACK means the directory forgot the client). */
  others: number;
}

export type GeneratorCalls = {
  storm: { request: StormRequest; reply: StormReply };
  who: { request: WhoRequest; reply: WhoReply };
  heartbeat: { request: HeartbeatRequest; reply: HeartbeatReply };
  /** Clients that closed, failed or received a frame out of turn: must stay 0. */
  faults: { request: Record<string, never>; reply: { faults: number; firstFault: string } };
};

/**
 * The loopback address client `index` dials from: 127.A.B.C with B and C in
 * 1..254, one address per client. Linux routes all of 127.0.0.0/8 to the
 * loopback interface, so each client looks like its own host to the
 * directory (per-IP port assignment, per-IP accounting) and no source address
 * runs short of ephemeral ports.
 */
export function localAddressOf(index: number): string {
  const c = index % 254;
  const b = Math.floor(index / 254) % 254;
  const a = Math.floor(index / (254 * 254));
  return `127.${a + 1}.${b + 1}.${c + 1}`;
}

/**
 * What to collect before measuring: nothing; full garbage collections, so
 * that memory figures count what is live rather than what awaits
 * collection; or the memory-reducing kind, which V8 runs by itself once a
 * process is idle (its memory reducer) or short of memory, and which also
 * gives back the young generation a burst of allocation grew (a register
 * storm grows it to tens of MiB, which an ordinary full collection keeps).
 * The last leaves V8's heap limits at their smallest, so it comes after the
 * phases that time anything.
 */
export type GcKind = 'none' | 'full' | 'reducing';

/** Reads this process's CPU time and memory, after `gc` (the process must run with --expose-gc). */
export function measureProcess(gcKind: GcKind, counts: ServerCounts): Measurement {
  if (gcKind !== 'none') {
    const gc = globalThis.gc;
    if (gc === undefined) throw new Error('server processes must run with --expose-gc');
    const options = { type: 'major', execution: 'sync', flavor: gcKind === 'reducing' ? 'last-resort' : 'regular' } as const;
    // Twice: the first collection can leave objects for the second (weak references, finalizers).
    gc(options);
    gc(options);
  }
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return {
    atNs: process.hrtime.bigint(),
    cpuMicros: cpu.user + cpu.system,
    systemMicros: cpu.system,
    rss: mem.rss,
    heapUsed: mem.heapUsed,
    heapTotal: mem.heapTotal,
    external: mem.external,
    ...counts,
  };
}
