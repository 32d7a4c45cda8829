/**
 * The LAN side of `natter chat` (docs/chat.md, "On the LAN"): the peer's main
 * way of finding peers merged with LAN discovery when it is on, and whether
 * LAN discovery can run where the peer listens, and on which interface.
 * Announcing an address other machines cannot reach would only mislead them.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { LanDiscovery, type LanTimings } from '../discovery/lan.ts';
import { MergedDiscovery, type DiscoverySource } from '../discovery/merged.ts';
import { NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface LanWiringOptions {
  name: string;
  publicKey: Buffer;
  /** Where the peer listens. */
  listenHost: string;
  timings?: Partial<LanTimings>;
  logger: Logger;
}

/** The ways of finding peers once the LAN has started (or could not). */
export interface Found {
  lan: LanDiscovery | undefined;
  /** What the user should hear about the LAN. */
  notices: string[];
  /** What to add to the ready line's `via`. */
  via: string;
}

/**
 * `main` as a MergedDiscovery, followed by the LAN when `lan` is given (the
 * LAN is on): the discovery to give the PeerNode now, and start(port) to
 * call once the node listens on `port`.
 */
export function findPeers(
  main: DiscoverySource,
  lan: LanWiringOptions | undefined,
): { discovery: MergedDiscovery; start(port: number): Promise<Found> } {
  const plan = lan === undefined ? undefined : lanFor(lan);
  const sources: DiscoverySource[] = [main];
  if (plan !== undefined && 'lan' in plan) sources.push({ source: 'lan', discovery: plan.lan });
  return {
    discovery: new MergedDiscovery(sources),
    async start(port) {
      if (plan === undefined) return { lan: undefined, notices: [], via: '' };
      if ('notice' in plan) return { lan: undefined, notices: [plan.notice], via: '' };
      try {
        await plan.lan.start(port);
        return { lan: plan.lan, notices: [], via: ' and the LAN (mDNS)' };
      } catch (err) {
        // The other ways of finding peers still work: a LAN that cannot start is a notice, not a failure.
        if (!(err instanceof NatterError)) throw err;
        return { lan: undefined, notices: [`LAN discovery is off: ${err.message}`], via: '' };
      }
    },
  };
}

/**
 * A LanDiscovery for a peer listening on `listenHost`: on every interface
 * when it listens on all of them, else on the one it listens on; or why
 * there can be none (a notice for the user).
 */
export function lanFor(o: LanWiringOptions): { lan: LanDiscovery } | { notice: string } {
  const host = o.listenHost;
  const common = { name: o.name, publicKey: o.publicKey, logger: o.logger, ...(o.timings === undefined ? {} : { timings: o.timings }) };
  if (host === '0.0.0.0' || host === '::') return { lan: new LanDiscovery(common) };
  if (isIPv4(host) && !host.startsWith('127.')) return { lan: new LanDiscovery({ ...common, interface: host }) };
  if (isIPv4(host) || host === '::1') {
    return {
      notice: `LAN discovery is off: this peer listens on ${host} only, which other machines cannot reach (--listen 0.0.0.0 opens it to the LAN)`,
    };
  }
  if (isIPv6(host)) return { notice: `LAN discovery is off: it announces IPv4 addresses only, and this peer listens on ${host}` };
  return { notice: `LAN discovery is off: ${host} is not an address it can announce` };
}
