/**
 * Where peers are, asked of the discovery, and which names any source has
 * ever known: a message to a name no source has seen may be a typo, and
 * the user is told so (docs/chat.md, "Nothing lost").
 */
import type { Discovery, PeerInfo } from '../discovery/discovery.ts';
import type { KnownPeers } from './known-peers.ts';

/** Names remembered as seen; past this many the memory starts over (it only feeds a hint). */
const MAX_SEEN_NAMES = 10_000;

export class Sightings {
  readonly #discovery: Discovery;
  readonly #known: KnownPeers;
  /** Names the discovery has listed during this run. */
  readonly #seen = new Set<string>();

  constructor(discovery: Discovery, known: KnownPeers) {
    this.#discovery = discovery;
    this.#known = known;
  }

  /** Asks the discovery where `name` is, remembering that it was seen. */
  async lookup(name: string): Promise<PeerInfo | undefined> {
    const info = await this.#discovery.lookup(name);
    if (info !== undefined && !this.#seen.has(name)) {
      if (this.#seen.size >= MAX_SEEN_NAMES) this.#seen.clear();
      this.#seen.add(name);
    }
    return info;
  }

  /** lookup(), with a failing discovery answering undefined. */
  async lookupQuietly(name: string): Promise<PeerInfo | undefined> {
    try {
      return await this.lookup(name);
    } catch {
      return undefined;
    }
  }

  /** True when no source has ever known `name`: not listed this run, no key pinned for it, and not in the discovery's memory. */
  isNeverSeen(name: string): boolean {
    return !this.#seen.has(name) && this.#known.peer(name) === undefined && this.#discovery.hasSeen?.(name) !== true;
  }
}
