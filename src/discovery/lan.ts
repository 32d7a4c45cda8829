/**
 * Finding peers on the LAN with no server: DNS-SD over multicast DNS
 * (RFC 6763, RFC 6762), on multicast-dns's socket. Each peer announces itself
 * as a `_natter._tcp` service (its name and public key in TXT, its port in
 * SRV, its addresses in A records), answers queries for that type, and
 * browses for the others; the records are in lan-records.ts.
 *
 *   idle ──start(port)──▶ starting ──socket bound──▶ running ──stop()──▶ closing ──▶ closed
 *        └─browse()───▶       └──bind failed: NATTER_ERR_LISTEN_FAILED──────────────────▲
 *
 * browse() only listens and queries (natter doctor): it announces, answers
 * and says goodbye for nobody.
 *
 * While running:
 *   announce   at start, then announceMs later, doubling, `announcements` in all
 *              (RFC 6762 §8.3); again whenever this machine's interfaces change
 *   query      at start, announceMs later, then every requeryMs; again when
 *              interfaces change; with known answers (§7.1)
 *   answer     queries for our type, at most once per announceMs (§6.2)
 *   maintain   entries heard again at 80% and 90% of their TTL, dropped at 100%
 *   goodbye    our records with TTL 0 at stop(): others drop us at once (§10.1)
 *
 * An announcement is a hint, not a credential: the Noise handshake and the
 * KeyBook decide who a peer is (docs/security.md). So everything heard is
 * bounded (names, TXT sizes, ports, addresses, how many peers) and a packet
 * that does not pass is logged and ignored.
 */
import { EventEmitter } from 'node:events';
import { isIPv4 } from 'node:net';
import multicastDns from 'multicast-dns';
import { REAL_SCHEDULER, type Scheduler, type TimerHandle } from '../clock.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import { normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';
import type { Discovery, KeyAuthority, PeerInfo } from './discovery.ts';
import {
  DEFAULT_LAN_LIMITS,
  MAX_TTL_SECONDS,
  browseQuery,
  isAskingFor,
  ownNames,
  ownRecords,
  readResponse,
  type LanLimits,
  type OwnRecord,
} from './lan-records.ts';
import { LocalNetworks } from './lan-networks.ts';
import { LanTable, type LanEntry } from './lan-table.ts';

/** The intervals of LanDiscovery; tests shorten them instead of sleeping. */
export interface LanTimings {
  /** TTL of our records, seconds: how long others keep us after they last heard us. Default 120 (RFC 6762 §10). */
  ttlSeconds: number;
  /** Gap after the first announcement (the later ones double it); also the least time between two of our answers. Default 1,000 ms. */
  announceMs: number;
  /** Announcements at start and after an interface change. Default 3. */
  announcements: number;
  /** How often to ask for every peer again, once the first two queries are out. Default 60,000 ms. */
  requeryMs: number;
  /** How often to look for changed network interfaces. Default 5,000 ms. */
  interfacePollMs: number;
}

export const DEFAULT_LAN_TIMINGS: Readonly<LanTimings> = Object.freeze({
  ttlSeconds: 120,
  announceMs: 1_000,
  announcements: 3,
  requeryMs: 60_000,
  interfacePollMs: 5_000,
});

/** Bounds on each timing, checked in the constructor. */
const TIMING_RANGES: Readonly<Record<keyof LanTimings, readonly [number, number]>> = {
  ttlSeconds: [1, MAX_TTL_SECONDS],
  announceMs: [10, 60_000],
  announcements: [1, 8],
  requeryMs: [100, 86_400_000],
  interfacePollMs: [50, 86_400_000],
};

const LIMIT_RANGES: Readonly<Record<keyof LanLimits, readonly [number, number]>> = {
  maxPeers: [1, 65_536],
  maxTxtBytes: [64, 8_192],
  maxRecordsPerPacket: [4, 1_024],
};

