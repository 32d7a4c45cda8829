/**
 * The Redis store's two connections (node-redis, `@redis/client`): one for
 * commands, one subscribed to the directory's channel (a subscribed
 * connection takes no other commands). It runs the store's scripts and says
 * whether a failure means "Redis is unavailable" (NATTER_ERR_STORE_UNAVAILABLE,
 * which the store rides out) or a bug (NATTER_ERR_INTERNAL).
 *
 * Commands are not queued while Redis is away (disableOfflineQueue): a
 * request fails at once rather than waiting for a Redis that may not come
 * back, and the store answers from what it knows. Both connections reconnect
 * by themselves, backing off to reconnectMaxDelayMs.
 */
import { isIP } from 'node:net';
import { createClient, ErrorReply, type RedisClientType } from '@redis/client';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { LuaScript } from './redis-scripts.ts';

/** Where Redis is and how to log in, from `redis[s]://[user:password@]host:port[/db]`. */
export interface RedisAddress {
  host: string;
  port: number;
  isTls: boolean;
  username?: string;
  password?: string;
  database?: number;
  /** The URL without credentials, for logs and errors. */
  display: string;
}

const DEFAULT_REDIS_PORT = 6379;

/** Parses a Redis URL; `password`, when given, replaces the URL's. @throws NatterError NATTER_ERR_INVALID_ARGUMENT */
export function parseRedisUrl(url: string, password?: string): RedisAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      'the Redis address must be a URL: redis://[user:password@]HOST:PORT[/DB] or rediss://...',
      { cause },
    );
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `the Redis address must start with redis:// or rediss://, not ${parsed.protocol}//`,
    );
  }
  if (parsed.hostname === '') throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'the Redis address names no host');
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? DEFAULT_REDIS_PORT : Number(parsed.port);
  const path = parsed.pathname.replace(/^\//, '');
  if (!/^\d*$/.test(path) || (path !== '' && Number(path) > 65_535)) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `the Redis database must be a number, not ${path}`);
  }
  const secret = password ?? (parsed.password === '' ? undefined : decodeURIComponent(parsed.password));
  const display = `${parsed.protocol}//${parsed.host}${path === '' ? '' : `/${path}`}`;
  return {
    host,
    port,
    isTls: parsed.protocol === 'rediss:',
    ...(parsed.username === '' ? {} : { username: decodeURIComponent(parsed.username) }),
    ...(secret === undefined ? {} : { password: secret }),
    ...(path === '' ? {} : { database: Number(path) }),
    display,
  };
}

export interface RedisConnectionOptions {
  address: RedisAddress;
  /** The pub/sub channel to listen on. */
  channel: string;
  /** How long open() waits for Redis before giving up. */
  connectTimeoutMs: number;
  /** Longest wait between two reconnection attempts. */
  reconnectMaxDelayMs: number;
  /** A connection with commands out and no answer for this long counts as lost (Redis hung, or the network). */
  replyTimeoutMs: number;
  /** Loaded into Redis's script cache on every (re)connection, so that EVALSHA finds them. */
  scripts: readonly LuaScript[];
}

/** What the store hears from its connections. */
export interface RedisConnectionHandlers {
  /** The command connection failed, or a command found Redis unable to serve (called on every such failure). */
  lost(err: Error): void;
  /** The command connection is back after a failure. */
  ready(): void;
  /** The subscription connection failed: messages may be missed until it is back. */
  unsubscribed(): void;
  /** The subscription connection is back: messages may have been missed meanwhile. */
  resubscribed(): void;
  message(text: string): void;
}

/** Replies that mean Redis cannot serve now, rather than that natter asked something wrong. */
const UNAVAILABLE_REPLIES = /^(READONLY|LOADING|MASTERDOWN|BUSY|OOM|TRYAGAIN|CLUSTERDOWN|NOAUTH|WRONGPASS|NOPERM|MISCONF)\b/;

type Client = RedisClientType;

/**
 * SCRIPT LOAD for each script. Best effort: a script missing later costs one
 * more round trip (EVAL after NOSCRIPT), and an ACL may forbid SCRIPT LOAD.
 */
