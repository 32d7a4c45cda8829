/**
 * Ways to find peers: a friends table, a directory, the LAN. Each answers the
 * same two questions, so the peer does not care which it has, or how many
 * (merged.ts combines several).
 */

/** Which way a peer was found: a --directory, the LAN (mDNS), a friends table, or the local rendezvous of this machine. */
export type PeerSource = 'directory' | 'lan' | 'friends' | 'local';

/** Where a peer listens. */
export interface PeerInfo {
  name: string;
  ip: string;
  port: number;
  /** The Ed25519 public key the peer must prove, when this discovery knows it. */
  key?: Buffer | undefined;
  /** Which way it was found, when several are merged; its keys are then held as that source's (SOURCE_AUTHORITY). */
  source?: PeerSource | undefined;
}

/**
 * Where a discovery's keys come from: fixed by the user (a friends table),
 * published by a directory, or announced on the LAN by anyone who can send
 * there (a hint, taken on first use: docs/security.md).
 */
export type KeyAuthority = 'friends-table' | 'directory' | 'lan';

/** How far the keys of each source are to be trusted. */
export const SOURCE_AUTHORITY: Readonly<Record<PeerSource, KeyAuthority>> = Object.freeze({
  directory: 'directory',
  local: 'directory',
  friends: 'friends-table',
  lan: 'lan',
});

export interface Discovery {
  /** Where `name` listens, or undefined when it is not known (offline, or not a friend). */
  lookup(name: string): Promise<PeerInfo | undefined>;
  /** Every peer this discovery knows of right now. */
  list(): Promise<PeerInfo[]>;
  /**
   * True when this discovery has ever known `name` (listed it, or has it in
   * its table), even if it does not now: a name never seen may be a typo.
   */
  hasSeen?(name: string): boolean;
  /** True when peers found here are trusted to chat without asking (a friends table). */
  isFriend(name: string): boolean;
  /** How far its keys are to be trusted (see KeyBook). */
  readonly keyAuthority: KeyAuthority;
}
