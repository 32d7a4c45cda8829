import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isMessageId, newMessageId } from '../../../src/peer/store/message-id.ts';

describe('message ids', () => {
  it('makes ids of 32 lower-case hex digits, all different', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const id = newMessageId();
      assert.match(id, /^[0-9a-f]{32}$/);
      assert.ok(isMessageId(id));
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
    assert.equal(isMessageId('0'.repeat(31)), false);
    assert.equal(isMessageId(42), false);
  });
});
