/**
 * `npm run soak`: natter under a steady load for a long while (10 minutes by
 * default), to see that memory levels off and that no chat message is lost
 * or shown twice. Not part of `npm test`.
 *
 *   npm run soak                      10 minutes
 *   npm run soak -- --minutes 2       a shorter run (or NATTER_SOAK_MINUTES=2)
 *   npm run soak -- --clients 500 --chats 10 --alive-ms 2000 --sample-seconds 5
 *   npm run soak -- --churn 0 --slow-readers 0     no clients leaving, no slow readers
 *
 * The load, each part in processes of its own so that each RSS sampled is
 * that part's alone (bench/soak-ipc.ts draws them):
 *
 *   - a directory (bench/directory-server-proc.ts) with a short alive
 *     interval (3 s by default, against 30 s in production) and the default
 *     rate limits, so that heartbeats are most of its work;
 *   - 2,000 registered clients (bench/soak-load-proc.ts, two processes),
 *     each natter's DirectoryLink heartbeating at the directory's pace from
 *     its own loopback address; some leave and new ones join all the time;
 *   - slow readers that ask WHO every second and read only now and then, or never;
 *   - 50 chats between PeerNodes (bench/soak-peer-proc.ts, one process per
 *     side), messages both ways, each chat falling quiet for longer than
 *     the idle timeout now and then (its connection closes and reopens),
 *     some chats ended and reopened, some readers paused.
 *
 * Every few seconds it samples each process's RSS (and heap), and prints
 * the curve at the end, with a verdict: after the first quarter (warm-up:
 * windows and caches filling), the highest RSS of the last half of the
 * samples must not exceed that of the first half by more than 5% or 8 MiB,
 * and what JS holds after full collections (the live heap and the memory
 * outside it that live objects keep, Buffers) must not grow by more than
 * 10% or 4 MiB from the end of the warm-up to the end. Then every chat is checked both ways: every message sent was shown once,
 * in order, and its receipt came back once. The exit code is 1 when either
 * verdict fails.
 *
 * Everything stays on 127.0.0.0/8; every child is killed at the end, and a
 * watchdog ends the run if it overstays its schedule by more than 5 minutes.
 */
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { Child } from './child.ts';
import type { Measurement, ServerCalls } from './directory-ipc.ts';
import { fmt } from './harness.ts';
import type { ChatPlan, LoadCalls, LoadCounts, PeerCalls, PeerReport } from './soak-ipc.ts';

const MIB = 1024 * 1024;
const CALL_TIMEOUT_MS = 60_000;
const LOAD_PROCESSES = 2;
/** A chat's connection closes after this long without traffic; quiet spells are longer. */
const PEER_IDLE_TIMEOUT_MS = 4_000;
/** Samples before this share of the run are the warm-up, left out of the verdict. */
const WARM_UP_SHARE = 0.25;
/** Growth allowed between the two halves of the samples after the warm-up. */
const GROWTH_SHARE = 0.05;
const GROWTH_FLOOR_BYTES = 8 * MIB;
const WATCHDOG_SLACK_MS = 5 * 60_000;
/** Growth allowed in what JS holds (after full collections) from the end of the warm-up to the end. */
const LIVE_GROWTH_SHARE = 0.1;
const LIVE_GROWTH_FLOOR_BYTES = 4 * MIB;

const { values } = parseArgs({
  options: {
    minutes: { type: 'string' },
    clients: { type: 'string', default: '2000' },
    chats: { type: 'string', default: '50' },
    // Clients that leave and are replaced, per minute, and slow readers, over all load processes.
    churn: { type: 'string', default: '600' },
    'slow-readers': { type: 'string', default: '20' },
    'alive-ms': { type: 'string', default: '3000' },
    'sample-seconds': { type: 'string' },
    'v8-defaults': { type: 'boolean', default: false },
  },
});

