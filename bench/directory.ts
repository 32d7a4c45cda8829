/**
 * bench/directory: the directory under many clients, against a baseline
 * measured in the same run: a bare node:net server (bench/baseline-server-proc.ts)
 * that answers the same requests with the same bytes and does nothing else.
 *
 *   1. register storm    N clients connect and register at once (natter: the
 *                        Noise XX handshake, each client with its own key
 *                        pair, then HELLO + UP inside it; the bare server:
 *                        HELLO + UP on plain TCP; answered HELLO + ACK):
 *                        seconds, registrations/s, the server's RSS after GC
 *                        and its CPU during the storm
 *   2. WHO latency       500 sequential WHOs from one registered client with N
 *                        online, each timed until its last PEER frame is in
 *   3. heartbeat cost    N clients send ALIVE at the default alive interval,
 *                        phases spread evenly; server CPU over a 15 s window
 *   4. idle memory       last: server RSS with N registered idle clients minus
 *                        RSS before any, both after the memory-reducing
 *                        collection V8 runs on an idle process, per client
 *
 * Each server runs alone in its process, so memory and CPU are its own, and
 * the clients come from GENERATORS processes (bench/load-proc.ts): a process
 * may hold 20,000 open files, and N sockets on each side would not fit in
 * one. Clients dial from addresses spread over 127.0.0.0/8 (one each); all
 * traffic stays on loopback. Every child is killed at the end of its run,
 * whether it succeeded or failed.
 *
 * The natter directory takes only encrypted connections, so every natter
 * figure includes the encryption: the handshakes in the storm, the records
 * around WHO answers and heartbeats, the per-connection stream state in the
 * memory. The bare server is the same plaintext baseline as before: the
 * ratios show the directory and its encryption together.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { DIRECTORY_DEFAULTS } from '../src/directory/options.ts';
import { Child } from './child.ts';
import type { BaselineServerCalls, GcKind, GeneratorCalls, Measurement, ServerCalls } from './directory-ipc.ts';
import { fmt, median, medians, percentile, table } from './harness.ts';

/** The scale: idle memory and heartbeats are measured at this N only, and the targets apply to it. */
const LARGEST = 10_000;
/**
 * DIRECTORY_BENCH_QUICK=1: one round at N = LARGEST without the thread
 * variants, every phase included (about a minute): for profiling one path.
 */
const IS_QUICK = process.env.DIRECTORY_BENCH_QUICK === '1';
/** Client counts for the storm and WHO. */
const SIZES = IS_QUICK ? [LARGEST] : [1_000, LARGEST];
const GENERATORS = 4;
/**
 * Registrations in flight per generator (4 × 200 = 800 at once). Without a
 * window, 10,000 connects at once overrun the listen queues (the accept
 * queue is capped by net.core.somaxconn, 4,096 here, whatever backlog the
 * server asks for): the kernel drops the SYNs it has no room for, and those
 * clients try again only after the 1 s SYN retransmission timeout, so the
 * storm would time the kernel's retry timer rather than the server. A few
 * hundred per generator keep the accept queue busy without ever filling it.
 */
const WINDOW = 200;
/**
 * Storm rounds per N and server, interleaved natter / baseline: with the
 * server and the generators sharing the machine's CPUs the wall-clock time
 * of one storm varies by tens of percent, so each storm figure is the median
 * of the rounds. The last round goes on to the other phases.
 */
const STORM_ROUNDS = IS_QUICK ? 1 : 3;
/** Connections the directory accepts beyond N, so maxClients is never what limits the storm. */
const MAX_CLIENTS_MARGIN = 64;
const WHO_WARMUP = 20;
/** 500 rather than the minimum 200: p99 is then the 5th worst sample, not the 2nd, and steadier from run to run. */
const WHO_ROUNDS = 500;
/** The directory's own default: the heartbeat cost is measured at the rate real clients use. */
const ALIVE_INTERVAL_MS = DIRECTORY_DEFAULTS.aliveIntervalMs;
/** Heartbeats start this long before the window, so the window sees the steady rate only. */
const HEARTBEAT_LEAD_MS = 1_500;
const HEARTBEAT_WINDOW_MS = 15_000;

const CALL_TIMEOUT_MS = 30_000;
/** Every client's handshake is in the storm: about 7 s for 10,000 on two CPUs, so room for a much slower machine. */
const STORM_TIMEOUT_MS = 120_000;
const WHO_TIMEOUT_MS = 5_000;

