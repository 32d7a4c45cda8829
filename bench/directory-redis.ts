/**
 * bench/directory-redis: the directory scaled out on Redis (two directory
 * processes sharing one redis-server) against the in-memory store in one
 * process, in the same run, driven by the same load generators
 * (bench/load-proc.ts) from 127.0.0.0/8:
 *
 *   1. register storm   N clients handshake and register, half at each Redis
 *                       directory process (the in-memory one takes them all);
 *                       Redis's own CPU and its memory per registered peer
 *   2. WHO latency      sequential WHOs of all N from one client
 *   3. ALIVE cost       N clients heartbeat at the default interval; CPU per
 *                       heartbeat of the directory processes and of Redis
 *
 * Every Redis round gets a fresh redis-server (test/helpers/redis-server.ts:
 * a free port, a temporary directory, no persistence), killed with the round.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { DIRECTORY_DEFAULTS } from '../src/directory/options.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';
import { Child } from './child.ts';
import type { GeneratorCalls, Measurement, ServerCalls } from './directory-ipc.ts';
import { fmt, median, percentile, table } from './harness.ts';

const N = 10_000;
const GENERATORS = 4;
/** Registrations in flight per generator, as in bench/directory.ts (the kernel's accept queue stays unfilled). */
const WINDOW = 200;
/** Rounds per store, interleaved: one storm's time varies by tens of percent on a shared machine. */
const STORM_ROUNDS = 3;
const REDIS_PROCESSES = 2;
const MAX_CLIENTS = N + 64;
const WHO_WARMUP = 20;
/**
 * WHOs timed per round, in every round; the figures are medians over the
 * rounds. With two directory processes, Redis, the WHO client and the other
 * generators sharing two CPUs, the slowest samples come from scheduling and
 * GC: 2,000 make p99 the 20th worst sample, and the median of three rounds
 * keeps one unlucky round from deciding the ratio.
 */
const WHO_ROUNDS = 2_000;
const ALIVE_INTERVAL_MS = DIRECTORY_DEFAULTS.aliveIntervalMs;
const HEARTBEAT_LEAD_MS = 1_500;
const HEARTBEAT_WINDOW_MS = 15_000;
const CALL_TIMEOUT_MS = 30_000;
const STORM_TIMEOUT_MS = 120_000;
const WHO_TIMEOUT_MS = 5_000;

/** The targets: Redis against the in-memory store, same run. */
const TARGET_STORM_RATIO = 1.5;
const TARGET_WHO_P99_RATIO = 1.5;
const TARGET_REDIS_BYTES_PER_PEER = 1_024;

type Kind = 'memory' | 'redis';

interface RedisFigures {
  /** Redis's CPU during the storm, s. */
  stormCpuSeconds: number;
  /** used_memory growth from before the storm to after it, per registered peer. */
  bytesPerPeer: number;
}

interface RoundFigures {
  seconds: number;
  /** CPU of every directory process together during the storm, s. */
  directoryCpuSeconds: number;
  redis: RedisFigures | undefined;
  who: { medianMs: number; p99Ms: number };
  heartbeat: { perSecond: number; directoryMicros: number; redisMicros: number } | undefined;
}

function check(isOk: boolean, what: string): void {
  if (!isOk) throw new Error(`bench/directory-redis: ${what}`);
}

/** Redis's CPU so far (user + system, s) and used_memory (bytes). */
async function redisUsage(redis: RedisServer): Promise<{ cpuSeconds: number; usedMemory: number }> {
  const [cpu, memory] = await Promise.all([redis.info('cpu'), redis.info('memory')]);
  return { cpuSeconds: Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys), usedMemory: Number(memory.used_memory) };
}

function untilNs(instant: bigint): Promise<void> {
  return delay(Math.max(0, Number(instant - process.hrtime.bigint()) / 1e6));
}

async function measureAll(servers: Child<ServerCalls>[], isGc: boolean): Promise<Measurement[]> {
  return Promise.all(servers.map((s) => s.call('measure', { gc: isGc ? 'full' : 'none' }, CALL_TIMEOUT_MS)));
}

const cpuOf = (ms: Measurement[]): number => ms.reduce((sum, m) => sum + m.cpuMicros, 0);

