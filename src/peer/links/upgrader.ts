/**
 * Moving a relayed link to a better path. While a link we dialed is
 * relayed, the upgrader tries now and then (soon, then less and less often)
 * to reach the peer directly or by a hole punch; a connection that gets
 * through is handed to the pool, which puts it in the relayed link's place.
 */
import type { Scheduler, TimerHandle } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import type { Connection, Connector, LinkKind } from './connector.ts';

/** What the upgrader needs to know of a link. */
export interface UpgradableLink {
  readonly kind: LinkKind;
  /** True when we dialed it. */
  readonly isOutbound: boolean;
}

/** When a relayed link we dialed tries a better path again: soon, then less and less often. */
const UPGRADE_DELAYS_MS = [2_000, 5_000, 15_000, 60_000, 300_000];

/** What the upgrader needs of the pool. */
export interface UpgradeHost<L extends UpgradableLink> {
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  /** True while `link` is still `peer`'s connection and the pool still wants it. */
  isCurrent(peer: string, link: L): boolean;
  /** A better path got through while `link` was current: it takes `link`'s place. */
  replace(peer: string, link: L, better: Connection): void;
}

export class Upgrader<L extends UpgradableLink> {
  readonly #connector: Connector;
  readonly #host: UpgradeHost<L>;
  /** The next try, per relayed link. */
  readonly #timers = new WeakMap<L, TimerHandle>();

  constructor(connector: Connector, host: UpgradeHost<L>) {
    this.#connector = connector;
    this.#host = host;
  }

  /** Starts trying for `link` if it is one to move: relayed, and dialed by us. */
  start(peer: string, link: L, attempt = 0): void {
    if (link.kind !== 'relay' || !link.isOutbound) return;
    const host = this.#host;
    const delay = UPGRADE_DELAYS_MS[Math.min(attempt, UPGRADE_DELAYS_MS.length - 1)] as number;
    const timer = host.scheduler.setTimeout(() => {
      if (!host.isCurrent(peer, link)) return;
      this.#connector.connect(peer).then(
        (better) => {
          if (!host.isCurrent(peer, link)) {
            void better.conn.close();
            return;
          }
          host.logger.info({ peer, kind: better.kind }, 'moving a relayed link to a better path');
          host.replace(peer, link, better);
        },
        (err: unknown) => {
          host.logger.debug({ peer, err: (err as Error).message }, 'a relayed link stays relayed for now');
          this.start(peer, link, attempt + 1);
        },
      );
    }, delay);
    this.#timers.set(link, timer);
  }

  /** No more tries for `link` (it is gone, or the pool stops). */
  stop(link: L): void {
    this.#host.scheduler.clearTimeout(this.#timers.get(link));
  }
}
