/**
 * bench/chat: direct peer-to-peer messaging between two peers on loopback,
 * each in its own process (bench/chat-peer-proc.ts), against a baseline
 * measured in the same run with the same process layout: raw node:net
 * sockets (noDelay, as natter sets it) carrying the same 100-byte text with
 * newline framing, one socket.write() per message, 'drain' awaited whenever
 * write() returns false; the reader splits on newlines.
 *
 *   1. throughput   COUNT messages one way, timed from just before the first
 *                   send until the receiver counted the last one (it reports
 *                   the instant over IPC; hrtime is CLOCK_MONOTONIC, shared
 *                   by every process on Linux). natter sends with
 *                   `await node.send(peer, text)`, which waits while the
 *                   connection's queue is full.
 *   2. round trips  ROUNDS sequential round trips: the sender sends, the
 *                   receiver sends the same text back from its message
 *                   handler, the sender waits for it before the next.
 *
 * natter's chat is opened before anything is timed (CONN / RESP(accept); the
 * static Discovery calls the other peer a friend, so nobody is asked). One
 * pair of processes per side lives through the whole bench: both are warmed
 * up untimed, then RUNS measurements of each kind alternate natter and
 * baseline (and which goes first), and each figure is the median over the
 * runs, so machine noise hits both alike. Idle pairs cost nothing: only one
 * pair has traffic at a time.
 *
 * Every call to a child has a deadline, every phase has one inside the child
 * too, and every child is asked to exit and killed if it does not.
 *
 * Set CHAT_BENCH_CPU_PROF=<dir> to run the peer processes under --cpu-prof
 * and find one .cpuprofile per process in <dir>.
 */
import type { ChatCalls, ChatMode, ChatRole, CountedReport } from './chat-ipc.ts';
import { Child } from './child.ts';
import { fmt, median, medians, percentile, table } from './harness.ts';

/** Messages per throughput measurement, and before it, untimed, to warm up. */
const COUNT = 100_000;
const WARMUP_COUNT = 20_000;
/** Round trips per latency measurement, and before it, untimed. */
const ROUNDS = 2_000;
const WARMUP_ROUNDS = 500;
/** Runs per side, interleaved; each figure is the median run. */
const RUNS = 7;
/** 100 bytes of UTF-8 (90 ASCII letters, then 'héllo ✓'): the 100 B case of bench/codec. */
const TEXT = 'a'.repeat(90) + 'héllo ✓';

const TARGET_THROUGHPUT_RATIO = 1.0;
const TARGET_LATENCY_RATIO = 1.25;

const CALL_TIMEOUT_MS = 10_000;
/** Inside the child: the phase's own deadline. The parent waits a little longer. */
const PHASE_TIMEOUT_MS = 20_000;
const PARENT_SLACK_MS = 2_000;
const EXIT_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------
// Peer processes

/** One peer process and typed calls to it; it reports 'counted' unasked after each `arm`. */
type PeerProcess = Child<ChatCalls, CountedReport>;

