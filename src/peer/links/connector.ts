/**
 * How to get an authenticated connection to a peer, by name. A connector
 * finds where the peer is, opens a connection by whatever path works, and
 * hands back a FramedConnection whose other side proved the key the name
 * must have (checked before HELLO, let alone CONN, leaves: docs/security.md),
 * with the kind of path it took. The peer's chat logic never learns more.
 */
import type { Discovery, PeerInfo } from '../../discovery/discovery.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../../errors.ts';
import type { ProtocolLimits } from '../../protocol/limits.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';
import type { KeyPair } from '../../transport/secure.ts';
import { dial } from '../../transport/tcp.ts';
import type { KeyBook } from '../key-book.ts';

/** Which path a connection took: straight to the peer's address, through NATs by hole punching, or through a relay. */
export type LinkKind = 'direct' | 'punched' | 'relay';

/**
 * An authenticated connection to a peer, and its path. `isInbound` when the
 * path made us the accepting side after all (a relay joined the other way
 * round): the connection is then identified like one the listener accepted,
 * by the CONN the other side sends.
 */
export interface Connection {
  conn: FramedConnection;
  kind: LinkKind;
  isInbound?: boolean;
}

export interface Connector {
  /**
   * Connects to `peer`.
   * @throws NatterError UNKNOWN_PEER (no source knows where it is),
   *   KEY_MISMATCH (the other side is not who the name says),
   *   PEER_UNREACHABLE (no path got through).
   */
  connect(peer: string): Promise<Connection>;
}

/** What a connector needs to find a peer and check its key. */
export interface ConnectorContext {
  keyPair: KeyPair;
  keyBook: KeyBook;
  discovery: Discovery;
  /** Where `peer` is (through the discovery, remembering what it saw). */
  lookup(peer: string): Promise<PeerInfo | undefined>;
  limits: Partial<ProtocolLimits>;
  /** Deadline for a connection and its HELLO exchange. */
  timeoutMs: number;
}

/** Where `peer` is, or UNKNOWN_PEER worded for the way peers are found. */
export async function locate(ctx: ConnectorContext, peer: string): Promise<PeerInfo> {
  const info = await ctx.lookup(peer);
  if (info === undefined) {
    throw new NatterError(
      ERROR_CODES.UNKNOWN_PEER,
      ctx.discovery.keyAuthority === 'friends-table' ? `${peer} is not in the friends table` : `${peer} is not online`,
    );
  }
  return info;
}

/** Dials the address the discovery gives for the peer (TCP, then the Noise handshake and the key check). */
export class DirectConnector implements Connector {
  readonly #ctx: ConnectorContext;
  readonly #connectTimeoutMs: number | undefined;

  /** `connectTimeoutMs`: give up on an address that does not answer after this long (when other paths follow). */
  constructor(ctx: ConnectorContext, options: { connectTimeoutMs?: number } = {}) {
    this.#ctx = ctx;
    this.#connectTimeoutMs = options.connectTimeoutMs;
  }

  async connect(peer: string): Promise<Connection> {
    const ctx = this.#ctx;
    const address = await locate(ctx, peer);
    try {
      const conn = await dial({
        host: address.ip,
        port: address.port,
        timeoutMs: ctx.timeoutMs,
        ...(this.#connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.#connectTimeoutMs }),
        limits: ctx.limits,
        keyPair: ctx.keyPair,
        // Before CONN leaves, let alone a queued message: the other side must be who the name says.
        verifyKey: (key) => ctx.keyBook.check(peer, key, address, ctx.discovery.keyAuthority),
      });
      return { conn, kind: 'direct' };
    } catch (cause) {
      if (isNatterError(cause, ERROR_CODES.KEY_MISMATCH) || isNatterError(cause, ERROR_CODES.UNKNOWN_PEER)) throw cause;
      throw new NatterError(ERROR_CODES.PEER_UNREACHABLE, `${peer} is offline or unreachable at ${address.ip}:${address.port}`, { cause });
    }
  }
}