async function loadScripts(client: Client, scripts: readonly LuaScript[]): Promise<void> {
  await Promise.all(scripts.map((s) => client.sendCommand(['SCRIPT', 'LOAD', s.source]).catch(() => undefined)));
}

export class RedisConnection {
  readonly address: RedisAddress;
  readonly #client: Client;
  readonly #subscriber: Client;
  readonly #handlers: RedisConnectionHandlers;
  #isClosed = false;
  /** Commands sent and not answered, and since when nothing was answered while some were out. */
  #pending = 0;
  #since = 0;
  /** Rejects, once, the commands out when the watchdog finds them stuck; then replaced. */
  #stalled = RedisConnection.#stall();
  readonly #replyTimeoutMs: number;
  readonly #watchdog: NodeJS.Timeout;

  private constructor(
    address: RedisAddress,
    client: Client,
    subscriber: Client,
    handlers: RedisConnectionHandlers,
    replyTimeoutMs: number,
  ) {
    this.address = address;
    this.#client = client;
    this.#subscriber = subscriber;
    this.#handlers = handlers;
    this.#replyTimeoutMs = replyTimeoutMs;
    // One timer for all commands, rather than one per command.
    this.#watchdog = setInterval(() => this.#check(), Math.max(10, Math.min(1_000, replyTimeoutMs / 4)));
    this.#watchdog.unref();
  }

