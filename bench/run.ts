/** `npm run bench`: every benchmark, each printed beside its same-run baseline, then every target with its verdict. */
import {
  printChat,
  runChatBench,
  TARGET_ENC_PLAIN_THROUGHPUT_RATIO,
  TARGET_ENC_RAW_MEDIAN_RATIO,
  TARGET_ENC_RAW_P99_RATIO,
  TARGET_FRAMING_PLAIN_MEDIAN_RATIO,
  TARGET_FRAMING_PLAIN_P99_RATIO,
  TARGET_FRAMING_PLAIN_THROUGHPUT_RATIO,
} from './chat.ts';
import { printCodec, runCodecBench } from './codec.ts';
import { printDelivery, runDeliveryBench } from './delivery.ts';
import { runDirectoryBench } from './directory.ts';
import { TARGET_ALIVE_CPU_RATIO, TARGET_BYTES_PER_CLIENT, TARGET_WHO_P99_MS } from './directory-plan.ts';
import { printDirectory } from './directory-print.ts';
import { printRedisBench, runRedisBench } from './directory-redis.ts';
import { printHandshake, runHandshakeBench } from './handshake.ts';
import { printHandshakeCrypto, runHandshakeCryptoBench } from './handshake-crypto.ts';
import { median } from './harness.ts';
import { printReach, runReachBench } from './reach.ts';
import { printRooms, runRoomsBench, TARGET_CATCH_UP_SECONDS, TARGET_FANOUT_RATIO, type RoomsResult } from './rooms.ts';
import { printTui, runTuiBench } from './tui.ts';
import { printTargets, ratioRow, valueRow } from './targets.ts';

/** Targets against the handshake's own cryptography, measured in the same run. */
const TARGET_CRYPTO_MULTIPLE = 2;
const TARGET_ACKED_ON_DISK_RATIO = 0.5;
const TARGET_HANDSHAKE_SETUP_RATIO = 2.5;
/** What the disk alone may cost: acknowledged delivery on disk against the same in memory. */
const TARGET_DISK_MEMORY_RATIO = 0.5;

console.log(`natter benchmarks on Node ${process.version}, ${new Date().toISOString()}\n`);
printCodec(runCodecBench());
console.log('');
const chat = await runChatBench();
printChat(chat);
console.log('');
const delivery = await runDeliveryBench();
printDelivery(delivery);
console.log('');
const cryptoBeforeHandshake = await runHandshakeCryptoBench();
printHandshakeCrypto(cryptoBeforeHandshake);
console.log('');
const handshake = await runHandshakeBench();
printHandshake(handshake);
console.log('');
const cryptoBeforeDirectory = await runHandshakeCryptoBench();
printHandshakeCrypto(cryptoBeforeDirectory);
console.log('');
const directory = await runDirectoryBench();
printDirectory(directory);
console.log('');
printRedisBench(await runRedisBench());
console.log('');
printReach(await runReachBench());
console.log('');
printTui(await runTuiBench());
console.log('');
const rooms = await runRoomsBench();
printRooms(rooms);

const { encrypted: e, unacked: f, plaintext: p, baseline: raw } = chat.sides;
const top = directory.find((r) => r.n === Math.max(...directory.map((d) => d.n)));
if (top === undefined) throw new Error('bench/directory gave no results');
const n = top.n;
const heartbeat = top.natter.heartbeat;
const bareHeartbeat = top.baseline.heartbeat;
const plainHeartbeat = top.plain.heartbeat;
if (heartbeat === undefined || bareHeartbeat === undefined || plainHeartbeat === undefined)
  throw new Error('bench/directory measured no heartbeats');
