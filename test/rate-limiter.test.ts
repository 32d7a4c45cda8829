import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TokenBucket } from '../src/rate-limiter.ts';

it('a token bucket allows the burst, then paces at the rate, and refills', () => {
  const bucket = new TokenBucket(3, 10, 0); // 3 at once, then one per 100 ms
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
  assert.equal(bucket.take(0), 100);
  assert.equal(bucket.take(0), 200, 'each further command waits for its own token');
  assert.equal(bucket.isFull(0), false);
  assert.equal(bucket.take(1000), 0);
  assert.equal(bucket.isFull(10_000), true);
});

it('tryTake takes a token when there is one, and nothing when there is none', () => {
  const bucket = new TokenBucket(2, 1, 0);
  assert.deepEqual([bucket.tryTake(0), bucket.tryTake(0), bucket.tryTake(0)], [true, true, false]);
  assert.equal(bucket.tryTake(999), false, 'not a whole token back yet');
  assert.equal(bucket.tryTake(1_000), true);
  assert.equal(bucket.tryTake(1_000), false);
});
