/**
 * A token bucket: `burst` commands (or bytes) at once, then `ratePerSecond` steady.
 * Pure arithmetic on a monotonic clock reading; the caller decides what to do
 * with a command that has to wait.
 */
export class TokenBucket {
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #last: number;

  constructor(burst: number, ratePerSecond: number, now: number) {
    this.#burst = burst;
    this.#perMs = ratePerSecond / 1000;
    this.#tokens = burst;
    this.#last = now;
  }

  /**
   * Takes `count` tokens (one by default). Returns 0 when the command may
   * run now, or how many ms it must wait for its tokens (they are then
   * already spoken for).
   */
  take(now: number, count = 1): number {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    this.#tokens -= count;
    return this.#tokens >= 0 ? 0 : Math.ceil(-this.#tokens / this.#perMs);
  }

  /** Takes one token if there is one now; false (and nothing taken) when there is none. */
  tryTake(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** True when the bucket is full again (the client has been quiet long enough). */
  isFull(now: number): boolean {
    return this.#tokens + (now - this.#last) * this.#perMs >= this.#burst;
  }
}
