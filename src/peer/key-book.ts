/**
 * Which key each name must prove (docs/security.md, "Whose key is whose").
 * Every connection to or from a peer is checked here before a single natter
 * message is taken from it, against, in order:
 *
 *   1. the friends table's `key` for the name      → "verified" (fixed by the user)
 *   2. the key pinned in the known-peers file       → "pinned"
 *   3. the key the directory publishes for the name,
 *      or the key a LAN announcement carries        → pinned now (first use)
 *   4. nothing: with a friends table or the LAN, pinned now (trust on first
 *      use); with a directory, a name it does not list is refused.
 *
 * The rules are those of the source the name was found in (`info.source`,
 * when the discovery merges several), else of the discovery itself.
 *
 * A key that differs is never accepted silently: the connection is refused
 * with both fingerprints, and the key it offered is remembered so that the
 * user can accept it deliberately with /trust NAME.
 *
 * "Pinned now" happens when a chat opens on the connection (confirm()), not
 * at its handshake: anyone can complete a handshake under any name, and
 * pinning every one would let strangers fill the known-peers file.
 */
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SOURCE_AUTHORITY, type KeyAuthority, type PeerInfo } from '../discovery/discovery.ts';
import { fingerprint } from '../transport/identity.ts';
import { KnownPeers } from './known-peers.ts';

export interface KeyReport {
  name: string;
  /** The key natter expects for the name now, if any. */
  key: Buffer | undefined;
  /** verified: fixed in the friends table; pinned: in the known-peers file; published: listed by the directory, not met yet; announced: on the LAN, not met yet; unknown. */
  status: 'verified' | 'pinned' | 'published' | 'announced' | 'unknown';
  /** When it was pinned (ISO-8601), for "pinned". */
  since?: string;
  /** The key the directory publishes, when it differs from the pinned one. */
  published?: Buffer;
  /** A different key a connection offered and was refused for (what /trust would accept). */
  offered?: Buffer;
}

export class KeyBook {
  readonly known: KnownPeers;
  /** Keys refused since start, by name: what /trust NAME accepts. */
  readonly #offered = new Map<string, Buffer>();

  constructor(known: KnownPeers = new KnownPeers()) {
    this.known = known;
  }

