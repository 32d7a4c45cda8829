import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defaultDataDir, fileSafeName } from '../../../src/peer/store/data-dir.ts';

describe('data directory names', () => {
  it('maps names to distinct file-safe names', () => {
    assert.equal(fileSafeName('..'), '%2E%2E');
    assert.equal(fileSafeName('a.b'), 'a%2Eb');
    assert.equal(fileSafeName('a*b/c'), 'a%2Ab%2Fc');
    assert.equal(fileSafeName('zoë'), 'zo%C3%AB');
    const names = ['..', '.', '%2E', 'a.b', 'a%2Eb', '\ud800', '%uD800', '*', '', 'é', 'e\u0301'];
    const safe = names.map(fileSafeName);
    assert.equal(new Set(safe).size, names.length);
    for (const s of safe) assert.match(s, /^[A-Za-z0-9%_\-!~'()]*$/);
  });

  it('puts the default data directory under XDG_DATA_HOME, else ~/.local/share', () => {
    assert.equal(defaultDataDir('a.b', { XDG_DATA_HOME: '/data' }), join('/data', 'natter', 'a%2Eb'));
    assert.equal(defaultDataDir('bob', { XDG_DATA_HOME: '' }), join(homedir(), '.local', 'share', 'natter', 'bob'));
    assert.equal(defaultDataDir('bob', {}), join(homedir(), '.local', 'share', 'natter', 'bob'));
  });
});
