/**
 * The peers heard on the LAN: a bounded table of announcements, each held for
 * its TTL from when it was last heard (RFC 6762 §5.2 cache maintenance: asked
 * about again at 80% and 90% of it, dropped at 100%). Pure state on a clock
 * the caller reads; lan.ts owns the timer.
 *
 * One name may be announced by several instances (two keys, or a peer and
 * someone claiming its name): lookups take the one that appeared last, and
 * keep it while it is announced again.
 */
import type { Announcement } from './lan-records.ts';

export interface LanEntry extends Announcement {
  /** When it was last heard (ms, the caller's clock). */
  heardAt: number;
  expiresAt: number;
  /** When to ask about it again, if its TTL is nearly spent and it has not been heard since; undefined once asked twice. */
  refreshAt: number | undefined;
  /** Order of appearance: a later instance of a name shadows an earlier one. */
  seq: number;
}

/** What take() did with an announcement. */
export type TakeResult = 'added' | 'changed' | 'refreshed' | 'full';

/** Names remembered for hasSeen(); past this many the memory starts over (it only feeds a hint). */
const MAX_NAMES_SEEN = 10_000;

export class LanTable {
  readonly maxPeers: number;
  readonly #entries = new Map<string, LanEntry>();
  readonly #everListed = new Set<string>();
  #seq = 0;

  constructor(maxPeers: number) {
    this.maxPeers = maxPeers;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Takes an announcement heard at `now`; a new instance when the table is full is refused. */
  take(a: Announcement, now: number): TakeResult {
    const ttlMs = a.ttlSeconds * 1_000;
    const timing = { heardAt: now, expiresAt: now + ttlMs, refreshAt: now + 0.8 * ttlMs };
    const old = this.#entries.get(a.instance);
    if (old === undefined) {
      if (this.#entries.size >= this.maxPeers) return 'full';
      this.#entries.set(a.instance, { ...a, ...timing, seq: this.#seq++ });
      this.#remember(a.name);
      return 'added';
    }
    const isChanged = old.name !== a.name || old.ip !== a.ip || old.port !== a.port || !old.key.equals(a.key);
    Object.assign(old, a, timing);
    if (isChanged) this.#remember(a.name);
    return isChanged ? 'changed' : 'refreshed';
  }

  /** Removes an instance (it said goodbye); returns it if it was there. */
  remove(instance: string): LanEntry | undefined {
    const entry = this.#entries.get(instance);
    this.#entries.delete(instance);
    return entry;
  }

  /** Removes and returns every entry whose TTL ran out by `now`. */
  expire(now: number): LanEntry[] {
    const gone: LanEntry[] = [];
    for (const [instance, e] of this.#entries) {
      if (e.expiresAt <= now) {
        this.#entries.delete(instance);
        gone.push(e);
      }
    }
    return gone;
  }

  /** True when some entry is due to be asked about again by `now`; each is asked at 80% and at 90% of its TTL. */
  takeRefreshDue(now: number): boolean {
    let isDue = false;
    for (const e of this.#entries.values()) {
      if (e.refreshAt === undefined || e.refreshAt > now) continue;
      isDue = true;
      const ttlMs = e.expiresAt - e.heardAt || 1;
      const second = e.heardAt + 0.9 * ttlMs;
      e.refreshAt = e.refreshAt < second ? second : undefined;
    }
    return isDue;
  }

  /** The next time something falls due (a refresh or an expiry), if anything is held. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const e of this.#entries.values()) {
      const due = Math.min(e.expiresAt, e.refreshAt ?? Infinity);
      if (next === undefined || due < next) next = due;
    }
    return next;
  }

  /** The entry for `name`: the latest instance to appear among those announcing it. */
  lookup(name: string): LanEntry | undefined {
    let best: LanEntry | undefined;
    for (const e of this.#entries.values()) if (e.name === name && (best === undefined || e.seq > best.seq)) best = e;
    return best;
  }

  /** One entry per name (the one lookup() gives), in the order the names appeared. */
  list(): LanEntry[] {
    const byName = new Map<string, LanEntry>();
    for (const e of this.#entries.values()) {
      const held = byName.get(e.name);
      if (held === undefined || e.seq > held.seq) byName.set(e.name, e);
    }
    return [...byName.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Instances held with more than half their TTL left, with what is left (seconds): the known answers of a query. */
  knownAnswers(now: number, max: number): { instance: string; ttlSeconds: number }[] {
    const known: { instance: string; ttlSeconds: number }[] = [];
    for (const e of this.#entries.values()) {
      if (known.length >= max) break;
      const left = e.expiresAt - now;
      if (left > (e.expiresAt - e.heardAt) / 2) known.push({ instance: e.instance, ttlSeconds: Math.floor(left / 1_000) });
    }
    return known;
  }

  /** True when `name` was ever announced here (bounded memory). */
  hasSeen(name: string): boolean {
    return this.#everListed.has(name);
  }

  clear(): void {
    this.#entries.clear();
  }

  #remember(name: string): void {
    if (this.#everListed.size >= MAX_NAMES_SEEN) this.#everListed.clear();
    this.#everListed.add(name);
  }
}