/**
 * The targets, for N = 10,000. The storm's seconds are not one: with the load
 * generators on the same machine they measure the machine, not the
 * directory; CPU per registration against the handshake's own cryptography
 * (bench/targets.ts) measures the directory.
 */
export const TARGET_WHO_P99_MS = 10;
export const TARGET_BYTES_PER_CLIENT = 8 * 1024;
export const TARGET_ALIVE_CPU_RATIO = 1.5;

const MIB = 1024 * 1024;

// ---------------------------------------------------------------------------
// Child processes

type ServerKind = 'natter' | 'baseline';

/** What a run needs of either server process. */
interface ServerHandle {
  ready(): Promise<number>;
  measure(gc: GcKind): Promise<Measurement>;
  /** The baseline answers WHO with natter's listing; the directory builds its own. */
  setListing(listing: Buffer): Promise<void>;
  kill(): Promise<void>;
}

function startServer(kind: ServerKind, n: number, threads: number): ServerHandle {
  if (kind === 'natter') {
    const args = [String(n + MAX_CLIENTS_MARGIN), `--handshake-threads=${threads}`];
    // DIRECTORY_BENCH_CPU_PROF=<dir>: the directory runs under --cpu-prof and leaves one .cpuprofile per run in <dir>.
    const profDir = process.env.DIRECTORY_BENCH_CPU_PROF;
    const prof = profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
    const child = new Child<ServerCalls>('natter directory', './directory-server-proc.ts', args, ['--expose-gc', ...prof]);
    return {
      ready: () => child.ready(),
      measure: (gc) => child.call('measure', { gc }, CALL_TIMEOUT_MS),
      setListing: async () => {},
      // Profiled, it leaves by itself so that the profile is written.
      kill: async () => {
        if (profDir !== undefined) {
          await child.call('exit', {}, CALL_TIMEOUT_MS).catch(() => {});
          // Writing the profile takes a moment: killed only if it takes too long.
          const timer = setTimeout(() => void child.kill(), CALL_TIMEOUT_MS);
          await child.exited();
          clearTimeout(timer);
        }
        await child.kill();
      },
    };
  }
  const child = new Child<BaselineServerCalls>('bare net server', './baseline-server-proc.ts', [], ['--expose-gc']);
  return {
    ready: () => child.ready(),
    measure: (gc) => child.call('measure', { gc }, CALL_TIMEOUT_MS),
    setListing: async (listing) => {
      await child.call('setListing', { listing }, CALL_TIMEOUT_MS);
    },
    kill: () => child.kill(),
  };
}

// ---------------------------------------------------------------------------
// One run: one server, fresh generators, every phase

interface StormFigures {
  seconds: number;
  perSecond: number;
  /** Server RSS after GC with the N clients connected. */
  rss: number;
  cpuSeconds: number;
  /** CPU of all load generators together: shows when the machine, not the server, sets the pace. */
  loadCpuSeconds: number;
}

interface IdleFigures {
  bytesPerClient: number;
  /** JS heap + external per client: the part of RSS that JavaScript objects account for. */
  heapBytesPerClient: number;
}

interface WhoFigures {
  medianMs: number;
  p99Ms: number;
  bytes: number;
}

interface HeartbeatFigures {
  perSecond: number;
  /** CPU seconds per second of the window. */
  cpuShare: number;
  microsPerBeat: number;
  /** The kernel's part of microsPerBeat (system CPU: the socket reads and writes, epoll). */
  systemMicrosPerBeat: number;
}

/** What the round that goes on after the storm measures. */
interface PhaseFigures {
  idle: IdleFigures;
  who: WhoFigures;
  heartbeat: HeartbeatFigures | undefined;
  /** The last WHO answer as received, for the baseline to send back. */
  listing: Buffer;
}

interface RoundFigures {
  storm: StormFigures;
  phases: PhaseFigures | undefined;
}

/** Which phases a round runs after its storm. */
interface RoundPlan {
  isFull: boolean;
  isHeartbeat: boolean;
  /** natter: worker threads for the handshakes (0: the main thread). */
  threads: number;
  /** For the baseline: the WHO answer to send. */
  listing: Buffer | undefined;
}

