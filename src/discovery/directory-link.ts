/**
 * Staying registered with a directory (protocol.md §6): UP, then ALIVE at the
 * pace the directory's ACK sets; UP again by itself on NACK; and when the
 * directory goes away, reconnecting with backoff (from 2 s, doubling to 30 s,
 * with jitter) while chats with peers already known go on.
 *
 *   connecting ──UP/ACK──▶ registered ──ALIVE/ACK──▶ registered
 *        ▲                     │ NACK ──▶ UP again (asking for the same port)
 *        └──backoff──── lost ◀─┘ connection closed / request failed
 *   any ──SHUTDOWN from the directory──▶ 'shutdown' (the owner decides: stop(), or
 *                                        go on, and the link reconnects like after any loss)
 *   any ──stop()──▶ DOWN, close
 */
import { EventEmitter } from 'node:events';
import type { Discovery, KeyAuthority, PeerInfo } from './discovery.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import { canonicalIp } from '../protocol/fields.ts';
import type { CallMessage } from '../protocol/messages.ts';
import type { DirectoryClient, ProbeResult, Registration } from './directory-client.ts';
import type { RelayAt, RelayedStream, Rendezvous } from './rendezvous.ts';

export interface Backoff {
  /** First delay. Default 2,000 ms. */
  initialMs: number;
  /** Largest delay. Default 30,000 ms. */
  maxMs: number;
}

/** Names remembered for hasSeen(); past this many the memory starts over (it only feeds a hint). */
const MAX_NAMES_SEEN = 10_000;

/** How long the answer to a lookup is used again before the directory is asked anew. */
export const LOOKUP_CACHE_MS = 2_000;
/** Lookup answers kept at most; past this many the cache starts over. */
const MAX_LOOKUPS_CACHED = 1_000;

export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({ initialMs: 2_000, maxMs: 30_000 });

export interface DirectoryLinkOptions {
  name: string;
  /**
   * Opens a connection to the directory (TCP to a known address, or
   * find-or-host for the local default), bound to a local port of its own
   * (DialOptions.localPort 0) so that hole punching can dial from it.
   */
  connect: () => Promise<DirectoryClient>;
  /**
   * Opens a relay connection to the same directory, joined to `peer`
   * (openRelay); with `at`, to that process of it, which must prove `at.key`
   * (requireKey). Without it, relaying is refused.
   */
  relay?: (peer: string, at?: RelayAt) => Promise<RelayedStream>;
  backoff?: Backoff;
  /** Random source in [0, 1) for jitter; injectable for tests. */
  random?: () => number;
  logger?: Logger;
}

export interface DirectoryLinkEvents {
  /** Registered (first time or again); `port` is where we must listen. */
  registered: [Registration];
  /** The directory connection is gone; retrying after `delayMs`. */
  lost: [err: NatterError, delayMs: number];
  /**
   * The directory is shutting the chat system down. The link does not stop
   * by itself: call stop() to obey; otherwise it reconnects (to whichever
   * directory answers at that address next), as after any loss.
   */
  shutdown: [];
}

export class DirectoryLink extends EventEmitter<DirectoryLinkEvents> implements Discovery, Rendezvous {
  readonly keyAuthority: KeyAuthority = 'directory';
  readonly name: string;
  readonly #connect: () => Promise<DirectoryClient>;
  readonly #relay: ((peer: string, at?: RelayAt) => Promise<RelayedStream>) | undefined;
  readonly #callListeners: ((call: CallMessage) => void)[] = [];
  readonly #backoff: Backoff;
  readonly #random: () => number;
  readonly #log: Logger;
  #client: DirectoryClient | undefined;
  #registration: Registration | undefined;
  #aliveTimer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #isStopped = false;
  /** The last listing, to answer lookups while the directory is away. */
  #known = new Map<string, PeerInfo>();
  /** Every name any listing held (bounded), for hasSeen(). */
  readonly #everListed = new Set<string>();
  /** Recent answers to lookup(), found or not, with when they came (performance.now()). */
  readonly #lookups = new Map<string, { info: PeerInfo | undefined; at: number }>();

  constructor(options: DirectoryLinkOptions) {
    super();
    this.name = options.name;
    this.#connect = options.connect;
    this.#relay = options.relay;
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
    this.#log = options.logger ?? SILENT_LOGGER;
  }

  get registration(): Registration | undefined {
    return this.#registration;
  }

  /** Our IP as used towards the directory (the local end of its connection), while connected. */
  get ownAddress(): string | undefined {
    const local = this.#client?.conn.localAddress;
    return local === undefined ? undefined : canonicalIp(local);
  }

  get isRegistered(): boolean {
    return this.#client !== undefined && this.#registration !== undefined;
  }

  /**
   * Connects and registers for the first time. Rejects when the directory
   * cannot be reached or refuses the name: at start-up the user must hear
   * about it, not wait on a retry loop.
   */
  async start(): Promise<Registration> {
    return this.#register(0);
  }

