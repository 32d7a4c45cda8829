/**
 * natter's zero-setup default (docs/chat.md, "Finding each other"): peers on
 * one machine meet at a directory on a well-known loopback port. The first
 * peer finds nobody there and hosts one in its own process; later peers use
 * it. The directory is soft state: when its host quits, it closes without
 * telling anyone to shut down, the others see their connection drop, and the
 * first of them to retry hosts a new one, where all register again. The same
 * holds when the hosted directory stops for any other reason (an admin's
 * SHUTDOWN, say): this process notices, stops counting itself the host, and
 * whoever retries first (this process included) hosts anew.
 */
import { EventEmitter } from 'node:events';
import { ERROR_CODES, NatterError, isNatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import type { KeyPair } from '../transport/secure.ts';
import { DirectoryClient } from './directory-client.ts';

/** A directory this process hosts: what the rendezvous needs of it. */
export interface HostedDirectory {
  /** True once it has begun to stop. */
  readonly isShuttingDown: boolean;
  /** Stops it without telling its clients to shut down (they reconnect). */
  close(reason?: string): Promise<void>;
  /** 'shutdown' once it has stopped, for whatever reason. */
  once(event: 'shutdown', listener: (reason: string) => void): unknown;
}

/**
 * Starts a directory on `host`:`port` with `keyPair` as its key. Rejects with
 * NATTER_ERR_LISTEN_FAILED when the port is taken (someone else hosts).
 * `hostDirectory` in src/directory/host.ts is the one natter uses.
 */
export type HostDirectory = (options: { host: string; port: number; keyPair: KeyPair; logger: Logger }) => Promise<HostedDirectory>;

export interface LocalRendezvousOptions {
  host: string;
  port: number;
  /** Our identity: for the connection to the directory, and as the directory's key when we host it. */
  keyPair: KeyPair;
  /** How to host the directory when nobody does. */
  hostDirectory: HostDirectory;
  logger?: Logger;
}

export interface LocalRendezvousEvents {
  /** This process started hosting the directory. */
  hosting: [port: number];
  /** The directory this process hosted stopped, for any reason but close(). */
  'hosting-stopped': [reason: string];
}

export class LocalRendezvous extends EventEmitter<LocalRendezvousEvents> {
  readonly host: string;
  readonly port: number;
  readonly #log: Logger;
  readonly #keyPair: KeyPair;
  readonly #hostDirectory: HostDirectory;
  #hosted: HostedDirectory | undefined;

  constructor(options: LocalRendezvousOptions) {
    super();
    this.host = options.host;
    this.port = options.port;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#keyPair = options.keyPair;
    this.#hostDirectory = options.hostDirectory;
  }

  /** True while this process hosts the directory. */
  get isHosting(): boolean {
    return this.#hosted !== undefined && !this.#hosted.isShuttingDown;
  }

  /** A connection to the local directory, hosting it first when nobody does. */
  async connect(): Promise<DirectoryClient> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await DirectoryClient.connect({ host: this.host, port: this.port, timeoutMs: 3_000, keyPair: this.#keyPair, localPort: 0 });
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.CONNECTION_CLOSED)) {
          throw new NatterError(
            ERROR_CODES.DIRECTORY_UNAVAILABLE,
            `${this.host}:${this.port} does not answer as a natter directory: ${(err as Error).message}; pass --directory HOST:PORT`,
            { cause: err },
          );
        }
      }
      if (await this.#host()) continue;
    }
    throw new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, `cannot reach or host a directory at ${this.host}:${this.port}`);
  }

  /** Tries to host the directory; false when someone else got the port first. */
  async #host(): Promise<boolean> {
    const old = this.#hosted;
    if (old !== undefined && !old.isShuttingDown) return true;
    // A hosted directory that is stopping still holds the port until it is gone.
    if (old !== undefined) await old.close();
    let server: HostedDirectory;
    try {
      server = await this.#hostDirectory({ host: this.host, port: this.port, keyPair: this.#keyPair, logger: this.#log });
    } catch (err) {
      if (isNatterError(err, ERROR_CODES.LISTEN_FAILED)) return false;
      throw err;
    }
    this.#hosted = server;
    server.once('shutdown', (reason) => {
      if (this.#hosted !== server) return; // close(): on purpose
      this.#hosted = undefined;
      this.#log.info({ port: this.port, reason }, 'the hosted local directory stopped');
      this.emit('hosting-stopped', reason);
    });
    this.#log.info({ port: this.port }, 'hosting the local directory');
    this.emit('hosting', this.port);
    return true;
  }

  /** Stops hosting (without SHUTDOWN: the others take over). */
  async close(): Promise<void> {
    const server = this.#hosted;
    this.#hosted = undefined;
    await server?.close('host quit');
  }
}
