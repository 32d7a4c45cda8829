/**
 * bench/reach: what reaching a peer through the directory costs.
 *
 *   1. relayed against direct: the same two PeerNodes (one process each,
 *      bench/chat-peer-proc.ts), once with a direct connection and once
 *      through a `natter directory` process's relay, on loopback, measured
 *      in the same run: throughput of 100-byte messages (until every receipt
 *      is in) and round trips. Target: relayed throughput >= 0.5 x direct.
 *   2. the directory's cost of relaying: its CPU per relayed megabyte
 *      (/proc, around the relayed throughput runs; bytes from its DUMP
 *      counters), and its memory per relayed link (RSS with LINKS idle
 *      links joined, against none).
 *   3. connect to connected, per path, with real NATs in network namespaces
 *      (test/helpers/netns.ts; needs root, else skipped with the reason):
 *      direct (a peer on the public side), punched (NATs that keep source
 *      ports) and relayed (NATs that pick random ports: the whole fallback,
 *      direct given up after 1.5 s, punching after its 1.5 s, then the
 *      relay). Targets: the fallback to the relay within 5 s; a hole punch
 *      within 1 s of the directory's signal (the peer logs both instants).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DirectoryClient } from '../src/discovery/directory-client.ts';
import { openRelay, type RelayedStream } from '../src/discovery/rendezvous.ts';
import { keyPairFromSeed } from '../src/transport/secure.ts';
import { loadIdentity } from '../src/transport/identity.ts';
import { ChatProc } from '../test/helpers/chat-proc.ts';
import { BIN, NatterProcess } from '../test/helpers/cli.ts';
import { Lab, twoHomes } from '../test/helpers/netns.ts';
import { tempDir } from '../test/helpers/tmp.ts';
import { Pair } from './chat.ts';
import { REACH_MODES } from './chat-ipc.ts';
import { fmt, median, percentile, table } from './harness.ts';
import { createHash } from 'node:crypto';

const COUNT = 20_000;
const WARMUP_COUNT = 5_000;
const ROUNDS = 1_000;
const RUNS = 3;
/** Idle relayed links opened to measure the directory's memory per link. */
const LINKS = 200;
const TARGET_RELAYED_THROUGHPUT = 0.5;
const TARGET_FALLBACK_MS = 5_000;
const TARGET_PUNCH_MS = 1_000;

type Mode = (typeof REACH_MODES)[number];

export interface ReachResult {
  perSecond: Record<Mode, number>;
  rttMedianMicros: Record<Mode, number>;
  rttP99Micros: Record<Mode, number>;
  directoryCpuMicrosPerMB: number;
  directoryRssBytesPerLink: number;
  paths: { direct?: number; punched?: number; relay?: number; punchAfterSignalMs?: number; skipped?: string };
}

/** CPU µs (user + system) a process has used, from /proc. */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / 100) * 1e6; // USER_HZ is 100 on Linux
}

function rssBytes(pid: number): number {
  const line =
    readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:')) ?? '';
  return Number(line.replace(/\D+/g, '')) * 1024;
}

/** A `natter directory` on loopback with caps high enough for the bench, and an admin client for its DUMP. */
async function startDirectory(): Promise<{ proc: NatterProcess; port: number; relayedBytes(): Promise<number>; stop(): Promise<void> }> {
  const identity = join(tempDir('bench-reach'), 'identity.json');
  const proc = new NatterProcess([
    'directory',
    '--port',
    '0',
    '--identity',
    identity,
    '--new-identity',
    '--log-level',
    'silent',
    '--relay-rate',
    '1000000000',
    '--relay-max-links',
    '10000',
    '--relay-max-per-client',
    '10000',
    '--max-per-ip',
    '100000',
  ]);
  const match = await proc.waitFor(/listening on \S+:(\d+)/);
  const port = Number(match[1]);
  const admin = keyPairFromSeed(loadIdentity(identity).seed);
  return {
    proc,
    port,
    async relayedBytes() {
      const c = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: admin });
      const state = (await c.dump()) as { counters: { relayedBytes: number } };
      await c.close();
      return state.counters.relayedBytes;
    },
    async stop() {
      proc.kill('SIGTERM');
      await proc.exited;
    },
  };
}