function check(isOk: boolean, what: string): void {
  if (!isOk) throw new Error(`bench/directory: ${what}`);
}

function untilNs(instant: bigint): Promise<void> {
  return delay(Math.max(0, Number(instant - process.hrtime.bigint()) / 1e6));
}

/**
 * One round: a fresh server and fresh generators, a storm of N registrations,
 * then (in a full round) the other phases with the N clients still there.
 * Every child of the round is killed before it returns or throws.
 */
async function runRound(kind: ServerKind, n: number, plan: RoundPlan): Promise<RoundFigures> {
  const server = startServer(kind, n, plan.threads);
  const generators = Array.from(
    { length: GENERATORS },
    (_, g) => new Child<GeneratorCalls>(`load generator ${g}`, './load-proc.ts', [], []),
  );
  try {
    const port = await server.ready();
    await Promise.all(generators.map((g) => g.ready()));
    if (plan.listing !== undefined) await server.setListing(plan.listing);

    // 1. Register storm: CPU read before (after a GC) and right after; memory after a GC.
    const before = await server.measure('reducing');
    const shares = await Promise.all(
      generators.map((g, generator) =>
        g.call(
          'storm',
          { port, generator, generators: GENERATORS, total: n, window: WINDOW, isSecure: kind === 'natter', timeoutMs: STORM_TIMEOUT_MS },
          STORM_TIMEOUT_MS + CALL_TIMEOUT_MS,
        ),
      ),
    );
    const stormEnd = await server.measure('none');
    const idle = await server.measure('full');
    const registered = shares.reduce((sum, s) => sum + s.registered, 0);
    check(registered === n, `${kind}: ${registered} of ${n} clients registered`);
    check(
      idle.connections === n && idle.online === n,
      `${kind}: ${idle.connections} connections, ${idle.online} online after registering ${n}`,
    );
    // hrtime is CLOCK_MONOTONIC, one clock for every process on the machine.
    const startNs = shares.reduce((min, s) => (s.startNs < min ? s.startNs : min), shares[0]?.startNs ?? 0n);
    const endNs = shares.reduce((max, s) => (s.endNs > max ? s.endNs : max), 0n);
    const seconds = Number(endNs - startNs) / 1e9;
    const storm: StormFigures = {
      seconds,
      perSecond: n / seconds,
      rss: idle.rss,
      cpuSeconds: (stormEnd.cpuMicros - before.cpuMicros) / 1e6,
      loadCpuSeconds: shares.reduce((sum, s) => sum + s.cpuMicros, 0) / 1e6,
    };
    const phases = plan.isFull ? await runPhases(kind, n, plan, server, generators, before) : undefined;
    await checkIntact(kind, n, server, generators);
    return { storm, phases };
  } finally {
    await Promise.all([server.kill(), ...generators.map((g) => g.kill())]);
  }
}

/** Idle memory, WHO and heartbeats, with the storm's N clients still registered. */
async function runPhases(
  kind: ServerKind,
  n: number,
  plan: RoundPlan,
  server: ServerHandle,
  generators: Child<GeneratorCalls>[],
  before: Measurement,
): Promise<PhaseFigures> {
  const first = generators[0] as Child<GeneratorCalls>;
  const { who, listing } = await measureWho(kind, n, first);
  const heartbeat = plan.isHeartbeat ? await measureHeartbeats(kind, n, server, generators) : undefined;
  // 2. Idle memory, last: the clients are connected, registered and silent; both readings after the memory-reducing collection.
  const settled = await server.measure('reducing');
  const idle: IdleFigures = {
    bytesPerClient: (settled.rss - before.rss) / n,
    heapBytesPerClient: (settled.heapUsed + settled.external - before.heapUsed - before.external) / n,
  };
  return { idle, who, heartbeat, listing };
}

/** 3. WHO from generator 0's first client, itself one of the N. */
async function measureWho(kind: ServerKind, n: number, generator: Child<GeneratorCalls>): Promise<{ who: WhoFigures; listing: Buffer }> {
  const reply = await generator.call(
    'who',
    { warmup: WHO_WARMUP, rounds: WHO_ROUNDS, timeoutMs: WHO_TIMEOUT_MS },
    (WHO_WARMUP + WHO_ROUNDS) * WHO_TIMEOUT_MS,
  );
  check(reply.peers === n, `${kind}: WHO listed ${reply.peers} peers with ${n} online`);
  return {
    who: { medianMs: median(reply.latenciesMs), p99Ms: percentile(reply.latenciesMs, 99), bytes: reply.listing.length },
    listing: Buffer.from(reply.listing),
  };
}