function childExecArgv(mode: ChatMode, role: ChatRole): string[] {
  const dir = process.env.CHAT_BENCH_CPU_PROF;
  if (dir === undefined || dir === '') return [];
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=chat-${mode}-${role}.cpuprofile`];
}

function startPeer(mode: ChatMode, role: ChatRole): PeerProcess {
  return new Child<ChatCalls, CountedReport>(`${mode} ${role}`, './chat-peer-proc.ts', [mode, role], childExecArgv(mode, role));
}

/** Asks the peer to exit (so a CPU profile gets written), kills it if it does not; resolves once it is gone. */
async function stopPeer(peer: PeerProcess): Promise<void> {
  await peer.call('exit', {}, EXIT_TIMEOUT_MS).catch(() => {}); // at once if it is gone already
  const timer = setTimeout(() => void peer.kill(), EXIT_TIMEOUT_MS);
  await peer.exited();
  clearTimeout(timer);
}

// ---------------------------------------------------------------------------
// A pair of peers, and one measurement of each kind on it

interface RunFigures {
  /** Messages per second, first send to last counted. */
  perSecond: number;
  /** CPU µs per message in the sender and in the receiver during the timed throughput phase. */
  senderMicrosPerMsg: number;
  receiverMicrosPerMsg: number;
  /** Round trips, µs. */
  medianMicros: number;
  p99Micros: number;
  /** CPU µs per round trip, sender and receiver together. */
  cpuMicrosPerRoundTrip: number;
}

/** A sender and a receiver process with the chat between them open. */
class Pair {
  readonly mode: ChatMode;
  readonly sender: PeerProcess;
  readonly receiver: PeerProcess;

  constructor(mode: ChatMode) {
    this.mode = mode;
    this.receiver = startPeer(mode, 'receiver');
    this.sender = startPeer(mode, 'sender');
  }

  async open(): Promise<void> {
    await Promise.all([this.receiver.ready(), this.sender.ready()]);
    const { port } = await this.receiver.call('listen', {}, CALL_TIMEOUT_MS);
    await this.sender.call('connect', { port, timeoutMs: CALL_TIMEOUT_MS }, CALL_TIMEOUT_MS + PARENT_SLACK_MS);
  }

  /** `count` messages one way: seconds from the first send until the receiver counted the last, and the CPU each side used. */
  async throughput(count: number): Promise<{ seconds: number; senderMicros: number; receiverMicros: number }> {
    await this.receiver.call('arm', { count, text: TEXT }, CALL_TIMEOUT_MS);
    const [counted, blast] = await Promise.all([
      this.receiver.nextReport('count its messages', PHASE_TIMEOUT_MS + PARENT_SLACK_MS),
      this.sender.call('blast', { count, text: TEXT, timeoutMs: PHASE_TIMEOUT_MS }, PHASE_TIMEOUT_MS + PARENT_SLACK_MS),
    ]);
    if (counted.received !== count || !counted.isIntact) {
      throw new Error(`${this.receiver.label} counted ${counted.received} of ${count} messages${counted.isIntact ? '' : ', the last one garbled'}`);
    }
    return { seconds: Number(counted.endNs - blast.startNs) / 1e9, senderMicros: blast.cpuMicros, receiverMicros: counted.cpuMicros };
  }

  /** `rounds` sequential round trips (the receiver must be echoing): each one's µs, and the CPU both sides used. */
  async roundTrips(rounds: number): Promise<{ latenciesMicros: number[]; cpuMicros: number }> {
    const before = await this.receiver.call('usage', {}, CALL_TIMEOUT_MS);
    const { latenciesMicros, cpuMicros } = await this.sender.call(
      'pingpong',
      { rounds, text: TEXT, timeoutMs: PHASE_TIMEOUT_MS },
      PHASE_TIMEOUT_MS + PARENT_SLACK_MS,
    );
    const after = await this.receiver.call('usage', {}, CALL_TIMEOUT_MS);
    if (latenciesMicros.length !== rounds) throw new Error(`${this.sender.label} timed ${latenciesMicros.length} of ${rounds} round trips`);
    return { latenciesMicros, cpuMicros: cpuMicros + after.cpuMicros - before.cpuMicros };
  }

  async echo(): Promise<void> {
    await this.receiver.call('echo', {}, CALL_TIMEOUT_MS);
  }

  /** The sender first: the receiver's exit would end the chat under a sender still running. */
  async stop(): Promise<void> {
    await stopPeer(this.sender);
    await stopPeer(this.receiver);
  }
}

// ---------------------------------------------------------------------------
// The bench

export interface ChatSide {
  /** Median over runs of messages per second. */
  perSecond: number;
  /** Median over runs of the per-run round-trip median and p99, µs. */
  medianMicros: number;
  p99Micros: number;
  senderMicrosPerMsg: number;
  receiverMicrosPerMsg: number;
  cpuMicrosPerRoundTrip: number;
  /** Every run, in the order run. */
  runs: RunFigures[];
}

export interface ChatResult {
  count: number;
  rounds: number;
  textBytes: number;
  natter: ChatSide;
  baseline: ChatSide;
  /** natter / baseline messages per second; target >= 1.0. */
  throughputRatio: number;
  /** natter / baseline median round trip; target <= 1.25. */
  latencyRatio: number;
  p99Ratio: number;
  isThroughputMet: boolean;
  isLatencyMet: boolean;
}

function summarize(runs: RunFigures[]): ChatSide {
  return { ...medians(runs), runs };
}

export async function runChatBench(): Promise<ChatResult> {
  const pairs = { natter: new Pair('natter'), baseline: new Pair('baseline') };
  const figures: Record<ChatMode, RunFigures[]> = { natter: [], baseline: [] };
  try {
    await Promise.all([pairs.natter.open(), pairs.baseline.open()]);
    // Alternate which goes first, so neither always follows the other.
    const orderOf = (run: number): ChatMode[] => (run % 2 === 0 ? ['natter', 'baseline'] : ['baseline', 'natter']);
    const throughputs: Record<ChatMode, { seconds: number; senderMicros: number; receiverMicros: number }[]> = { natter: [], baseline: [] };
    for (const mode of orderOf(0)) await pairs[mode].throughput(WARMUP_COUNT);
    for (let run = 0; run < RUNS; run++) {
      for (const mode of orderOf(run)) throughputs[mode].push(await pairs[mode].throughput(COUNT));
    }
    const latencies: Record<ChatMode, { latenciesMicros: number[]; cpuMicros: number }[]> = { natter: [], baseline: [] };
    for (const mode of orderOf(0)) {
      await pairs[mode].echo();
      await pairs[mode].roundTrips(WARMUP_ROUNDS);
    }
    for (let run = 0; run < RUNS; run++) {
      for (const mode of orderOf(run)) latencies[mode].push(await pairs[mode].roundTrips(ROUNDS));
    }
    for (const mode of ['natter', 'baseline'] as const) {
      for (let run = 0; run < RUNS; run++) {
        const t = throughputs[mode][run] as { seconds: number; senderMicros: number; receiverMicros: number };
        const l = latencies[mode][run] as { latenciesMicros: number[]; cpuMicros: number };
        figures[mode].push({
          perSecond: COUNT / t.seconds,
          senderMicrosPerMsg: t.senderMicros / COUNT,
          receiverMicrosPerMsg: t.receiverMicros / COUNT,
          medianMicros: median(l.latenciesMicros),
          p99Micros: percentile(l.latenciesMicros, 99),
          cpuMicrosPerRoundTrip: l.cpuMicros / ROUNDS,
        });
      }
    }
  } finally {
    await Promise.all([pairs.natter.stop(), pairs.baseline.stop()]);
  }
  const n = summarize(figures.natter);
  const b = summarize(figures.baseline);
  const throughputRatio = n.perSecond / b.perSecond;
  const latencyRatio = n.medianMicros / b.medianMicros;
  return {
    count: COUNT,
    rounds: ROUNDS,
    textBytes: Buffer.byteLength(TEXT, 'utf8'),
    natter: n,
    baseline: b,
    throughputRatio,
    latencyRatio,
    p99Ratio: n.p99Micros / b.p99Micros,
    isThroughputMet: throughputRatio >= TARGET_THROUGHPUT_RATIO,
    isLatencyMet: latencyRatio <= TARGET_LATENCY_RATIO,
  };
}

function spread(values: number[], digits: number): string {
  return values.map((v) => fmt(v, digits)).join(' / ');
}

export function printChat(result: ChatResult): void {
  const { natter: n, baseline: b } = result;
  const runs = n.runs.length;
  console.log(
    `chat: two peers on loopback, one process each; ${fmt(result.count)} messages of ${result.textBytes} B one way, ` +
      `then ${fmt(result.rounds)} sequential round trips (median of ${runs} runs, natter and baseline interleaved)`,
  );
  console.log('baseline: raw node:net sockets, noDelay, newline framing, one socket.write() per message, awaiting drain');
  const met = (ok: boolean): string => (ok ? 'yes' : 'NO');
  console.log(
    table(
      ['measure', 'natter', 'baseline', 'natter/baseline', 'target', 'met'],
      [
        ['throughput, msg/s', fmt(n.perSecond), fmt(b.perSecond), `${fmt(result.throughputRatio, 2)}x`, `>= ${fmt(TARGET_THROUGHPUT_RATIO, 2)}x`, met(result.isThroughputMet)],
        ['round trip median, µs', fmt(n.medianMicros, 1), fmt(b.medianMicros, 1), `${fmt(result.latencyRatio, 2)}x`, `<= ${fmt(TARGET_LATENCY_RATIO, 2)}x`, met(result.isLatencyMet)],
        ['round trip p99, µs', fmt(n.p99Micros, 1), fmt(b.p99Micros, 1), `${fmt(result.p99Ratio, 2)}x`, '', ''],
        ['sender CPU, µs/msg', fmt(n.senderMicrosPerMsg, 2), fmt(b.senderMicrosPerMsg, 2), `${fmt(n.senderMicrosPerMsg / b.senderMicrosPerMsg, 2)}x`, '', ''],
        ['receiver CPU, µs/msg', fmt(n.receiverMicrosPerMsg, 2), fmt(b.receiverMicrosPerMsg, 2), `${fmt(n.receiverMicrosPerMsg / b.receiverMicrosPerMsg, 2)}x`, '', ''],
        ['CPU per round trip, µs', fmt(n.cpuMicrosPerRoundTrip, 1), fmt(b.cpuMicrosPerRoundTrip, 1), `${fmt(n.cpuMicrosPerRoundTrip / b.cpuMicrosPerRoundTrip, 2)}x`, '', ''],
      ],
    ),
  );
  console.log('every run, in order (natter and baseline of one run were measured back to back):');
  console.log(
    table(
      ['', 'msg/s', 'RTT median µs', 'RTT p99 µs'],
      [
        ['natter', spread(n.runs.map((r) => r.perSecond), 0), spread(n.runs.map((r) => r.medianMicros), 1), spread(n.runs.map((r) => r.p99Micros), 1)],
        ['baseline', spread(b.runs.map((r) => r.perSecond), 0), spread(b.runs.map((r) => r.medianMicros), 1), spread(b.runs.map((r) => r.p99Micros), 1)],
        [
          'natter/baseline',
          spread(n.runs.map((r, i) => r.perSecond / (b.runs[i] as RunFigures).perSecond), 2),
          spread(n.runs.map((r, i) => r.medianMicros / (b.runs[i] as RunFigures).medianMicros), 2),
          spread(n.runs.map((r, i) => r.p99Micros / (b.runs[i] as RunFigures).p99Micros), 2),
        ],
      ],
    ),
  );
}

if (import.meta.main) printChat(await runChatBench());
