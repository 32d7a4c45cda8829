import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Fifo } from '../../src/peer/fifo.ts';

describe('Fifo', () => {
  it('behaves as an array under any mix of pushes and removals', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ push: fc.integer() }), fc.record({ remove: fc.nat(40) }), fc.constant({ clear: true as const })), {
          maxLength: 3000,
        }),
        (ops) => {
          const q = new Fifo<number>();
          let model: number[] = [];
          for (const op of ops) {
            if ('push' in op) {
              q.push(op.push);
              model.push(op.push);
            } else if ('remove' in op) {
              // Mostly the head, as receipts do; sometimes further in.
              const i = op.remove % 4 === 0 ? op.remove % Math.max(1, model.length) : 0;
              q.removeAt(i);
              if (i < model.length) model.splice(i, 1);
            } else {
              q.clear();
              model = [];
            }
            assert.equal(q.length, model.length);
          }
          assert.deepEqual(q.toArray(), model);
          assert.equal(q.at(0), model[0]);
          assert.equal(q.at(model.length), undefined);
          assert.equal(q.at(-1), undefined);
          const last = model.at(-1);
          assert.equal(
            q.findIndex((v) => v === last),
            last === undefined ? -1 : model.indexOf(last),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('takes 100,000 items off the head in linear time, reclaiming the dead prefix', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 100_000; i++) q.push(i);
    for (let i = 0; i < 100_000; i++) {
      assert.equal(q.at(0), i);
      q.removeAt(0);
    }
    assert.equal(q.length, 0);
    q.removeAt(0); // nothing to remove: no effect
    assert.equal(q.length, 0);
  });
});
