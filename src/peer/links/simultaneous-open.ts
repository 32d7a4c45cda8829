/**
 * TCP simultaneous open (RFC 9293 §3.5): both sides connect() to each
 * other at the same moment, each from the local port its NAT already maps
 * to the address the other dials. Each side's SYN opens its own NAT for the
 * other's, and the SYNs that cross become one connection. A NAT that drops
 * the other's first SYN (it arrived before ours left) lets the retransmitted
 * one in; one that answers with a reset makes connect() fail at once, so
 * the attempt is made again, a little later, until the deadline.
 */
import { isIPv6, connect as netConnect, type Socket } from 'node:net';
import { ERROR_CODES, NatterError } from '../../errors.ts';

/** Pause between attempts when one fails at once (a reset). */
const RETRY_MS = 50;

/**
 * Connects from `localPort` to `host`:`port`, trying again after fast
 * failures, until `deadlineMs` from now. Resolves with the connected socket.
 * @throws NatterError PEER_UNREACHABLE when nothing got through in time.
 */
export function simultaneousOpen(localPort: number, host: string, port: number, deadlineMs: number): Promise<Socket> {
  const startedAt = performance.now();
  const localAddress = isIPv6(host) ? '::' : '0.0.0.0';
  return new Promise((resolve, reject) => {
    let attempts = 0;
    let lastError = '';
    let current: Socket | undefined;
    let retry: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      clearTimeout(retry);
      current?.destroy();
      current = undefined;
      reject(
        new NatterError(
          ERROR_CODES.PEER_UNREACHABLE,
          `no punched connection to ${host}:${port} within ${deadlineMs} ms (${attempts} attempts${lastError === '' ? '' : `; last: ${lastError}`})`,
        ),
      );
    }, deadlineMs);
    deadline.unref();
    const attempt = (): void => {
      attempts++;
      const socket = netConnect({ host, port, localAddress, localPort, noDelay: true });
      current = socket;
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.destroy();
        if (current !== socket) return;
        current = undefined;
        lastError = err.code ?? err.message;
        const left = deadlineMs - (performance.now() - startedAt);
        if (left > RETRY_MS) retry = setTimeout(attempt, RETRY_MS);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        clearTimeout(deadline);
        current = undefined;
        resolve(socket);
      });
    };
    attempt();
  });
}
