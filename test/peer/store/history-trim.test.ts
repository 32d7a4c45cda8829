import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { trimHistory } from '../../../src/peer/store/history-trim.ts';
import { cleanUp, freshDir } from './fixtures.ts';

afterEach(cleanUp);

/** What a trim must leave: of the last `keep` bytes, those after the first newline (none when there is none). */
function expectedTail(content: Buffer, keep: number): Buffer {
  if (content.length <= keep) return content;
  const tail = content.subarray(content.length - keep - 1);
  const nl = tail.indexOf(0x0a);
  return nl < 0 ? Buffer.alloc(0) : tail.subarray(nl + 1);
}

function trimmed(content: Buffer, keep: number): Buffer {
  const file = join(freshDir(), 'log.jsonl');
  writeFileSync(file, content);
  const result = trimHistory(file, keep);
  const after = readFileSync(file);
  if (content.length <= keep) {
    assert.equal(result, undefined);
  } else {
    assert.deepEqual(result, { droppedBytes: content.length - after.length, keptBytes: after.length });
  }
  assert.equal(existsSync(`${file}.tmp`), false);
  return after;
}

const lines = (count: number, width: number): Buffer =>
  Buffer.from(Array.from({ length: count }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(width)}\n`).join(''));

describe('trimHistory', () => {
  it('keeps the newest whole lines of a log of several MiB', () => {
    const content = lines(60_000, 90); // about 5.7 MiB
    for (const keep of [100, 1 << 20, (1 << 20) + 37, 3 * (1 << 20) + 5, content.length - 1, content.length]) {
      assert.deepEqual(trimmed(content, keep), expectedTail(content, keep), `keep ${keep}`);
    }
  });

  it('drops a line longer than what is read at a time when the cut falls inside it', () => {
    const long = Buffer.from(`${'y'.repeat(3 * (1 << 20))}\n`);
    const content = Buffer.concat([lines(10, 20), long, lines(1_000, 40)]);
    const keep = lines(1_000, 40).length + (1 << 20) * 2;
    const after = trimmed(content, keep);
    assert.deepEqual(after, lines(1_000, 40));
    assert.deepEqual(after, expectedTail(content, keep));
  });

  it('keeps nothing when no newline ends a line within what is kept', () => {
    const content = Buffer.concat([lines(3, 10), Buffer.from('z'.repeat(2 * (1 << 20) + 3))]);
    assert.equal(trimmed(content, (1 << 20) + 1).length, 0);
  });
});
