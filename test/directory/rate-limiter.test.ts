import assert from 'node:assert/strict';
import { it } from 'node:test';
import { TokenBucket } from '../../src/directory/rate-limiter.ts';

it('a token bucket allows the burst, then paces at the rate, and refills', () => {
  const bucket = new TokenBucket(3, 10, 0); // 3 at once, then one per 100 ms
  assert.deepEqual([bucket.take(0), bucket.take(0), bucket.take(0)], [0, 0, 0]);
  assert.equal(bucket.take(0), 100);
  assert.equal(bucket.take(0), 200, 'each further command waits for its own token');
  assert.equal(bucket.isFull(0), false);
  assert.equal(bucket.take(1000), 0);
  assert.equal(bucket.isFull(10_000), true);
});
