/**
 * The directory's online list, behind an interface so that an in-memory
 * store (the default) and a shared store (Redis, for several directory
 * processes acting as one) are interchangeable and pass one contract suite
 * (test/directory/store-contract.ts).
 *
 * Every entry has an `owner`: the session that registered it. Only that owner
 * can refresh or remove it, so a connection can never touch anyone else's
 * entry. Owners are the caller's session ids; a shared store returns the
 * owners of entries another process registered as strings no local session
 * id can equal. Every entry also has the `key` its owner proved in the handshake: a
 * name is bound to that key while it is online (docs/security.md).
 */
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { Message } from '../../protocol/messages.ts';
import { fingerprint } from '../../transport/identity.ts';

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
  /** Ms on the caller's clock (the `now` it passes) when the entry was created. */
  registeredAt: number;
  /** Ms on the caller's clock when its owner was last heard from. */
  lastHeard: number;
  /**
   * Where the owner's connection comes from, as the directory sees it (its
   * NAT's public side): what another process of a shared directory tells a
   * peer to punch to (protocol.md §6.8). Absent when the registration gave none.
   */
  seenIp?: string;
  seenPort?: number;
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
  /** Where the registering connection comes from, as seen (PeerRecord.seenIp/seenPort). */
  seenIp?: string;
  seenPort?: number;
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

/**
 * A message for the session that owns an entry, wherever it is: the CALL of
 * a punch or a relay asked for at another process of a shared directory.
 */
export type OwnerNotice = Extract<Message, { type: 'CALL' }>;

export interface DirectoryStore {
  /**
   * True when other directory processes may share the store: then an entry's
   * owner may be a session of another process, reached only through tell().
   */
  readonly isShared: boolean;
  /**
   * Adds a peer, assigning it a port that no online peer at the same IP has.
   * Registering again with the same name and owner returns the existing entry.
   * The same name and key from another owner (the peer reconnected before its
   * old session was gone) replaces the entry, reporting the previous owner;
   * the same name with another key is refused as 'name-taken'.
   */
  register(req: RegisterRequest): Promise<RegisterResult>;
  /** register() answered in the same call, by a store that keeps its entries in this process. Absent on a shared store. */
  readonly registerNow?: (req: RegisterRequest) => RegisterResult;
  /** Marks `name` as heard from at `now`, if `owner` owns it; returns the entry. */
  refresh(name: string, owner: string, now: number): Promise<PeerRecord | undefined>;
  /**
   * refresh() answered in the same call, by a store that keeps its entries in
   * this process: a heartbeat then costs no promise. Absent on a shared store.
   */
  readonly refreshNow?: (name: string, owner: string, now: number) => PeerRecord | undefined;
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
  /**
   * Binds the store to the directory's public key (64 hex digits). Every
   * directory process sharing one store must present the same key, so that a
   * peer's pin holds whichever process answers: the first claim binds it, the
   * same key again succeeds, another key rejects with
   * NATTER_ERR_DIRECTORY_KEY_CONFLICT naming both fingerprints.
   */
  claimIdentity(key: string): Promise<void>;
  /**
   * Tells every directory process sharing the store, this one included, to
   * shut down: each `onShutdown` listener of each of them is called once.
   * Resolves once the notice is recorded (a shared store keeps it, so a
   * process that misses the message still finds it).
   */
  announceShutdown(reason: string): Promise<void>;
  /** Calls `listener` once when a shutdown is announced through the store, by this process or another. */
  onShutdown(listener: (reason: string) => void): void;
  /**
   * Passes `notice` to the process whose session is `owner` (an owner from
   * list() or another read): its onNotice listeners get it with the owner as
   * that process knows it. Best effort: an owner that is gone is nobody's.
   */
  tell(owner: string, notice: OwnerNotice): Promise<void>;
  /** `listener` hears every notice told to an owner of this process. */
  onNotice(listener: (owner: string, notice: OwnerNotice) => void): void;
  /** Releases resources. */
  close(): Promise<void>;
}

/**
 * The identity check every store shares: `held` is the key the store is
 * bound to (undefined: none yet); returns the key it is bound to after
 * `claimed` is presented, or throws NATTER_ERR_DIRECTORY_KEY_CONFLICT.
 */
export function claimKey(held: string | undefined, claimed: string): string {
  if (!/^[0-9a-f]{64}$/.test(claimed)) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'a directory key is 64 lower-case hex digits');
  }
  if (held === undefined || held === claimed) return claimed;
  throw new NatterError(
    ERROR_CODES.DIRECTORY_KEY_CONFLICT,
    `this directory process has key ${fingerprint(Buffer.from(claimed, 'hex'))}, but the other processes sharing its store present ` +
      `${fingerprint(Buffer.from(held, 'hex'))}: start every process of one directory with the same --identity file`,
  );
}

/** The range ports are assigned from, inclusive. */
export interface PortRange {
  lo: number;
  hi: number;
}

export const DEFAULT_PORT_RANGE: Readonly<PortRange> = Object.freeze({ lo: 50_000, hi: 59_999 });
