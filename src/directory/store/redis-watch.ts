/**
 * What a Redis store keeps up with besides answers to its own requests: the
 * shared clock, the listing's generation, SHUTDOWN notices, and CALLs other
 * processes pass to this one's sessions (a notice lost meanwhile is a punch or
 * relay its asker retries, so nothing replays them). Other
 * processes' changes and notices arrive as pub/sub messages; since a message
 * sent while the subscription is down is lost, check() reads all three from
 * Redis itself, after every reconnect and every reconcile interval, and the
 * generation is trusted from messages only while the subscription has stood
 * since the last read.
 */
import type { Clock } from '../../clock.ts';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { RedisConnection } from './redis-connection.ts';
import type { RedisLayout } from './redis-layout.ts';
import type { OwnerNotice } from './store.ts';
import { SCRIPTS } from './redis-scripts.ts';

/** A clock reading whose round trip took longer than this is too rough to adopt. */
const CLOCK_MAX_RTT_MS = 250;
/** The offset is moved only by more than this: readings jitter by a round trip. */
const CLOCK_TOLERANCE_MS = 5;

export class RedisWatch {
  readonly #conn: RedisConnection;
  readonly #at: RedisLayout;
  readonly #clock: Clock;
  readonly #log: Logger;
  /** Shared ms when the store connected: older SHUTDOWN notices are not for it. 0 until then. */
  #startedAt = 0;
  /** The listing's generation as last heard: read, returned by this process's changes, or pushed by others' ("gen|N"). */
  #generation = 0;
  /** True while the subscription has stood since the last read: then every change arrives as a message. */
  #isWatching = false;
  /** How often the subscription dropped: a read is trusted only if none did meanwhile. */
  #drops = 0;
  readonly #shutdownListeners: ((reason: string) => void)[] = [];
  readonly #noticeListeners: ((owner: string, notice: OwnerNotice) => void)[] = [];
  #hasShutdown = false;

  constructor(conn: RedisConnection, layout: RedisLayout, clock: Clock, logger: Logger) {
    this.#conn = conn;
    this.#at = layout;
    this.#clock = clock;
    this.#log = logger;
  }

  get generation(): number {
    return this.#generation;
  }

  /** True when the generation known here is current without asking Redis. */
  get isWatching(): boolean {
    return this.#isWatching;
  }

  /** The subscription dropped: messages may be missed until a check has caught up. */
  unsubscribed(): void {
    this.#isWatching = false;
    this.#drops++;
  }

  message(text: string): void {
    if (text.startsWith('gen|')) this.noteGeneration(text.slice('gen|'.length));
    else if (text.startsWith('shutdown|')) this.#onNotice(text.slice('shutdown|'.length));
    else if (text.startsWith(`tell|${this.#at.tag}`)) this.#onTell(text);
  }

  /** "tell|owner|via|ip|port|name" (the name last: it is the only part that may hold '|'). */
  encodeNotice(storedOwner: string, notice: OwnerNotice): string {
    return `tell|${storedOwner}|${notice.via}|${notice.ip}|${String(notice.port)}|${notice.name}`;
  }

  onNotice(listener: (owner: string, notice: OwnerNotice) => void): void {
    this.#noticeListeners.push(listener);
  }

  #onTell(text: string): void {
    const parts = text.split('|');
    const [, owner, via, ip, port] = parts;
    const name = parts.slice(5).join('|');
    const portNumber = Number(port);
    if (owner === undefined || (via !== 'punch' && via !== 'relay') || ip === undefined || !Number.isInteger(portNumber) || name === '') {
      this.#log.warn({ text: text.slice(0, 200) }, 'ignored a malformed notice from Redis');
      return;
    }
    const notice: OwnerNotice = { type: 'CALL', via, name, ip, port: portNumber };
    for (const listener of this.#noticeListeners) listener(this.#at.ownerOut(owner), notice);
  }

  /**
   * A generation heard of. Messages and replies may arrive in either order,
   * so they only move it forward; a read of the key itself (`isRead`) is the
   * truth, even backwards (a Redis that restarted empty has no generation).
   */
  noteGeneration(value: unknown, isRead = false): void {
    const generation = Number(value);
    if (!Number.isSafeInteger(generation)) {
      if (isRead) throw new NatterError(ERROR_CODES.INTERNAL, 'unexpected generation in Redis');
      return; // not from natter's scripts: nothing to go on
    }
    if (isRead || generation > this.#generation) this.#generation = generation;
  }

  /**
   * Reads Redis's clock (adjusting the offset), the generation and the last
   * SHUTDOWN notice, in one round trip.
   */
  async check(): Promise<void> {
    const before = this.#clock.now();
    const drops = this.#drops;
    const wasListening = this.#conn.isListening;
    const reply = await this.#conn.run(SCRIPTS.check, [this.#at.keys.shutdown, this.#at.keys.gen], []);
    const after = this.#clock.now();
    const [time, generation, notice] = Array.isArray(reply) ? reply : [];
    this.noteGeneration(generation, true);
    // Read while subscribed throughout: from here on, every change arrives as a message.
    this.#isWatching = wasListening && this.#conn.isListening && drops === this.#drops;
    const [seconds, micros] = Array.isArray(time) ? time : [];
    const sharedMs = Number(seconds) * 1_000 + Number(micros) / 1_000;
    if (!Number.isFinite(sharedMs)) throw new NatterError(ERROR_CODES.INTERNAL, 'unexpected reply from Redis to TIME');
    const measured = Math.round(sharedMs - (before + after) / 2);
    const isFirst = this.#startedAt === 0;
    if (isFirst || (after - before <= CLOCK_MAX_RTT_MS && Math.abs(measured - this.#at.offset) > CLOCK_TOLERANCE_MS)) {
      if (!isFirst) this.#log.info({ moveMs: measured - this.#at.offset }, "adjusted to Redis's clock");
      this.#at.offset = measured;
    }
    if (isFirst) this.#startedAt = sharedMs;
    if (typeof notice === 'string') this.#onNotice(notice);
  }

  onShutdown(listener: (reason: string) => void): void {
    this.#shutdownListeners.push(listener);
  }

  /** Calls every shutdown listener, once in the store's life. */
  fireShutdown(reason: string): void {
    if (this.#hasShutdown) return;
    this.#hasShutdown = true;
    for (const listener of this.#shutdownListeners.splice(0)) queueMicrotask(() => listener(reason));
  }

  close(): void {
    this.#shutdownListeners.length = 0;
    this.#noticeListeners.length = 0;
  }

  /** "µs|reason": a SHUTDOWN announced at µs (Redis TIME); one from before the store connected is not for it. */
  #onNotice(notice: string): void {
    const bar = notice.indexOf('|');
    const at = Number(notice.slice(0, bar)) / 1_000;
    if (bar < 0 || !Number.isFinite(at) || this.#startedAt === 0 || at < this.#startedAt) return;
    this.fireShutdown(notice.slice(bar + 1));
  }
}
