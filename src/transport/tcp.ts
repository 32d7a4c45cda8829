/**
 * TCP for FramedConnection: dial a host (through the encrypted channel unless
 * told otherwise) and wait until the HELLO exchange is done, within one
 * absolute deadline; and the accepting side's handshake.
 */
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { FramedConnection, type FramedConnectionOptions } from './framed-connection.ts';
import type { ByteStream } from './byte-stream.ts';
import type { HandshakeSide } from './handshake.ts';
import { secureSocket, type KeyPair, type SecureStream } from './secure.ts';

export interface DialOptions extends FramedConnectionOptions {
  host: string;
  port: number;
  /** Deadline for connecting, the handshake and the HELLO exchange together. Default 10,000 ms. */
  timeoutMs?: number;
  /** Local address to dial from (load tests spread clients over 127.0.0.0/8). */
  localAddress?: string;
  /**
   * Local port to dial from (0: any, but bound explicitly, so that later
   * connections may share it: hole punching dials from the port the
   * directory connection uses).
   */
  localPort?: number;
  /** Deadline for the TCP connection alone (a path that hangs is given up early). Default: only the overall deadline. */
  connectTimeoutMs?: number;
  /** Run over this stream instead of opening a TCP connection (a punched socket, a relayed stream). */
  stream?: ByteStream;
  /** Bytes already read from `stream`. */
  initial?: Buffer;
  /**
   * Our key pair: the connection runs inside the Noise handshake and
   * encrypted records (docs/security.md). Without it the connection is plain
   * TCP, which natter's peers and directories refuse; the library keeps it
   * for tests and the plaintext baseline of the benchmarks.
   */
  keyPair?: KeyPair;
  /**
   * Checks the other side's proven key before any natter frame is sent;
   * throws (a NatterError, e.g. NATTER_ERR_KEY_MISMATCH) to abort.
   */
  verifyKey?: (remoteKey: Buffer) => void;
}

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * Opens a connection and resolves once the other side's HELLO is in.
 * Rejects with NATTER_ERR_CONNECTION_CLOSED (refused, reset, closed early),
 * NATTER_ERR_TIMEOUT, NATTER_ERR_HANDSHAKE_FAILED, what verifyKey threw, or
 * the protocol error the HELLO exchange failed with.
 */
export async function dial(options: DialOptions): Promise<FramedConnection> {
  const {
    host,
    port,
    timeoutMs = DEFAULT_DIAL_TIMEOUT_MS,
    localAddress,
    localPort,
    connectTimeoutMs,
    keyPair,
    verifyKey,
    initial,
    ...rest
  } = options;
  const { stream: given, ...connOptions } = rest;
  const startedAt = performance.now();
  const socket = given ?? openSocket(host, port, localAddress, localPort, connectTimeoutMs);
  let stream: ByteStream = socket;
  if (keyPair !== undefined) {
    const secure = await secureSocket(socket, true, {
      keyPair,
      handshakeTimeoutMs: timeoutMs,
      ...(initial === undefined ? {} : { initial }),
    });
    try {
      verifyKey?.(secure.remoteKey);
    } catch (err) {
      secure.destroy();
      throw isNatterError(err) ? err : new NatterError(ERROR_CODES.INTERNAL, String(err), { cause: err });
    }
    // Writes of any size: the record layer cuts them into records itself.
    stream = secure;
  }
  const conn = new FramedConnection(stream, connOptions);
  const left = Math.max(1, timeoutMs - (performance.now() - startedAt));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy(new NatterError(ERROR_CODES.TIMEOUT, `no natter HELLO from ${host}:${port} within ${timeoutMs} ms`));
    }, left);
    timer.unref();
    const onReady = (): void => {
      cleanup();
      conn.holdEarlyMessages();
      resolve(conn);
    };
    const onClose = (err: NatterError | undefined): void => {
      cleanup();
      reject(err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, `${host}:${port} closed the connection during HELLO`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      conn.off('ready', onReady);
      conn.off('close', onClose);
    };
    conn.on('ready', onReady);
    conn.on('close', onClose);
  });
}

/** A TCP connection to host:port, from a chosen local port if asked, given up after connectTimeoutMs if asked. */
function openSocket(
  host: string,
  port: number,
  localAddress: string | undefined,
  localPort: number | undefined,
  connectTimeoutMs: number | undefined,
): Socket {
  // Binding explicitly (even port 0) sets SO_REUSEADDR, so that another outgoing socket may share the port later.
  const bind =
    localPort === undefined
      ? localAddress === undefined
        ? {}
        : { localAddress }
      : { localAddress: localAddress ?? (isIPv6(host) ? '::' : '0.0.0.0'), localPort };
  const socket = netConnect({ host, port, noDelay: true, ...bind });
  if (connectTimeoutMs !== undefined) {
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no answer from ${host}:${port} within ${connectTimeoutMs} ms`), { code: 'ETIMEDOUT' });
      socket.destroy(err);
    }, connectTimeoutMs);
    timer.unref();
    socket.once('connect', () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
  }
  return socket;
}

/**
 * The accepting side's handshake on a new socket. Resolves with the
 * encrypted stream, over which writes of any size may go (the record layer
 * cuts them into records, a large one sealed whole into one buffer); rejects
 * like secureSocket, with the socket destroyed. `handshake`: our side of it
 * worked out elsewhere (HandshakePool.responder()).
 */
export function acceptSecure(
  socket: ByteStream,
  keyPair: KeyPair,
  handshakeTimeoutMs?: number,
  initial?: Buffer,
  handshake?: HandshakeSide,
): Promise<SecureStream> {
  return secureSocket(socket, false, {
    keyPair,
    ...(handshakeTimeoutMs === undefined ? {} : { handshakeTimeoutMs }),
    ...(initial === undefined ? {} : { initial }),
    ...(handshake === undefined ? {} : { handshake }),
  });
}
