/**
 * Keys from the LAN (docs/security.md, "Whose key is whose"): an announcement
 * is a hint anyone can send. The key is pinned at the first handshake that
 * proves it; a pin always wins over an announcement; a name the LAN does not
 * announce is taken on first use, not refused as a directory would.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { PeerInfo } from '../../src/discovery/discovery.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { KeyBook } from '../../src/peer/key-book.ts';
import { KnownPeers } from '../../src/peer/known-peers.ts';
import { fingerprint } from '../../src/transport/identity.ts';

const BOB = Buffer.alloc(32, 1);
const EVE = Buffer.alloc(32, 2);
const NEW = Buffer.alloc(32, 3);
const announced = (key?: Buffer): PeerInfo => ({ name: 'bob', ip: '192.0.2.9', port: 50_000, ...(key === undefined ? {} : { key }) });
const mismatch = (what: RegExp) => (e: unknown) => e instanceof NatterError && e.code === ERROR_CODES.KEY_MISMATCH && what.test(e.message);

it('the key a LAN announcement carries is the one taken at first contact, and pinned when a chat opens', () => {
  const book = new KeyBook(new KnownPeers());
  assert.deepEqual(book.report('bob', announced(BOB), 'lan'), { name: 'bob', key: BOB, status: 'announced' });
  // Someone else answering at the announced address (or announcing bob's key at their own) is refused.
  assert.throws(() => book.check('bob', EVE, announced(BOB), 'lan'), mismatch(/the key announced on the LAN/));
  assert.equal(book.report('bob', announced(BOB), 'lan').offered?.equals(EVE), true, 'the refused key is remembered for /trust');
  book.check('bob', BOB, announced(BOB), 'lan');
  assert.equal(book.known.peer('bob'), undefined, 'a handshake alone pins nothing');
  book.confirm('bob', BOB);
  assert.equal(book.known.peer('bob')?.key.equals(BOB), true);
  assert.equal(book.report('bob', announced(BOB), 'lan').status, 'pinned');
});

it('a pinned key wins over any announcement', () => {
  const book = new KeyBook(new KnownPeers());
  book.known.pinPeer('bob', BOB);
  // An announcement of another key changes nothing: bob still proves the pinned key and is accepted...
  book.check('bob', BOB, announced(EVE), 'lan');
  // ...and whoever proves the announced key is refused, in bob's pin's name.
  assert.throws(() => book.check('bob', EVE, announced(EVE), 'lan'), mismatch(/the key pinned/));
  const report = book.report('bob', announced(EVE), 'lan');
  assert.equal(report.status, 'pinned');
  assert.equal(report.published, undefined, 'an announcement is not reported as a key someone publishes');
});

it('a name the LAN does not announce is taken on first use, not refused', () => {
  const book = new KeyBook(new KnownPeers());
  book.check('amy', NEW, undefined, 'lan');
  book.confirm('amy', NEW);
  assert.equal(book.known.peer('amy')?.key.equals(NEW), true);
  book.check('cat', NEW, announced(), 'lan'); // an announcement without a key
  // A directory refuses the same.
  assert.throws(
    () => new KeyBook(new KnownPeers()).check('amy', NEW, undefined, 'directory'),
    (e) => e instanceof NatterError && e.code === ERROR_CODES.UNKNOWN_PEER,
  );
});

it('/trust accepts a key a handshake proved, never one that was only announced', () => {
  const book = new KeyBook(new KnownPeers());
  book.known.pinPeer('bob', BOB);
  assert.throws(
    () => book.trust('bob', announced(NEW), 'lan'),
    (e) => e instanceof NatterError && e.code === ERROR_CODES.NO_NEW_KEY,
  );
  assert.throws(() => book.check('bob', NEW, announced(NEW), 'lan'), mismatch(new RegExp(fingerprint(NEW))));
  assert.deepEqual(book.trust('bob', announced(NEW), 'lan'), { old: BOB, key: NEW });
  book.check('bob', NEW, announced(NEW), 'lan');
});

it('with several sources, a name is held by the rules of the source it was found in', () => {
  const book = new KeyBook(new KnownPeers());
  // The merged discovery's own rule is 'lan', but bob was found in the friends table, which fixes his key.
  assert.throws(() => book.check('bob', EVE, { ...announced(BOB), source: 'friends' }, 'lan'), mismatch(/the friends table gives/));
  assert.equal(book.report('bob', { ...announced(BOB), source: 'friends' }, 'lan').status, 'verified');
  // Found at the local rendezvous: a directory's rules.
  assert.throws(
    () => book.check('amy', EVE, { ...announced(BOB), name: 'amy', source: 'local' }, 'lan'),
    mismatch(/the key the directory publishes/),
  );
  assert.equal(book.report('amy', { ...announced(BOB), name: 'amy', source: 'local' }, 'lan').status, 'published');
  // Found on the LAN while the discovery is a directory's: the LAN's rules.
  book.check('cat', EVE, { ...announced(EVE), name: 'cat', source: 'lan' }, 'directory');
  book.confirm('cat', EVE);
  assert.equal(book.known.peer('cat')?.key.equals(EVE), true);
});
