import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Discovery, KeyAuthority, PeerInfo } from '../../src/discovery/discovery.ts';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { KeyBook } from '../../src/peer/key-book.ts';
import { KnownPeers } from '../../src/peer/known-peers.ts';
import { PeerNode, type PeerNodeOptions } from '../../src/peer/peer-node.ts';
import { fingerprint } from '../../src/transport/identity.ts';
import { secureSocket, type KeyPair } from '../../src/transport/secure.ts';
import { acceptSecure } from '../../src/transport/tcp.ts';
import { startServer, type TestServer } from '../helpers/net.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Where peers are, and (for a directory) which key each name registered. */
class Book implements Discovery {
  readonly entries = new Map<string, PeerInfo>();
  readonly keyAuthority: KeyAuthority;
  constructor(keyAuthority: KeyAuthority = 'friends-table') {
    this.keyAuthority = keyAuthority;
  }
  async lookup(name: string) {
    return this.entries.get(name);
  }
  async list() {
    return [...this.entries.values()];
  }
  isFriend() {
    return true;
  }
}

const nodes: PeerNode[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.stop();
  for (const s of servers.splice(0)) await s.close();
});

async function waitFor(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const hasCode = (code: NatterErrorCode) => (e: unknown) => e instanceof NatterError && e.code === code;

async function start(
  book: Book,
  name: string,
  keyPair: KeyPair,
  options: Partial<PeerNodeOptions> = {},
  publish = true,
): Promise<PeerNode> {
  const node = new PeerNode({ name, discovery: book, listenPort: 0, keyPair, keepaliveIntervalMs: 60_000, ...options });
  const { port } = await node.start();
  if (publish)
    book.entries.set(name, { name, ip: '127.0.0.1', port, ...(book.keyAuthority === 'directory' ? { key: keyPair.publicKey } : {}) });
  nodes.push(node);
  return node;
}

function nextMessage(node: PeerNode): Promise<[string, string]> {
  return once(node, 'message').then(([from, text]) => [from, text] as [string, string]);
}

/**
 * A man in the middle: ends each side's handshake with its own key and
 * relays the plaintext, as a hostile network box would.
 */
async function mitm(target: number, keyPair: KeyPair): Promise<TestServer> {
  const server = await startServer((inbound: Socket) => {
    void acceptSecure(inbound, keyPair).then(
      async (fromVictim) => {
        const outbound = netConnect({ host: '127.0.0.1', port: target });
        const toTarget = await secureSocket(outbound, true, { keyPair });
        fromVictim.on('data', (c: Buffer) => toTarget.write(c));
        toTarget.on('data', (c: Buffer) => fromVictim.write(c));
        for (const s of [fromVictim, toTarget]) s.on('error', () => {});
        fromVictim.on('close', () => toTarget.destroy());
        toTarget.on('close', () => fromVictim.destroy());
      },
      () => {},
    );
  });
  servers.push(server);
  return server;
}

describe('peer keys', () => {
  it('pins a key on first contact, refuses an impostor under the same name both ways, and takes a new key only by /trust', async () => {
    const book = new Book();
    const aliceKeys = newKeyPair();
    const alice = await start(book, 'alice', aliceKeys);
    const bobKeys = newKeyPair();
    const bob = await start(book, 'bob', bobKeys);
    const got = nextMessage(bob);
    await alice.send('bob', 'hi bob');
    assert.deepEqual(await got, ['alice', 'hi bob']);
    assert.equal((await alice.whois('bob')).status, 'pinned');
    assert.deepEqual((await alice.whois('bob')).key, bobKeys.publicKey);
    await bob.stop();

    // Someone else takes the name "bob" (and his address).
    const mallory = await start(book, 'bob', newKeyPair());
    const malloryHeard: NatterError[] = [];
    mallory.on('problem', (e) => malloryHeard.push(e));
    // Alice's message is refused to the impostor: it waits, and she hears why.
    const refusedOut = once(alice, 'problem') as Promise<[NatterError, string]>;
    await alice.send('bob', 'are you there?');
    const [outErr] = await refusedOut;
    assert.equal(outErr.code, ERROR_CODES.KEY_MISMATCH);
    const report = await alice.whois('bob');
    assert.ok(report.offered !== undefined && !report.offered.equals(bobKeys.publicKey));
    // ...and dials Alice under the name bob: refused too, and Alice hears of it.
    const heard = once(alice, 'problem') as Promise<[NatterError, string]>;
    const impostorSends = mallory.send('alice', 'it is me, bob').catch((e: NatterError) => e);
    const [err, who] = await heard;
    assert.equal(err.code, ERROR_CODES.KEY_MISMATCH);
    assert.equal(who, 'bob');
    assert.match(err.message, new RegExp(fingerprint(bobKeys.publicKey)));
    assert.match(err.message, /\/trust bob/);
    await impostorSends;
    assert.equal(alice.chatState('bob'), undefined, 'no chat was opened with the impostor');
    await waitFor(() => malloryHeard.some((e) => e.code === ERROR_CODES.KEY_MISMATCH), 'the refusal to reach the impostor');

    // Alice decides the new key is fine: /trust, and the chat works.
    const trusted = await alice.trust('bob');
    assert.deepEqual(trusted.old, bobKeys.publicKey);
    const delivered: string[] = [];
    mallory.on('message', (_from, text) => delivered.push(text));
    await alice.send('bob', 'welcome back');
    // What waited for bob goes first, now to the key Alice accepted.
    await waitFor(() => delivered.length === 2, 'both messages to reach the new key');
    assert.deepEqual(delivered, ['are you there?', 'welcome back']);
    await assert.rejects(alice.trust('bob'), hasCode(ERROR_CODES.NO_NEW_KEY), 'nothing new to trust now');
  });

  it('after /trust, what waited for the new key goes at once, not at the next retry', async () => {
    const book = new Book();
    const alice = await start(book, 'alice', newKeyPair(), { retryIntervalMs: 60_000 });
    const bob = await start(book, 'bob', newKeyPair());
    const got = nextMessage(bob);
    await alice.send('bob', 'first');
    await got;
    await bob.stop();
    const newBob = await start(book, 'bob', newKeyPair());
    const refused = once(alice, 'problem') as Promise<[NatterError, string]>;
    await alice.send('bob', 'waits for the key');
    assert.equal((await refused)[0].code, ERROR_CODES.KEY_MISMATCH);
    const arrives = nextMessage(newBob);
    await alice.trust('bob');
    // The next retry is a minute away: only trust() itself can have sent it.
    const late = new Promise((resolve) => setTimeout(() => resolve('not yet'), 3_000).unref());
    assert.deepEqual(await Promise.race([arrives, late]), ['alice', 'waits for the key']);
  });

  it('detects a man in the middle who ends the handshake with his own key', async () => {
    for (const how of ['friends-table key', 'directory-published key', 'pinned key'] as const) {
      const book = new Book(how === 'directory-published key' ? 'directory' : 'friends-table');
      const bobKeys = newKeyPair();
      const bob = await start(book, 'bob', bobKeys);
      const aliceKeys = newKeyPair();
      const alice = await start(book, 'alice', aliceKeys);
      const real = book.entries.get('bob') as PeerInfo;
      if (how === 'friends-table key') book.entries.set('bob', { ...real, key: bobKeys.publicKey });
      if (how === 'pinned key') alice.keyBook.known.pinPeer('bob', bobKeys.publicKey);
      const proxy = await mitm(real.port, newKeyPair());
      book.entries.set('bob', { ...(book.entries.get('bob') as PeerInfo), port: proxy.port });
      let received = 0;
      bob.on('message', () => received++);
      // The message is not lost to the impostor, nor anywhere else: it waits, and the user hears why.
      const refused = new Promise<NatterError>((resolve) => alice.once('problem', resolve));
      alice.on('problem', () => {}); // at stop it also hears that the message was not delivered
      const id = await alice.send('bob', 'secret plans');
      const err = await refused;
      assert.equal(err.code, ERROR_CODES.KEY_MISMATCH, how);
      assert.equal(received, 0);
      assert.deepEqual(
        alice.outbox().map((o) => [o.peer, o.message.id]),
        [['bob', id]],
        'still waiting, for the real bob',
      );
      assert.equal(
        (await alice.whois('bob')).status,
        how === 'friends-table key' ? 'verified' : how === 'pinned key' ? 'pinned' : 'published',
      );
    }
  });

  it('with a directory, refuses a name the directory does not list', async () => {
    const book = new Book('directory');
    const alice = await start(book, 'alice', newKeyPair());
    // The ghost is not registered; it knows Alice's address some other way.
    const direct = new Book('friends-table');
    direct.entries.set('alice', book.entries.get('alice') as PeerInfo);
    const ghost = await start(direct, 'ghost', newKeyPair(), {}, false);
    ghost.on('problem', () => {}); // what else it hears (the undelivered message) is not this test's concern
    const answer = new Promise<NatterError>((resolve) => ghost.once('problem', resolve));
    void ghost.send('alice', 'boo').catch(() => undefined);
    const err = await answer;
    assert.equal(err.code, ERROR_CODES.UNKNOWN_PEER, 'alice answers that ghost is not registered');
    assert.match(err.message, /not registered with the directory/);
    assert.equal(alice.chatState('ghost'), undefined);
  });
});

describe('KnownPeers file', () => {
  it('saves pins readable by the owner only and reads them back; refuses a corrupt file clearly', () => {
    const dir = tempDir('known');
    const file = join(dir, 'sub', 'known-peers.json');
    const known = KnownPeers.load(file);
    const key = newKeyPair().publicKey;
    known.pinPeer('bob', key);
    known.pinDirectory('example.org:7447', key);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const again = KnownPeers.load(file);
    assert.deepEqual(again.peer('bob')?.key, key);
    assert.deepEqual(again.directory('example.org:7447')?.key, key);
    writeFileSync(file, '{"version": 1, "peers": {"bob": {"key": "zz"}}}');
    assert.throws(
      () => KnownPeers.load(file),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.INVALID_ARGUMENT && /peers\.bob/.test(e.message),
    );
    writeFileSync(file, 'not json');
    assert.throws(() => KnownPeers.load(file), /not valid JSON/);
    assert.match(readFileSync(file, 'utf8'), /not json/, 'a bad file is never overwritten on load');
  });

  it('KeyBook reports what it knows of a name', () => {
    const book = new KeyBook();
    const key = newKeyPair().publicKey;
    const other = newKeyPair().publicKey;
    assert.equal(book.report('x', undefined, 'friends-table').status, 'unknown');
    assert.equal(book.report('x', { name: 'x', ip: '', port: 1, key }, 'directory').status, 'published');
    assert.equal(book.report('x', { name: 'x', ip: '', port: 1, key }, 'friends-table').status, 'verified');
    book.check('x', key, undefined, 'friends-table');
    book.confirm('x', key);
    const r = book.report('x', { name: 'x', ip: '', port: 1, key: other }, 'directory');
    assert.equal(r.status, 'pinned');
    assert.deepEqual(r.published, other);
    assert.throws(
      () => book.trust('x', { name: 'x', ip: '', port: 1, key }, 'friends-table'),
      (e) => e instanceof NatterError && e.code === ERROR_CODES.NO_NEW_KEY,
    );
    assert.deepEqual(
      book.trust('x', { name: 'x', ip: '', port: 1, key: other }, 'directory').key,
      other,
      'the directory publishes a new key: /trust takes it',
    );
  });
});
