import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { createIdentity, defaultIdentityFile, fingerprint, loadIdentity, loadOrCreateIdentity } from '../../src/transport/identity.ts';
import { runNatter } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = () => tempDir('id');
const invalid = (pattern: RegExp) => (e: unknown) =>
  e instanceof NatterError && e.code === ERROR_CODES.INVALID_IDENTITY && pattern.test(e.message);

describe('identity', () => {
  it('is made on first use, mode 0600 in a 0700 directory, and the same afterwards', () => {
    const file = join(dir(), 'natter', 'identity.json');
    const first = loadOrCreateIdentity(file);
    assert.equal(first.isNew, true);
    assert.equal(first.publicKey.length, 32);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);
    const again = loadOrCreateIdentity(file);
    assert.equal(again.isNew, false);
    assert.ok(again.publicKey.equals(first.publicKey));
    assert.ok(again.seed.equals(first.seed));
    assert.notDeepEqual(loadOrCreateIdentity(join(dir(), 'other.json')).publicKey, first.publicKey, 'each identity is its own');
  });

  it('lives under XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(defaultIdentityFile({ XDG_CONFIG_HOME: '/x/conf' }), '/x/conf/natter/identity.json');
    assert.match(defaultIdentityFile({}), /\/\.config\/natter\/identity\.json$/);
  });

  it("refuses a file others can read, broken JSON, bad keys, and a public key that is not the seed's", () => {
    const d = dir();
    const good = createIdentity(join(d, 'good.json'));
    const body = JSON.parse(readFileSync(good.file, 'utf8')) as Record<string, unknown>;
    const write = (name: string, content: string, mode = 0o600) => {
      const f = join(d, name);
      writeFileSync(f, content, { mode });
      chmodSync(f, mode);
      return f;
    };
    assert.throws(() => loadIdentity(write('open.json', JSON.stringify(body), 0o644)), invalid(/permissions 644 .*chmod 600/));
    assert.throws(() => loadIdentity(write('broken.json', '{"version":')), invalid(/not valid JSON/));
    assert.throws(() => loadIdentity(write('old.json', JSON.stringify({ ...body, version: 0 }))), invalid(/"version": 1/));
    assert.throws(() => loadIdentity(write('short.json', JSON.stringify({ ...body, seed: 'abcd' }))), invalid(/"seed" must be 32 bytes/));
    const other = createIdentity(join(d, 'other.json'));
    assert.throws(
      () => loadIdentity(write('mixed.json', JSON.stringify({ ...body, publicKey: other.publicKey.toString('hex') }))),
      invalid(/does not belong/),
    );
    assert.throws(() => createIdentity(good.file), invalid(/cannot create it/), 'never overwrites');
  });

  it('fingerprints are 32 base32 characters in eight groups, stable per key', () => {
    const key = Buffer.alloc(32, 7);
    const f = fingerprint(key);
    assert.match(f, /^([a-z2-7]{4} ){7}[a-z2-7]{4}$/);
    assert.equal(fingerprint(Buffer.alloc(32, 7)), f);
    assert.notEqual(fingerprint(Buffer.alloc(32, 8)), f);
  });

  it('natter id --identity FILE refuses a file that does not exist, and makes nothing', async () => {
    const base = dir();
    const file = join(base, 'no', 'such', 'dir', 'x.json');
    const r = await runNatter(['id', '--identity', file]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^natter: there is no identity file .*x\.json; check the path, or add --new-identity .*\(NATTER_ERR_NO_IDENTITY\)\n$/,
    );
    assert.equal(r.stdout, '');
    assert.equal(existsSync(join(base, 'no')), false, 'no directory was made');
    for (const args of [
      ['chat', '--name', 'x'],
      ['directory', '--port', '0'],
      ['admin', 'dump', '--directory', '127.0.0.1:9'],
    ]) {
      const other = await runNatter([...args, '--identity', file]);
      assert.equal(other.code, 1, args.join(' '));
      assert.match(other.stderr, /NATTER_ERR_NO_IDENTITY/, args.join(' '));
    }
    assert.equal(existsSync(join(base, 'no')), false, 'no directory was made');
  });

  it('natter id prints the fingerprint, making the identity on first use', async () => {
    const file = join(dir(), 'id.json');
    const first = await runNatter(['id', '--identity', file, '--new-identity']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /created a new identity/);
    const second = await runNatter(['id', '--identity', file]);
    assert.equal(second.stdout, first.stdout);
    assert.equal(second.stderr, '');
    const id = loadIdentity(file);
    assert.ok(first.stdout.includes(`fingerprint: ${fingerprint(id.publicKey)}`));
    chmodSync(file, 0o640);
    const refused = await runNatter(['id', '--identity', file]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /chmod 600.*NATTER_ERR_INVALID_IDENTITY/);
  });
});
