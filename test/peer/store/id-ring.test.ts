import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IdRing } from '../../../src/peer/store/id-ring.ts';

/** Ids from a small alphabet, so that repeats and shared bytes are common. */
const idArb = fc.tuple(fc.nat(40), fc.nat(3)).map(([a, b]) => {
  const id = Buffer.alloc(16, b);
  id.writeUInt32BE(a, 12);
  return id;
});
const opArb = fc.oneof(
  fc.record({ op: fc.constant('add' as const), id: idArb }),
  fc.record({ op: fc.constant('removeNewest' as const), id: idArb }),
);

describe('IdRing', () => {
  it('behaves as a set of the last `limit` ids added, oldest forgotten first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(opArb, { maxLength: 300 }), (limit, ops) => {
        const ring = new IdRing(limit);
        const model: string[] = []; // oldest first
        for (const { op, id } of ops) {
          const key = id.toString('hex');
          if (op === 'add') {
            const isNew = !model.includes(key);
            assert.equal(ring.add(id), isNew);
            if (isNew) {
              model.push(key);
              if (model.length > limit) model.shift();
            }
          } else {
            const isNewest = model.at(-1) === key;
            assert.equal(ring.removeNewest(id), isNewest);
            if (isNewest) model.pop();
          }
          assert.equal(ring.size, model.length);
        }
        for (const key of new Set([...model, ...ops.map((o) => o.id.toString('hex'))])) {
          assert.equal(ring.has(Buffer.from(key, 'hex')), model.includes(key), key);
        }
        assert.deepEqual(
          ring.toArray().map((b) => b.toString('hex')),
          model,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('copies what it is given, and looks ids up from any view', () => {
    const ring = new IdRing(4);
    const chunk = Buffer.alloc(64, 9);
    const view = chunk.subarray(20, 36);
    ring.add(view);
    const copy = Buffer.from(view);
    chunk.fill(0);
    assert.equal(ring.has(copy), true);
    assert.equal(ring.has(chunk.subarray(20, 36)), false);
  });

  it('keeps ids that share their first twelve bytes apart, across growth and eviction', () => {
    const ring = new IdRing(10_000);
    const idOf = (i: number): Buffer => {
      const id = Buffer.alloc(16);
      id.writeUInt32BE(i, 12);
      return id;
    };
    for (let i = 0; i < 20_000; i++) assert.equal(ring.add(idOf(i)), true);
    assert.equal(ring.size, 10_000);
    for (const i of [0, 9_999, 10_000, 15_000, 19_999]) assert.equal(ring.has(idOf(i)), i >= 10_000, String(i));
  });
});
