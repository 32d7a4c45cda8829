/**
 * Time sources. Deadlines and expiry use a monotonic clock, so a wall-clock
 * step (NTP, a suspended laptop, an administrator's `date -s`) can neither
 * expire everyone at once nor keep anyone forever.
 */

/** Milliseconds on a monotonic scale; only differences are meaningful. */
export interface Clock {
  now(): number;
}

export const MONOTONIC_CLOCK: Clock = { now: () => performance.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A timer a Scheduler made; only its scheduler knows what it is. */
export type TimerHandle = object;

/**
 * Timers behind an interface (STYLE.md 7): the real ones, or a
 * ManualScheduler that tests move by hand, so nothing timing-dependent needs
 * a test to sleep. Times are on the scheduler's own (monotonic) clock.
 */
export interface Scheduler extends Clock {
  /** Runs `fn` once, `ms` from now. The timer never keeps the process alive. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer (undefined, or one that already ran, is fine). */
  clearTimeout(handle: TimerHandle | undefined): void;
}

/** Node's timers, unref'd, on the monotonic clock. */
export const REAL_SCHEDULER: Scheduler = {
  now: () => performance.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A Scheduler whose time moves only when a test calls advance(); due timers run then, in order. */
export class ManualScheduler extends ManualClock implements Scheduler {
  #timers: { due: number; seq: number; fn: () => void }[] = [];
  #seq = 0;

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { due: this.now() + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.#timers = this.#timers.filter((t) => t !== handle);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way (those they set included). */
  override advance(ms: number): void {
    const end = this.now() + ms;
    for (;;) {
      let next: { due: number; seq: number; fn: () => void } | undefined;
      for (const t of this.#timers)
        if (t.due <= end && (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      if (next === undefined) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      super.advance(next.due - this.now());
      next.fn();
    }
    super.advance(end - this.now());
  }
}
