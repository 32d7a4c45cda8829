/**
 * The shared store: the online list in Redis, so that any number of
 * directory processes pointed at one Redis act as one directory
 * (docs/architecture.md, "The directory on Redis"; docs/deploy.md).
 *
 * Every change runs as one Lua script (redis-scripts.ts), atomic across
 * processes: a name is bound to one key, a port at an IP to one peer, and the
 * listing changes with its generation. Expiry needs no process of its own:
 * last-heard times sit in a sorted set that every process's sweep trims with
 * a script, so the entries of a process that died expire while any other
 * runs.
 *
 * Times. Callers pass times on their own clock (the directory's monotonic
 * one); processes on different machines share Redis's clock (TIME) instead.
 * The store measures the offset between the two when it connects and every
 * reconcile interval (redis-watch.ts), and converts both ways
 * (redis-layout.ts), so callers see their own scale.
 *
 * WHO. The listing's generation is pushed by every change, made here or at
 * any other process, so generation() costs no round trip while the
 * subscription stands; the store reads it after every reconnect and every
 * reconcile interval, since a message sent meanwhile is lost.
 *
 * Outages. While Redis is away the store keeps going on what this process
 * knows: the entries its own sessions registered (the mirror). Refreshes and
 * removals of those are answered from it (a removal is replayed later);
 * registrations are refused with NATTER_ERR_STORE_UNAVAILABLE; WHO gets the
 * last listing read. The fault is logged once. When Redis is back the store
 * re-asserts its sessions' entries (recreating them if Redis lost its data),
 * replays removals, and carries on; the same happens after every reconnect,
 * because pub/sub messages sent meanwhile are gone.
 *
 *   up ──Redis fails──▶ down ──reconnected (or a reconcile tick finds it serving)──▶ recovering ──▶ up
 *                        ▲                                                              │ fails
 *                        └──────────────────────────────────────────────────────────────┘
 */
import { MONOTONIC_CLOCK, type Clock } from '../../clock.ts';
import { ERROR_CODES, NatterError, isNatterError } from '../../errors.ts';
import { SILENT_LOGGER, type Logger } from '../../log.ts';
import { checkRange } from './memory-store.ts';
import { parseRedisUrl, RedisConnection } from './redis-connection.ts';
import { RedisLayout } from './redis-layout.ts';
import { SCRIPTS } from './redis-scripts.ts';
import { RedisWatch } from './redis-watch.ts';
import {
  claimKey,
  DEFAULT_PORT_RANGE,
  type DirectoryStore,
  type OwnerNotice,
  type PeerRecord,
  type PortRange,
  type RegisterRequest,
  type RegisterResult,
} from './store.ts';

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** Replaces the URL's password (read from a file or the environment rather than a command line). */
  password?: string;
  /** Ports assigned to peers. Default 50000-59999. Every process of one directory must use the same. */
  portRange?: PortRange;
  /** Prepended to every Redis key and the channel, so one Redis can hold several directories. Default 'natter:'. */
  prefix?: string;
  /** The clock the callers' `now` arguments come from. Default: the monotonic clock, as the directory's. */
  clock?: Clock;
  logger?: Logger;
  /** How long connect() waits for Redis. Default 10,000 ms. */
  connectTimeoutMs?: number;
  /** How often the store reads the shared clock, the generation and SHUTDOWN notices from Redis, and retries a recovery. Default 5,000 ms. */
  reconcileIntervalMs?: number;
  /** Longest wait between two reconnection attempts. Default 2,000 ms. */
  reconnectMaxDelayMs?: number;
  /** Commands out with no answer for this long mean Redis is unavailable (hung, or the network). Default 5,000 ms. */
  replyTimeoutMs?: number;
}

export const REDIS_STORE_DEFAULTS = Object.freeze({
  prefix: 'natter:',
  connectTimeoutMs: 10_000,
  reconcileIntervalMs: 5_000,
  reconnectMaxDelayMs: 2_000,
  replyTimeoutMs: 5_000,
});

