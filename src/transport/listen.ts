/** Starting a TCP listener, with failures (port in use, no permission) as NatterErrors. */
import type { Server } from 'node:net';
import { ERROR_CODES, NatterError } from '../errors.ts';

const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'that address is not one of this machine',
};

/**
 * Listens; rejects with NATTER_ERR_LISTEN_FAILED. Once listening, the
 * server's later errors go to `onLaterError`: a failed accept (out of file
 * descriptors, under a flood of connections) is an 'error' of the server,
 * which with no listener would end the process.
 */
export function listenOn(server: Server, port: number, host: string, onLaterError: (err: NodeJS.ErrnoException) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (cause: NodeJS.ErrnoException): void => {
      const why = REASONS[cause.code ?? ''] ?? cause.message;
      reject(new NatterError(ERROR_CODES.LISTEN_FAILED, `cannot listen on ${host}:${port}: ${why}`, { cause }));
    };
    server.once('error', onError);
    server.listen({ port, host, backlog: 4096 }, () => {
      server.off('error', onError);
      server.on('error', onLaterError);
      resolve();
    });
  });
}
