/**
 * A bounded set of message ids as their 16 raw bytes, forgetting the oldest
 * first: what a receiver remembers of one sender, to know a copy when it
 * comes again (protocol.md §7.1). Looking an id up costs no string and no
 * allocation: the ids live in one ring buffer, found through an open-addressing
 * hash table of slot numbers.
 *
 *   ring    [ id id id id . . . ]    oldest at `head`, `size` of them, 16 bytes each
 *   table   [ 0 3 0 1 0 0 4 2 ... ]  slot + 1 at the id's bucket (linear probing), 0 = empty
 *
 * Ids come from the other side, so the bucket comes from a hash keyed with
 * random numbers drawn once per process: a sender cannot choose ids that all
 * land in one bucket and make every look-up walk the whole table.
 */
import { randomFillSync } from 'node:crypto';

/** Bytes of a message id. */
export const ID_BYTES = 16;
const SMALLEST_SLOTS = 16;

/** The hash's keys: random, odd multipliers (multiply-shift hashing of each 32-bit word). */
const KEYS = new Uint32Array(8);
randomFillSync(KEYS);
for (let i = 4; i < 8; i++) KEYS[i] = (KEYS[i] as number) | 1;
const [K0, K1, K2, K3, M0, M1, M2, M3] = KEYS as unknown as [number, number, number, number, number, number, number, number];

function word(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16) | ((bytes[at + 3] as number) << 24)) >>> 0
  );
}

/** The hash of the 16 bytes at `at`: its top `bits` bits pick the bucket. */
function hashAt(bytes: Uint8Array, at: number): number {
  return (
    (Math.imul(word(bytes, at) ^ K0, M0) ^
      Math.imul(word(bytes, at + 4) ^ K1, M1) ^
      Math.imul(word(bytes, at + 8) ^ K2, M2) ^
      Math.imul(word(bytes, at + 12) ^ K3, M3)) >>>
    0
  );
}

export class IdRing {
  /** Most ids kept. */
  readonly limit: number;
  #ids: Buffer;
  /** Slots in the ring (ids it can hold before it grows). */
  #slots: number;
  #head = 0;
  #size = 0;
  #table: Int32Array;
  /** 32 minus log2 of the table's length: the shift that keeps a hash's top bits. */
  #shift: number;

  constructor(limit: number) {
    this.limit = limit;
    this.#slots = Math.min(limit, SMALLEST_SLOTS);
    this.#ids = Buffer.allocUnsafe(this.#slots * ID_BYTES);
    [this.#table, this.#shift] = IdRing.#tableFor(this.#slots);
  }

  get size(): number {
    return this.#size;
  }

  has(id: Uint8Array): boolean {
    return this.#find(id) >= 0;
  }

  /** Adds `id` (copied) unless it is there; the oldest goes when the ring is full. False when it was there. */
  add(id: Uint8Array): boolean {
    if (this.#find(id) >= 0) return false;
    if (this.#size === this.limit) {
      this.#unlink(this.#head);
      this.#head = (this.#head + 1) % this.#slots;
      this.#size--;
    } else if (this.#size === this.#slots) {
      this.#grow();
    }
    const slot = (this.#head + this.#size) % this.#slots;
    this.#ids.set(id.subarray(0, ID_BYTES), slot * ID_BYTES);
    this.#size++;
    this.#link(slot);
    return true;
  }

  /** Takes back the id added last, if it is `id` (a record that could not be written). True when it was. */
  removeNewest(id: Uint8Array): boolean {
    if (this.#size === 0) return false;
    const slot = (this.#head + this.#size - 1) % this.#slots;
    if (!this.#equalsAt(id, slot)) return false;
    this.#unlink(slot);
    this.#size--;
    return true;
  }

  /** The ids, oldest first (copies). */
  toArray(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.#size; i++) {
      const at = ((this.#head + i) % this.#slots) * ID_BYTES;
      out.push(Buffer.from(this.#ids.subarray(at, at + ID_BYTES)));
    }
    return out;
  }

  /** The table position holding `id`, or -1. */
  #find(id: Uint8Array): number {
    const mask = this.#table.length - 1;
    // Bounded: the table is at least twice as large as the ring, so an empty bucket comes.
    for (let i = hashAt(id, 0) >>> this.#shift; ; i = (i + 1) & mask) {
      const entry = this.#table[i] as number;
      if (entry === 0) return -1;
      if (this.#equalsAt(id, entry - 1)) return i;
    }
  }

  #equalsAt(id: Uint8Array, slot: number): boolean {
    const ids = this.#ids;
    const at = slot * ID_BYTES;
    for (let k = 0; k < ID_BYTES; k++) if (ids[at + k] !== id[k]) return false;
    return true;
  }

  #bucketOf(slot: number): number {
    return hashAt(this.#ids, slot * ID_BYTES) >>> this.#shift;
  }

  #link(slot: number): void {
    const mask = this.#table.length - 1;
    let i = this.#bucketOf(slot);
    while (this.#table[i] !== 0) i = (i + 1) & mask;
    this.#table[i] = slot + 1;
  }

  /** Takes `slot`'s id out of the table, moving later entries of its run back (no tombstones). */
  #unlink(slot: number): void {
    const table = this.#table;
    const mask = table.length - 1;
    let hole = this.#bucketOf(slot);
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    table[hole] = 0;
    // Bounded by the run after the hole, which ends at an empty bucket.
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#bucketOf((table[j] as number) - 1);
      // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
      const isHomeBetween = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (isHomeBetween) continue;
      table[hole] = table[j] as number;
      table[j] = 0;
      hole = j;
    }
  }

  #grow(): void {
    const slots = Math.min(this.limit, this.#slots * 2);
    const ids = Buffer.allocUnsafe(slots * ID_BYTES);
    for (let i = 0; i < this.#size; i++) {
      const from = ((this.#head + i) % this.#slots) * ID_BYTES;
      this.#ids.copy(ids, i * ID_BYTES, from, from + ID_BYTES);
    }
    this.#ids = ids;
    this.#slots = slots;
    this.#head = 0;
    [this.#table, this.#shift] = IdRing.#tableFor(slots);
    for (let slot = 0; slot < this.#size; slot++) this.#link(slot);
  }

  /** A table at least twice the ring's slots, a power of two. */
  static #tableFor(slots: number): [Int32Array, number] {
    let bits = 1;
    while (1 << bits < 2 * slots) bits++;
    return [new Int32Array(1 << bits), 32 - bits];
  }
}