/** The directory's RSS growth per relayed link: LINKS links between two registered clients, idle. */
async function memoryPerLink(dir: { proc: NatterProcess; port: number }): Promise<number> {
  const pid = dir.proc.child.pid as number;
  const keys = ['m1', 'm2'].map((n) => keyPairFromSeed(createHash('sha256').update(`natter bench reach ${n}`).digest()));
  const clients = await Promise.all(
    keys.map(async (keyPair, i) => {
      const c = await DirectoryClient.connect({ host: '127.0.0.1', port: dir.port, keyPair });
      await c.register(`m${i + 1}`);
      return c;
    }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const before = rssBytes(pid);
  const streams: RelayedStream[] = [];
  for (let i = 0; i < LINKS; i++) {
    const first = openRelay({ host: '127.0.0.1', port: dir.port, keyPair: keys[0] as ReturnType<typeof keyPairFromSeed> }, 'm2', 5_000);
    await new Promise((r) => setTimeout(r, 2));
    const second = openRelay({ host: '127.0.0.1', port: dir.port, keyPair: keys[1] as ReturnType<typeof keyPairFromSeed> }, 'm1', 5_000);
    streams.push(await first, await second);
  }
  await new Promise((r) => setTimeout(r, 500));
  const after = rssBytes(pid);
  for (const s of streams) s.stream.destroy();
  await Promise.all(clients.map((c) => c.close()));
  return (after - before) / LINKS;
}

/** Milliseconds from a send to the 'connected' event, for a peer in `from` sending to one in `to`. */
async function timeToConnected(
  lab: Lab,
  from: string,
  to: string,
  directory: string,
): Promise<{ ms: number; link: string; punchAfterSignalMs?: number }> {
  const inside = (ns: string) => ['ip', 'netns', 'exec', ns, process.execPath, BIN];
  const common = ['--directory', directory, '--auto-accept', '--log-level', 'debug'];
  const bob = new ChatProc(['--name', 'bob', ...common], {}, inside(to));
  const alice = new ChatProc(['--name', 'alice', ...common], {}, inside(from));
  try {
    await bob.next('ready', () => true, 15_000);
    await alice.next('ready', () => true, 15_000);
    const sent = Date.now();
    alice.send({ cmd: 'send', to: 'bob', text: 'hello' });
    const connected = await alice.next('connected', () => true, 15_000);
    const ms = Date.now() - sent;
    const punch = alice.proc.stderr.split('\n').find((l) => l.includes('"msg":"punched"'));
    const punchAfterSignalMs = punch === undefined ? undefined : (JSON.parse(punch) as { afterSignalMs: number }).afterSignalMs;
    void lab;
    return { ms, link: String(connected.link), ...(punchAfterSignalMs === undefined ? {} : { punchAfterSignalMs }) };
  } finally {
    alice.kill('SIGKILL');
    bob.kill('SIGKILL');
    await Promise.all([alice.exit(), bob.exit()]);
  }
}

async function pathTimes(): Promise<ReachResult['paths']> {
  const why = Lab.unavailable();
  if (why !== undefined) return { skipped: why };
  const out: ReachResult['paths'] = {};
  for (const isRandomPorts of [false, true]) {
    const lab = new Lab();
    try {
      const net = twoHomes(lab, { isRandomPorts });
      const identity = join(tempDir('bench-reach'), 'identity.json');
      const dir = new NatterProcess(
        ['directory', '--host', '203.0.113.10', '--port', '7447', '--identity', identity, '--new-identity', '--log-level', 'silent'],
        {
          command: ['ip', 'netns', 'exec', net.pub, process.execPath, BIN],
        },
      );
      await dir.waitFor(/listening on/);
      try {
        if (!isRandomPorts) {
          const direct = await timeToConnected(lab, net.a.host, net.pub, '203.0.113.10:7447');
          if (direct.link === 'direct') out.direct = direct.ms;
          const punched = await timeToConnected(lab, net.a.host, net.b.host, '203.0.113.10:7447');
          if (punched.link === 'punched') {
            out.punched = punched.ms;
            if (punched.punchAfterSignalMs !== undefined) out.punchAfterSignalMs = punched.punchAfterSignalMs;
          }
        } else {
          const relay = await timeToConnected(lab, net.a.host, net.b.host, '203.0.113.10:7447');
          if (relay.link === 'relay') out.relay = relay.ms;
        }
      } finally {
        dir.kill('SIGKILL');
        await dir.exited;
      }
    } finally {
      lab.destroy();
    }
  }
  return out;
}

export async function runReachBench(): Promise<ReachResult> {
  const dir = await startDirectory();
  // A child that dies ends this process from its exit handler, past any finally: the directory goes with it.
  const killDirectory = (): void => void dir.proc.kill('SIGKILL');
  process.once('exit', killDirectory);
  process.env.NATTER_BENCH_DIRECTORY = `127.0.0.1:${dir.port}`;
  const pairs = Object.fromEntries(REACH_MODES.map((m) => [m, new Pair(m)])) as Record<Mode, Pair>;
  const perSecond: Record<Mode, number[]> = { encrypted: [], relayed: [] };
  const rttMedian: Record<Mode, number[]> = { encrypted: [], relayed: [] };
  const rttP99: Record<Mode, number[]> = { encrypted: [], relayed: [] };
  let relayCpu = 0;
  let relayBytes = 0;
  try {
    for (const m of REACH_MODES) await pairs[m].open();
    for (const m of REACH_MODES) await pairs[m].throughput(WARMUP_COUNT);
    const pid = dir.proc.child.pid as number;
    for (let run = 0; run < RUNS; run++) {
      for (const m of run % 2 === 0 ? REACH_MODES : [...REACH_MODES].reverse()) {
        const cpu0 = cpuMicros(pid);
        const bytes0 = m === 'relayed' ? await dir.relayedBytes() : 0;
        const t = await pairs[m].throughput(COUNT);
        if (m === 'relayed') {
          relayCpu += cpuMicros(pid) - cpu0;
          relayBytes += (await dir.relayedBytes()) - bytes0;
        }
        perSecond[m].push(COUNT / (t.deliveredSeconds ?? t.seconds));
      }
    }
    for (const m of REACH_MODES) await pairs[m].echo();
    for (let run = 0; run < RUNS; run++) {
      for (const m of REACH_MODES) {
        const { latenciesMicros } = await pairs[m].roundTrips(ROUNDS);
        rttMedian[m].push(median(latenciesMicros));
        rttP99[m].push(percentile(latenciesMicros, 99));
      }
    }
  } finally {
    for (const m of REACH_MODES) await pairs[m].stop().catch(() => {});
  }
  const perLink = await memoryPerLink(dir);
  await dir.stop();
  process.off('exit', killDirectory);
  const paths = await pathTimes();
  const med = (r: Record<Mode, number[]>): Record<Mode, number> => ({ encrypted: median(r.encrypted), relayed: median(r.relayed) });
  return {
    perSecond: med(perSecond),
    rttMedianMicros: med(rttMedian),
    rttP99Micros: med(rttP99),
    directoryCpuMicrosPerMB: relayBytes === 0 ? 0 : relayCpu / (relayBytes / 1_048_576),
    directoryRssBytesPerLink: perLink,
    paths,
  };
}

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

export function printReach(r: ReachResult): void {
  console.log('reach: relayed through a natter directory against a direct connection (two PeerNodes, one process each, loopback)');
  const ratio = r.perSecond.relayed / r.perSecond.encrypted;
  console.log(
    table(
      ['path', 'msg/s (acked)', 'round trip median µs', 'p99 µs'],
      REACH_MODES.map((m) => [
        m === 'encrypted' ? 'direct' : 'relayed',
        fmt(r.perSecond[m]),
        fmt(r.rttMedianMicros[m]),
        fmt(r.rttP99Micros[m]),
      ]),
    ),
  );
  console.log(
    `  relayed / direct throughput: ${ratio.toFixed(2)}x (target >= ${TARGET_RELAYED_THROUGHPUT}x: ${verdict(ratio >= TARGET_RELAYED_THROUGHPUT)})`,
  );
  console.log(`  relayed / direct round trip median: ${(r.rttMedianMicros.relayed / r.rttMedianMicros.encrypted).toFixed(2)}x`);
  console.log(
    `  directory CPU per relayed MB: ${fmt(r.directoryCpuMicrosPerMB / 1000, 1)} ms; memory per relayed link (idle): ${fmt(r.directoryRssBytesPerLink / 1024, 1)} KiB (${LINKS} links)`,
  );
  const p = r.paths;
  if (p.skipped !== undefined) {
    console.log(`  connect to connected per path: skipped (${p.skipped})`);
    return;
  }
  console.log('  connect to connected, real NATs in network namespaces:');
  console.log(
    `    direct ${p.direct === undefined ? '-' : `${fmt(p.direct)} ms`}; punched ${p.punched === undefined ? '-' : `${fmt(p.punched)} ms`} (direct given up after 1.5 s first); relayed ${p.relay === undefined ? '-' : `${fmt(p.relay)} ms`} (the whole fallback)`,
  );
  console.log(
    `    fallback to the relay: ${p.relay === undefined ? 'not measured' : `${fmt(p.relay)} ms (target < ${TARGET_FALLBACK_MS} ms: ${verdict(p.relay < TARGET_FALLBACK_MS)})`}`,
  );
  console.log(
    `    hole punch after the directory's signal: ${p.punchAfterSignalMs === undefined ? 'not measured' : `${fmt(p.punchAfterSignalMs)} ms (target < ${TARGET_PUNCH_MS} ms: ${verdict(p.punchAfterSignalMs < TARGET_PUNCH_MS)})`}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printReach(await runReachBench());