/**
 * V8's young generation, the space new objects are made in, starts small and
 * doubles under a steady allocation rate, up to two semi-spaces of 64 MiB
 * each (Node 24 on 64-bit, without pointer compression). Under this load it
 * takes minutes, one doubling at a time, each adding tens of MiB of RSS that
 * nothing holds: a 10-minute curve cannot tell that from a leak. With the
 * semi-space held at 16 MiB the curve shows what the processes keep;
 * --v8-defaults runs them with V8's own sizing instead.
 */
const V8_FLAGS = values['v8-defaults'] ? [] : ['--max-semi-space-size=16'];

function positive(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${String(text)}`);
  return n;
}

function nonNegative(name: string, text: string | undefined): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number, 0 or more, got ${String(text)}`);
  return n;
}

const minutes = positive('minutes', values.minutes ?? process.env.NATTER_SOAK_MINUTES ?? '10');
const durationMs = Math.round(minutes * 60_000);
const clients = Math.round(positive('clients', values.clients));
const chats = Math.round(positive('chats', values.chats));
const aliveMs = Math.round(positive('alive-ms', values['alive-ms']));
const churnPerMinute = nonNegative('churn', values.churn);
const slowReadersPerProcess = Math.round(nonNegative('slow-readers', values['slow-readers']) / LOAD_PROCESSES);
// About forty samples whatever the length, but not more often than every 2 s.
const sampleMs = Math.round(
  values['sample-seconds'] === undefined ? Math.max(2_000, durationMs / 40) : positive('sample-seconds', values['sample-seconds']) * 1000,
);

const plan: ChatPlan = {
  durationMs,
  ratePerSecond: 3,
  talkMs: 20_000,
  quietMs: PEER_IDLE_TIMEOUT_MS * 2,
  reopenEveryMs: 30_000,
  pauseEveryMs: 20_000,
  pauseMs: 3_000,
  drainTimeoutMs: 60_000,
};

type PeerMeasurement = Measurement & { shown: number };

/** One row of the curve. */
interface Sample {
  atMs: number;
  directory: Measurement;
  peers: [PeerMeasurement, PeerMeasurement];
  load: LoadCounts[];
  /** ALIVEs, and chat messages shown, per second since the previous sample. */
  heartbeatRate: number;
  messageRate: number;
}

const COLUMNS = [
  't (s)',
  'dir RSS',
  'V8',
  'ext',
  'conns',
  'online',
  'ALIVE/s',
  'A RSS',
  'V8',
  'ext',
  'B RSS',
  'V8',
  'ext',
  'peer conns',
  'msgs/s',
];

/** A sample as a row of the curve: MiB of RSS, of V8's heap (used or not) and of memory outside it held by JS objects. */
function row(s: Sample): string[] {
  const [a, b] = s.peers;
  return [
    fmt(s.atMs / 1000),
    mib(s.directory.rss),
    mib(s.directory.heapTotal),
    mib(s.directory.external),
    fmt(s.directory.connections),
    fmt(s.directory.online),
    fmt(s.heartbeatRate),
    mib(a.rss),
    mib(a.heapTotal),
    mib(a.external),
    mib(b.rss),
    mib(b.heapTotal),
    mib(b.external),
    fmt(a.connections + b.connections),
    fmt(s.messageRate),
  ];
}