/** One round: fresh Redis (for 'redis'), fresh directory processes and generators; every child killed at the end. */
async function runRound(kind: Kind, isFull: boolean): Promise<RoundFigures> {
  const redis = kind === 'redis' ? await RedisServer.start() : undefined;
  const count = kind === 'redis' ? REDIS_PROCESSES : 1;
  const servers = Array.from(
    { length: count },
    (_, i) =>
      new Child<ServerCalls>(
        `${kind} directory ${i}`,
        './directory-server-proc.ts',
        redis === undefined ? [String(MAX_CLIENTS)] : [String(MAX_CLIENTS), redis.url],
        ['--expose-gc'],
      ),
  );
  const generators = Array.from(
    { length: GENERATORS },
    (_, g) => new Child<GeneratorCalls>(`load generator ${g}`, './load-proc.ts', [], []),
  );
  try {
    const ports = await Promise.all(servers.map((s) => s.ready()));
    await Promise.all(generators.map((g) => g.ready()));
    const before = await measureAll(servers, true);
    const redisBefore = redis === undefined ? undefined : await redisUsage(redis);
    const shares = await Promise.all(
      generators.map((g, generator) =>
        g.call(
          'storm',
          {
            port: ports[0] as number,
            ports,
            generator,
            generators: GENERATORS,
            total: N,
            window: WINDOW,
            isSecure: true,
            timeoutMs: STORM_TIMEOUT_MS,
          },
          STORM_TIMEOUT_MS + CALL_TIMEOUT_MS,
        ),
      ),
    );
    const after = await measureAll(servers, false);
    const redisAfter = redis === undefined ? undefined : await redisUsage(redis);
    const registered = shares.reduce((sum, s) => sum + s.registered, 0);
    check(registered === N, `${kind}: ${registered} of ${N} registered`);
    check(after.reduce((sum, m) => sum + m.connections, 0) === N, `${kind}: connections do not add up to ${N}`);
    check(
      after.every((m) => m.online === N),
      `${kind}: not every process lists ${N} online`,
    );
    const startNs = shares.reduce((min, s) => (s.startNs < min ? s.startNs : min), shares[0]?.startNs ?? 0n);
    const endNs = shares.reduce((max, s) => (s.endNs > max ? s.endNs : max), 0n);
    const figures: RoundFigures = {
      seconds: Number(endNs - startNs) / 1e9,
      directoryCpuSeconds: (cpuOf(after) - cpuOf(before)) / 1e6,
      redis:
        redisBefore === undefined || redisAfter === undefined
          ? undefined
          : {
              stormCpuSeconds: redisAfter.cpuSeconds - redisBefore.cpuSeconds,
              bytesPerPeer: (redisAfter.usedMemory - redisBefore.usedMemory) / N,
            },
      who: await measureWho(kind, generators[0] as Child<GeneratorCalls>),
      heartbeat: undefined,
    };
    if (isFull) figures.heartbeat = await measureHeartbeats(kind, servers, generators, redis);
    const last = await measureAll(servers, false);
    check(
      last.every((m) => m.expirations === 0 && m.online === N),
      `${kind}: peers expired or went missing during the round`,
    );
    for (const g of generators) {
      const { faults, firstFault } = await g.call('faults', {}, CALL_TIMEOUT_MS);
      check(faults === 0, `${kind}: ${g.label} saw ${faults} faults, first: ${firstFault}`);
    }
    return figures;
  } finally {
    await Promise.all([...servers.map((s) => s.kill()), ...generators.map((g) => g.kill())]);
    await redis?.stop();
  }
}

/** WHO from generator 0's first client (at the first directory process). */
async function measureWho(kind: Kind, generator: Child<GeneratorCalls>): Promise<{ medianMs: number; p99Ms: number }> {
  const reply = await generator.call(
    'who',
    { warmup: WHO_WARMUP, rounds: WHO_ROUNDS, timeoutMs: WHO_TIMEOUT_MS },
    (WHO_WARMUP + WHO_ROUNDS) * WHO_TIMEOUT_MS,
  );
  check(reply.peers === N, `${kind}: WHO listed ${reply.peers} of ${N}`);
  return { medianMs: median(reply.latenciesMs), p99Ms: percentile(reply.latenciesMs, 99) };
}