/** Known answers put in one query, at most: they must fit in one packet with room to spare. */
const MAX_KNOWN_ANSWERS = 12;

/** How long stop() waits for the goodbye to be sent and the socket to close. */
const STOP_DEADLINE_MS = 1_000;

export interface LanDiscoveryOptions {
  /** Our display name, announced. */
  name: string;
  /** Our Ed25519 public key, announced so that peers can compare it with the key the handshake proves. */
  publicKey: Buffer;
  /**
   * IPv4 address of the interface to use: multicast goes out there, the group
   * is joined there, and it is the only address announced. Default: every
   * interface (sending where the routing table sends 224.0.0.251).
   */
  interface?: string;
  timings?: Partial<LanTimings>;
  limits?: Partial<LanLimits>;
  /** Timers and the clock for TTLs. Default: Node's, on the monotonic clock. */
  scheduler?: Scheduler;
  logger?: Logger;
}

export type LanState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

export interface LanDiscoveryEvents {
  /** A peer was announced, or announced something new (another address, port or key). */
  up: [PeerInfo];
  /** A peer is gone: it said goodbye, or its TTL ran out unheard. */
  down: [PeerInfo, reason: 'goodbye' | 'expired'];
}

export class LanDiscovery extends EventEmitter<LanDiscoveryEvents> implements Discovery {
  readonly keyAuthority: KeyAuthority = 'lan';
  readonly name: string;
  readonly publicKey: Buffer;
  readonly interface: string | undefined;
  readonly timings: Readonly<LanTimings>;
  readonly limits: Readonly<LanLimits>;
  readonly #scheduler: Scheduler;
  readonly #log: Logger;
  readonly #table: LanTable;
  #state: LanState = 'idle';
  #mdns: multicastDns.MulticastDns | undefined;
  #own: OwnRecord | undefined;
  readonly #networks: LocalNetworks;
  // One timer per purpose.
  #announceTimer: TimerHandle | undefined;
  #answerTimer: TimerHandle | undefined;
  #queryTimer: TimerHandle | undefined;
  #maintainTimer: TimerHandle | undefined;
  #interfaceTimer: TimerHandle | undefined;
  #announcementsLeft = 0;
  #announceGapMs = 0;
  #queriesSent = 0;
  #lastMulticastAt = -Infinity;
  #isFullLogged = false;
  /** Ends start()'s wait for the socket when stop() comes first. */
  #abortStart: (() => void) | undefined;

