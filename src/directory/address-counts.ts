/** Connections open per address, for the per-address cap: each counted from its accept to its close. */
export class AddressCounts {
  readonly #counts = new Map<string, number>();

  /** Connections open from `ip`. */
  of(ip: string): number {
    return this.#counts.get(ip) ?? 0;
  }

  add(ip: string): void {
    this.#counts.set(ip, this.of(ip) + 1);
  }

  /** One connection from `ip` closed. */
  forget(ip: string): void {
    const left = this.of(ip) - 1;
    if (left <= 0) this.#counts.delete(ip);
    else this.#counts.set(ip, left);
  }
}
