import { Fifo } from '../fifo.ts';
import type { MessageId } from './message-id.ts';
import type { StoredMessage } from './message-store.ts';

/** The most senders whose received ids are remembered (see ReceivedWindow). */
const MAX_REMEMBERED_PEERS = 1_000;

/**
 * The last `window` ids received from each peer; the oldest are forgotten
 * first. A Set answers "seen?"; a queue beside it knows which is oldest, so
 * forgetting one never scans the Set (taking a Set's first value after many
 * deletions walks over every deleted slot).
 */
export class ReceivedWindow {
  /** In order of last use: the peer that sent least recently comes first. */
  readonly #byPeer = new Map<string, { ids: Set<MessageId>; order: Fifo<MessageId> }>();
  readonly #window: number;
  #count = 0;
  #lastPeer: string | undefined;

  constructor(window: number) {
    this.#window = window;
  }

  /** How many ids are remembered, all peers together. */
  get count(): number {
    return this.#count;
  }

  has(peer: string, id: MessageId): boolean {
    return this.#byPeer.get(peer)?.ids.has(id) ?? false;
  }

  add(peer: string, id: MessageId): void {
    let seen = this.#byPeer.get(peer);
    if (seen === undefined) {
      seen = { ids: new Set(), order: new Fifo() };
      this.#byPeer.set(peer, seen);
      this.#forgetQuietPeers();
    } else if (peer !== this.#lastPeer) {
      // Moved to the end: most recently used.
      this.#byPeer.delete(peer);
      this.#byPeer.set(peer, seen);
    }
    this.#lastPeer = peer;
    if (seen.ids.has(id)) return;
    seen.ids.add(id);
    seen.order.push(id);
    this.#count++;
    if (seen.ids.size > this.#window) {
      seen.ids.delete(seen.order.at(0) as MessageId);
      seen.order.removeAt(0);
      this.#count--;
    }
  }

  /**
   * Memory is bounded by senders too, not only per sender: past
   * MAX_REMEMBERED_PEERS names (strangers with --auto-accept, or a directory
   * of many), the one heard from least recently is forgotten. A copy from it
   * would then be shown again, so the bound is far above any real circle of friends.
   */
  #forgetQuietPeers(): void {
    while (this.#byPeer.size > MAX_REMEMBERED_PEERS) {
      const [oldest, seen] = this.#byPeer.entries().next().value as [string, { ids: Set<MessageId> }];
      this.#count -= seen.ids.size;
      this.#byPeer.delete(oldest);
    }
  }

  /** Each peer with its remembered ids, oldest first. */
  *entries(): IterableIterator<[string, MessageId[]]> {
    for (const [peer, seen] of this.#byPeer) yield [peer, seen.order.toArray()];
  }
}

/** The messages of a received call that are new: not received before from that peer, not repeated in the call. */
export function newToReceived(received: ReceivedWindow, msgs: readonly StoredMessage[]): StoredMessage[] {
  const seen = new Set<string>();
  return msgs.filter((m) => {
    const key = `${m.peer}\0${m.id}`; // names have no control characters (protocol.md §3.3)
    if (received.has(m.peer, m.id) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
