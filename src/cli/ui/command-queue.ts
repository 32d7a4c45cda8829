/**
 * Runs input lines one at a time, in order: a command that has to wait (for
 * a connection, for the network to drain) holds back the ones after it, and
 * reading pauses while too many are waiting, so a script piping thousands of
 * commands gets backpressure instead of unbounded memory.
 */
import type { Interface } from 'node:readline';

const PAUSE_AT = 1_000;
const RESUME_AT = 100;

export class CommandQueue {
  readonly #rl: Interface;
  readonly #run: (line: string) => Promise<void>;
  readonly #lines: string[] = [];
  #isRunning = false;
  #onEnd: (() => void) | undefined;

  /** `onEnd` runs once input has ended and every line read before has run. */
  constructor(rl: Interface, run: (line: string) => Promise<void>, onEnd: () => void) {
    this.#rl = rl;
    this.#run = run;
    rl.on('line', (line) => this.#push(line));
    rl.on('close', () => {
      this.#onEnd = onEnd;
      if (!this.#isRunning) onEnd();
    });
  }

  #push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length >= PAUSE_AT) this.#rl.pause();
    if (!this.#isRunning) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#isRunning = true;
    for (let line = this.#lines.shift(); line !== undefined; line = this.#lines.shift()) {
      if (this.#lines.length < RESUME_AT) this.#rl.resume();
      await this.#run(line);
    }
    this.#isRunning = false;
    this.#onEnd?.();
  }
}
