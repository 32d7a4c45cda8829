/**
 * The directory's online list, behind an interface so that an in-memory
 * store (the default) and a shared store (Redis, for several directory
 * processes acting as one) are interchangeable and pass one contract suite
 * (test/directory/store-contract.ts).
 *
 * Every entry has an `owner`: the session that registered it. Only that owner
 * can refresh or remove it, so a connection can never touch anyone else's
 * entry. Every entry also has the `key` its owner proved in the handshake: a
 * name is bound to that key while it is online (docs/security.md).
 */

/** One online peer. */
export interface PeerRecord {
  /** Display name (NFC), unique among online peers. */
  name: string;
  /** Where the peer listens: IP in canonical text form. */
  ip: string;
  /** Port assigned to the peer, unique among online peers at `ip`. */
  port: number;
  /** Opaque identity of the registering session. */
  owner: string;
  /** The owner's Ed25519 public key, as 64 lower-case hex digits. */
  key: string;
  /** Monotonic ms when the entry was created. */
  registeredAt: number;
  /** Monotonic ms when its owner was last heard from. */
  lastHeard: number;
}

export interface RegisterRequest {
  name: string;
  ip: string;
  /** A port the peer would like; 0 for "any". Honoured when free and in range. */
  requestedPort: number;
  owner: string;
  /** The registering session's key (hex). */
  key: string;
  now: number;
}

export type RegisterResult =
  | {
      ok: true;
      record: PeerRecord;
      isNew: boolean;
      /** Set when the same key took the name over from another session (a reconnect): that session no longer owns it. */
      previousOwner?: string;
    }
  | { ok: false; reason: 'name-taken' | 'ports-exhausted' };

export interface DirectoryStore {
  /**
   * Adds a peer, assigning it a port that no online peer at the same IP has.
   * Registering again with the same name and owner returns the existing entry.
   * The same name and key from another owner (the peer reconnected before its
   * old session was gone) replaces the entry, reporting the previous owner;
   * the same name with another key is refused as 'name-taken'.
   */
  register(req: RegisterRequest): Promise<RegisterResult>;
  /** Marks `name` as heard from at `now`, if `owner` owns it; returns the entry. */
  refresh(name: string, owner: string, now: number): Promise<PeerRecord | undefined>;
  /** Removes `name` if `owner` owns it; true when something was removed. */
  remove(name: string, owner: string): Promise<boolean>;
  /** Every online peer, as one consistent snapshot. */
  list(): Promise<PeerRecord[]>;
  /**
   * A number that changes whenever the listing changes (a peer registered,
   * left or expired), and only then: a refresh does not change it. Lets the
   * directory answer WHO from a cached listing until something happened.
   */
  generation(): Promise<number>;
  /** Removes and returns every peer not heard from since `cutoff`. */
  expire(cutoff: number): Promise<PeerRecord[]>;
  /** Number of online peers. */
  size(): Promise<number>;
  /** Releases resources. */
  close(): Promise<void>;
}

/** The range ports are assigned from, inclusive. */
export interface PortRange {
  lo: number;
  hi: number;
}

export const DEFAULT_PORT_RANGE: Readonly<PortRange> = Object.freeze({ lo: 50_000, hi: 59_999 });
