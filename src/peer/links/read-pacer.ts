/**
 * Reading one peer's connection fairly: its frames are taken at its rate (a
 * token bucket: a burst, then a steady pace; past it the connection is not
 * read until its tokens are back), and in slices of FRAMES_PER_TURN, after
 * each of which it lets the others have a turn of the event loop. Frames
 * held back meanwhile wait in the network, where TCP slows their sender.
 */
import type { Scheduler } from '../../clock.ts';
import { TokenBucket } from '../../rate-limiter.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';

/**
 * Frames taken from one connection before it lets the others have a turn:
 * a peer that sends a great deal at once is read in slices, so that others
 * are heard in between, and a consumer that pauses the node (its output is
 * full) stops the reading within a slice.
 */
export const FRAMES_PER_TURN = 64;

export class ReadPacer {
  readonly #conn: FramedConnection;
  readonly #scheduler: Scheduler;
  /** True while the whole node is paused (its consumer is full): nothing is resumed then. */
  readonly #isInputPaused: () => boolean;
  /** The other side's frames: a burst, then a steady rate. */
  readonly #bucket: TokenBucket;
  /** Not read until its tokens are back (it sent faster than its rate). */
  #isThrottled = false;
  /** Frames taken since this connection last let the others have a turn. */
  #sinceYield = 0;
  /** Paused until the next turn of the event loop, for the other connections' sake. */
  #isYielding = false;

  constructor(conn: FramedConnection, framesPerSecond: number, scheduler: Scheduler, isInputPaused: () => boolean) {
    this.#conn = conn;
    this.#scheduler = scheduler;
    this.#isInputPaused = isInputPaused;
    this.#bucket = new TokenBucket(2 * framesPerSecond, framesPerSecond, scheduler.now());
  }

  /** True when neither the rate nor the slice holds the connection back: whoever resumes the node may resume it. */
  get isFree(): boolean {
    return !this.#isThrottled && !this.#isYielding;
  }

  /** Counts one frame taken; pauses the connection when it is past its rate or its slice. */
  took(): void {
    const wait = this.#bucket.take(this.#scheduler.now());
    if (wait > 0 && !this.#isThrottled) {
      // Faster than its rate: this frame is taken, the next ones wait in the network meanwhile.
      this.#isThrottled = true;
      this.#conn.pause();
      this.#scheduler.setTimeout(() => {
        this.#isThrottled = false;
        this.#resumeIfFree();
      }, wait);
    }
    if (++this.#sinceYield >= FRAMES_PER_TURN && !this.#isYielding) {
      this.#sinceYield = 0;
      this.#isYielding = true;
      this.#conn.pause();
      setImmediate(() => {
        this.#isYielding = false;
        this.#resumeIfFree();
      });
    }
  }

  #resumeIfFree(): void {
    if (!this.#isInputPaused() && this.isFree) this.#conn.resume();
  }
}
