/**
 * bench/handshake: what it costs to set up one connection, encrypted against
 * plaintext, measured in the same run with the same two processes
 * (bench/handshake-proc.ts):
 *
 *   encrypted   TCP connect + Noise XX handshake (the X25519 forms of the
 *               Ed25519 identity keys; the dialer checks the listener's) +
 *               the HELLO exchange inside it:
 *               what every natter connection now does
 *   plaintext   TCP connect + the HELLO exchange (the baseline): dial()
 *               without a key pair, a FramedConnection on the accepted socket
 *   exchange    plaintext, then one more request and its answer (PING,
 *               PONG) before the close. The Noise XX handshake has the
 *               listener read twice and answer twice where plaintext reads
 *               and answers once: this path prices that one more exchange,
 *               so what the encryption adds beyond it can be held against
 *               the cryptography alone
 *
 * Each set-up is timed in the dialer from connect() until the listener's
 * HELLO is in (dial() resolves), and closed, untimed, before the next one
 * starts. After WARMUP untimed connections per path, BLOCKS blocks of BLOCK
 * connections per path alternate (and in which order), so machine
 * noise hits them alike; median and p99 are over all the timed connections
 * of a path. CPU per connection is read in both processes around each block,
 * closing included.
 */
import type { DialReply, DialerCalls, HandshakeMode, ListenerCalls } from './handshake-ipc.ts';
import { Child } from './child.ts';
import { fmt, median, percentile, table } from './harness.ts';

/**
 * Untimed connections per path first, enough for V8 to optimize the set-up
 * code: with a few dozen, most of it still runs in the interpreter or the
 * baseline compiler, and the figures would time the JIT's warm-up (about
 * 1.8x the listener's steady CPU per connection on this machine) rather
 * than the code. A listener that accepts often, as a directory does, runs
 * the optimized code; the cryptography it is held against is timed warm too.
 */
const WARMUP = 2_000;
const BLOCK = 50;
/** Blocks per path: BLOCKS × BLOCK = 500 timed connections each. */
const BLOCKS = 10;
const MODES: readonly HandshakeMode[] = ['encrypted', 'plaintext', 'exchange'];

/** Deadline for one connection's set-up, inside the dialer. */
const CONNECT_TIMEOUT_MS = 5_000;
/** Deadline for one block inside the dialer; the parent waits a little longer. */
const BLOCK_TIMEOUT_MS = 30_000;
const PARENT_SLACK_MS = 2_000;
const CALL_TIMEOUT_MS = 10_000;

interface ModeFigures {
  /** Every timed set-up, µs, in the order made. */
  setupMicros: number[];
  medianMicros: number;
  p99Micros: number;
  /** Each block's median set-up, µs, in the order run. */
  blockMedians: number[];
  dialerCpuMicrosPerConn: number;
  listenerCpuMicrosPerConn: number;
}

export interface HandshakeResult {
  connections: number;
  encrypted: ModeFigures;
  plaintext: ModeFigures;
  /** Plaintext with one more request and answer: what one more exchange adds (the handshake's messages need one). */
  exchange: ModeFigures;
  /** encrypted / plaintext. */
  medianRatio: number;
  p99Ratio: number;
}

export async function runHandshakeBench(): Promise<HandshakeResult> {
  const listener = new Child<ListenerCalls>('handshake listener', './handshake-proc.ts', ['listener'], []);
  const dialer = new Child<DialerCalls>('handshake dialer', './handshake-proc.ts', ['dialer'], []);
  try {
    await Promise.all([listener.ready(), dialer.ready()]);
    const { publicKey, ...ports } = await listener.call('ports', {}, CALL_TIMEOUT_MS);
    /** One block of `count` connections on `mode`: the dialer's reply and the listener's CPU for it. */
    const block = async (mode: HandshakeMode, count: number): Promise<DialReply & { listenerCpuMicros: number }> => {
      const before = await listener.call('usage', {}, CALL_TIMEOUT_MS);
      const reply = await dialer.call(
        'dial',
        { mode, port: ports[mode], count, publicKey, connectTimeoutMs: CONNECT_TIMEOUT_MS, timeoutMs: BLOCK_TIMEOUT_MS },
        BLOCK_TIMEOUT_MS + PARENT_SLACK_MS,
      );
      const after = await listener.call('usage', {}, CALL_TIMEOUT_MS);
      if (after.ready - before.ready !== count) {
        throw new Error(`bench/handshake: the listener finished ${after.ready - before.ready} of ${count} ${mode} HELLO exchanges`);
      }
      return { ...reply, listenerCpuMicros: after.cpuMicros - before.cpuMicros };
    };
    for (const mode of MODES) await block(mode, WARMUP);
    const blocks: Record<HandshakeMode, (DialReply & { listenerCpuMicros: number })[]> = { encrypted: [], plaintext: [], exchange: [] };
    for (let b = 0; b < BLOCKS; b++) {
      const order = b % 2 === 0 ? MODES : [...MODES].reverse();
      for (const mode of order) blocks[mode].push(await block(mode, BLOCK));
    }
    const figures = (mode: HandshakeMode): ModeFigures => {
      const all = blocks[mode];
      const setupMicros = all.flatMap((r) => r.setupMicros);
      return {
        setupMicros,
        medianMicros: median(setupMicros),
        p99Micros: percentile(setupMicros, 99),
        blockMedians: all.map((r) => median(r.setupMicros)),
        dialerCpuMicrosPerConn: all.reduce((sum, r) => sum + r.cpuMicros, 0) / setupMicros.length,
        listenerCpuMicrosPerConn: all.reduce((sum, r) => sum + r.listenerCpuMicros, 0) / setupMicros.length,
      };
    };
    const encrypted = figures('encrypted');
    const plaintext = figures('plaintext');
    return {
      connections: BLOCK * BLOCKS,
      encrypted,
      plaintext,
      exchange: figures('exchange'),
      medianRatio: encrypted.medianMicros / plaintext.medianMicros,
      p99Ratio: encrypted.p99Micros / plaintext.p99Micros,
    };
  } finally {
    await Promise.all([listener.kill(), dialer.kill()]);
  }
}

