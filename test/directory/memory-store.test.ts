import assert from 'node:assert/strict';
import { it } from 'node:test';
import { NatterError } from '../../src/errors.ts';
import { MemoryDirectoryStore } from '../../src/directory/store/memory-store.ts';
import { runStoreContract } from './store-contract.ts';

runStoreContract('MemoryDirectoryStore', async ({ portRange }) => new MemoryDirectoryStore({ portRange }));

it('MemoryDirectoryStore refuses an empty or impossible port range', () => {
  for (const portRange of [
    { lo: 10, hi: 5 },
    { lo: 0, hi: 5 },
    { lo: 1, hi: 70_000 },
  ]) {
    assert.throws(
      () => new MemoryDirectoryStore({ portRange }),
      (e) => e instanceof NatterError && e.code === 'NATTER_ERR_INVALID_ARGUMENT',
    );
  }
});