/** Every client sends ALIVE at the default interval; CPU is read at both ends of a steady window. */
async function measureHeartbeats(
  kind: Kind,
  servers: Child<ServerCalls>[],
  generators: Child<GeneratorCalls>[],
  redis: RedisServer | undefined,
): Promise<{ perSecond: number; directoryMicros: number; redisMicros: number }> {
  const beatStart = process.hrtime.bigint() + 200_000_000n;
  const windowStart = beatStart + BigInt(HEARTBEAT_LEAD_MS) * 1_000_000n;
  const windowEnd = windowStart + BigInt(HEARTBEAT_WINDOW_MS) * 1_000_000n;
  const beats = Promise.all(
    generators.map((g) =>
      g.call(
        'heartbeat',
        { intervalMs: ALIVE_INTERVAL_MS, total: N, startNs: beatStart, stopNs: windowEnd + 200_000_000n, replyTimeoutMs: 5_000 },
        HEARTBEAT_LEAD_MS + HEARTBEAT_WINDOW_MS + CALL_TIMEOUT_MS,
      ),
    ),
  );
  beats.catch(() => {}); // awaited below
  await untilNs(windowStart);
  const [a, ra] = await Promise.all([measureAll(servers, false), redis === undefined ? undefined : redisUsage(redis)]);
  await untilNs(windowEnd);
  const [b, rb] = await Promise.all([measureAll(servers, false), redis === undefined ? undefined : redisUsage(redis)]);
  const replies = await beats;
  const sent = replies.reduce((sum, r) => sum + r.sent, 0);
  const acked = replies.reduce((sum, r) => sum + r.acked, 0);
  check(acked === sent, `${kind}: ${acked} of ${sent} heartbeats answered with ACK`);
  const count = b.reduce((sum, m) => sum + m.heartbeats, 0) - a.reduce((sum, m) => sum + m.heartbeats, 0);
  const seconds = Number((b[0] as Measurement).atNs - (a[0] as Measurement).atNs) / 1e9;
  return {
    perSecond: count / seconds,
    directoryMicros: (cpuOf(b) - cpuOf(a)) / count,
    redisMicros: ra === undefined || rb === undefined ? 0 : ((rb.cpuSeconds - ra.cpuSeconds) * 1e6) / count,
  };
}

export interface RedisBenchResult {
  memory: RoundFigures;
  redis: RoundFigures;
  /** Storm seconds of every round, for the medians. */
  storms: Record<Kind, RoundFigures[]>;
}

/** STORM_ROUNDS rounds per store, interleaved, each with a storm and WHOs; the last of each goes on to heartbeats. About three minutes on two CPUs. */
export async function runRedisBench(): Promise<RedisBenchResult> {
  const storms: Record<Kind, RoundFigures[]> = { memory: [], redis: [] };
  let memory: RoundFigures | undefined;
  let redis: RoundFigures | undefined;
  for (let round = 1; round <= STORM_ROUNDS; round++) {
    const isFull = round === STORM_ROUNDS;
    const m = await runRound('memory', isFull);
    const r = await runRound('redis', isFull);
    storms.memory.push(m);
    storms.redis.push(r);
    if (isFull) {
      memory = m;
      redis = r;
    }
  }
  if (memory === undefined || redis === undefined) throw new Error('bench/directory-redis: no full round ran');
  return { memory, redis, storms };
}

function verdict(isMet: boolean): string {
  return isMet ? 'met' : 'MISSED';
}