export function printHandshake(result: HandshakeResult): void {
  const { encrypted: e, plaintext: p } = result;
  console.log(
    `handshake: setting up one connection on loopback, dialer and listener each in its own process; ${fmt(result.connections)} sequential ` +
      `connections per path after ${WARMUP} untimed (blocks of ${BLOCK}, the paths alternating), each timed from connect() until the ` +
      `listener's HELLO is in, and closed before the next`,
  );
  console.log(
    "encrypted: TCP connect + Noise XX handshake (X25519 forms of the Ed25519 identity keys, the dialer checking the listener's) + HELLO exchange",
  );
  console.log('plaintext (baseline): TCP connect + HELLO exchange: dial() without a key pair, a FramedConnection on the accepted socket');
  const x = (a: number, b: number): string => `${fmt(a / b, 2)}x`;
  console.log(
    table(
      ['measure', 'encrypted', 'plaintext', 'encrypted/plaintext'],
      [
        ['set-up median, µs', fmt(e.medianMicros, 1), fmt(p.medianMicros, 1), x(e.medianMicros, p.medianMicros)],
        ['set-up p99, µs', fmt(e.p99Micros, 1), fmt(p.p99Micros, 1), x(e.p99Micros, p.p99Micros)],
        [
          'dialer CPU, µs/conn (with close)',
          fmt(e.dialerCpuMicrosPerConn, 1),
          fmt(p.dialerCpuMicrosPerConn, 1),
          x(e.dialerCpuMicrosPerConn, p.dialerCpuMicrosPerConn),
        ],
        [
          'listener CPU, µs/conn (with close)',
          fmt(e.listenerCpuMicrosPerConn, 1),
          fmt(p.listenerCpuMicrosPerConn, 1),
          x(e.listenerCpuMicrosPerConn, p.listenerCpuMicrosPerConn),
        ],
      ],
    ),
  );
  const ex = result.exchange;
  console.log(
    `exchange: the plaintext path and one more request and answer (PING, PONG) before the close, as the handshake's messages add one: ` +
      `listener CPU ${fmt(ex.listenerCpuMicrosPerConn, 1)} µs/conn, so one exchange costs the listener ` +
      `${fmt(ex.listenerCpuMicrosPerConn - p.listenerCpuMicrosPerConn, 1)} µs; the encryption adds ` +
      `${fmt(e.listenerCpuMicrosPerConn - ex.listenerCpuMicrosPerConn, 1)} µs beyond it; set-up median with the exchange ` +
      `${fmt(ex.medianMicros, 1)} µs (one exchange: ${fmt(ex.medianMicros - p.medianMicros, 1)} µs)`,
  );
  console.log("each block's median set-up, µs, in order (the paths of one block were measured back to back):");
  const spread = (values: number[], digits: number): string => values.map((v) => fmt(v, digits)).join(' / ');
  console.log(
    table(
      ['', 'block medians'],
      [
        ['encrypted', spread(e.blockMedians, 0)],
        ['plaintext', spread(p.blockMedians, 0)],
        [
          'encrypted/plaintext',
          spread(
            e.blockMedians.map((v, i) => v / (p.blockMedians[i] as number)),
            2,
          ),
        ],
      ],
    ),
  );
}

if (import.meta.main) printHandshake(await runHandshakeBench());
