/**
 * Hosting a directory inside another program: what the zero-setup mode of
 * `natter chat` does when nobody hosts the local rendezvous yet (the
 * discovery side, src/discovery/local-rendezvous.ts, is given this function
 * and never learns what a directory server is).
 */
import type { Logger } from '../log.ts';
import type { KeyPair } from '../transport/secure.ts';
import { DirectoryServer } from './server.ts';

/**
 * Starts a directory with the default options on `host`:`port`, with
 * `keyPair` as its key. Rejects with NATTER_ERR_LISTEN_FAILED when the port
 * is taken, having released everything it started.
 */
export async function hostDirectory(options: { host: string; port: number; keyPair: KeyPair; logger: Logger }): Promise<DirectoryServer> {
  const server = new DirectoryServer({ logger: options.logger, keyPair: options.keyPair });
  try {
    await server.listen(options.port, options.host);
  } catch (err) {
    await server.close();
    throw err;
  }
  return server;
}