  /**
   * Checks that `remoteKey` is the key `name` must have. `info` is what the
   * discovery knows of the name. A key that passes and is not pinned yet is
   * pinned by confirm() once a chat opens with it.
   * @throws NatterError NATTER_ERR_KEY_MISMATCH with both fingerprints, or
   *   NATTER_ERR_UNKNOWN_PEER for a name a directory does not list.
   */
  check(name: string, remoteKey: Buffer, info: PeerInfo | undefined, discoveryAuthority: KeyAuthority): void {
    const authority = authorityOf(info, discoveryAuthority);
    const fixed = authority === 'friends-table' ? info?.key : undefined;
    if (fixed !== undefined) {
      if (!fixed.equals(remoteKey)) throw this.#mismatch(name, fixed, 'the key the friends table gives', remoteKey);
      return;
    }
    const pin = this.known.peer(name);
    if (pin !== undefined) {
      if (!pin.key.equals(remoteKey)) throw this.#mismatch(name, pin.key, `the key pinned ${pin.since.slice(0, 10)}`, remoteKey);
      return;
    }
    // A LAN announcement proves nothing, but the key /who shows for a name is the only one taken for it.
    const published = authority === 'directory' || authority === 'lan' ? info?.key : undefined;
    if (published !== undefined && !published.equals(remoteKey)) {
      throw this.#mismatch(
        name,
        published,
        authority === 'lan' ? 'the key announced on the LAN' : 'the key the directory publishes',
        remoteKey,
      );
    }
    if (published === undefined && authority === 'directory') {
      throw new NatterError(
        ERROR_CODES.UNKNOWN_PEER,
        `${name} is not registered with the directory, so its key ${fingerprint(remoteKey)} cannot be checked; refused`,
      );
    }
  }

  /**
   * A chat opened with `name` on a connection that proved `remoteKey` (and
   * passed check()): pins it, unless it is pinned already. (A key the friends
   * table fixes is checked against the table first, whatever is pinned.)
   * @throws NatterError NATTER_ERR_KEY_MISMATCH when another connection pinned
   *   another key for the name meanwhile.
   */
  confirm(name: string, remoteKey: Buffer): void {
    const pin = this.known.peer(name);
    if (pin !== undefined) {
      if (!pin.key.equals(remoteKey)) throw this.#mismatch(name, pin.key, `the key pinned ${pin.since.slice(0, 10)}`, remoteKey);
      return;
    }
    this.known.pinPeer(name, remoteKey);
    this.#offered.delete(name);
  }

  /**
   * /trust NAME: pins the key a refused connection offered (or the key the
   * directory now publishes, when it differs from the pin). Returns the old
   * and new keys.
   * @throws NatterError NATTER_ERR_NO_NEW_KEY when there is nothing to accept.
   */
  trust(name: string, info: PeerInfo | undefined, discoveryAuthority: KeyAuthority): { old: Buffer | undefined; key: Buffer } {
    const authority = authorityOf(info, discoveryAuthority);
    if (authority === 'friends-table' && info?.key !== undefined) {
      throw new NatterError(ERROR_CODES.NO_NEW_KEY, `${name}'s key is fixed in the friends table; edit the table to change it`);
    }
    const old = this.known.peer(name)?.key;
    const published = authority === 'directory' ? info?.key : undefined;
    const key = this.#offered.get(name) ?? (published !== undefined && !published.equals(old ?? Buffer.alloc(0)) ? published : undefined);
    if (key === undefined) {
      throw new NatterError(ERROR_CODES.NO_NEW_KEY, `no new key seen for ${name}; there is nothing to trust`);
    }
    this.known.pinPeer(name, key);
    this.#offered.delete(name);
    return { old, key };
  }

  /** /whois NAME: the key natter holds for the name and how sure it is of it. */
  report(name: string, info: PeerInfo | undefined, discoveryAuthority: KeyAuthority): KeyReport {
    const authority = authorityOf(info, discoveryAuthority);
    const offered = this.#offered.get(name);
    const extra = offered === undefined ? {} : { offered };
    if (authority === 'friends-table' && info?.key !== undefined) return { name, key: info.key, status: 'verified', ...extra };
    const pin = this.known.peer(name);
    const published = authority === 'directory' ? info?.key : undefined;
    if (pin !== undefined) {
      const differs = published !== undefined && !published.equals(pin.key) ? { published } : {};
      return { name, key: pin.key, status: 'pinned', since: pin.since, ...differs, ...extra };
    }
    if (published !== undefined) return { name, key: published, status: 'published', ...extra };
    if (authority === 'lan' && info?.key !== undefined) return { name, key: info.key, status: 'announced', ...extra };
    return { name, key: undefined, status: 'unknown', ...extra };
  }

  #mismatch(name: string, expected: Buffer, what: string, got: Buffer): NatterError {
    this.#offered.set(name, Buffer.from(got));
    return new NatterError(
      ERROR_CODES.KEY_MISMATCH,
      `${name}'s key has changed: expected ${fingerprint(expected)} (${what}), but the other side proved ${fingerprint(got)}. ` +
        `If ${name} really has a new key, compare its fingerprint with them (natter id) and type /trust ${name}; ` +
        `otherwise someone is impersonating ${name}. Refused.`,
    );
  }
}

/** The rules for a name: those of the source it was found in, else the discovery's. */
function authorityOf(info: PeerInfo | undefined, discoveryAuthority: KeyAuthority): KeyAuthority {
  return info?.source === undefined ? discoveryAuthority : SOURCE_AUTHORITY[info.source];
}
