/**
 * Ways to find peers: a friends table, a directory, later the LAN. Each
 * answers the same two questions, so the peer does not care which it has.
 */

/** Where a peer listens. */
export interface PeerInfo {
  name: string;
  ip: string;
  port: number;
  /** The Ed25519 public key the peer must prove, when this discovery knows it. */
  key?: Buffer | undefined;
}

/** Where a discovery's keys come from: fixed by the user (a friends table), or published by a directory. */
export type KeyAuthority = 'friends-table' | 'directory';

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