/** Cells padded to the width of their column's heading (or wider): rows print as they come, one by one. */
function line(cells: string[]): string {
  return cells.map((c, i) => c.padStart(Math.max(7, (COLUMNS[i] ?? '').length))).join('  ');
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function mib(bytes: number): string {
  return fmt(bytes / MIB, 1);
}

/** The memory verdict for one process's RSS series: does it level off after the warm-up? */
function levelsOff(samples: { atMs: number; rss: number }[]): {
  isLevel: boolean;
  firstHalfMax: number;
  secondHalfMax: number;
  slopeMibPerMin: number;
} {
  const after = samples.filter((s) => s.atMs >= durationMs * WARM_UP_SHARE);
  const half = Math.floor(after.length / 2);
  const first = after.slice(0, half);
  const second = after.slice(half);
  const firstHalfMax = Math.max(...first.map((s) => s.rss));
  const secondHalfMax = Math.max(...second.map((s) => s.rss));
  const allowed = Math.max(GROWTH_FLOOR_BYTES, firstHalfMax * GROWTH_SHARE);
  // Least squares over the samples after the warm-up, for the record.
  const n = after.length;
  const mt = sum(after.map((s) => s.atMs)) / n;
  const mr = sum(after.map((s) => s.rss)) / n;
  const cov = sum(after.map((s) => (s.atMs - mt) * (s.rss - mr)));
  const varT = sum(after.map((s) => (s.atMs - mt) ** 2));
  const slope = varT === 0 ? 0 : cov / varT; // bytes per ms
  return {
    isLevel: first.length > 0 && second.length > 0 && secondHalfMax - firstHalfMax <= allowed,
    firstHalfMax,
    secondHalfMax,
    slopeMibPerMin: (slope * 60_000) / MIB,
  };
}

/** Every message of every chat, both ways: shown once, in order, acknowledged once. Returns what is wrong. */
function checkMessages(a: PeerReport, b: PeerReport): { problems: string[]; sent: number; delivered: number; received: number } {
  const problems: string[] = [];
  let sent = 0;
  let delivered = 0;
  let received = 0;
  for (const [from, to] of [
    [a, b],
    [b, a],
  ] as const) {
    from.chats.forEach((mine, i) => {
      const theirs = to.chats[i];
      if (theirs === undefined) {
        problems.push(`chat ${i}: no report from the other side`);
        return;
      }
      sent += mine.sent;
      delivered += mine.delivered;
      received += theirs.received;
      const what = `${theirs.peer} → ${mine.peer}`;
      if (theirs.received !== mine.sent) problems.push(`${what}: ${mine.sent} sent, ${theirs.received} shown`);
      if (theirs.duplicates > 0) problems.push(`${what}: ${theirs.duplicates} shown twice (or late)`);
      if (theirs.outOfOrder > 0) problems.push(`${what}: ${theirs.outOfOrder} gaps in the order`);
      if (theirs.highest !== mine.sent) problems.push(`${what}: the last shown is number ${theirs.highest} of ${mine.sent}`);
      if (mine.delivered !== mine.sent) problems.push(`${what}: ${mine.delivered} receipts for ${mine.sent} sent`);
      if (mine.deliveredTwice > 0) problems.push(`${what}: ${mine.deliveredTwice} receipts for ids not waiting (twice, or unknown)`);
    });
  }
  return { problems, sent, delivered, received };
}

async function main(): Promise<number> {
  console.log(
    `natter soak on Node ${process.version}, ${new Date().toISOString()}: ${fmt(minutes, 1)} min, ${fmt(clients)} clients (alive every ${fmt(aliveMs)} ms, ` +
      `${fmt(churnPerMinute)}/min leaving and joining, ${LOAD_PROCESSES * slowReadersPerProcess} slow readers), ${chats} chats, a sample every ${fmt(sampleMs / 1000, 1)} s\n`,
  );
  const directory = new Child<ServerCalls>(
    'directory',
    './directory-server-proc.ts',
    [String(clients + 1_000)],
    ['--expose-gc', ...V8_FLAGS],
    {
      env: {
        // The default rate limits (the process's own bench defaults lift them), a short alive interval.
        NATTER_BENCH_DIRECTORY_OPTIONS: JSON.stringify({ aliveIntervalMs: aliveMs, rateBurst: 32, ratePerSecond: 16 }),
      },
    },
  );
  const loads = Array.from({ length: LOAD_PROCESSES }, (_, g) => new Child<LoadCalls>(`clients ${g}`, './soak-load-proc.ts', [], []));
  const peerA = new Child<PeerCalls>('peers a', './soak-peer-proc.ts', [], ['--expose-gc', ...V8_FLAGS]);
  const peerB = new Child<PeerCalls>('peers b', './soak-peer-proc.ts', [], ['--expose-gc', ...V8_FLAGS]);
  const children = [directory, ...loads, peerA, peerB];
  try {
    const port = await directory.ready();
    await Promise.all(children.map((c) => c.ready()));

    const startedAt = Date.now();
    console.log('registering the clients and opening the chats...');
    const perProcess = Math.ceil(clients / LOAD_PROCESSES);
    await Promise.all(
      loads.map((load, g) =>
        load.call(
          'start',
          {
            port,
            first: g * 100_000,
            clients: Math.min(perProcess, clients - g * perProcess),
            churnPerMinute: churnPerMinute / LOAD_PROCESSES,
            slowReaders: slowReadersPerProcess,
            timeoutMs: 120_000,
          },
          150_000,
        ),
      ),
    );
    const [{ peers: sideA }, { peers: sideB }] = await Promise.all([
      peerA.call('start', { side: 'a', count: chats, idleTimeoutMs: PEER_IDLE_TIMEOUT_MS }, CALL_TIMEOUT_MS),
      peerB.call('start', { side: 'b', count: chats, idleTimeoutMs: PEER_IDLE_TIMEOUT_MS }, CALL_TIMEOUT_MS),
    ]);
    await peerB.call('meet', { partners: sideA, timeoutMs: 30_000 }, CALL_TIMEOUT_MS);
    await peerA.call('meet', { partners: sideB, timeoutMs: 30_000 }, CALL_TIMEOUT_MS);
    console.log(`ready in ${fmt((Date.now() - startedAt) / 1000, 1)} s; soaking for ${fmt(minutes, 1)} min\n`);

    const watchdog = setTimeout(
      () => {
        console.error(`the soak overstayed its ${fmt(minutes, 1)} minutes by ${WATCHDOG_SLACK_MS / 60_000} minutes: stopping`);
        for (const c of children) void c.kill();
        process.exit(1);
      },
      durationMs + plan.drainTimeoutMs + WATCHDOG_SLACK_MS,
    );
    watchdog.unref();

    const t0 = Date.now();
    let isTalking = true;
    const talks = Promise.all([
      peerA.call('talk', plan, durationMs + plan.drainTimeoutMs + CALL_TIMEOUT_MS),
      peerB.call('talk', plan, durationMs + plan.drainTimeoutMs + CALL_TIMEOUT_MS),
    ]).finally(() => (isTalking = false));
    talks.catch(() => {}); // awaited below

    const samples: Sample[] = [];
    /** Each process's memory right after full collections: what it holds, apart from what awaits collection. */
    let gcHeap: { label: string; directory: Measurement; peers: Measurement[] }[] = [];
    const takeSample = async (): Promise<void> => {
      const [dir, a, b, ...load] = await Promise.all([
        directory.call('measure', { gc: 'none' }, CALL_TIMEOUT_MS),
        peerA.call('measure', { gc: 'none' }, CALL_TIMEOUT_MS),
        peerB.call('measure', { gc: 'none' }, CALL_TIMEOUT_MS),
        ...loads.map((l) => l.call('counts', {}, CALL_TIMEOUT_MS)),
      ]);
      const prev = samples[samples.length - 1];
      const atMs = Date.now() - t0;
      const perSecond = (now: number, then: number | undefined): number =>
        prev === undefined || then === undefined ? 0 : ((now - then) * 1000) / (atMs - prev.atMs);
      const sample: Sample = {
        atMs,
        directory: dir,
        peers: [a, b],
        load,
        heartbeatRate: perSecond(dir.heartbeats, prev?.directory.heartbeats),
        messageRate: perSecond(a.shown + b.shown, prev === undefined ? undefined : prev.peers[0].shown + prev.peers[1].shown),
      };
      samples.push(sample);
      console.log(line(row(sample)));
    };
    const liveHeap = async (label: string): Promise<void> => {
      const [dir, a, b] = await Promise.all([
        directory.call('measure', { gc: 'full' }, CALL_TIMEOUT_MS),
        peerA.call('measure', { gc: 'full' }, CALL_TIMEOUT_MS),
        peerB.call('measure', { gc: 'full' }, CALL_TIMEOUT_MS),
      ]);
      gcHeap = [...gcHeap, { label, directory: dir, peers: [a, b] }];
    };

    console.log(
      "MiB of RSS, of V8's heap (used or not) and of memory held by JS objects outside it (ext), sampled without forcing a collection:\n",
    );
    console.log(line(COLUMNS));
    console.log(line(COLUMNS.map((c) => '-'.repeat(Math.max(7, c.length)))));
    await takeSample();
    let isWarm = false;
    // Bounded by the talks, which end after durationMs and their drain (and by the watchdog).
    while (isTalking) {
      await Promise.race([delay(sampleMs), talks.catch(() => {})]);
      if (!isTalking) break;
      await takeSample();
      if (!isWarm && Date.now() - t0 >= durationMs * WARM_UP_SHARE) {
        isWarm = true;
        await liveHeap('after the warm-up');
      }
    }
    await talks;
    await takeSample();
    await liveHeap('at the end');
    const [reportA, reportB] = await Promise.all([peerA.call('report', {}, CALL_TIMEOUT_MS), peerB.call('report', {}, CALL_TIMEOUT_MS)]);
    const finalLoad = await Promise.all(loads.map((l) => l.call('stop', {}, CALL_TIMEOUT_MS)));
    clearTimeout(watchdog);

    console.log('\nAfter full collections, MiB of live heap, of memory held outside it (ext) and of RSS:');
    for (const h of gcHeap) {
      const fig = (m: Measurement | undefined): string =>
        m === undefined ? '-' : `heap ${mib(m.heapUsed)}, ext ${mib(m.external)}, RSS ${mib(m.rss)}`;
      console.log(`  ${h.label}: directory ${fig(h.directory)}; peers A ${fig(h.peers[0])}; peers B ${fig(h.peers[1])}`);
    }

    // ---- memory verdict
    let isOk = true;
    console.log(
      `\nMemory (after the first ${WARM_UP_SHARE * 100}%: highest RSS of the first and second half of the samples, allowed to grow ${GROWTH_SHARE * 100}% or ${GROWTH_FLOOR_BYTES / MIB} MiB; ` +
        `held by JS from the warm-up to the end, ${LIVE_GROWTH_SHARE * 100}% or ${LIVE_GROWTH_FLOOR_BYTES / MIB} MiB)${values['v8-defaults'] ? ", with V8's own heap sizing" : ', semi-spaces of 16 MiB'}:`,
    );
    const series: [string, { atMs: number; rss: number }[]][] = [
      ['directory', samples.map((s) => ({ atMs: s.atMs, rss: s.directory.rss }))],
      ['peers A', samples.map((s) => ({ atMs: s.atMs, rss: s.peers[0].rss }))],
      ['peers B', samples.map((s) => ({ atMs: s.atMs, rss: s.peers[1].rss }))],
    ];
    for (const [label, rss] of series) {
      const v = levelsOff(rss);
      isOk &&= v.isLevel;
      console.log(
        `  ${label.padEnd(9)} ${mib(v.firstHalfMax)} → ${mib(v.secondHalfMax)} MiB, trend ${fmt(v.slopeMibPerMin, 2)} MiB/min: ${v.isLevel ? 'levels off' : 'STILL GROWING'}`,
      );
    }

    const [warm, end] = gcHeap;
    if (warm !== undefined && end !== undefined) {
      // What JS holds: the live heap and the memory outside it that live objects keep (Buffers).
      const held = (m: Measurement | undefined): number => (m === undefined ? 0 : m.heapUsed + m.external);
      const pairs: [string, number, number][] = [
        ['directory', held(warm.directory), held(end.directory)],
        ['peers A', held(warm.peers[0]), held(end.peers[0])],
        ['peers B', held(warm.peers[1]), held(end.peers[1])],
      ];
      for (const [label, before, after] of pairs) {
        const isLevel = after - before <= Math.max(LIVE_GROWTH_FLOOR_BYTES, before * LIVE_GROWTH_SHARE);
        isOk &&= isLevel;
        console.log(
          `  ${label.padEnd(9)} held by JS after full collections (heap and ext): ${mib(before)} → ${mib(after)} MiB: ${isLevel ? 'level' : 'STILL GROWING'}`,
        );
      }
    }

    // ---- directory and clients
    const last = samples[samples.length - 1] as Sample;
    const counters = last.directory.counters ?? {};
    const load = (k: keyof LoadCounts): number => sum(finalLoad.map((c) => Number(c[k])));
    console.log(
      `\nDirectory: ${fmt(last.directory.heartbeats)} ALIVEs answered, ${fmt(counters.registrations ?? 0)} registrations, ${fmt(counters.departures ?? 0)} departures, ` +
        `${fmt(last.directory.expirations)} expired, ${fmt(counters.slowConsumersCut ?? 0)} slow readers cut, ${fmt(counters.rateLimited ?? 0)} rate-limited, ${fmt(counters.protocolErrors ?? 0)} protocol errors`,
    );
    console.log(
      `Clients: ${fmt(load('joined'))} joined and ${fmt(load('left'))} left during the run, ${fmt(load('lost'))} lost their connection${load('lost') > 0 ? ` (first: ${finalLoad.find((c) => c.firstLoss !== '')?.firstLoss ?? ''})` : ''}; ` +
        `slow readers got ${fmt(load('whoAnswers'))} WHO answers, were cut ${fmt(load('slowReadersCut'))} times, ${fmt(load('slowReaderFailures'))} other failures`,
    );
    if (load('lost') > 0) {
      isOk = false;
      console.log('  CLIENTS LOST THEIR CONNECTION');
    }

    // ---- messages
    const m = checkMessages(reportA, reportB);
    const problems = { ...reportA.problems };
    for (const [code, n] of Object.entries(reportB.problems)) problems[code] = (problems[code] ?? 0) + n;
    console.log(
      `\nChats: ${fmt(m.sent)} messages sent, ${fmt(m.received)} shown, ${fmt(m.delivered)} receipts; ${fmt(reportA.reopened)} chats ended and reopened, ` +
        `${fmt(reportA.lostChats + reportB.lostChats)} lost, ${fmt(reportA.connectionsDialed + reportB.connectionsDialed)} connections dialed; 'problem' events: ${JSON.stringify(problems)}`,
    );
    for (const why of new Set([...Object.keys(reportA.lostReasons), ...Object.keys(reportB.lostReasons)])) {
      console.log(`  chats lost: ${fmt((reportA.lostReasons[why] ?? 0) + (reportB.lostReasons[why] ?? 0))} × ${why}`);
    }
    if (m.problems.length === 0) console.log('  every message shown exactly once, in order, and acknowledged once');
    else {
      isOk = false;
      for (const p of m.problems.slice(0, 20)) console.log(`  ${p}`);
      if (m.problems.length > 20) console.log(`  ... and ${m.problems.length - 20} more`);
    }
    console.log(`\nVerdict: ${isOk ? 'PASS' : 'FAIL'} (${fmt((Date.now() - startedAt) / 60_000, 1)} min in all)`);
    await Promise.all([peerA.call('stop', {}, CALL_TIMEOUT_MS), peerB.call('stop', {}, CALL_TIMEOUT_MS)]).catch(() => {});
    return isOk ? 0 : 1;
  } finally {
    await Promise.all(children.map((c) => c.kill()));
  }
}

process.exitCode = await main();