/**
 * 4. Every client sends ALIVE at the directory's interval from one common
 * start instant; server CPU is read at both ends of a window that opens once
 * the rate is steady and closes before the heartbeats stop.
 *
 *   start ── HEARTBEAT_LEAD_MS ──[ window: HEARTBEAT_WINDOW_MS ]── stop
 */
async function measureHeartbeats(
  kind: ServerKind,
  n: number,
  server: ServerHandle,
  generators: Child<GeneratorCalls>[],
): Promise<HeartbeatFigures> {
  const beatStart = process.hrtime.bigint() + 200_000_000n; // time for the calls to reach every generator
  const windowStart = beatStart + BigInt(HEARTBEAT_LEAD_MS) * 1_000_000n;
  const windowEnd = windowStart + BigInt(HEARTBEAT_WINDOW_MS) * 1_000_000n;
  const beats = Promise.all(
    generators.map((g) =>
      g.call(
        'heartbeat',
        { intervalMs: ALIVE_INTERVAL_MS, total: n, startNs: beatStart, stopNs: windowEnd + 200_000_000n, replyTimeoutMs: 5_000 },
        HEARTBEAT_LEAD_MS + HEARTBEAT_WINDOW_MS + CALL_TIMEOUT_MS,
      ),
    ),
  );
  beats.catch(() => {}); // awaited below; a generator failing meanwhile must not go unhandled
  await untilNs(windowStart);
  const a = await server.measure('none');
  await untilNs(windowEnd);
  const b = await server.measure('none');
  const replies = await beats;
  const sent = replies.reduce((sum, r) => sum + r.sent, 0);
  const acked = replies.reduce((sum, r) => sum + r.acked, 0);
  check(acked === sent, `${kind}: ${acked} of ${sent} heartbeats answered with ACK`);
  const windowSeconds = Number(b.atNs - a.atNs) / 1e9;
  const beatsInWindow = b.heartbeats - a.heartbeats;
  const cpuSeconds = (b.cpuMicros - a.cpuMicros) / 1e6;
  return {
    perSecond: beatsInWindow / windowSeconds,
    cpuShare: cpuSeconds / windowSeconds,
    microsPerBeat: (cpuSeconds * 1e6) / beatsInWindow,
    systemMicrosPerBeat: (b.systemMicros - a.systemMicros) / beatsInWindow,
  };
}

/** Nobody expired, nobody was dropped: every figure of the round was taken with all N registered. */
async function checkIntact(kind: ServerKind, n: number, server: ServerHandle, generators: Child<GeneratorCalls>[]): Promise<void> {
  const last = await server.measure('none');
  check(last.expirations === 0 && last.online === n, `${kind}: ${last.expirations} expired, ${last.online} of ${n} online at the end`);
  for (const g of generators) {
    const { faults, firstFault } = await g.call('faults', {}, CALL_TIMEOUT_MS);
    check(faults === 0, `${kind}: ${g.label} saw ${faults} faults, first: ${firstFault}`);
  }
}

// ---------------------------------------------------------------------------
// Results

/** One server's figures for one N: storm figures are medians over the rounds. */
interface SystemFigures extends PhaseFigures {
  storm: StormFigures;
}

export interface DirectoryResult {
  n: number;
  natter: SystemFigures;
  baseline: SystemFigures;
  /** At N = LARGEST: natter's storm with its handshakes on worker threads, per thread count (medians over the rounds). */
  threaded: { threads: number; storm: StormFigures }[];
}

/** Handshake threads tried at N = LARGEST besides the main thread: one, and one per core. */
const THREAD_COUNTS = IS_QUICK ? [] : [...new Set([1, availableParallelism()])];

