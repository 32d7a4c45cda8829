import { IdRing } from './id-ring.ts';

/** The most senders whose received ids are remembered (see ReceivedWindow). */
const MAX_REMEMBERED_PEERS = 1_000;

/**
 * The last `window` ids received from each peer, as raw bytes (IdRing); the
 * oldest are forgotten first. Peers are kept in order of last use.
 */
export class ReceivedWindow {
  /** In order of last use: the peer that sent least recently comes first. */
  readonly #byPeer = new Map<string, IdRing>();
  readonly #window: number;
  #count = 0;
  #lastPeer: string | undefined;
  #last: IdRing | undefined;

  constructor(window: number) {
    this.#window = window;
  }

  /** How many ids are remembered, all peers together. */
  get count(): number {
    return this.#count;
  }

  has(peer: string, id: Uint8Array): boolean {
    return (peer === this.#lastPeer ? this.#last : this.#byPeer.get(peer))?.has(id) ?? false;
  }

  /** Remembers `id` from `peer` (the bytes are copied); false when it was remembered already. */
  add(peer: string, id: Uint8Array): boolean {
    let ring: IdRing | undefined;
    if (peer === this.#lastPeer) {
      ring = this.#last as IdRing;
    } else {
      ring = this.#byPeer.get(peer);
      if (ring === undefined) {
        ring = new IdRing(this.#window);
        this.#byPeer.set(peer, ring);
        this.#forgetQuietPeers();
      } else {
        // Moved to the end: most recently used.
        this.#byPeer.delete(peer);
        this.#byPeer.set(peer, ring);
      }
      this.#lastPeer = peer;
      this.#last = ring;
    }
    const before = ring.size;
    if (!ring.add(id)) return false;
    this.#count += ring.size - before;
    return true;
  }

  /** Forgets `id`, if it is the one added last for `peer` (a record that could not be written). */
  removeNewest(peer: string, id: Uint8Array): void {
    const ring = this.#byPeer.get(peer);
    if (ring?.removeNewest(id) === true) this.#count--;
  }

  /**
   * Memory is bounded by senders too, not only per sender: past
   * MAX_REMEMBERED_PEERS names (strangers with --auto-accept, or a directory
   * of many), the one heard from least recently is forgotten. A copy from it
   * would then be shown again, so the bound is far above any real circle of friends.
   */
  #forgetQuietPeers(): void {
    while (this.#byPeer.size > MAX_REMEMBERED_PEERS) {
      const [oldest, ring] = this.#byPeer.entries().next().value as [string, IdRing];
      if (oldest === this.#lastPeer) this.#lastPeer = this.#last = undefined;
      this.#count -= ring.size;
      this.#byPeer.delete(oldest);
    }
  }

  /** Each peer with its remembered ids, oldest first. */
  *entries(): IterableIterator<[string, Buffer[]]> {
    for (const [peer, ring] of this.#byPeer) yield [peer, ring.toArray()];
  }
}
