/**
 * Several ways of finding peers at once (a directory and the LAN, say), as
 * one Discovery. The sources are asked in the order given, and the first
 * that knows a name answers for it: natter gives them as friends table,
 * then directory (or the local rendezvous), then LAN, so what the user fixed
 * comes before what a server publishes, and that before what anyone on the
 * LAN may announce. Every answer carries its source, so the KeyBook holds
 * its key by that source's rules (SOURCE_AUTHORITY) and /who can show it.
 */
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SOURCE_AUTHORITY, type Discovery, type KeyAuthority, type PeerInfo, type PeerSource } from './discovery.ts';

export interface DiscoverySource {
  source: PeerSource;
  discovery: Discovery;
}

/** A peer, and which way it was found. */
export type SourcedPeerInfo = PeerInfo & { source: PeerSource };

export class MergedDiscovery implements Discovery {
  /**
   * The rules for a name no source knows. With the LAN among the sources, it
   * may be announced any moment, so such a name is taken on first use, as
   * the LAN's own are; otherwise the first source's rules hold.
   */
  readonly keyAuthority: KeyAuthority;
  readonly sources: readonly DiscoverySource[];

  /** @throws NatterError NATTER_ERR_INVALID_ARGUMENT for no source, or a source labelled with another's rules. */
  constructor(sources: readonly DiscoverySource[]) {
    const [first] = sources;
    if (first === undefined) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'a merged discovery needs at least one source');
    for (const { source, discovery } of sources) {
      // The label decides how keys are held, so it must say what the source is.
      if (SOURCE_AUTHORITY[source] !== discovery.keyAuthority) {
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `a ${discovery.keyAuthority} discovery cannot be the "${source}" source`);
      }
    }
    this.sources = Object.freeze([...sources]);
    this.keyAuthority = sources.some((s) => s.discovery.keyAuthority === 'lan') ? 'lan' : first.discovery.keyAuthority;
  }

  /**
   * The first source's answer for `name`, with its source. A source that
   * fails is passed over; its error is thrown only when no other knows the name.
   */
  async lookup(name: string): Promise<SourcedPeerInfo | undefined> {
    let failure: unknown;
    for (const { source, discovery } of this.sources) {
      try {
        const info = await discovery.lookup(name);
        if (info !== undefined) return { ...info, source };
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    return undefined;
  }

  /**
   * Every peer any source knows, each name once (from the first source that
   * lists it), with its source; sources in order, each in its own order.
   * Rejects only when every source fails (with the first one's error).
   */
  async list(): Promise<SourcedPeerInfo[]> {
    const results = await Promise.allSettled(this.sources.map((s) => s.discovery.list()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined && results.every((r) => r.status === 'rejected')) throw failed.reason;
    const peers: SourcedPeerInfo[] = [];
    const names = new Set<string>();
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      const { source } = this.sources[i] as DiscoverySource;
      for (const p of r.value) {
        if (names.has(p.name)) continue;
        names.add(p.name);
        peers.push({ ...p, source });
      }
    });
    return peers;
  }

  hasSeen(name: string): boolean {
    return this.sources.some((s) => s.discovery.hasSeen?.(name) === true);
  }

  isFriend(name: string): boolean {
    return this.sources.some((s) => s.discovery.isFriend(name));
  }
}