/** Runs natter and the baseline, STORM_ROUNDS times each, for each N: about two minutes in all on two CPUs. */
export async function runDirectoryBench(): Promise<DirectoryResult[]> {
  const results: DirectoryResult[] = [];
  for (const n of SIZES) {
    const storms: Record<ServerKind, StormFigures[]> = { natter: [], baseline: [] };
    const threaded = new Map<number, StormFigures[]>(n === LARGEST ? THREAD_COUNTS.map((t) => [t, []]) : []);
    let natter: PhaseFigures | undefined;
    let baseline: PhaseFigures | undefined;
    for (let round = 1; round <= STORM_ROUNDS; round++) {
      const isFull = round === STORM_ROUNDS;
      const plan = { isFull, isHeartbeat: isFull && n === LARGEST, threads: 0 };
      const a = await runRound('natter', n, { ...plan, listing: undefined });
      // The same storm with the handshakes on worker threads, in the same round.
      for (const [threads, figures] of threaded)
        figures.push((await runRound('natter', n, { isFull: false, isHeartbeat: false, threads, listing: undefined })).storm);
      // The baseline answers WHO with the very bytes natter sent: same size, same frame count.
      const b = await runRound('baseline', n, { ...plan, listing: a.phases?.listing });
      storms.natter.push(a.storm);
      storms.baseline.push(b.storm);
      natter = a.phases ?? natter;
      baseline = b.phases ?? baseline;
    }
    if (natter === undefined || baseline === undefined) throw new Error('bench/directory: no full round ran');
    results.push({
      n,
      natter: { storm: medians(storms.natter), ...natter },
      baseline: { storm: medians(storms.baseline), ...baseline },
      threaded: [...threaded].map(([threads, figures]) => ({ threads, storm: medians(figures) })),
    });
  }
  return results;
}

interface Target {
  text: string;
  isMet: boolean;
}

/** One table row: figure, N, natter, baseline, ratio (natter / baseline), target. */
function row(label: string, n: number, natter: number, baseline: number, digits: number, target?: Target): string[] {
  const verdict = target === undefined ? '' : `${target.text}: ${target.isMet ? 'met' : 'MISSED'}`;
  return [label, fmt(n), fmt(natter, digits), fmt(baseline, digits), `${fmt(natter / baseline, 2)}x`, verdict];
}

/** table() right-aligns every column; the figure names read better left-aligned. */
function printTable(rows: string[][]): void {
  const width = Math.max(...rows.map((r) => (r[0] ?? '').length));
  const aligned = rows.map(([label = '', ...rest]) => [label.padEnd(width), ...rest]);
  console.log(table([''.padEnd(width), 'N', 'natter', 'bare net', 'ratio', `target (N = ${fmt(LARGEST)})`], aligned));
}

