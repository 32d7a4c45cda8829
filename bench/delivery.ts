/**
 * bench/delivery: what "nothing lost" costs. Two peers on loopback, one
 * process each (bench/chat-peer-proc.ts), over three paths measured in the
 * same run with the same process layout:
 *
 *   durable   two PeerNodes as `natter chat` runs them: a FileMessageStore on each
 *             side in a fresh data directory (every message recorded in the
 *             sender's outbox and history before it leaves, in the
 *             receiver's received ids and history before it is shown), a
 *             RCPT for every message, the outbox emptied by the receipts
 *   memory    the same PeerNodes with the library's MemoryMessageStore: ids,
 *             receipts and the outbox bookkeeping, nothing on disk
 *   unacked   the baseline: the same encrypted channel and framing with
 *             nothing on top (TEXT frames, no ids kept, no receipts, no store)
 *
 * Throughput is COUNT messages of 100 B one way. For the PeerNode paths it is
 * timed from the first send until the sender holds the last receipt (every
 * message acknowledged); for unacked, until the receiver counted the last
 * message, since nothing comes back. Runs interleave the paths; each figure
 * is the median run.
 */
import { DELIVERY_MODES } from './chat-ipc.ts';
import { Pair, TEXT } from './chat.ts';
import { fmt, median, table } from './harness.ts';

const COUNT = 50_000;
const WARMUP_COUNT = 10_000;
const RUNS = 9;

type DeliveryMode = (typeof DELIVERY_MODES)[number];

const LABEL: Record<DeliveryMode, string> = { durable: 'acked, on disk', encrypted: 'acked, in memory', unacked: 'unacked' };

export interface DeliveryResult {
  count: number;
  textBytes: number;
  /** Per mode: every run's messages per second, in order. */
  perSecond: Record<DeliveryMode, number[]>;
  /** Per mode: every run's sender and receiver CPU µs per message. */
  senderMicros: Record<DeliveryMode, number[]>;
  receiverMicros: Record<DeliveryMode, number[]>;
}

export async function runDeliveryBench(): Promise<DeliveryResult> {
  const pairs = Object.fromEntries(DELIVERY_MODES.map((m) => [m, new Pair(m)])) as Record<DeliveryMode, Pair>;
  const perSecond: Record<DeliveryMode, number[]> = { durable: [], encrypted: [], unacked: [] };
  const senderMicros: Record<DeliveryMode, number[]> = { durable: [], encrypted: [], unacked: [] };
  const receiverMicros: Record<DeliveryMode, number[]> = { durable: [], encrypted: [], unacked: [] };
  try {
    await Promise.all(DELIVERY_MODES.map((m) => pairs[m].open()));
    const orderOf = (run: number): DeliveryMode[] =>
      DELIVERY_MODES.map((_, i) => DELIVERY_MODES[(run + i) % DELIVERY_MODES.length] as DeliveryMode);
    for (const m of orderOf(0)) await pairs[m].throughput(WARMUP_COUNT);
    for (let run = 0; run < RUNS; run++) {
      for (const m of orderOf(run)) {
        const t = await pairs[m].throughput(COUNT);
        const seconds = m === 'unacked' ? t.seconds : t.deliveredSeconds;
        if (seconds === undefined) throw new Error(`${m}: the sender did not report its receipts`);
        perSecond[m].push(COUNT / seconds);
        senderMicros[m].push(t.senderMicros / COUNT);
        receiverMicros[m].push(t.receiverMicros / COUNT);
      }
    }
  } finally {
    await Promise.all(DELIVERY_MODES.map((m) => pairs[m].stop()));
  }
  return { count: COUNT, textBytes: Buffer.byteLength(TEXT, 'utf8'), perSecond, senderMicros, receiverMicros };
}

export function printDelivery(r: DeliveryResult): void {
  console.log(
    `delivery: ${fmt(r.count)} messages of ${r.textBytes} B one way between two peer processes, each path timed until every message ` +
      `was acknowledged (unacked: until the last one was counted); median of ${r.perSecond.durable.length} runs, paths interleaved`,
  );
  const unacked = median(r.perSecond.unacked);
  console.log(
    table(
      ['path', 'msg/s', 'against unacked', 'sender CPU µs/msg', 'receiver CPU µs/msg', 'every run, msg/s'],
      DELIVERY_MODES.map((m) => [
        LABEL[m],
        fmt(median(r.perSecond[m]), 0),
        `${fmt(median(r.perSecond[m]) / unacked, 2)}x`,
        fmt(median(r.senderMicros[m]), 2),
        fmt(median(r.receiverMicros[m]), 2),
        r.perSecond[m].map((v) => fmt(v, 0)).join(' / '),
      ]),
    ),
  );
  const perRun = r.perSecond.durable.map((v, i) => v / (r.perSecond.unacked[i] as number));
  console.log(`acked on disk / unacked, run by run: ${perRun.map((v) => `${fmt(v, 2)}x`).join(' / ')}`);
}

if (import.meta.main) printDelivery(await runDeliveryBench());
