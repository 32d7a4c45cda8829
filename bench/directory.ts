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
 * ratios show the directory and its encryption together. To tell the two
 * apart, the same rounds run a third server: the natter directory itself over
 * plain TCP (bench/directory-server-proc.ts --plaintext), each socket handed
 * to DirectoryServer.handle() with a key of its own. natter against it is
 * the encryption alone; it against the bare server is the directory alone.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { Child } from './child.ts';
import type { BaselineServerCalls, GcKind, GeneratorCalls, Measurement, ServerCalls } from './directory-ipc.ts';
import {
  ALIVE_INTERVAL_MS,
  type DirectoryResult,
  GENERATORS,
  HEARTBEAT_WINDOW_MS,
  type HeartbeatFigures,
  type IdleFigures,
  IS_QUICK,
  LARGEST,
  type PhaseFigures,
  SIZES,
  STORM_ROUNDS,
  type StormFigures,
  type WhoFigures,
  WHO_ROUNDS,
  WHO_WARMUP,
  WINDOW,
} from './directory-plan.ts';
import { printDirectory } from './directory-print.ts';
import { median, medians, percentile } from './harness.ts';

/** Connections the directory accepts beyond N, so maxClients is never what limits the storm. */
const MAX_CLIENTS_MARGIN = 64;
/** Heartbeats start this long before the window, so the window sees the steady rate only. */
const HEARTBEAT_LEAD_MS = 1_500;

const CALL_TIMEOUT_MS = 30_000;
/** Every client's handshake is in the storm: about 7 s for 10,000 on two CPUs, so room for a much slower machine. */
const STORM_TIMEOUT_MS = 120_000;
const WHO_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------
// Child processes

/** natter: the directory as it runs; plain: the same directory over plain TCP (no handshake, no records); baseline: the bare server. */
type ServerKind = 'natter' | 'plain' | 'baseline';

/** What a run needs of either server process. */
interface ServerHandle {
  ready(): Promise<number>;
  measure(gc: GcKind): Promise<Measurement>;
  /** The baseline answers WHO with natter's listing; the directory builds its own. */
  setListing(listing: Buffer): Promise<void>;
  kill(): Promise<void>;
}

function startServer(kind: ServerKind, n: number, threads: number): ServerHandle {
  if (kind !== 'baseline') {
    const args = [String(n + MAX_CLIENTS_MARGIN), `--handshake-threads=${threads}`, ...(kind === 'plain' ? ['--plaintext'] : [])];
    // DIRECTORY_BENCH_CPU_PROF=<dir>: the directory runs under --cpu-prof and leaves one .cpuprofile per run in <dir>.
    const profDir = process.env.DIRECTORY_BENCH_CPU_PROF;
    const prof = profDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
    const label = kind === 'plain' ? 'natter directory over plaintext' : 'natter directory';
    const child = new Child<ServerCalls>(label, './directory-server-proc.ts', args, ['--expose-gc', ...prof]);
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

/** Handshake threads tried at N = LARGEST besides the main thread: one, and one per core. */
const THREAD_COUNTS = IS_QUICK ? [] : [...new Set([1, availableParallelism()])];

/** Runs natter, natter over plaintext and the baseline, STORM_ROUNDS times each, for each N: about three minutes in all on two CPUs. */
export async function runDirectoryBench(): Promise<DirectoryResult[]> {
  const results: DirectoryResult[] = [];
  for (const n of SIZES) {
    const storms: Record<ServerKind, StormFigures[]> = { natter: [], plain: [], baseline: [] };
    const threaded = new Map<number, StormFigures[]>(n === LARGEST ? THREAD_COUNTS.map((t) => [t, []]) : []);
    let natter: PhaseFigures | undefined;
    let plain: PhaseFigures | undefined;
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
      // The same directory without the encryption: what the encryption alone costs.
      const c = await runRound('plain', n, { ...plan, listing: undefined });
      storms.natter.push(a.storm);
      storms.baseline.push(b.storm);
      storms.plain.push(c.storm);
      natter = a.phases ?? natter;
      baseline = b.phases ?? baseline;
      plain = c.phases ?? plain;
    }
    if (natter === undefined || baseline === undefined || plain === undefined) throw new Error('bench/directory: no full round ran');
    results.push({
      n,
      natter: { storm: medians(storms.natter), ...natter },
      plain: { storm: medians(storms.plain), ...plain },
      baseline: { storm: medians(storms.baseline), ...baseline },
      threaded: [...threaded].map(([threads, figures]) => ({ threads, storm: medians(figures) })),
    });
  }
  return results;
}

if (import.meta.main) printDirectory(await runDirectoryBench());
