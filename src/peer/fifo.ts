/**
 * A first-in, first-out queue: appended at the tail, taken off the head (a
 * peer's waiting messages, taken by receipts in the order they went; the
 * ids a receiver remembers, forgotten oldest first). An array with a moving
 * head, so taking the first item costs O(1) however many wait: 100,000
 * messages must not cost 100,000² element moves, as Array.shift() or
 * splice(0, 1) would.
 */
export class Fifo<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The i-th waiting item, 0 being the oldest. */
  at(i: number): T | undefined {
    return i < 0 ? undefined : this.#items[this.#head + i];
  }

  push(item: T): void {
    this.#items.push(item);
  }

  /** Index of the first item matching, or -1. */
  findIndex(match: (item: T) => boolean): number {
    for (let i = this.#head; i < this.#items.length; i++) if (match(this.#items[i] as T)) return i - this.#head;
    return -1;
  }

  /** Removes the i-th item: O(1) for the oldest, O(n) elsewhere (a receipt out of order, which is rare). */
  removeAt(i: number): void {
    if (i < 0 || i >= this.length) return;
    if (i === 0) {
      this.#items[this.#head] = undefined as T; // let it be collected
      this.#head++;
      // Reclaim the dead prefix once it is most of the array.
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return;
    }
    this.#items.splice(this.#head + i, 1);
  }

  /** Every waiting item, oldest first. */
  toArray(): T[] {
    return this.#items.slice(this.#head);
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
