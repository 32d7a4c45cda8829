/**
 * The directory's one timer for all of its connections (no timer per
 * connection), on the monotonic clock. It enforces three limits:
 *
 *   registration deadline   no HELLO and UP within registerTimeoutMs: closed
 *   expiry                  not heard from for expiryIntervals alive intervals: unlisted
 *   idle close              not heard from for idleCloseIntervals: closed
 *
 * Two cadences keep an idle directory cheap. The deadline is checked often
 * (a quarter of the register timeout, at most every second), over the
 * connections that have not registered yet only: a few at a time, however
 * many are online. Expiry and the idle close count in alive intervals; they
 * are checked every eighth of one (every 3.75 s at the default 30 s), over
 * every connection and entry, so they act at most that late.
 */
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { DirectoryCounters } from './handlers/context.ts';
import type { DirectoryOptions } from './options.ts';
import type { ClientSession } from './session.ts';
import type { DirectoryStore } from './store/store.ts';

/** What the sweeper needs of the directory. */
export interface SweepHost {
  readonly options: DirectoryOptions;
  readonly store: DirectoryStore;
  readonly counters: DirectoryCounters;
  readonly logger: Logger;
  now(): number;
  /** Every connection the directory holds. */
  sessions(): Iterable<ClientSession>;
  sessionOf(owner: string): ClientSession | undefined;
  /** A sweep failed (the store could not be reached, say); the next one tries again. */
  fault(err: unknown): void;
}

export class Sweeper {
  readonly #host: SweepHost;
  /** Connections accepted that had not registered when last looked at. */
  readonly #awaitingUp = new Set<ClientSession>();
  readonly #tickMs: number;
  readonly #fullMs: number;
  #lastFullAt: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: SweepHost) {
    this.#host = host;
    const o = host.options;
    this.#tickMs = Math.max(10, Math.min(1_000, o.aliveIntervalMs / 4, o.registerTimeoutMs / 4));
    this.#fullMs = Math.max(this.#tickMs, o.aliveIntervalMs / 8);
    this.#lastFullAt = host.now();
  }

  /** Starts the timer (it does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#tick().catch((err: unknown) => this.#host.fault(err)), this.#tickMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A connection accepted: its registration deadline runs from its connectedAt. */
  add(session: ClientSession): void {
    this.#awaitingUp.add(session);
  }

  /** A connection closed or taken over (by the relay): no deadline any more. */
  remove(session: ClientSession): void {
    this.#awaitingUp.delete(session);
  }

  /** Every check at once, whatever the cadence (tests with a manual clock call it through DirectoryServer.sweep()). */
  async sweep(): Promise<void> {
    const now = this.#host.now();
    this.#checkDeadlines(now);
    await this.#checkSilence(now);
  }

  async #tick(): Promise<void> {
    const now = this.#host.now();
    this.#checkDeadlines(now);
    if (now - this.#lastFullAt < this.#fullMs) return;
    await this.#checkSilence(now);
  }

  #checkDeadlines(now: number): void {
    const timeoutMs = this.#host.options.registerTimeoutMs;
    for (const session of this.#awaitingUp) {
      if (session.hasRegistered) {
        this.#awaitingUp.delete(session);
      } else if (now - session.connectedAt > timeoutMs) {
        this.#awaitingUp.delete(session);
        session.conn.fail(new NatterError(ERROR_CODES.REGISTER_TIMEOUT, `no HELLO and UP within ${timeoutMs} ms`));
      }
    }
  }

  /** The idle close over every connection, then expiry over every entry. */
  async #checkSilence(now: number): Promise<void> {
    this.#lastFullAt = now;
    const host = this.#host;
    const o = host.options;
    for (const session of host.sessions()) {
      if (session.hasRegistered && session.conn.state === 'open' && now - session.lastHeard > o.idleCloseIntervals * o.aliveIntervalMs) {
        host.counters.idleClosed++;
        host.logger.info({ session: session.id, ip: session.ip }, 'closing a silent connection');
        void session.conn.close();
      }
    }
    const expired = await host.store.expire(now - o.expiryIntervals * o.aliveIntervalMs);
    for (const record of expired) {
      host.counters.expirations++;
      host.logger.info({ peer: record.name, ip: record.ip, port: record.port }, 'expired: not heard from for two alive intervals');
      const owner = host.sessionOf(record.owner);
      if (owner !== undefined && owner.name === record.name) owner.name = undefined;
    }
  }
}
