/**
 * `natter doctor`: can this machine chat, and how will peers reach it?
 * Asks a directory (protocol.md §6.7) where it sees us come from and whether
 * it can dial back a port we listen on; looks at the LAN; and says what it
 * found in words, with what to do about each problem (docs/chat.md,
 * "Reaching peers").
 */
import { networkInterfaces } from 'node:os';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { canonicalIp } from '../protocol/fields.ts';
import { fingerprint } from '../transport/identity.ts';
import type { KeyPair } from '../transport/secure.ts';
import { acceptSecure } from '../transport/tcp.ts';
import type { Logger } from '../log.ts';
import { DirectoryClient, type ProbeResult } from './directory-client.ts';
import { LanDiscovery } from './lan.ts';

/** What the doctor found; the JSON form of `natter doctor --json`. */
export interface DoctorReport {
  directory: {
    address: string;
    reachable: boolean;
    fingerprint?: string;
    /** pinned: the key pinned for this address; new: none was pinned (the first connection pins it); changed: another key was pinned. */
    pin?: 'pinned' | 'new' | 'changed';
    rttMs?: number;
    /** Why it is not reachable. */
    error?: string;
  };
  /** The address the directory sees us at ('' when unknown). */
  publicIp: string;
  /** True when that address is none of this machine's own. */
  behindNat: boolean;
  /** This machine's own addresses (not loopback). */
  localIps: string[];
  inbound: { port: number; reachable: boolean; detail?: string };
  /** error: why LAN discovery could not run here. */
  lan: { enabled: boolean; peers: number; error?: string };
  relay: { available: boolean };
  /** True when everything needed to chat works: a directory answers, and peers can reach us (directly or through its relay). */
  ok: boolean;
  /** One line per finding, for people, with a hint for each problem. */
  lines: string[];
}

export interface DoctorOptions {
  host: string;
  port: number;
  keyPair: KeyPair;
  /** The key pinned for this directory, if any. */
  pinned?: Buffer | undefined;
  /** Port to listen on for the dial-back (0: any free one). */
  listenPort?: number;
  /**
   * How many peers LAN discovery sees, or undefined when it is off. Called at
   * once: it looks at the LAN while the directory is asked.
   */
  lanPeers?: () => Promise<number>;
  timeoutMs?: number;
}

/**
 * How many natter peers answer on the LAN within `waitMs`, looking without
 * announcing anything (LanDiscovery.browse()).
 */
export async function countLanPeers(o: { publicKey: Buffer; waitMs: number; logger?: Logger }): Promise<number> {
  const lan = new LanDiscovery({ name: 'doctor', publicKey: o.publicKey, ...(o.logger === undefined ? {} : { logger: o.logger }) });
  try {
    await lan.browse();
    await new Promise((resolve) => setTimeout(resolve, o.waitMs));
    return (await lan.list()).length;
  } finally {
    await lan.stop();
  }
}

/** This machine's own IP addresses, loopback left out. */
export function localAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal) out.push(canonicalIp(a.address));
  }
  return out;
}

/** A listener that completes the handshake with our key (what the dial-back checks), then lets go. */
async function listenForProbe(port: number, keyPair: KeyPair): Promise<Server> {
  const server = createServer((socket) => {
    acceptSecure(socket, keyPair, 5_000).then(
      (stream) => stream.destroy(),
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new NatterError(ERROR_CODES.LISTEN_FAILED, `cannot listen on port ${port}: ${err.message}`, { cause: err })),
    );
    server.listen(port, resolve);
  });
  return server;
}