const perRegistration = (cpuSeconds: number): number => (cpuSeconds * 1e6) / n;
printTargets([
  ratioRow(
    'chat throughput, the encryption alone: encrypted / plaintext framing',
    f.perSecond,
    p.perSecond,
    'msg/s',
    0,
    'min',
    TARGET_FRAMING_PLAIN_THROUGHPUT_RATIO,
  ),
  ratioRow(
    'chat round trip median, the encryption alone: encrypted / plaintext framing',
    f.medianMicros,
    p.medianMicros,
    'µs',
    1,
    'max',
    TARGET_FRAMING_PLAIN_MEDIAN_RATIO,
  ),
  ratioRow(
    'chat round trip p99, the encryption alone: encrypted / plaintext framing',
    f.p99Micros,
    p.p99Micros,
    'µs',
    1,
    'max',
    TARGET_FRAMING_PLAIN_P99_RATIO,
  ),
  ratioRow(
    'chat throughput, PeerNodes / plaintext framing (100 B)',
    e.perSecond,
    p.perSecond,
    'msg/s',
    0,
    'min',
    TARGET_ENC_PLAIN_THROUGHPUT_RATIO,
  ),
  ratioRow('chat round trip median, PeerNodes / raw TCP', e.medianMicros, raw.medianMicros, 'µs', 1, 'max', TARGET_ENC_RAW_MEDIAN_RATIO),
  ratioRow('chat round trip p99, PeerNodes / raw TCP', e.p99Micros, raw.p99Micros, 'µs', 1, 'max', TARGET_ENC_RAW_P99_RATIO),
  ratioRow(
    'connection set-up median, encrypted / plaintext',
    handshake.encrypted.medianMicros,
    handshake.plaintext.medianMicros,
    'µs',
    1,
    'max',
    TARGET_HANDSHAKE_SETUP_RATIO,
  ),
  ratioRow(
    'listener CPU per connection (with close) / handshake cryptography',
    handshake.encrypted.listenerCpuMicrosPerConn,
    cryptoBeforeHandshake.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  // What the encryption adds, against the cryptography it cannot do without: a connection's plaintext
  // work (accept, HELLO, close) is already more than the 2x the rows above allow on this machine.
  ratioRow(
    'connection set-up the encryption adds / the handshake cryptography of both sides',
    handshake.encrypted.medianMicros - handshake.plaintext.medianMicros,
    2 * cryptoBeforeHandshake.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    'connection set-up the encryption adds beyond the one more exchange its handshake needs / the cryptography of both sides',
    handshake.encrypted.medianMicros - handshake.exchange.medianMicros,
    2 * cryptoBeforeHandshake.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    'listener CPU the encryption adds per connection / handshake cryptography',
    handshake.encrypted.listenerCpuMicrosPerConn - handshake.plaintext.listenerCpuMicrosPerConn,
    cryptoBeforeHandshake.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    'listener CPU the encryption adds beyond the one more exchange its handshake needs / handshake cryptography',
    handshake.encrypted.listenerCpuMicrosPerConn - handshake.exchange.listenerCpuMicrosPerConn,
    cryptoBeforeHandshake.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    `directory CPU per encrypted registration (${n.toLocaleString('en-US')}-client storm) / handshake cryptography`,
    perRegistration(top.natter.storm.cpuSeconds),
    cryptoBeforeDirectory.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    'directory CPU the encryption adds per registration (encrypted − the same over plaintext) / handshake cryptography',
    perRegistration(top.natter.storm.cpuSeconds) - perRegistration(top.plain.storm.cpuSeconds),
    cryptoBeforeDirectory.cryptoMicros,
    'µs',
    1,
    'max',
    TARGET_CRYPTO_MULTIPLE,
  ),
  ratioRow(
    'directory CPU per ALIVE, encrypted / bare server',
    heartbeat.microsPerBeat,
    bareHeartbeat.microsPerBeat,
    'µs',
    1,
    'max',
    TARGET_ALIVE_CPU_RATIO,
  ),
  ratioRow(
    'directory CPU per ALIVE, the encryption alone: encrypted / the same directory over plaintext',
    heartbeat.microsPerBeat,
    plainHeartbeat.microsPerBeat,
    'µs',
    1,
    'max',
    TARGET_ALIVE_CPU_RATIO,
  ),
  valueRow(
    'directory RSS per idle encrypted client',
    top.natter.idle.bytesPerClient,
    'B',
    0,
    TARGET_BYTES_PER_CLIENT,
    `≤ ${(TARGET_BYTES_PER_CLIENT / 1024).toFixed(0)} KiB`,
  ),
  valueRow(`WHO of ${n.toLocaleString('en-US')} peers, p99`, top.natter.who.p99Ms, 'ms', 2, TARGET_WHO_P99_MS),
  ratioRow(
    'acknowledged delivery on disk / unacknowledged',
    median(delivery.perSecond.durable),
    median(delivery.perSecond.unacked),
    'msg/s',
    0,
    'min',
    TARGET_ACKED_ON_DISK_RATIO,
  ),
  ratioRow(
    'acknowledged delivery, the disk alone: on disk / in memory',
    median(delivery.perSecond.durable),
    median(delivery.perSecond.encrypted),
    'msg/s',
    0,
    'min',
    TARGET_DISK_MEMORY_RATIO,
  ),
  ...roomTargets(rooms),
]);

/** Rooms: a message to 16 members against sixteen one-to-one sends (the author's CPU, and the wall time), and a catch-up of 10,000. */
function roomTargets(r: RoomsResult): ReturnType<typeof ratioRow>[] {
  const at16 = r.rows.find((row) => row.members === 16);
  if (at16 === undefined) throw new Error('bench/rooms measured no room of 16');
  return [
    ratioRow(
      'room message to 16 members, author CPU / 16 one-to-one sends',
      at16.room.cpuMicros / r.count,
      at16.direct.cpuMicros / r.count,
      'µs',
      1,
      'max',
      TARGET_FANOUT_RATIO,
    ),
    ratioRow(
      'room message to 16 members, wall time / 16 one-to-one sends',
      at16.room.seconds,
      at16.direct.seconds,
      's',
      2,
      'max',
      TARGET_FANOUT_RATIO,
    ),
    valueRow('room catch-up of 10,000 messages from another member', r.catchUp.fromMember, 's', 2, TARGET_CATCH_UP_SECONDS),
  ];
}
