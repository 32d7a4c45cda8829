/**
 * Where peers are, set by hand: a Discovery over a map, for tests and
 * benches that run PeerNodes without a directory. Like a friends table, it
 * gives each name's address and key; everyone in it is a friend.
 */
import type { Discovery, KeyAuthority, PeerInfo } from '../../src/discovery/discovery.ts';

export class Book implements Discovery {
  keyAuthority: KeyAuthority = 'friends-table';
  readonly entries = new Map<string, PeerInfo>();

  async lookup(name: string): Promise<PeerInfo | undefined> {
    return this.entries.get(name);
  }

  async list(): Promise<PeerInfo[]> {
    return [...this.entries.values()];
  }

  isFriend(name: string): boolean {
    return this.entries.has(name);
  }
}

/** A Book whose friends are chosen apart from who is in it: a stranger may be listed and not be a friend. */
export class FriendsBook extends Book {
  readonly friends = new Set<string>();

  override isFriend(name: string): boolean {
    return this.friends.has(name);
  }
}
