/**
 * Plain TCP for FramedConnection: dial a host and wait until the HELLO
 * exchange is done, within an absolute deadline.
 */
import { connect as netConnect } from 'node:net';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { FramedConnection, type FramedConnectionOptions } from './framed-connection.ts';

export interface DialOptions extends FramedConnectionOptions {
  host: string;
  port: number;
  /** Deadline for connecting and the HELLO exchange together. Default 10,000 ms. */
  timeoutMs?: number;
  /** Local address to dial from (load tests spread clients over 127.0.0.0/8). */
  localAddress?: string;
}

export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

/**
 * Opens a TCP connection and resolves once the other side's HELLO is in.
 * Rejects with NATTER_ERR_CONNECTION_CLOSED (refused, reset, closed early),
 * NATTER_ERR_TIMEOUT, or the protocol error the exchange failed with.
 */
export function dial(options: DialOptions): Promise<FramedConnection> {
  const { host, port, timeoutMs = DEFAULT_DIAL_TIMEOUT_MS, localAddress, ...connOptions } = options;
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host, port, noDelay: true, ...(localAddress === undefined ? {} : { localAddress }) });
    const conn = new FramedConnection(socket, connOptions);
    const timer = setTimeout(() => {
      conn.destroy(new NatterError(ERROR_CODES.TIMEOUT, `no natter HELLO from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();
    const onReady = (): void => {
      cleanup();
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