  /** The port the directory first assigned; asked for again on every later UP. */
  async #register(port: number): Promise<Registration> {
    const client = await this.#connect();
    try {
      if (this.#isStopped) throw new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory link was stopped');
      const registration = await client.register(this.name, '', port);
      if (this.#isStopped) throw new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory link was stopped');
      this.#adopt(client, registration);
      return registration;
    } catch (err) {
      void client.close();
      throw err;
    }
  }

  #adopt(client: DirectoryClient, registration: Registration): void {
    this.#client = client;
    this.#registration = registration;
    this.#attempt = 0;
    client.on('shutdown', () => {
      if (!this.#isStopped && this.#client === client) this.emit('shutdown');
    });
    client.on('call', (call) => {
      if (this.#isStopped || this.#client !== client) return;
      for (const listener of this.#callListeners) listener(call);
    });
    client.on('close', (err) => {
      if (this.#client !== client) return;
      this.#client = undefined;
      clearInterval(this.#aliveTimer);
      if (!this.#isStopped) {
        this.#retry(err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory closed the connection'));
      }
    });
    clearInterval(this.#aliveTimer);
    // The directory sets the pace, within reason: a broken or hostile one must not make us flood it.
    const interval = Math.min(86_400_000, Math.max(20, registration.aliveIntervalMs));
    this.#aliveTimer = setInterval(() => void this.#heartbeat(client), interval);
    this.#aliveTimer.unref();
    this.emit('registered', registration);
  }

  async #heartbeat(client: DirectoryClient): Promise<void> {
    try {
      const answer = await client.alive();
      if (answer !== undefined) return;
      // NACK: the directory forgot us (expiry, or it restarted with our connection intact).
      this.#log.info({ name: this.name }, 'directory answered NACK; registering again');
      const registration = await client.register(this.name, '', this.#registration?.port ?? 0);
      this.#registration = registration;
      this.emit('registered', registration);
    } catch (err) {
      if (this.#client === client) {
        this.#log.info({ err: (err as Error).message }, 'directory request failed');
        client.conn.destroy(err instanceof NatterError ? err : undefined);
      }
    }
  }

  #retry(err: NatterError): void {
    if (this.#isStopped) return;
    const base = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** this.#attempt);
    const delayMs = Math.round(base * (0.8 + 0.4 * this.#random())); // ±20% so a crowd does not retry in step
    this.#attempt++;
    this.emit('lost', err, delayMs);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#register(this.#registration?.port ?? 0).catch((e: unknown) => {
        this.#retry(e instanceof NatterError ? e : new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, String(e)));
      });
    }, delayMs);
    this.#retryTimer.unref();
  }

  /**
   * Gives up the assigned port and registers again for another (DOWN, then
   * UP): for when the port the directory chose is busy on this machine.
   */
  async moveToAnotherPort(): Promise<Registration> {
    const client = this.#client;
    if (client === undefined) throw new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, 'the directory is unreachable');
    client.down();
    const registration = await client.register(this.name, '', 0);
    this.#registration = registration;
    return registration;
  }

  get punchPort(): number | undefined {
    return this.#client?.localPort;
  }

  async punch(peer: string): Promise<{ ip: string; port: number }> {
    return this.#connected().punch(peer);
  }

  async probe(port: number): Promise<ProbeResult> {
    return this.#connected().probe(port);
  }

  relay(peer: string, at?: { ip: string; port: number }): Promise<RelayedStream> {
    if (this.#relay === undefined)
      return Promise.reject(new NatterError(ERROR_CODES.RELAY_REFUSED, 'no relay is set up for this directory'));
    if (at === undefined) return this.#relay(peer);
    // Only the key our registered connection proved may take the relay elsewhere.
    const key = this.#client?.directoryKey;
    if (key === undefined)
      return Promise.reject(new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, 'the directory is unreachable; retrying in the background'));
    return this.#relay(peer, { ...at, key });
  }

  onCall(listener: (call: CallMessage) => void): void {
    this.#callListeners.push(listener);
  }

  #connected(): DirectoryClient {
    if (this.#client === undefined)
      throw new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, 'the directory is unreachable; retrying in the background');
    return this.#client;
  }

  /** WHO. Rejects with NATTER_ERR_DIRECTORY_UNAVAILABLE while the directory is away. */
  async who(): Promise<PeerInfo[]> {
    if (this.#client === undefined) {
      throw new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, 'the directory is unreachable; retrying in the background');
    }
    const peers = await this.#client.who();
    this.#known = new Map(peers.map((p) => [p.name, p]));
    if (this.#everListed.size + peers.length > MAX_NAMES_SEEN) this.#everListed.clear();
    for (const p of peers) this.#everListed.add(p.name);
    return peers;
  }

  /**
   * Where `name` listens: asks the directory for that one name (FIND), or
   * uses what it last said while it is away. An answer is used again for
   * LOOKUP_CACHE_MS: a burst of connections under one name costs one request.
   */
  async lookup(name: string): Promise<PeerInfo | undefined> {
    const client = this.#client;
    if (client !== undefined) {
      const cached = this.#lookups.get(name);
      if (cached !== undefined && performance.now() - cached.at < LOOKUP_CACHE_MS) return cached.info;
      try {
        const info = await client.find(name);
        if (this.#lookups.size >= MAX_LOOKUPS_CACHED) this.#lookups.clear();
        this.#lookups.set(name, { info, at: performance.now() });
        if (info === undefined) {
          this.#known.delete(name);
        } else {
          this.#known.set(name, info);
          if (this.#everListed.size >= MAX_NAMES_SEEN) this.#everListed.clear();
          this.#everListed.add(name);
        }
        return info;
      } catch {
        // Fall back on what we knew.
      }
    }
    return this.#known.get(name);
  }

  async list(): Promise<PeerInfo[]> {
    return this.who();
  }

  isFriend(): boolean {
    return false;
  }

  hasSeen(name: string): boolean {
    return this.#everListed.has(name);
  }

  /** DOWN and close. */
  async stop(): Promise<void> {
    this.#isStopped = true;
    this.#clearTimers();
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) {
      client.down();
      await client.close();
    }
  }

  #clearTimers(): void {
    clearInterval(this.#aliveTimer);
    clearTimeout(this.#retryTimer);
  }
}
