/** Several ways of finding peers as one: asked in order, each name listed once with its source. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Discovery, KeyAuthority, PeerInfo } from '../../src/discovery/discovery.ts';
import { FriendsTable } from '../../src/discovery/friends-table.ts';
import { MergedDiscovery } from '../../src/discovery/merged.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';

/** A discovery that knows a fixed list, or fails every request. */
class Fixed implements Discovery {
  readonly keyAuthority: KeyAuthority;
  readonly #peers: PeerInfo[] | NatterError;
  readonly #seen: Set<string>;
  lookups = 0;
  constructor(keyAuthority: KeyAuthority, peers: PeerInfo[] | NatterError, seen: string[] = []) {
    this.keyAuthority = keyAuthority;
    this.#peers = peers;
    this.#seen = new Set(seen);
  }
  async lookup(name: string) {
    this.lookups++;
    if (this.#peers instanceof NatterError) throw this.#peers;
    return this.#peers.find((p) => p.name === name);
  }
  async list() {
    if (this.#peers instanceof NatterError) throw this.#peers;
    return [...this.#peers];
  }
  hasSeen(name: string) {
    return this.#seen.has(name);
  }
  isFriend() {
    return false;
  }
}

const KEY = Buffer.alloc(32, 7);
const peer = (name: string, ip: string, key?: Buffer): PeerInfo => ({ name, ip, port: 50_000, ...(key === undefined ? {} : { key }) });
const away = new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, 'the directory is unreachable');

it('lookup asks the sources in order; the first that knows the name answers, with its source', async () => {
  const directory = new Fixed('directory', [peer('bob', '127.0.0.1', KEY)]);
  const lan = new Fixed('lan', [peer('bob', '192.0.2.9'), peer('amy', '192.0.2.8')]);
  const m = new MergedDiscovery([
    { source: 'local', discovery: directory },
    { source: 'lan', discovery: lan },
  ]);
  assert.deepEqual(await m.lookup('bob'), { ...peer('bob', '127.0.0.1', KEY), source: 'local' });
  assert.equal(lan.lookups, 0, 'later sources are not asked once one knows the name');
  assert.deepEqual(await m.lookup('amy'), { ...peer('amy', '192.0.2.8'), source: 'lan' });
  assert.equal(await m.lookup('zed'), undefined);
});

it('list() gives each name once, from the first source listing it, sources in order', async () => {
  const table = FriendsTable.parse([
    { name: 'amy', ip: '127.0.0.1', port: 1 },
    { name: 'bob', ip: '127.0.0.1', port: 2 },
  ]);
  const lan = new Fixed('lan', [peer('cat', '192.0.2.9'), peer('bob', '192.0.2.10')]);
  const m = new MergedDiscovery([
    { source: 'friends', discovery: table },
    { source: 'lan', discovery: lan },
  ]);
  assert.deepEqual(
    (await m.list()).map((p) => [p.name, p.ip, p.source]),
    [
      ['amy', '127.0.0.1', 'friends'],
      ['bob', '127.0.0.1', 'friends'],
      ['cat', '192.0.2.9', 'lan'],
    ],
  );
  assert.equal(m.isFriend('bob'), true);
  assert.equal(m.isFriend('cat'), false);
  assert.equal(m.hasSeen('amy'), true);
});

it('a failing source is passed over; its error counts only when no source answers', async () => {
  const lan = new Fixed('lan', [peer('amy', '192.0.2.8')]);
  const m = new MergedDiscovery([
    { source: 'directory', discovery: new Fixed('directory', away) },
    { source: 'lan', discovery: lan },
  ]);
  assert.deepEqual(
    (await m.list()).map((p) => p.name),
    ['amy'],
  );
  assert.equal((await m.lookup('amy'))?.source, 'lan');
  await assert.rejects(m.lookup('zed'), (e) => e === away, 'nobody knows zed, and the directory could not be asked');
  const alone = new MergedDiscovery([{ source: 'directory', discovery: new Fixed('directory', away) }]);
  await assert.rejects(alone.list(), (e) => e === away);
});

it('a name no source knows is taken on first use once the LAN is among them; otherwise the first source rules', () => {
  const dir = new Fixed('directory', []);
  assert.equal(new MergedDiscovery([{ source: 'local', discovery: dir }]).keyAuthority, 'directory');
  assert.equal(
    new MergedDiscovery([
      { source: 'directory', discovery: dir },
      { source: 'lan', discovery: new Fixed('lan', []) },
    ]).keyAuthority,
    'lan',
  );
  assert.equal(new MergedDiscovery([{ source: 'friends', discovery: new Fixed('friends-table', []) }]).keyAuthority, 'friends-table');
});

it('hasSeen: any source that ever knew the name', () => {
  const m = new MergedDiscovery([
    { source: 'directory', discovery: new Fixed('directory', [], ['amy']) },
    { source: 'lan', discovery: new Fixed('lan', [], ['bob']) },
  ]);
  assert.deepEqual(
    ['amy', 'bob', 'cat'].map((n) => m.hasSeen(n)),
    [true, true, false],
  );
});

it('refuses no sources, and a source labelled with another source’s rules', () => {
  const invalid = (e: unknown) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT;
  assert.throws(() => new MergedDiscovery([]), invalid);
  // Labelled "friends", a LAN's announced keys would be taken as keys the user fixed.
  assert.throws(() => new MergedDiscovery([{ source: 'friends', discovery: new Fixed('lan', []) }]), invalid);
  assert.throws(() => new MergedDiscovery([{ source: 'lan', discovery: new Fixed('directory', []) }]), invalid);
});
