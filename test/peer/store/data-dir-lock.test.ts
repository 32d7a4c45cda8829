import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ERROR_CODES } from '../../../src/errors.ts';
import { FileMessageStore } from '../../../src/peer/store/file-message-store.ts';
import { cleanUp, deadPid, freshDir, node, openFile, throwsCode } from './fixtures.ts';

afterEach(cleanUp);

describe('FileMessageStore: the data directory lock', () => {
  it('refuses a directory locked by this process, and unlocks on close', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(`process ${process.pid}\\b`));
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    s.close();
    assert.equal(existsSync(join(dir, 'lock')), false);
    openFile({ dir }).close();
  });

  it('refuses a directory locked by another live process, and takes it over once that one is dead', async () => {
    const dir = join(freshDir(), 'data');
    openFile({ dir }).close();
    const sleeper = node(['-e', 'setTimeout(() => {}, 60_000)']);
    assert.ok(sleeper.pid !== undefined);
    writeFileSync(join(dir, 'lock'), `${sleeper.pid}\n`);
    throwsCode(() => FileMessageStore.open({ dir }), ERROR_CODES.DATA_DIR_LOCKED, new RegExp(`process ${sleeper.pid}`));
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
    const s = openFile({ dir });
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid));
    s.close();
  });

  it('takes over a stale lock: a dead pid, garbage, or our own pid left by an earlier process', async () => {
    const dir = join(freshDir(), 'data');
    openFile({ dir }).close();
    for (const content of [`${await deadPid()}\n`, 'garbage', '', '0', '-1', `${process.pid}`]) {
      writeFileSync(join(dir, 'lock'), content);
      const s = openFile({ dir });
      assert.equal(readFileSync(join(dir, 'lock'), 'utf8').trim(), String(process.pid), content);
      s.close();
      assert.equal(existsSync(join(dir, 'lock')), false);
    }
  });

  it('leaves a lock that is no longer ours when closing', () => {
    const dir = join(freshDir(), 'data');
    const s = openFile({ dir });
    writeFileSync(join(dir, 'lock'), '999999999\n');
    s.close();
    assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), '999999999\n');
  });
});
