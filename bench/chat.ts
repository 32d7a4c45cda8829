/**
 * bench/chat: direct peer-to-peer messaging between two peers on loopback,
 * each in its own process (bench/chat-peer-proc.ts), over three paths
 * measured in the same run with the same process layout:
 *
 *   encrypted  two PeerNodes, as natter always runs: Noise XX, then every
 *              write sealed as an encrypted record; receipts, the store
 *   framing    (mode 'unacked') the encrypted channel and natter's framing
 *              with nothing on top: the plaintext path below with the
 *              encryption, and no more
 *   plaintext  natter's framing without the encryption: dial() without a key
 *              pair, a FramedConnection on the accepted socket, TEXT frames
 *              written and backpressured as PeerNode.send() does
 *   baseline   raw node:net sockets (noDelay, as natter sets it) carrying the
 *              same 100-byte text with newline framing, one socket.write()
 *              per message, 'drain' awaited whenever write() returns false;
 *              the reader splits on newlines
 *
 * framing / plaintext is the cost of the encryption alone (the same
 * sends, with and without it); encrypted / framing is what a PeerNode adds
 * on top (a receipt for every message, the store, the chat's events);
 * encrypted / baseline is what natter costs against the least a TCP chat
 * can do.
 *
 *   1. throughput   COUNT messages one way, timed from just before the first
 *                   send until the receiver counted the last one (it reports
 *                   the instant over IPC; hrtime is CLOCK_MONOTONIC, shared
 *                   by every process on Linux). Every path's sender
 *                   enters BURST (64) messages at a time and then awaits
 *                   the last one (PeerNode: `node.send(peer, text)`, which
 *                   resolves once the message is recorded and waits while
 *                   the connection's queue is full; the others: the drain
 *                   when their queue is full).
 *   2. round trips  ROUNDS sequential round trips: the sender sends, the
 *                   receiver sends the same text back from its message
 *                   handler, the sender waits for it before the next.
 *
 * Every connection is open before anything is timed (the encrypted chat with
 * CONN / RESP(accept): the static Discovery calls the other peer a friend, so
 * nobody is asked). One pair of processes per path lives through the whole
 * bench: all are warmed up untimed, then RUNS measurements of each kind go
 * round the three paths (each run starting with the next one), and each
 * figure is the median over the runs, so machine noise hits all alike. Idle
 * pairs cost nothing: only one pair has traffic at a time.
 *
 * Every call to a child has a deadline, every phase has one inside the child
 * too, and every child is asked to exit and killed if it does not.
 *
 * Set CHAT_BENCH_CPU_PROF=<dir> to run the peer processes under --cpu-prof
 * and find one .cpuprofile per process in <dir>.
 */
import { CHAT_MODES, type ChatCalls, type ChatMode, type ChatRole, type CountedReport } from './chat-ipc.ts';

type ChatBenchMode = (typeof CHAT_MODES)[number];
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
export const TEXT = `${'a'.repeat(90)}héllo ✓`;

/** Encrypted throughput against raw TCP, 100-byte messages. */
const TARGET_ENCRYPTED_THROUGHPUT_RATIO = 0.6;
/** What encryption and the whole PeerNode may cost: against natter's plaintext framing, and round trips against raw TCP. */
export const TARGET_ENC_PLAIN_THROUGHPUT_RATIO = 0.5;
export const TARGET_ENC_RAW_MEDIAN_RATIO = 1.5;
export const TARGET_ENC_RAW_P99_RATIO = 3;
/**
 * What the encryption alone may cost, the same sends with and without it:
 * the same ratios held against natter's own plaintext framing, whose round
 * trip is itself more than 1.5x raw TCP's (a frame decoder, a write gathered
 * at the end of the turn), so that no encrypted path could meet them
 * against raw TCP however cheap the encryption.
 */
