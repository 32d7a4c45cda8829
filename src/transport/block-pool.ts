/**
 * Fixed-size blocks for state that lives as long as a connection (the
 * record layer's two libsodium states): carved out of shared slabs and
 * given back at close, so that a directory's ten thousand idle connections
 * cost ten thousand blocks and not ten thousand buffers of their own.
 * Node's own small-buffer pool is no place for them: one long-lived slice
 * keeps its whole slab (and the garbage around it) alive.
 *
 *   slab [ block block block … ]   free blocks on a list, reused first; a new slab when none is free
 */

/** Blocks per slab. */
const BLOCKS_PER_SLAB = 256;

export class BlockPool {
  readonly blockBytes: number;
  /** Blocks given back, ready to hand out again. */
  #free: Buffer[] = [];
  /** Blocks of the newest slab never handed out yet. */
  #fresh: Buffer | undefined;
  #freshOffset = 0;

  constructor(blockBytes: number) {
    this.blockBytes = blockBytes;
  }

  /** A block of blockBytes bytes, zeroed. */
  take(): Buffer {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#fresh === undefined || this.#freshOffset === this.#fresh.length) {
      this.#fresh = Buffer.alloc(this.blockBytes * BLOCKS_PER_SLAB);
      this.#freshOffset = 0;
    }
    const block = this.#fresh.subarray(this.#freshOffset, this.#freshOffset + this.blockBytes);
    this.#freshOffset += this.blockBytes;
    return block;
  }

  /** Gives a block back, zeroed first; it must not be used after this. */
  give(block: Buffer): void {
    block.fill(0);
    this.#free.push(block);
  }
}