  static #stall(): { promise: Promise<never>; reject: (err: Error) => void } {
    let reject: (err: Error) => void = () => {};
    const promise = new Promise<never>((_, r) => {
      reject = r;
    });
    promise.catch(() => {}); // raced by the commands out, if any
    return { promise, reject };
  }

  #check(): void {
    if (this.#pending === 0 || performance.now() - this.#since <= this.#replyTimeoutMs) return;
    const err = new Error(`Redis has not answered for ${this.#replyTimeoutMs} ms`);
    this.#stalled.reject(err);
    this.#stalled = RedisConnection.#stall();
    this.#pending = 0;
    if (!this.#isClosed) this.#handlers.lost(err);
  }

  /** One command, counted for the watchdog. */
  async #send(args: string[]): Promise<unknown> {
    if (this.#pending++ === 0) this.#since = performance.now();
    const stalled = this.#stalled;
    try {
      return await Promise.race([this.#client.sendCommand(args), stalled.promise]);
    } finally {
      if (this.#stalled === stalled && this.#pending > 0) this.#pending--;
      this.#since = performance.now();
    }
  }

  /**
   * Connects both connections, waiting up to connectTimeoutMs.
   * @throws NatterError NATTER_ERR_STORE_UNAVAILABLE when Redis cannot be reached in time
   */
  static async open(options: RedisConnectionOptions, handlers: RedisConnectionHandlers): Promise<RedisConnection> {
    const { address } = options;
    const common = {
      host: address.host,
      port: address.port,
      connectTimeout: Math.min(options.connectTimeoutMs, 5_000),
      // Quickly at first, then every reconnectMaxDelayMs: a restarted Redis is found within about that.
      reconnectStrategy: (retries: number) => Math.min(options.reconnectMaxDelayMs, 50 * 2 ** Math.min(retries, 10)),
    };
    const client: Client = createClient({
      // TLS checks the certificate against the host name (SNI may not carry an IP address).
      socket: address.isTls
        ? { ...common, tls: true, ...(isIP(address.host) === 0 ? { servername: address.host } : {}) }
        : { ...common, tls: false },
      ...(address.username === undefined ? {} : { username: address.username }),
      ...(address.password === undefined ? {} : { password: address.password }),
      ...(address.database === undefined ? {} : { database: address.database }),
      disableOfflineQueue: true,
      disableClientInfo: true,
      maintNotifications: 'disabled',
      name: 'natter-directory',
      // node-redis would start a 5 s AbortSignal timer for every command, firing even after the answer
      // (most of an ALIVE's cost here); it only covers commands not yet written anyway. The watchdog
      // below covers answers that do not come.
      commandOptions: { timeout: 0 },
    });
    const subscriber = client.duplicate();
    let lastError: Error | undefined;
    let connection: RedisConnection | undefined;
    let isReady = false;
    // Every failed attempt is an 'error' event; without a listener Node would throw it.
    client.on('error', (err: Error) => {
      lastError = err;
      if (connection !== undefined) handlers.lost(err);
    });
    client.on('ready', () => {
      if (!isReady) {
        isReady = true;
        return;
      }
      // A Redis that restarted has an empty script cache: refill it before the store catches up.
      void loadScripts(client, options.scripts).then(() => handlers.ready());
    });
    let isSubscribed = false;
    subscriber.on('error', (err: Error) => {
      lastError = err;
      if (isSubscribed) handlers.unsubscribed();
    });
    subscriber.on('ready', () => {
      if (isSubscribed) handlers.resubscribed();
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new NatterError(
            ERROR_CODES.STORE_UNAVAILABLE,
            `cannot reach Redis at ${address.display} within ${options.connectTimeoutMs} ms${lastError === undefined ? '' : `: ${lastError.message}`}`,
            { cause: lastError },
          ),
        );
      }, options.connectTimeoutMs);
    });
    try {
      const connecting = Promise.all([client.connect(), subscriber.connect()]);
      connecting.catch(() => {}); // raced below; a late failure must not go unhandled
      await Promise.race([connecting, deadline]);
      await loadScripts(client, options.scripts);
      // node-redis resubscribes by itself after a reconnect.
      await subscriber.subscribe(options.channel, (message: string) => handlers.message(message));
      isSubscribed = true;
    } catch (err) {
      client.destroy();
      subscriber.destroy();
      if (err instanceof NatterError) throw err;
      throw new NatterError(ERROR_CODES.STORE_UNAVAILABLE, `cannot use Redis at ${address.display}: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
    connection = new RedisConnection(address, client, subscriber, handlers, options.replyTimeoutMs);
    return connection;
  }

  /** True while the command connection is up (Redis may still refuse commands: see run()). */
  get isReady(): boolean {
    return !this.#isClosed && this.#client.isReady;
  }

  /** True while the subscription connection is up: messages published now will arrive. */
  get isListening(): boolean {
    return !this.#isClosed && this.#subscriber.isReady;
  }

  /**
   * Runs a script: EVALSHA, or EVAL when Redis does not have it (it restarted).
   * @throws NatterError NATTER_ERR_STORE_UNAVAILABLE (Redis away or unable; handlers.lost is told) or NATTER_ERR_INTERNAL
   */
  async run(script: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    if (!this.isReady) throw this.#unavailable(new Error(this.#isClosed ? 'the store is closed' : 'not connected'), script, false);
    const rest = [String(script.keyCount), ...keys, ...args.map(String)];
    try {
      return await this.#send(['EVALSHA', script.sha, ...rest]);
    } catch (err) {
      if (err instanceof ErrorReply && err.message.startsWith('NOSCRIPT')) {
        try {
          return await this.#send(['EVAL', script.source, ...rest]);
        } catch (again) {
          throw this.#classify(again, script);
        }
      }
      throw this.#classify(err, script);
    }
  }

  #classify(err: unknown, script: LuaScript): NatterError {
    if (err instanceof ErrorReply && !UNAVAILABLE_REPLIES.test(err.message)) {
      return new NatterError(ERROR_CODES.INTERNAL, `Redis refused the ${script.name} script: ${err.message}`, { cause: err });
    }
    return this.#unavailable(err instanceof Error ? err : new Error(String(err)), script, true);
  }

  #unavailable(err: Error, script: LuaScript, isNews: boolean): NatterError {
    if (isNews && !this.#isClosed) this.#handlers.lost(err);
    return new NatterError(
      ERROR_CODES.STORE_UNAVAILABLE,
      `Redis at ${this.address.display} is unavailable (${script.name}): ${err.message}`,
      {
        cause: err,
      },
    );
  }

  /** Closes both connections: gracefully when connected (pending commands finish), at once otherwise. */
  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#watchdog);
    await Promise.all(
      [this.#client, this.#subscriber].map(async (c) => {
        if (c.isReady) {
          await c.close().catch(() => c.destroy());
        } else if (c.isOpen) {
          c.destroy();
        }
      }),
    );
  }
}