  /** @throws NatterError NATTER_ERR_INVALID_NAME or NATTER_ERR_INVALID_ARGUMENT */
  constructor(options: LanDiscoveryOptions) {
    super();
    this.name = normalizeName(options.name, DEFAULT_LIMITS.maxNameBytes);
    if (!Buffer.isBuffer(options.publicKey) || options.publicKey.length !== 32) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'LAN discovery: publicKey must be a 32-byte Ed25519 public key');
    }
    this.publicKey = Buffer.from(options.publicKey);
    if (options.interface !== undefined && !isIPv4(options.interface)) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `LAN discovery: interface must be an IPv4 address, got ${JSON.stringify(options.interface)}`,
      );
    }
    this.interface = options.interface;
    this.timings = Object.freeze(checked('timing', { ...DEFAULT_LAN_TIMINGS, ...options.timings }, TIMING_RANGES));
    this.limits = Object.freeze(checked('limit', { ...DEFAULT_LAN_LIMITS, ...options.limits }, LIMIT_RANGES));
    this.#scheduler = options.scheduler ?? REAL_SCHEDULER;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#table = new LanTable(this.limits.maxPeers);
    this.#networks = new LocalNetworks(this.interface);
  }

  get state(): LanState {
    return this.#state;
  }

  /**
   * Joins the mDNS group and starts announcing that we listen on `port`, and
   * browsing. Resolves once the socket is bound and the first announcement
   * and query are on their way.
   * @throws NatterError NATTER_ERR_LISTEN_FAILED when the mDNS socket cannot be bound,
   *   NATTER_ERR_INVALID_ARGUMENT for a bad port or a second start().
   */
  async start(port: number): Promise<void> {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `LAN discovery: port must be from 1 to 65535, got ${String(port)}`);
    }
    await this.#open(port);
  }

  /**
   * Like start(), but only listens and asks: nothing is announced, no query
   * is answered, no goodbye is sent. For looking at the LAN without being
   * seen on it (natter doctor).
   */
  async browse(): Promise<void> {
    await this.#open(undefined);
  }

  async #open(port: number | undefined): Promise<void> {
    if (this.#state !== 'idle') throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `LAN discovery cannot start: it is ${this.#state}`);
    this.#state = 'starting';
    this.#networks.refresh();
    const names = port === undefined ? undefined : ownNames(this.name, this.publicKey, port);
    this.#own =
      names === undefined || port === undefined ? undefined : { ...names, name: this.name, key: this.publicKey, port, addresses: [] };
    // Bound to every address: on Linux a socket bound to one unicast address never sees multicast.
    const mdns = multicastDns({
      ...(this.interface === undefined ? {} : { interface: this.interface }),
      bind: '0.0.0.0',
      reuseAddr: true,
      loopback: true,
      ttl: 255,
    });
    this.#mdns = mdns;
    mdns.on('warning', (err) => this.#log.debug({ err: err.message }, 'mDNS warning'));
    // Never unheard: an 'error' with no listener would be thrown into the event loop.
    mdns.on('error', (err) => this.#log.warn({ err: err.message }, 'mDNS socket error'));
    try {
      await new Promise<void>((resolve, reject) => {
        mdns.once('ready', resolve);
        mdns.once('error', reject);
        this.#abortStart = resolve;
      });
    } catch (cause) {
      this.#abortStart = undefined;
      this.#state = 'closed';
      this.#mdns = undefined;
      mdns.destroy();
      throw new NatterError(ERROR_CODES.LISTEN_FAILED, `LAN discovery cannot use the mDNS port 5353: ${(cause as Error).message}`, {
        cause,
      });
    }
    this.#abortStart = undefined;
    if (this.#state !== 'starting') return; // stop() came first
    mdns.on('response', (packet, rinfo) => this.#onResponse(packet, rinfo.address));
    mdns.on('query', (packet, rinfo) => this.#onQuery(packet, rinfo.address));
    this.#state = 'running';
    this.#beginAnnouncing();
    this.#beginQuerying();
    this.#scheduleInterfacePoll();
    this.#log.info({ instance: names?.instance ?? '(browsing only)', port, interface: this.interface ?? 'all' }, 'LAN discovery started');
  }

  /**
   * Sends our goodbye (when we announced), leaves the group and closes the
   * socket. Idempotent. Until it is called, the socket keeps the process alive.
   */
  async stop(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    const mdns = this.#mdns;
    const wasRunning = this.#state === 'running';
    this.#state = 'closing';
    this.#abortStart?.();
    for (const t of [this.#announceTimer, this.#answerTimer, this.#queryTimer, this.#maintainTimer, this.#interfaceTimer])
      this.#scheduler.clearTimeout(t);
    this.#table.clear();
    if (mdns !== undefined) {
      await withDeadline(async (done) => {
        if (wasRunning && this.#own !== undefined)
          await new Promise<void>((resolve) => mdns.respond(ownRecords(this.#ownNow(), 0), () => resolve()));
        mdns.destroy(done);
      });
    }
    this.#mdns = undefined;
    this.#state = 'closed';
  }

  /** Asks every peer on the LAN to answer again now (as after an interface change). */
  requery(): void {
    if (this.#state !== 'running') return;
    this.#queriesSent = 0;
    this.#query();
  }

  async lookup(name: string): Promise<PeerInfo | undefined> {
    const entry = this.#table.lookup(name);
    return entry === undefined ? undefined : toInfo(entry);
  }

  async list(): Promise<PeerInfo[]> {
    return this.#table.list().map(toInfo);
  }

  /** Nobody is a friend for being on the LAN. */
  isFriend(): boolean {
    return false;
  }

  hasSeen(name: string): boolean {
    return this.#table.hasSeen(name);
  }

  // --- announcing and answering ---

  /** Our records as they stand now: the addresses follow the interfaces. */
  #ownNow(): OwnRecord {
    return { ...(this.#own as OwnRecord), addresses: this.#networks.announceable() };
  }

  #beginAnnouncing(): void {
    this.#scheduler.clearTimeout(this.#announceTimer);
    this.#announcementsLeft = this.timings.announcements;
    this.#announceGapMs = this.timings.announceMs;
    this.#announce();
  }

  #announce(): void {
    this.#announceTimer = undefined;
    if (this.#state !== 'running' || this.#own === undefined || this.#announcementsLeft <= 0) return;
    this.#announcementsLeft--;
    this.#multicastOwn('announce');
    if (this.#announcementsLeft > 0) {
      this.#announceTimer = this.#scheduler.setTimeout(() => this.#announce(), this.#announceGapMs);
      this.#announceGapMs *= 2;
    }
  }

  #onQuery(packet: multicastDns.DnsPacket, from: string): void {
    if (this.#state !== 'running' || this.#own === undefined || !this.#networks.isOnLink(from)) return;
    if (!isAskingFor(packet, this.#own, this.timings.ttlSeconds)) return;
    if (this.#answerTimer !== undefined) return; // an answer is already on its way
    // A short random delay lets answers to several queries go as one (RFC 6762 §6), and never
    // sooner than announceMs after our last multicast (§6.2).
    const now = this.#scheduler.now();
    const due = Math.max(now + 20 + Math.random() * 100, this.#lastMulticastAt + this.timings.announceMs);
    this.#answerTimer = this.#scheduler.setTimeout(() => {
      this.#answerTimer = undefined;
      if (this.#state === 'running') this.#multicastOwn('answer');
    }, due - now);
  }

  #multicastOwn(why: string): void {
    this.#lastMulticastAt = this.#scheduler.now();
    this.#send('respond', ownRecords(this.#ownNow(), this.timings.ttlSeconds), why);
  }

  // --- browsing ---

  #beginQuerying(): void {
    this.#queriesSent = 0;
    this.#query();
  }

  #query(): void {
    this.#scheduler.clearTimeout(this.#queryTimer);
    this.#queryTimer = undefined;
    if (this.#state !== 'running') return;
    const now = this.#scheduler.now();
    // Our own record among the known answers keeps us from answering our own query.
    const own = this.#own === undefined ? [] : [{ instance: this.#own.instance, ttlSeconds: this.timings.ttlSeconds }];
    const known = [...own, ...this.#table.knownAnswers(now, MAX_KNOWN_ANSWERS)];
    this.#send('query', browseQuery(known), 'browse');
    this.#queriesSent++;
    this.#queryTimer = this.#scheduler.setTimeout(
      () => this.#query(),
      this.#queriesSent < 2 ? this.timings.announceMs : this.timings.requeryMs,
    );
  }

  #onResponse(packet: multicastDns.DnsPacket, from: string): void {
    if (this.#state !== 'running') return;
    if (!this.#networks.isOnLink(from)) {
      this.#log.debug({ from }, 'ignored an mDNS answer from outside this machine’s networks');
      return;
    }
    const { seen, gone, rejected } = readResponse(packet, from, { limits: this.limits, isOnLink: (ip) => this.#networks.isOnLink(ip) });
    for (const { instance, error } of rejected) {
      this.#log.info(
        { from, instance: instance.slice(0, 80), code: error.code, err: error.message },
        'ignored a malformed LAN announcement',
      );
    }
    const own = this.#own?.instance;
    for (const instance of gone) {
      if (instance === own) continue;
      const entry = this.#table.remove(instance);
      if (entry !== undefined) this.emit('down', toInfo(entry), 'goodbye');
    }
    const now = this.#scheduler.now();
    for (const a of seen) {
      if (a.instance === own) continue;
      const result = this.#table.take(a, now);
      if (result === 'added' || result === 'changed') {
        this.#isFullLogged = false;
        this.emit('up', toInfo(a));
      } else if (result === 'full' && !this.#isFullLogged) {
        this.#isFullLogged = true;
        this.#log.warn({ maxPeers: this.limits.maxPeers, from }, 'LAN peer table is full; ignoring new announcements until some expire');
      }
    }
    this.#scheduleMaintenance();
  }

  /** One timer for the table: the next refresh query or expiry. */
  #scheduleMaintenance(): void {
    this.#scheduler.clearTimeout(this.#maintainTimer);
    this.#maintainTimer = undefined;
    const due = this.#table.nextDue();
    if (due === undefined || this.#state !== 'running') return;
    this.#maintainTimer = this.#scheduler.setTimeout(() => this.#maintain(), Math.max(0, due - this.#scheduler.now()));
  }

  #maintain(): void {
    this.#maintainTimer = undefined;
    if (this.#state !== 'running') return;
    const now = this.#scheduler.now();
    for (const entry of this.#table.expire(now)) this.emit('down', toInfo(entry), 'expired');
    if (this.#table.takeRefreshDue(now)) {
      // Entries near their end are not among the known answers, so their owners answer.
      this.#send('query', browseQuery(this.#table.knownAnswers(now, MAX_KNOWN_ANSWERS)), 'refresh');
    }
    this.#scheduleMaintenance();
  }

  // --- network interfaces ---

  #scheduleInterfacePoll(): void {
    this.#interfaceTimer = this.#scheduler.setTimeout(() => {
      this.#interfaceTimer = undefined;
      if (this.#state !== 'running') return;
      if (this.#networks.refresh()) {
        this.#log.info({ networks: this.#networks.signature }, 'network interfaces changed; announcing and asking again');
        this.#mdns?.update(); // join the group on new interfaces first
        this.#beginAnnouncing();
        this.#beginQuerying();
      }
      this.#scheduleInterfacePoll();
    }, this.timings.interfacePollMs);
  }

  #send(kind: 'respond' | 'query', packet: multicastDns.DnsPacket, why: string): void {
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    const done = (err: Error | null): void => {
      if (err !== null && err !== undefined) this.#log.debug({ err: err.message, why }, 'mDNS send failed');
    };
    try {
      if (kind === 'respond') mdns.respond(packet, done);
      else mdns.query(packet, done);
    } catch (err) {
      // dns-packet refuses to encode what it cannot (a label over 63 bytes): log it, never throw into a timer.
      this.#log.warn({ err: (err as Error).message, why }, 'mDNS packet not sent');
    }
  }
}

function toInfo(e: Pick<LanEntry, 'name' | 'ip' | 'port' | 'key'>): PeerInfo {
  return { name: e.name, ip: e.ip, port: e.port, key: e.key };
}

/** Checks that every value is an integer within its range. */
function checked<T extends Record<string, number>>(
  what: string,
  values: T,
  ranges: Readonly<Record<keyof T, readonly [number, number]>>,
): T {
  for (const key of Object.keys(ranges) as (keyof T & string)[]) {
    const v = values[key];
    const [lo, hi] = ranges[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `LAN discovery ${what} ${key} must be an integer from ${lo} to ${hi}, got ${String(v)}`,
      );
    }
  }
  return values;
}

/** Runs `fn` (which calls `done` when finished), waiting at most STOP_DEADLINE_MS for it. */
async function withDeadline(fn: (done: () => void) => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_DEADLINE_MS);
    timer.unref();
    fn(() => {
      clearTimeout(timer);
      resolve();
    }).catch(() => resolve());
  });
}
