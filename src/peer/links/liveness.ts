/**
 * Whether one peer connection is alive, and whether it is still in use
 * (docs/chat.md, "Connections"): keepalive PINGs and the idle close, on an
 * injectable Scheduler.
 *
 *   keepalive: every half interval, check how long the other side has been
 *   silent; past 2.5 intervals it is dead. Every other check sends a PING,
 *   which a live peer answers, so a live peer is never silent much longer
 *   than one interval, and a dead one is found within three.
 *
 *   idle: no chat traffic (keepalives do not count) for the idle timeout
 *   closes the connection. The side that dialed closes first; the side that
 *   accepted waits 10% longer. So a close without END that the accepting
 *   side sees near its own deadline is the other side's idle close, and any
 *   other is a peer that went away.
 *
 * One timer per purpose, each armed once and re-armed for the time left
 * when traffic moved its deadline: no timer work per message.
 */
import type { Scheduler, TimerHandle } from '../../clock.ts';

export interface LivenessOptions {
  keepaliveIntervalMs: number;
  idleTimeoutMs: number;
  /** True on the side that dialed. */
  isOutbound: boolean;
  scheduler: Scheduler;
  /** Sends a PING with this nonce. */
  ping(nonce: number): void;
  /** Nothing heard for 2.5 keepalive intervals. */
  onDead(silenceMs: number): void;
  /** No chat traffic for the idle timeout (10% more on the accepting side). */
  onIdle(): void;
}

export class Liveness {
  readonly #o: LivenessOptions;
  readonly #s: Scheduler;
  readonly #idleTimeoutMs: number;
  #lastHeard: number;
  #lastTraffic: number;
  #keepaliveTimer: TimerHandle | undefined;
  #idleTimer: TimerHandle | undefined;
  #tick = 0;
  #isStopped = false;

  constructor(options: LivenessOptions) {
    this.#o = options;
    this.#s = options.scheduler;
    this.#idleTimeoutMs = options.isOutbound ? options.idleTimeoutMs : Math.round(options.idleTimeoutMs * 1.1);
    this.#lastHeard = this.#s.now();
    this.#lastTraffic = this.#lastHeard;
    this.#armKeepalive();
    this.traffic();
  }

  /** Monotonic ms of the last chat traffic. */
  get lastTraffic(): number {
    return this.#lastTraffic;
  }

  /** Monotonic ms when anything was last heard. */
  get lastHeard(): number {
    return this.#lastHeard;
  }

  /** Something arrived (any message, keepalives included). */
  heard(): void {
    this.#lastHeard = this.#s.now();
  }

  /** Chat traffic happened (at `at`, default now): the idle deadline moves back. */
  traffic(at = this.#s.now()): void {
    this.#lastTraffic = at;
    if (this.#idleTimer === undefined && !this.#isStopped)
      this.#idleTimer = this.#s.setTimeout(() => this.#onIdleTimer(), this.#idleTimeoutMs);
  }

  /**
   * True when the other side closing now looks like its own idle close: we
   * accepted the connection, and have had no chat traffic for nearly the
   * dialer's idle timeout.
   */
  isPeerIdleClose(): boolean {
    return !this.#o.isOutbound && this.#s.now() - this.#lastTraffic >= 0.9 * this.#o.idleTimeoutMs;
  }

  /** Stops both timers. Idempotent. */
  stop(): void {
    this.#isStopped = true;
    this.#s.clearTimeout(this.#keepaliveTimer);
    this.#s.clearTimeout(this.#idleTimer);
    this.#keepaliveTimer = undefined;
    this.#idleTimer = undefined;
  }

  #armKeepalive(): void {
    const interval = this.#o.keepaliveIntervalMs;
    this.#keepaliveTimer = this.#s.setTimeout(
      () => {
        if (this.#isStopped) return;
        const silence = this.#s.now() - this.#lastHeard;
        if (silence > 2.5 * interval) {
          this.stop();
          this.#o.onDead(silence);
          return;
        }
        if (this.#tick++ % 2 === 1) this.#o.ping(this.#tick >>> 1);
        this.#armKeepalive();
      },
      Math.max(1, Math.floor(interval / 2)),
    );
  }

  #onIdleTimer(): void {
    this.#idleTimer = undefined;
    if (this.#isStopped) return;
    const left = this.#lastTraffic + this.#idleTimeoutMs - this.#s.now();
    if (left > 0) {
      this.#idleTimer = this.#s.setTimeout(() => this.#onIdleTimer(), left);
      return;
    }
    this.stop();
    this.#o.onIdle();
  }
}