export const TARGET_FRAMING_PLAIN_THROUGHPUT_RATIO = 0.5;
export const TARGET_FRAMING_PLAIN_MEDIAN_RATIO = 1.5;
export const TARGET_FRAMING_PLAIN_P99_RATIO = 3;
/** The framing's own targets from before the encrypted channel, kept for the plaintext path: plaintext against raw TCP. */
const TARGET_PLAINTEXT_THROUGHPUT_RATIO = 1.0;
const TARGET_PLAINTEXT_LATENCY_RATIO = 1.25;

const CALL_TIMEOUT_MS = 10_000;
/** Inside the child: the phase's own deadline. The parent waits a little longer. */
export const PHASE_TIMEOUT_MS = 20_000;
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
export class Pair {
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
  async throughput(
    count: number,
  ): Promise<{ seconds: number; senderMicros: number; receiverMicros: number; deliveredSeconds: number | undefined }> {
    await this.receiver.call('arm', { count, text: TEXT }, CALL_TIMEOUT_MS);
    const [counted, blast] = await Promise.all([
      this.receiver.nextReport('count its messages', PHASE_TIMEOUT_MS + PARENT_SLACK_MS),
      this.sender.call('blast', { count, text: TEXT, timeoutMs: PHASE_TIMEOUT_MS }, PHASE_TIMEOUT_MS + PARENT_SLACK_MS),
    ]);
    if (counted.received !== count || !counted.isIntact) {
      throw new Error(
        `${this.receiver.label} counted ${counted.received} of ${count} messages${counted.isIntact ? '' : ', the last one garbled'}`,
      );
    }
    return {
      seconds: Number(counted.endNs - blast.startNs) / 1e9,
      senderMicros: blast.cpuMicros,
      receiverMicros: counted.cpuMicros,
      deliveredSeconds: blast.deliveredNs === undefined ? undefined : Number(blast.deliveredNs - blast.startNs) / 1e9,
    };
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

/** The figures a target can be about. */
type TargetMeasure = 'throughput' | 'round trip median' | 'round trip p99';

/** One ratio the bench holds to a target. */
export interface ChatTarget {
  measure: TargetMeasure;
  /** Which paths are compared, as the table's ratio columns name them: 'enc/raw', 'plain/raw'. */
  ratioName: string;
  ratio: number;
  /** 'min': the ratio must be at least `limit`; 'max': at most. */
  kind: 'min' | 'max';
  limit: number;
  isMet: boolean;
}

export interface ChatResult {
  count: number;
  rounds: number;
  textBytes: number;
  sides: Record<ChatBenchMode, ChatSide>;
  /** encrypted / baseline messages per second; target >= 0.6. */
  throughputRatio: number;
  targets: ChatTarget[];
}

function summarize(runs: RunFigures[]): ChatSide {
  return { ...medians(runs), runs };
}

function target(measure: TargetMeasure, ratioName: string, ratio: number, kind: 'min' | 'max', limit: number): ChatTarget {
  return { measure, ratioName, ratio, kind, limit, isMet: kind === 'min' ? ratio >= limit : ratio <= limit };
}

type Throughput = { seconds: number; senderMicros: number; receiverMicros: number };
type RoundTrips = { latenciesMicros: number[]; cpuMicros: number };

export async function runChatBench(): Promise<ChatResult> {
  const pairs: Record<ChatBenchMode, Pair> = {
    encrypted: new Pair('encrypted'),
    unacked: new Pair('unacked'),
    plaintext: new Pair('plaintext'),
    baseline: new Pair('baseline'),
  };
  const figures: Record<ChatBenchMode, RunFigures[]> = { encrypted: [], unacked: [], plaintext: [], baseline: [] };
  try {
    await Promise.all(CHAT_MODES.map((mode) => pairs[mode].open()));
    // Each run starts with the next path, so each goes first as often as the others.
    const orderOf = (run: number): ChatBenchMode[] => CHAT_MODES.map((_, i) => CHAT_MODES[(run + i) % CHAT_MODES.length] as ChatBenchMode);
    const throughputs: Record<ChatBenchMode, Throughput[]> = { encrypted: [], unacked: [], plaintext: [], baseline: [] };
    for (const mode of orderOf(0)) await pairs[mode].throughput(WARMUP_COUNT);
    for (let run = 0; run < RUNS; run++) {
      for (const mode of orderOf(run)) throughputs[mode].push(await pairs[mode].throughput(COUNT));
    }
    const latencies: Record<ChatBenchMode, RoundTrips[]> = { encrypted: [], unacked: [], plaintext: [], baseline: [] };
    for (const mode of orderOf(0)) {
      await pairs[mode].echo();
      await pairs[mode].roundTrips(WARMUP_ROUNDS);
    }
    for (let run = 0; run < RUNS; run++) {
      for (const mode of orderOf(run)) latencies[mode].push(await pairs[mode].roundTrips(ROUNDS));
    }
    for (const mode of CHAT_MODES) {
      for (let run = 0; run < RUNS; run++) {
        const t = throughputs[mode][run] as Throughput;
        const l = latencies[mode][run] as RoundTrips;
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
    await Promise.all(CHAT_MODES.map((mode) => pairs[mode].stop()));
  }
  const sides: Record<ChatBenchMode, ChatSide> = {
    encrypted: summarize(figures.encrypted),
    unacked: summarize(figures.unacked),
    plaintext: summarize(figures.plaintext),
    baseline: summarize(figures.baseline),
  };
  const { encrypted: e, unacked: f, plaintext: p, baseline: b } = sides;
  const throughputRatio = e.perSecond / b.perSecond;
  return {
    count: COUNT,
    rounds: ROUNDS,
    textBytes: Buffer.byteLength(TEXT, 'utf8'),
    sides,
    throughputRatio,
    targets: [
      target('throughput', 'frame/plain', f.perSecond / p.perSecond, 'min', TARGET_FRAMING_PLAIN_THROUGHPUT_RATIO),
      target('round trip median', 'frame/plain', f.medianMicros / p.medianMicros, 'max', TARGET_FRAMING_PLAIN_MEDIAN_RATIO),
      target('round trip p99', 'frame/plain', f.p99Micros / p.p99Micros, 'max', TARGET_FRAMING_PLAIN_P99_RATIO),
      target('throughput', 'enc/plain', e.perSecond / p.perSecond, 'min', TARGET_ENC_PLAIN_THROUGHPUT_RATIO),
      target('round trip median', 'enc/raw', e.medianMicros / b.medianMicros, 'max', TARGET_ENC_RAW_MEDIAN_RATIO),
      target('round trip p99', 'enc/raw', e.p99Micros / b.p99Micros, 'max', TARGET_ENC_RAW_P99_RATIO),
      target('throughput', 'enc/raw', throughputRatio, 'min', TARGET_ENCRYPTED_THROUGHPUT_RATIO),
      target('throughput', 'plain/raw', p.perSecond / b.perSecond, 'min', TARGET_PLAINTEXT_THROUGHPUT_RATIO),
      target('round trip median', 'plain/raw', p.medianMicros / b.medianMicros, 'max', TARGET_PLAINTEXT_LATENCY_RATIO),
    ],
  };
}

function spread(values: number[], digits: number): string {
  return values.map((v) => fmt(v, digits)).join(' / ');
}

function ratio(a: number, b: number): string {
  return `${fmt(a / b, 2)}x`;
}

/** The target and met cells of a table row: every target about `measure`, joined with '; '. */
function targetCells(result: ChatResult, measure: TargetMeasure | undefined): [string, string] {
  const mine = result.targets.filter((t) => t.measure === measure);
  return [
    mine.map((t) => `${t.ratioName} ${t.kind === 'min' ? '>=' : '<='} ${fmt(t.limit, 2)}x`).join('; '),
    mine.map((t) => (t.isMet ? 'yes' : 'NO')).join('; '),
  ];
}

export function printChat(result: ChatResult): void {
  const { encrypted: e, unacked: f, plaintext: p, baseline: b } = result.sides;
  const runs = e.runs.length;
  console.log(
    `chat: two peers on loopback, one process each; ${fmt(result.count)} messages of ${result.textBytes} B one way, ` +
      `then ${fmt(result.rounds)} sequential round trips (median of ${runs} runs, the four paths interleaved)`,
  );
  console.log(
    'encrypted: two PeerNodes over the encrypted channel (Noise XX handshake before timing, then encrypted records), a receipt for every message',
  );
  console.log(
    "framing: the encrypted channel with natter's framing and nothing on top: the plaintext path plus the encryption, no receipts",
  );
  console.log(
    'plaintext: the same framing over plain TCP: dial() without a key pair, FramedConnection on the accepted socket, PeerNode-style sends',
  );
  console.log('raw TCP (baseline): raw node:net sockets, noDelay, newline framing, one socket.write() per message, awaiting drain');
  const rows: [string, (s: ChatSide) => number, number, TargetMeasure | undefined][] = [
    ['throughput, msg/s', (s) => s.perSecond, 0, 'throughput'],
    ['round trip median, µs', (s) => s.medianMicros, 1, 'round trip median'],
    ['round trip p99, µs', (s) => s.p99Micros, 1, 'round trip p99'],
    ['sender CPU, µs/msg', (s) => s.senderMicrosPerMsg, 2, undefined],
    ['receiver CPU, µs/msg', (s) => s.receiverMicrosPerMsg, 2, undefined],
    ['CPU per round trip, µs', (s) => s.cpuMicrosPerRoundTrip, 1, undefined],
  ];
  console.log(
    table(
      [
        'measure',
        'encrypted',
        'framing',
        'plaintext',
        'raw TCP',
        'frame/plain',
        'enc/frame',
        'enc/plain',
        'enc/raw',
        'plain/raw',
        'target',
        'met',
      ],
      rows.map(([label, of, digits, measure]) => [
        label,
        fmt(of(e), digits),
        fmt(of(f), digits),
        fmt(of(p), digits),
        fmt(of(b), digits),
        ratio(of(f), of(p)),
        ratio(of(e), of(f)),
        ratio(of(e), of(p)),
        ratio(of(e), of(b)),
        ratio(of(p), of(b)),
        ...targetCells(result, measure),
      ]),
    ),
  );
  console.log('every run, in order (the four paths of one run were measured back to back):');
  type Triple = [perSecond: number, medianMicros: number, p99Micros: number];
  const figures = (side: ChatSide): Triple[] => side.runs.map((r) => [r.perSecond, r.medianMicros, r.p99Micros]);
  const divide = (xs: Triple[], ys: Triple[]): Triple[] =>
    xs.map((x, i) => {
      const y = ys[i] as Triple;
      return [x[0] / y[0], x[1] / y[1], x[2] / y[2]];
    });
  const line = (label: string, triples: Triple[], digits: Triple): string[] => [
    label,
    ...([0, 1, 2] as const).map((k) =>
      spread(
        triples.map((t) => t[k]),
        digits[k],
      ),
    ),
  ];
  const [fe, ff, fp, fb] = [figures(e), figures(f), figures(p), figures(b)];
  console.log(
    table(
      ['', 'msg/s', 'RTT median µs', 'RTT p99 µs'],
      [
        line('encrypted', fe, [0, 1, 1]),
        line('framing', ff, [0, 1, 1]),
        line('plaintext', fp, [0, 1, 1]),
        line('raw TCP', fb, [0, 1, 1]),
        line('frame/plain', divide(ff, fp), [2, 2, 2]),
        line('enc/plain', divide(fe, fp), [2, 2, 2]),
        line('enc/raw', divide(fe, fb), [2, 2, 2]),
        line('plain/raw', divide(fp, fb), [2, 2, 2]),
      ],
    ),
  );
}

if (import.meta.main) printChat(await runChatBench());