export function printDirectory(results: DirectoryResult[]): void {
  console.log(
    `directory: the natter directory against a bare node:net server answering the same bytes, each alone in a process, ` +
      `driven by the same ${GENERATORS} load generator processes from 127.0.0.0/8 (${availableParallelism()} CPUs)`,
  );
  console.log('ratio = natter / bare net server: for times, memory and CPU lower is better; for rates higher is better\n');

  console.log(
    `register storm: N clients connect at once, ${WINDOW} in flight per generator; HELLO + UP answered by HELLO + ACK; ` +
      `median of ${STORM_ROUNDS} rounds`,
  );
  console.log(
    'natter: every client runs the Noise XX handshake with its own key pair first (timed); bare net server: plain TCP, no handshake',
  );
  const storm: string[][] = [];
  for (const { n, natter, baseline } of results) {
    storm.push(
      row('seconds', n, natter.storm.seconds, baseline.storm.seconds, 3),
      row('registrations/s', n, natter.storm.perSecond, baseline.storm.perSecond, 0),
      row('server RSS after GC, MiB', n, natter.storm.rss / MIB, baseline.storm.rss / MIB, 1),
      row('server CPU during storm, s', n, natter.storm.cpuSeconds, baseline.storm.cpuSeconds, 3),
      row('server CPU per registration, µs', n, (natter.storm.cpuSeconds * 1e6) / n, (baseline.storm.cpuSeconds * 1e6) / n, 1),
      row('load generators CPU, s', n, natter.storm.loadCpuSeconds, baseline.storm.loadCpuSeconds, 3),
    );
  }
  printTable(storm);
  const top = results.find((r) => r.n === LARGEST);
  if (top !== undefined) {
    // The generators share the machine with the server: their handshakes cost CPU the server cannot have.
    const cpus = availableParallelism();
    const cpuSeconds = top.natter.storm.cpuSeconds + top.natter.storm.loadCpuSeconds;
    console.log(
      `note: directory and load generators together used ${fmt(cpuSeconds, 2)} s of CPU for the ${fmt(LARGEST)}-client storm: ` +
        `on ${cpus} CPUs it cannot take less than ${fmt(cpuSeconds / cpus, 2)} s on this machine`,
    );
  }

  if (top !== undefined && top.threaded.length > 0) {
    console.log(
      `\nthe ${fmt(LARGEST)}-client storm with the handshakes' cryptography on worker threads (handshakeThreads), median of ${STORM_ROUNDS} rounds each, in the same rounds:`,
    );
    const configs = [{ threads: 0, storm: top.natter.storm }, ...top.threaded];
    console.log(
      table(
        ['handshakes on', 'registrations/s', 'against the main thread', 'server CPU per registration, µs', 'load generators CPU, s'],
        configs.map(({ threads, storm: st }) => [
          threads === 0 ? 'the main thread' : `${threads} worker thread${threads === 1 ? '' : 's'}`,
          fmt(st.perSecond, 0),
          `${fmt(st.perSecond / top.natter.storm.perSecond, 2)}x`,
          fmt((st.cpuSeconds * 1e6) / LARGEST, 1),
          fmt(st.loadCpuSeconds, 2),
        ]),
      ),
    );
  }

  console.log(
    '\nidle memory: (server RSS with N registered idle clients − RSS before any), both after the memory-reducing collection V8 runs on an idle process, ' +
      'per client, measured after the other phases (natter: encrypted connections)',
  );
  const idle: string[][] = [];
  for (const { n, natter, baseline } of results) {
    if (n !== LARGEST) continue;
    idle.push(
      row('RSS bytes per client', n, natter.idle.bytesPerClient, baseline.idle.bytesPerClient, 0, {
        text: `≤ ${fmt(TARGET_BYTES_PER_CLIENT)} B`,
        isMet: natter.idle.bytesPerClient <= TARGET_BYTES_PER_CLIENT,
      }),
      row('of which JS heap + external', n, natter.idle.heapBytesPerClient, baseline.idle.heapBytesPerClient, 0),
    );
  }
  printTable(idle);

  console.log(
    `\nWHO latency: ${WHO_ROUNDS} sequential WHOs (after ${WHO_WARMUP} untimed) from one registered client, until the last PEER frame`,
  );
  const who: string[][] = [];
  for (const { n, natter, baseline } of results) {
    const isTarget = n === LARGEST;
    who.push(
      row('median, ms', n, natter.who.medianMs, baseline.who.medianMs, 2),
      row(
        'p99, ms',
        n,
        natter.who.p99Ms,
        baseline.who.p99Ms,
        2,
        isTarget ? { text: `≤ ${TARGET_WHO_P99_MS} ms`, isMet: natter.who.p99Ms <= TARGET_WHO_P99_MS } : undefined,
      ),
      row('answer, KiB (same bytes)', n, natter.who.bytes / 1024, baseline.who.bytes / 1024, 1),
    );
  }
  printTable(who);

  console.log(
    `\nheartbeats: N clients send ALIVE every ${fmt(ALIVE_INTERVAL_MS / 1000)} s (the default), phases spread evenly; ` +
      `server CPU over a ${fmt(HEARTBEAT_WINDOW_MS / 1000)} s window (bare server: 5-byte pings, ACK-sized answers)`,
  );
  const beats: string[][] = [];
  for (const { n, natter, baseline } of results) {
    if (natter.heartbeat === undefined || baseline.heartbeat === undefined) continue;
    beats.push(
      row('heartbeats/s', n, natter.heartbeat.perSecond, baseline.heartbeat.perSecond, 0),
      row('server CPU, %', n, natter.heartbeat.cpuShare * 100, baseline.heartbeat.cpuShare * 100, 2),
      row('CPU µs per heartbeat', n, natter.heartbeat.microsPerBeat, baseline.heartbeat.microsPerBeat, 1, {
        text: `≤ ${fmt(TARGET_ALIVE_CPU_RATIO, 1)}x`,
        isMet: natter.heartbeat.microsPerBeat / baseline.heartbeat.microsPerBeat <= TARGET_ALIVE_CPU_RATIO,
      }),
      row('of which kernel, µs', n, natter.heartbeat.systemMicrosPerBeat, baseline.heartbeat.systemMicrosPerBeat, 1),
    );
  }
  printTable(beats);
}

if (import.meta.main) printDirectory(await runDirectoryBench());