export async function runDoctor(o: DoctorOptions): Promise<DoctorReport> {
  const address = `${o.host}:${o.port}`;
  const lines: string[] = [];
  const localIps = localAddresses();
  const report: DoctorReport = {
    directory: { address, reachable: false },
    publicIp: '',
    behindNat: false,
    localIps,
    inbound: { port: 0, reachable: false },
    lan: { enabled: o.lanPeers !== undefined, peers: 0 },
    relay: { available: false },
    ok: false,
    lines,
  };
  // Settled here, read at the end: a failure is a finding, never an unhandled rejection.
  const lanCount = o.lanPeers?.().then(
    (peers) => ({ peers }),
    (err: unknown) => ({ error: err as Error }),
  );
  let client: DirectoryClient | undefined;
  let server: Server | undefined;
  try {
    try {
      client = await DirectoryClient.connect({ host: o.host, port: o.port, keyPair: o.keyPair, timeoutMs: o.timeoutMs ?? 5_000 });
    } catch (err) {
      report.directory.error = (err as Error).message;
      lines.push(
        `! directory ${address}: not reachable (${report.directory.error}). Check the address, and that a natter directory runs there; without one, peers can still meet with --friends or on the LAN.`,
      );
    }
    if (client !== undefined) {
      const key = client.directoryKey as Buffer;
      report.directory.reachable = true;
      report.directory.fingerprint = fingerprint(key);
      report.directory.pin = o.pinned === undefined ? 'new' : o.pinned.equals(key) ? 'pinned' : 'changed';
      // ALIVE before UP costs the directory nothing and is answered at once (NACK): a round trip.
      const sent = performance.now();
      await client.alive();
      report.directory.rttMs = Math.round((performance.now() - sent) * 10) / 10;
      const pinNote =
        report.directory.pin === 'pinned'
          ? 'the key pinned for it'
          : report.directory.pin === 'new'
            ? 'not pinned yet: natter chat pins it at first use'
            : 'NOT the key pinned for it: compare fingerprints with its operator; natter chat refuses it until --trust-directory';
      lines.push(
        `${report.directory.pin === 'changed' ? '!' : '*'} directory ${address}: reachable, round trip ${report.directory.rttMs} ms, key ${report.directory.fingerprint} (${pinNote})`,
      );
      server = await listenForProbe(o.listenPort ?? 0, o.keyPair);
      const port = (server.address() as AddressInfo).port;
      report.inbound.port = port;
      let probe: ProbeResult | undefined;
      for (let attempt = 0; probe === undefined && attempt < 2; attempt++) {
        try {
          probe = await client.probe(port);
        } catch (err) {
          // One probe a second per address: another one (a doctor, a peer) may just have asked.
          if (attempt === 0 && isNatterError(err, ERROR_CODES.RATE_LIMITED)) {
            await new Promise((resolve) => setTimeout(resolve, 1_100));
            continue;
          }
          report.inbound.detail = (err as Error).message;
          lines.push(`! the directory would not check whether this machine can be reached: ${(err as Error).message}`);
          break;
        }
      }
      if (probe !== undefined) {
        report.publicIp = probe.seenIp;
        report.behindNat = probe.seenIp !== '' && !localIps.includes(probe.seenIp) && !isLoopback(probe.seenIp);
        report.inbound.reachable = probe.isReachable;
        if (!probe.isReachable) report.inbound.detail = probe.detail;
        report.relay.available = probe.isRelaying;
        lines.push(
          report.behindNat
            ? `* the directory sees this machine at ${probe.seenIp}, which is not one of its own addresses (${localIps.join(', ') || 'none'}): it is behind a NAT`
            : `* the directory sees this machine at ${probe.seenIp}, one of its own addresses: no NAT in between`,
        );
        lines.push(
          probe.isReachable
            ? `* port ${port} here can be reached from the directory: peers can dial this machine directly`
            : `! port ${port} here cannot be reached from outside (${probe.detail}): peers will reach you by hole punching${probe.isRelaying ? ' or through the relay' : ''}${report.behindNat ? '; forwarding a port on your router would let them dial you directly' : ''}`,
        );
        lines.push(
          probe.isRelaying
            ? '* the directory relays for peers that cannot reach each other any other way'
            : `${probe.isReachable ? '*' : '!'} the directory does not relay${probe.isReachable ? '' : ': a peer that cannot punch through to you cannot reach you'}`,
        );
      }
    }
    const lan = await lanCount;
    if (lan !== undefined && 'error' in lan) {
      report.lan.error = lan.error.message;
      lines.push(
        `! LAN discovery does not work here (${lan.error.message}): peers on this network can still meet through a directory or --friends`,
      );
    } else if (lan !== undefined) {
      report.lan.peers = lan.peers;
      lines.push(`* LAN discovery: works, ${lan.peers === 1 ? '1 peer' : `${lan.peers} peers`} seen on this network`);
    } else {
      lines.push('* LAN discovery: off');
    }
    report.ok = report.directory.reachable && report.directory.pin !== 'changed' && (report.inbound.reachable || report.relay.available);
    lines.push(report.ok ? '=> everything needed to chat works' : '=> something needed to chat does not work: see the lines marked !');
    return report;
  } finally {
    await client?.close();
    if (server !== undefined) await new Promise<void>((resolve) => (server as Server).close(() => resolve()));
  }
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}