/** Most entries one expiry script removes: Redis serves no one else while a script runs. */
const EXPIRE_BATCH = 1_000;
/** A SHUTDOWN notice stays readable this long, for processes that missed the message. */
const SHUTDOWN_NOTICE_TTL_MS = 3_600_000;

type State = 'up' | 'down' | 'recovering';

export class RedisStore implements DirectoryStore {
  readonly isShared = true;
  readonly #conn: RedisConnection;
  readonly #range: PortRange;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Key names, values, owner tags and the clock offset. */
  readonly #at: RedisLayout;
  /** The clock, the generation and SHUTDOWN notices, kept up with. */
  readonly #watch: RedisWatch;
  #state: State = 'up';
  #downSince = 0;
  /** Entries this process's sessions own, as last known: what the store answers from and re-asserts after an outage. */
  readonly #mirror = new Map<string, PeerRecord>();
  /** Removals made while Redis was away, replayed when it is back: name → owner. */
  readonly #pendingRemovals = new Map<string, string>();
  /** The last listing read, for WHO while Redis is away. */
  #lastListing: PeerRecord[] | undefined;
  #identity: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reconciling: Promise<void> | undefined;
  #isClosed = false;

  private constructor(conn: RedisConnection, options: RedisStoreOptions, prefix: string) {
    this.#conn = conn;
    this.#range = checkRange(options.portRange ?? DEFAULT_PORT_RANGE);
    this.#clock = options.clock ?? MONOTONIC_CLOCK;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#at = new RedisLayout(prefix);
    this.#watch = new RedisWatch(conn, this.#at, this.#clock, this.#log);
  }

  /**
   * Connects to Redis and reads its clock.
   * @throws NatterError NATTER_ERR_INVALID_ARGUMENT for a bad option, NATTER_ERR_STORE_UNAVAILABLE when Redis cannot be reached in time
   */
  static async connect(options: RedisStoreOptions): Promise<RedisStore> {
    const prefix = options.prefix ?? REDIS_STORE_DEFAULTS.prefix;
    const address = parseRedisUrl(options.url, options.password);
    const connectTimeoutMs = positive('connectTimeoutMs', options.connectTimeoutMs ?? REDIS_STORE_DEFAULTS.connectTimeoutMs);
    const reconcileIntervalMs = positive('reconcileIntervalMs', options.reconcileIntervalMs ?? REDIS_STORE_DEFAULTS.reconcileIntervalMs);
    const reconnectMaxDelayMs = positive('reconnectMaxDelayMs', options.reconnectMaxDelayMs ?? REDIS_STORE_DEFAULTS.reconnectMaxDelayMs);
    const replyTimeoutMs = positive('replyTimeoutMs', options.replyTimeoutMs ?? REDIS_STORE_DEFAULTS.replyTimeoutMs);
    checkRange(options.portRange ?? DEFAULT_PORT_RANGE);
    let store: RedisStore | undefined;
    const conn = await RedisConnection.open(
      { address, channel: `${prefix}events`, connectTimeoutMs, reconnectMaxDelayMs, replyTimeoutMs, scripts: Object.values(SCRIPTS) },
      {
        lost: (err) => {
          if (store !== undefined) store.#lost(err);
        },
        ready: () => {
          if (store !== undefined) void store.#reconcile();
        },
        resubscribed: () => {
          if (store !== undefined) void store.#reconcile();
        },
        unsubscribed: () => {
          if (store !== undefined) store.#watch.unsubscribed();
        },
        message: (text) => {
          if (store !== undefined) store.#watch.message(text);
        },
      },
    );
    store = new RedisStore(conn, options, prefix);
    try {
      await store.#watch.check();
    } catch (err) {
      await conn.close();
      throw err;
    }
    store.#timer = setInterval(() => void store.#reconcile(), reconcileIntervalMs);
    store.#timer.unref();
    store.#log.info({ redis: address.display }, 'using Redis for the online list');
    return store;
  }