export function printRedisBench(result: RedisBenchResult): void {
  const { storms, memory, redis } = result;
  const stormMemory = median(storms.memory.map((r) => r.seconds));
  const stormRedis = median(storms.redis.map((r) => r.seconds));
  const cpuMemory = median(storms.memory.map((r) => r.directoryCpuSeconds));
  const cpuRedis = median(storms.redis.map((r) => r.directoryCpuSeconds));
  const redisCpu = median(storms.redis.map((r) => r.redis?.stormCpuSeconds ?? 0));
  const bytesPerPeer = median(storms.redis.map((r) => r.redis?.bytesPerPeer ?? 0));
  console.log(
    `directory on Redis: ${REDIS_PROCESSES} directory processes sharing one redis-server against the in-memory store in one process, ` +
      `${fmt(N)} clients from ${GENERATORS} load generators (${availableParallelism()} CPUs; medians of ${STORM_ROUNDS} rounds each)`,
  );
  const stormRatio = stormRedis / stormMemory;
  const rows: string[][] = [
    [
      'register storm, s',
      fmt(stormMemory, 2),
      fmt(stormRedis, 2),
      `${fmt(stormRatio, 2)}x`,
      `≤ ${TARGET_STORM_RATIO}x: ${verdict(stormRatio <= TARGET_STORM_RATIO)}`,
    ],
    ['registrations/s', fmt(N / stormMemory), fmt(N / stormRedis), `${fmt(stormMemory / stormRedis, 2)}x`, ''],
    ['directory CPU in the storm, s (all processes)', fmt(cpuMemory, 2), fmt(cpuRedis, 2), `${fmt(cpuRedis / cpuMemory, 2)}x`, ''],
    ['Redis CPU in the storm, s', '-', fmt(redisCpu, 2), '', ''],
    ['Redis CPU per registration, µs', '-', fmt((redisCpu * 1e6) / N, 1), '', ''],
    [
      'Redis memory per registered peer, bytes',
      '-',
      fmt(bytesPerPeer),
      '',
      `≤ ${fmt(TARGET_REDIS_BYTES_PER_PEER)}: ${verdict(bytesPerPeer <= TARGET_REDIS_BYTES_PER_PEER)}`,
    ],
  ];
  const who = (kind: Kind, k: 'medianMs' | 'p99Ms'): number => median(storms[kind].map((r) => r.who[k]));
  const whoRatio = who('redis', 'p99Ms') / who('memory', 'p99Ms');
  rows.push(
    [
      `WHO of ${fmt(N)}, median ms`,
      fmt(who('memory', 'medianMs'), 2),
      fmt(who('redis', 'medianMs'), 2),
      `${fmt(who('redis', 'medianMs') / who('memory', 'medianMs'), 2)}x`,
      '',
    ],
    [
      `WHO of ${fmt(N)}, p99 ms`,
      fmt(who('memory', 'p99Ms'), 2),
      fmt(who('redis', 'p99Ms'), 2),
      `${fmt(whoRatio, 2)}x`,
      `≤ ${TARGET_WHO_P99_RATIO}x: ${verdict(whoRatio <= TARGET_WHO_P99_RATIO)}`,
    ],
  );
  if (memory.heartbeat !== undefined && redis.heartbeat !== undefined) {
    const m = memory.heartbeat;
    const r = redis.heartbeat;
    rows.push(
      ['heartbeats/s', fmt(m.perSecond), fmt(r.perSecond), '', ''],
      [
        'directory CPU per ALIVE, µs (all processes)',
        fmt(m.directoryMicros, 1),
        fmt(r.directoryMicros, 1),
        `${fmt(r.directoryMicros / m.directoryMicros, 2)}x`,
        '',
      ],
      ['Redis CPU per ALIVE, µs', '-', fmt(r.redisMicros, 1), '', ''],
      [
        'all CPU per ALIVE, µs',
        fmt(m.directoryMicros, 1),
        fmt(r.directoryMicros + r.redisMicros, 1),
        `${fmt((r.directoryMicros + r.redisMicros) / m.directoryMicros, 2)}x`,
        '',
      ],
    );
  }
  const width = Math.max(...rows.map((r) => (r[0] ?? '').length));
  console.log(
    table(
      [''.padEnd(width), 'memory, 1 process', `Redis, ${REDIS_PROCESSES} processes`, 'ratio', 'target'],
      rows.map(([l = '', ...rest]) => [l.padEnd(width), ...rest]),
    ),
  );
  console.log(
    `(medians over the rounds; WHO p99 per round, memory: ${storms.memory.map((r) => fmt(r.who.p99Ms, 1)).join(', ')} ms, ` +
      `Redis: ${storms.redis.map((r) => fmt(r.who.p99Ms, 1)).join(', ')} ms;`,
  );
  console.log(
    ` heartbeats at the default ${fmt(ALIVE_INTERVAL_MS / 1000)} s interval over a ${fmt(HEARTBEAT_WINDOW_MS / 1000)} s window; ` +
      'Redis figures from its INFO: used_cpu_user + used_cpu_sys, used_memory growth over the storm)',
  );
}

if (import.meta.main) printRedisBench(await runRedisBench());
