/**
 * Reaching the members of our rooms: a member that lacks our items (or that
 * we have not exchanged with since we started) is tried until a chat with it
 * opens, backing off from the retry interval to its maximum, and given up
 * once no room we share wants it any more. One timer per member.
 */
import type { Scheduler, TimerHandle } from '../../clock.ts';
import type { NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';

export interface MemberReachOptions {
  /** Opens a chat (a connection) to `peer`; rejects when it cannot be reached now. */
  reach(peer: string): Promise<void>;
  /** Whether some room still wants `peer` reached. */
  isWanted(peer: string): boolean;
  retryIntervalMs: number;
  maxRetryIntervalMs: number;
  scheduler: Scheduler;
  logger: Logger;
}

interface Retry {
  timer: TimerHandle | undefined;
  delayMs: number;
}

export class MemberReach {
  readonly #o: MemberReachOptions;
  readonly #retries = new Map<string, Retry>();
  #isStopped = false;

  constructor(options: MemberReachOptions) {
    this.#o = options;
  }

  /** Tries to reach `peer` now, and again later until reached() (or it is wanted no more). */
  want(peer: string): void {
    if (this.#isStopped || this.#retries.has(peer)) return;
    const retry: Retry = { timer: undefined, delayMs: this.#o.retryIntervalMs };
    this.#retries.set(peer, retry);
    const attempt = (): void => {
      if (this.#retries.get(peer) !== retry) return;
      // Out of every room we share with it (it left, we left, it was removed): nothing more to bring it.
      if (!this.#o.isWanted(peer)) {
        this.#retries.delete(peer);
        return;
      }
      this.#o
        .reach(peer)
        .catch((err: unknown) => this.#o.logger.debug({ peer, code: (err as NatterError).code }, 'room member not reachable now'));
      retry.timer = this.#o.scheduler.setTimeout(attempt, retry.delayMs);
      retry.delayMs = Math.min(retry.delayMs * 2, this.#o.maxRetryIntervalMs);
    };
    attempt();
  }

  /** A chat with `peer` opened: no more tries. */
  reached(peer: string): void {
    const retry = this.#retries.get(peer);
    if (retry === undefined) return;
    this.#o.scheduler.clearTimeout(retry.timer);
    this.#retries.delete(peer);
  }

  stop(): void {
    this.#isStopped = true;
    for (const retry of this.#retries.values()) this.#o.scheduler.clearTimeout(retry.timer);
    this.#retries.clear();
  }
}