  /** True while Redis serves the store. */
  get isAvailable(): boolean {
    return this.#state === 'up';
  }

  async register(req: RegisterRequest): Promise<RegisterResult> {
    this.#requireUp('register');
    const shared = this.#at.toShared(req.now);
    const reply = strings(
      await this.#conn.run(SCRIPTS.register, this.#at.changeKeys(), [
        'register',
        req.name,
        req.ip,
        req.requestedPort,
        this.#at.ownerIn(req.owner),
        req.key,
        shared,
        shared,
        this.#range.lo,
        this.#range.hi,
        this.#at.channel,
        req.seenIp ?? '',
        req.seenPort ?? 0,
      ]),
      'register',
    );
    const [outcome, value, previous, generation] = reply;
    if (generation !== undefined) this.#watch.noteGeneration(generation);
    if (outcome === 'taken') return { ok: false, reason: 'name-taken' };
    if (outcome === 'exhausted') {
      // A takeover that found no port has removed the old entry, as the memory store does.
      this.#mirror.delete(req.name);
      return { ok: false, reason: 'ports-exhausted' };
    }
    if (value === undefined) throw bad('register');
    const record = this.#at.decode(req.name, value, shared);
    this.#mirror.set(req.name, record);
    if (outcome === 'same') return { ok: true, record: { ...record }, isNew: false };
    if (previous === undefined || previous === '') return { ok: true, record: { ...record }, isNew: true };
    return { ok: true, record: { ...record }, isNew: false, previousOwner: this.#at.ownerOut(previous) };
  }

  async refresh(name: string, owner: string, now: number): Promise<PeerRecord | undefined> {
    const mine = this.#mirror.get(name);
    if (this.#state === 'up') {
      try {
        const shared = this.#at.toShared(now);
        const value = await this.#conn.run(
          SCRIPTS.refresh,
          [this.#at.keys.peers, this.#at.keys.heard],
          [name, this.#at.ownerIn(owner), shared],
        );
        if (value === null) {
          if (mine?.owner === owner) this.#mirror.delete(name);
          return undefined;
        }
        if (typeof value !== 'string') throw bad('refresh');
        const record = this.#at.decode(name, value, shared);
        if (record.owner === owner) this.#mirror.set(name, record);
        return { ...record };
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      }
    }
    // Redis is away: this process still knows its own sessions.
    if (mine === undefined || mine.owner !== owner) return undefined;
    mine.lastHeard = now;
    return { ...mine };
  }

  async remove(name: string, owner: string): Promise<boolean> {
    const mine = this.#mirror.get(name);
    if (mine?.owner === owner) this.#mirror.delete(name);
    if (this.#state === 'up') {
      try {
        const generation = await this.#conn.run(SCRIPTS.remove, this.#at.removeKeys(), [name, this.#at.ownerIn(owner), this.#at.channel]);
        if (typeof generation !== 'string') return false;
        this.#watch.noteGeneration(generation);
        return true;
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      }
    }
    if (mine?.owner !== owner) return false;
    this.#pendingRemovals.set(name, owner);
    return true;
  }

  async list(): Promise<PeerRecord[]> {
    if (this.#state === 'up') {
      try {
        const reply = await this.#conn.run(SCRIPTS.list, [this.#at.keys.peers, this.#at.keys.heard, this.#at.keys.gen], []);
        const [entries, heard, gen] = Array.isArray(reply) ? reply : [];
        const values = strings(entries, 'list');
        const times = strings(heard, 'list');
        const heardOf = new Map<string, number>();
        for (let i = 0; i + 1 < times.length; i += 2) heardOf.set(times[i] as string, Number(times[i + 1]));
        const records: PeerRecord[] = [];
        for (let i = 0; i + 1 < values.length; i += 2) {
          const name = values[i] as string;
          records.push(this.#at.decode(name, values[i + 1] as string, heardOf.get(name) ?? 0));
        }
        this.#lastListing = records;
        this.#watch.noteGeneration(String(gen));
        return records.map((r) => ({ ...r }));
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      }
    }
    if (this.#lastListing === undefined) this.#requireUp('list');
    return (this.#lastListing ?? []).map((r) => ({ ...r }));
  }

  /**
   * No round trip while the subscription stands: the generation is pushed by
   * every change, made here or at any other process. Otherwise (at start,
   * after a subscription dropped) one small read. While Redis is away: the
   * last one known, so WHO is answered with the last listing.
   */
  async generation(): Promise<number> {
    if (this.#state === 'up' && !this.#watch.isWatching) {
      try {
        this.#watch.noteGeneration(await this.#conn.run(SCRIPTS.generation, [this.#at.keys.gen], []), true);
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      }
    }
    return this.#watch.generation;
  }

  async expire(cutoff: number): Promise<PeerRecord[]> {
    if (this.#state !== 'up') return [];
    const shared = this.#at.toShared(cutoff);
    const gone: PeerRecord[] = [];
    try {
      // Bounded: each round removes up to EXPIRE_BATCH; a short round means nothing older is left.
      for (let round = 0; round < 1_000; round++) {
        const flat = strings(
          await this.#conn.run(SCRIPTS.expire, this.#at.removeKeys(), [shared, EXPIRE_BATCH, this.#at.channel]),
          'expire',
        );
        const [looked, generation] = flat;
        if (generation !== undefined && generation !== '') this.#watch.noteGeneration(generation);
        for (let i = 2; i + 2 < flat.length; i += 3) {
          const record = this.#at.decode(flat[i] as string, flat[i + 1] as string, Number(flat[i + 2]));
          const mine = this.#mirror.get(record.name);
          if (mine !== undefined && mine.owner === record.owner) this.#mirror.delete(record.name);
          gone.push(record);
        }
        if (Number(looked) < EXPIRE_BATCH) break;
      }
    } catch (err) {
      if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
    }
    return gone;
  }

  async size(): Promise<number> {
    if (this.#state === 'up') {
      try {
        const n = await this.#conn.run(SCRIPTS.size, [this.#at.keys.peers], []);
        if (typeof n !== 'number') throw bad('size');
        return n;
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) throw err;
      }
    }
    if (this.#lastListing === undefined) this.#requireUp('size');
    return this.#lastListing?.length ?? 0;
  }

  async claimIdentity(key: string): Promise<void> {
    claimKey(undefined, key);
    const held = await this.#conn.run(SCRIPTS.claim, [this.#at.keys.identity], [key]);
    if (typeof held !== 'string') throw bad('claim');
    this.#identity = claimKey(held, key);
  }

  async announceShutdown(reason: string): Promise<void> {
    try {
      await this.#conn.run(SCRIPTS.announce, [this.#at.keys.shutdown], [reason, SHUTDOWN_NOTICE_TTL_MS, this.#at.channel]);
    } finally {
      // This process at least, whatever Redis does.
      this.#watch.fireShutdown(reason);
    }
  }

  onShutdown(listener: (reason: string) => void): void {
    this.#watch.onShutdown(listener);
  }

  async tell(owner: string, notice: OwnerNotice): Promise<void> {
    await this.#conn.run(SCRIPTS.tell, [], [this.#watch.encodeNotice(this.#at.stored(owner), notice), this.#at.channel]);
  }

  onNotice(listener: (owner: string, notice: OwnerNotice) => void): void {
    this.#watch.onNotice(listener);
  }

  async close(): Promise<void> {
    if (this.#isClosed) return;
    this.#isClosed = true;
    clearInterval(this.#timer);
    await this.#reconciling;
    await this.#conn.close();
    this.#watch.close();
  }

  // -------------------------------------------------------------------------

  #requireUp(what: string): void {
    if (this.#state !== 'up') {
      throw new NatterError(
        ERROR_CODES.STORE_UNAVAILABLE,
        `the directory cannot reach Redis at ${this.#conn.address.display} now (${what}); try again shortly`,
      );
    }
  }

  #lost(err: Error): void {
    if (this.#isClosed || this.#state === 'down') return;
    const wasUp = this.#state === 'up';
    this.#state = 'down';
    if (!wasUp) return; // a failed recovery: already reported
    this.#downSince = this.#clock.now();
    this.#log.error(
      { redis: this.#conn.address.display, err: err.message },
      'Redis is unavailable: registrations are refused and peers already registered are answered from this process until it is back',
    );
  }

  /** After a reconnect, and every reconcile interval: catch up with Redis. One at a time. */
  #reconcile(): Promise<void> {
    this.#reconciling ??= this.#reconcileOnce().finally(() => {
      this.#reconciling = undefined;
    });
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    if (this.#isClosed) return;
    try {
      if (this.#state === 'up') {
        await this.#watch.check();
        return;
      }
      if (!this.#conn.isReady) return;
      this.#state = 'recovering';
      await this.#recover();
    } catch (err) {
      if (this.#state === 'recovering') this.#state = 'down';
      if (!isNatterError(err, ERROR_CODES.STORE_UNAVAILABLE)) {
        this.#log.error({ err: (err as Error).message }, 'reconciling with Redis failed');
      }
    }
  }

  /** Redis is back: check the clock and notices, claim the key, replay removals, re-assert this process's entries. */
  async #recover(): Promise<void> {
    await this.#watch.check();
    if (this.#identity !== undefined) {
      try {
        await this.claimIdentity(this.#identity);
      } catch (err) {
        if (!isNatterError(err, ERROR_CODES.DIRECTORY_KEY_CONFLICT)) throw err;
        this.#log.error({ err: err.message }, 'another directory key took Redis over while it was away');
      }
    }
    const removals = [...this.#pendingRemovals];
    await Promise.all(
      removals.map(([name, owner]) =>
        this.#conn.run(SCRIPTS.remove, this.#at.removeKeys(), [name, this.#at.ownerIn(owner), this.#at.channel]),
      ),
    );
    for (const [name, owner] of removals) if (this.#pendingRemovals.get(name) === owner) this.#pendingRemovals.delete(name);
    const entries = [...this.#mirror.values()];
    const replies = await Promise.all(
      entries.map((r) =>
        this.#conn.run(SCRIPTS.register, this.#at.changeKeys(), [
          'restore',
          r.name,
          r.ip,
          r.port,
          this.#at.ownerIn(r.owner),
          r.key,
          this.#at.toShared(r.registeredAt),
          this.#at.toShared(r.lastHeard),
          this.#range.lo,
          this.#range.hi,
          this.#at.channel,
          r.seenIp ?? '',
          r.seenPort ?? 0,
        ]),
      ),
    );
    let lost = 0;
    entries.forEach((r, i) => {
      const [outcome, value] = strings(replies[i], 'restore');
      if (this.#mirror.get(r.name) !== r) return; // changed meanwhile
      if (outcome === 'lost' || value === undefined) {
        this.#mirror.delete(r.name);
        lost++;
      } else {
        const restored = this.#at.decode(r.name, value, this.#at.toShared(r.lastHeard));
        this.#mirror.set(r.name, restored);
      }
    });
    this.#state = 'up';
    this.#log.warn(
      {
        redis: this.#conn.address.display,
        downMs: Math.round(this.#clock.now() - this.#downSince),
        reasserted: entries.length - lost,
        takenElsewhere: lost,
        removalsReplayed: removals.length,
      },
      'Redis is available again',
    );
  }
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `Redis store option ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** A reply that must be a list of strings (Lua tables of strings come back as arrays). */
function strings(reply: unknown, what: string): string[] {
  if (!Array.isArray(reply) || !reply.every((x) => typeof x === 'string')) throw bad(what);
  return reply as string[];
}

function bad(what: string): NatterError {
  return new NatterError(ERROR_CODES.INTERNAL, `unexpected reply from Redis to ${what}`);
}
