/** bench/directory's tables: every figure beside the bare server's, with the targets at N = 10,000. */
import { availableParallelism } from 'node:os';
import {
  ALIVE_INTERVAL_MS,
  type DirectoryResult,
  GENERATORS,
  HEARTBEAT_WINDOW_MS,
  LARGEST,
  STORM_ROUNDS,
  TARGET_ALIVE_CPU_RATIO,
  TARGET_BYTES_PER_CLIENT,
  TARGET_WHO_P99_MS,
  WHO_ROUNDS,
  WHO_WARMUP,
  WINDOW,
} from './directory-plan.ts';
import { fmt, table } from './harness.ts';

const MIB = 1024 * 1024;

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

  printAlone(results);
}

/** natter encrypted against the same directory over plain TCP (the encryption alone), and that against the bare server (the directory alone). */
function printAlone(results: DirectoryResult[]): void {
  console.log(
    '\nthe encryption alone: the natter directory against itself over plain TCP (each socket handed to DirectoryServer.handle() ' +
      'with a key of its own: no handshake, no records), in the same rounds',
  );
  const alone: string[][] = [];
  const line = (label: string, n: number, encrypted: number, plain: number, bare: number, digits: number): string[] => [
    label,
    fmt(n),
    fmt(encrypted, digits),
    fmt(plain, digits),
    fmt(bare, digits),
    `${fmt(encrypted / plain, 2)}x`,
    `${fmt(plain / bare, 2)}x`,
  ];
  for (const { n, natter, plain, baseline } of results) {
    const perRegistration = (f: typeof natter): number => (f.storm.cpuSeconds * 1e6) / n;
    alone.push(line('server CPU per registration, µs', n, perRegistration(natter), perRegistration(plain), perRegistration(baseline), 1));
    if (n !== LARGEST) continue;
    alone.push(
      line('RSS bytes per idle client', n, natter.idle.bytesPerClient, plain.idle.bytesPerClient, baseline.idle.bytesPerClient, 0),
    );
    alone.push(line('WHO p99, ms', n, natter.who.p99Ms, plain.who.p99Ms, baseline.who.p99Ms, 2));
    if (natter.heartbeat !== undefined && plain.heartbeat !== undefined && baseline.heartbeat !== undefined) {
      alone.push(
        line('CPU µs per heartbeat', n, natter.heartbeat.microsPerBeat, plain.heartbeat.microsPerBeat, baseline.heartbeat.microsPerBeat, 1),
        line(
          'of which kernel, µs',
          n,
          natter.heartbeat.systemMicrosPerBeat,
          plain.heartbeat.systemMicrosPerBeat,
          baseline.heartbeat.systemMicrosPerBeat,
          1,
        ),
      );
    }
  }
  const width = Math.max(...alone.map((r) => (r[0] ?? '').length));
  console.log(
    table(
      [''.padEnd(width), 'N', 'encrypted', 'plaintext', 'bare net', 'encryption alone', 'directory alone'],
      alone.map(([label = '', ...rest]) => [label.padEnd(width), ...rest]),
    ),
  );
}
