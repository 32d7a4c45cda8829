/**
 * What a directory offers for reaching peers that cannot be dialed straight
 * (protocol.md §6.7-§6.9): hole punching it coordinates, a relay through its
 * own port, and a dial-back to tell whether we can be reached. DirectoryLink
 * implements it; the peer's connectors (src/peer/links/) use it without
 * knowing what a directory is.
 */
import { dial, type DialOptions } from '../transport/tcp.ts';
import type { ByteStream, KeyPair } from '../transport/secure.ts';
import { ERROR_CODES, NatterError, errorFromWire } from '../errors.ts';
import type { CallMessage } from '../protocol/messages.ts';
import { fingerprint } from '../transport/identity.ts';
import type { ProbeResult } from './directory-client.ts';

/**
 * A stream joined to another peer's through the relay, the bytes of theirs
 * that came with JOINED, and whether our RELAY came first (then we dial over
 * it; the side that joined accepts: protocol.md §6.9).
 */
export interface RelayedStream {
  stream: ByteStream;
  initial: Buffer;
  isFirst: boolean;
}

export interface Rendezvous {
  /** The local port of our directory connection: punched connections are dialed from it. Undefined while not connected. */
  readonly punchPort: number | undefined;
  /** Asks the directory to coordinate hole punching to `peer`; resolves with where to dial it, now. */
  punch(peer: string): Promise<{ ip: string; port: number }>;
  /**
   * Opens a relay connection joined to `peer`'s (protocol.md §6.9): to the
   * directory's address, or to `at`, the process of the directory a relay
   * CALL named (which must prove the directory's own key).
   */
  relay(peer: string, at?: { ip: string; port: number }): Promise<RelayedStream>;
  /** Asks the directory to dial back our address at `port` (protocol.md §6.7). */
  probe(port: number): Promise<ProbeResult>;
  /** `listener` hears every CALL: another peer wants to reach us. */
  onCall(listener: (call: CallMessage) => void): void;
}

/** Where a relay CALL sent us, and the key the directory proved on our registered connection. */
export interface RelayAt {
  ip: string;
  port: number;
  key: Buffer;
}

/** A verifyKey that takes exactly `key`: the directory process a relay CALL names must be the directory. */
export function requireKey(key: Buffer, where: string): (remoteKey: Buffer) => void {
  return (remoteKey) => {
    if (remoteKey.equals(key)) return;
    throw new NatterError(
      ERROR_CODES.KEY_MISMATCH,
      `the directory process at ${where} proved key ${fingerprint(remoteKey)}, not the directory's ${fingerprint(key)}: refusing to relay through it`,
    );
  };
}

/**
 * Opens a new connection to a directory (the same host, port, key checks
 * as the registered one), sends RELAY(peer) and waits for JOINED; then
 * hands over the stream, which from there carries the other peer's bytes.
 * @throws NatterError the directory's refusal (RELAY_REFUSED, UNKNOWN_PEER,
 *   TIMEOUT when the other side never asks), or the connection's failure.
 */
export async function openRelay(options: DialOptions & { keyPair: KeyPair }, peer: string, timeoutMs: number): Promise<RelayedStream> {
  const conn = await dial(options);
  return new Promise<RelayedStream>((resolve, reject) => {
    const timer = setTimeout(
      () => conn.destroy(new NatterError(ERROR_CODES.TIMEOUT, `the relay to ${peer} was not joined within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    let isDone = false;
    conn.on('message', (msg) => {
      if (isDone) return;
      if (msg.type === 'JOINED') {
        isDone = true;
        clearTimeout(timer);
        const { stream, rest } = conn.detach();
        resolve({ stream: stream as ByteStream, initial: rest, isFirst: msg.isFirst });
        return;
      }
      if (msg.type === 'ERROR') {
        isDone = true;
        clearTimeout(timer);
        reject(errorFromWire(msg.code, msg.reason));
        void conn.close();
        return;
      }
      conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `${msg.type} on a relay connection before JOINED`));
    });
    conn.on('close', (err) => {
      clearTimeout(timer);
      if (isDone) return;
      isDone = true;
      reject(err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory closed the relay connection'));
    });
    conn.send({ type: 'RELAY', name: peer });
  });
}

/**
 * What DirectoryLinkOptions.relay wants: relays through the directory at
 * `base`, or, given `at`, through the process of it a relay CALL named,
 * which must prove the key the registered connection proved.
 */
export function relayThrough(
  base: DialOptions & { keyPair: KeyPair },
  joinTimeoutMs: number,
): (peer: string, at?: RelayAt) => Promise<RelayedStream> {
  return (peer, at) => {
    if (at === undefined) return openRelay(base, peer, joinTimeoutMs);
    return openRelay({ ...base, host: at.ip, port: at.port, verifyKey: requireKey(at.key, `${at.ip}:${at.port}`) }, peer, joinTimeoutMs);
  };
}
