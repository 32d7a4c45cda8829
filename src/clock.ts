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
