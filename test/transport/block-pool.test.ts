import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockPool } from '../../src/transport/block-pool.ts';

describe('BlockPool', () => {
  it('hands out separate zeroed blocks from shared slabs, and reuses blocks given back, zeroed again', () => {
    const pool = new BlockPool(52);
    const blocks = Array.from({ length: 600 }, () => pool.take());
    assert.ok(blocks.every((b) => b.length === 52 && b.every((x) => x === 0)));
    for (const [i, b] of blocks.entries()) b.fill(i % 251);
    // No two blocks overlap: each still holds what was written to it.
    assert.ok(blocks.every((b, i) => b.every((x) => x === i % 251)));
    // Hundreds of blocks share a few slabs.
    assert.ok(new Set(blocks.map((b) => b.buffer)).size <= 3);
    const given = blocks.slice(0, 10);
    for (const b of given) pool.give(b);
    assert.ok(
      given.every((b) => b.every((x) => x === 0)),
      'zeroed when given back',
    );
    const again = pool.take();
    assert.ok(given.includes(again), 'a block given back is handed out first');
  });
});
