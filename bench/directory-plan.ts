/**
 * What bench/directory measures: its scale, the size of each phase, the
 * targets, and the shapes of the figures it reports. bench/directory.ts runs
 * the rounds; bench/directory-print.ts prints them.
 */
import { DIRECTORY_DEFAULTS } from '../src/directory/options.ts';

/** The scale the targets are set for: idle memory and heartbeats are measured at this N only. */
export const LARGEST = 10_000;
/**
 * DIRECTORY_BENCH_QUICK=1: one round at N = LARGEST without the thread
 * variants, every phase included (about a minute): for profiling one path.
 */
export const IS_QUICK = process.env.DIRECTORY_BENCH_QUICK === '1';
/** Client counts for the storm and WHO. */
export const SIZES = IS_QUICK ? [LARGEST] : [1_000, LARGEST];
export const GENERATORS = 4;
/**
 * Registrations in flight per generator (4 × 200 = 800 at once). Without a
 * window, 10,000 connects at once overrun the listen queues (the accept
 * queue is capped by net.core.somaxconn, 4,096 here, whatever backlog the
 * server asks for): the kernel drops the SYNs it has no room for, and those
 * clients try again only after the 1 s SYN retransmission timeout, so the
 * storm would time the kernel's retry timer rather than the server. A few
 * hundred per generator keep the accept queue busy without ever filling it.
 */
export const WINDOW = 200;
/**
 * Storm rounds per N and server, interleaved natter / baseline: with the
 * server and the generators sharing the machine's CPUs the wall-clock time
 * of one storm varies by tens of percent, so each storm figure is the median
 * of the rounds. The last round goes on to the other phases.
 */
export const STORM_ROUNDS = IS_QUICK ? 1 : 3;
export const WHO_WARMUP = 20;
/** 500 rather than the minimum 200: p99 is then the 5th worst sample, not the 2nd, and steadier from run to run. */
export const WHO_ROUNDS = 500;
/** The directory's own default: the heartbeat cost is measured at the rate real clients use. */
export const ALIVE_INTERVAL_MS = DIRECTORY_DEFAULTS.aliveIntervalMs;
export const HEARTBEAT_WINDOW_MS = 15_000;

/**
 * The targets, for N = 10,000. The storm's seconds are not one: with the load
 * generators on the same machine they measure the machine, not the
 * directory; CPU per registration against the handshake's own cryptography
 * (bench/targets.ts) measures the directory.
 */
export const TARGET_WHO_P99_MS = 10;
export const TARGET_BYTES_PER_CLIENT = 8 * 1024;
export const TARGET_ALIVE_CPU_RATIO = 1.5;

export interface StormFigures {
  seconds: number;
  perSecond: number;
  /** Server RSS after GC with the N clients connected. */
  rss: number;
  cpuSeconds: number;
  /** CPU of all load generators together: shows when the machine, not the server, sets the pace. */
  loadCpuSeconds: number;
}

export interface IdleFigures {
  bytesPerClient: number;
  /** JS heap + external per client: the part of RSS that JavaScript objects account for. */
  heapBytesPerClient: number;
}

export interface WhoFigures {
  medianMs: number;
  p99Ms: number;
  bytes: number;
}

export interface HeartbeatFigures {
  perSecond: number;
  /** CPU seconds per second of the window. */
  cpuShare: number;
  microsPerBeat: number;
  /** The kernel's part of microsPerBeat (system CPU: the socket reads and writes, epoll). */
  systemMicrosPerBeat: number;
}

/** What the round that goes on after the storm measures. */
export interface PhaseFigures {
  idle: IdleFigures;
  who: WhoFigures;
  heartbeat: HeartbeatFigures | undefined;
  /** The last WHO answer as received, for the baseline to send back. */
  listing: Buffer;
}

/** One server's figures for one N: storm figures are medians over the rounds. */
export interface SystemFigures extends PhaseFigures {
  storm: StormFigures;
}

export interface DirectoryResult {
  n: number;
  natter: SystemFigures;
  /** The same natter directory over plain TCP: no handshake, no records. */
  plain: SystemFigures;
  baseline: SystemFigures;
  /** At N = LARGEST: natter's storm with its handshakes on worker threads, per thread count (medians over the rounds). */
  threaded: { threads: number; storm: StormFigures }[];
}
