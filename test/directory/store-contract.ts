/**
 * The contract every DirectoryStore must meet. Each store's test file calls
 * runStoreContract with a factory; the in-memory store and any shared store
 * (Redis) must pass the same suite.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ERROR_CODES, isNatterError } from '../../src/errors.ts';
import type { DirectoryStore, PortRange } from '../../src/directory/store/store.ts';

export type StoreFactory = (options: { portRange: PortRange }) => Promise<DirectoryStore>;

const RANGE = { lo: 50_000, hi: 50_009 };

/** A distinct key (hex) per owner: each test session has its own identity unless a test says otherwise. */
function keyOf(owner: string): string {
  return createHash('sha256').update(owner).digest('hex');
}

export function runStoreContract(label: string, makeStore: StoreFactory): void {
  describe(`DirectoryStore contract: ${label}`, () => {
    async function withStore(fn: (store: DirectoryStore) => Promise<void>, portRange: PortRange = RANGE): Promise<void> {
      const store = await makeStore({ portRange });
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    }

    it('registers a peer with a port from the range and lists it', () =>
      withStore(async (store) => {
        const r = await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 5 });
        assert.ok(r.ok);
        assert.equal(r.isNew, true);
        assert.ok(r.record.port >= RANGE.lo && r.record.port <= RANGE.hi);
        assert.deepEqual(await store.list(), [
          { name: 'alice', ip: '127.0.0.1', port: r.record.port, owner: 's1', key: keyOf('s1'), registeredAt: 5, lastHeard: 5 },
        ]);
        assert.equal(await store.size(), 1);
      }));

    it('refuses a name that another owner holds', () =>
      withStore(async (store) => {
        await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        const r = await store.register({ name: 'alice', ip: '127.0.0.2', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        assert.deepEqual(r, { ok: false, reason: 'name-taken' });
        assert.equal(await store.size(), 1);
      }));

    it('binds a name to its key: the same key from a new session takes the entry over, and the old session loses it', () =>
      withStore(async (store) => {
        const key = keyOf('alice');
        const a = await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key, now: 0 });
        const gen = await store.generation();
        const b = await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's2', key, now: 4 });
        assert.ok(a.ok && b.ok);
        assert.equal(b.isNew, false);
        assert.equal(b.previousOwner, 's1');
        assert.equal(b.record.owner, 's2');
        assert.notEqual(await store.generation(), gen);
        assert.equal(await store.refresh('alice', 's1', 5), undefined, 'the old session can no longer refresh it');
        assert.equal(await store.remove('alice', 's1'), false, 'nor remove it');
        assert.equal(await store.size(), 1);
        const impostor = await store.register({
          name: 'alice',
          ip: '127.0.0.1',
          requestedPort: 0,
          owner: 's3',
          key: keyOf('mallory'),
          now: 6,
        });
        assert.deepEqual(impostor, { ok: false, reason: 'name-taken' });
        assert.equal((await store.list())[0]?.key, key);
      }));

    it('registering again as the same owner returns the same entry', () =>
      withStore(async (store) => {
        const a = await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        const b = await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 9 });
        assert.ok(a.ok && b.ok);
        assert.equal(b.isNew, false);
        assert.equal(b.record.port, a.record.port);
        assert.equal(b.record.lastHeard, 9);
        assert.equal(await store.size(), 1);
      }));

    it('honours a requested free port, in the range or not, and picks another when it is taken', () =>
      withStore(async (store) => {
        const a = await store.register({ name: 'a', ip: '10.0.0.1', requestedPort: 50_005, owner: 's1', key: keyOf('s1'), now: 0 });
        const b = await store.register({ name: 'b', ip: '10.0.0.1', requestedPort: 50_005, owner: 's2', key: keyOf('s2'), now: 0 });
        const c = await store.register({ name: 'c', ip: '10.0.0.2', requestedPort: 50_005, owner: 's3', key: keyOf('s3'), now: 0 });
        const d = await store.register({ name: 'd', ip: '10.0.0.1', requestedPort: 4_000, owner: 's4', key: keyOf('s4'), now: 0 });
        assert.ok(a.ok && b.ok && c.ok && d.ok);
        assert.equal(a.record.port, 50_005);
        assert.notEqual(b.record.port, 50_005);
        assert.equal(c.record.port, 50_005, 'the same port at another IP is fine');
        assert.equal(d.record.port, 4_000);
      }));

    it('keeps ports unique per IP until the range runs out', () =>
      withStore(async (store) => {
        const ports = new Set<number>();
        for (let i = 0; i < 10; i++) {
          const r = await store.register({ name: `p${i}`, ip: '127.0.0.1', requestedPort: 0, owner: `s${i}`, key: keyOf(`s${i}`), now: 0 });
          assert.ok(r.ok);
          ports.add(r.record.port);
        }
        assert.equal(ports.size, 10);
        const full = await store.register({ name: 'p10', ip: '127.0.0.1', requestedPort: 0, owner: 's10', key: keyOf('s10'), now: 0 });
        assert.deepEqual(full, { ok: false, reason: 'ports-exhausted' });
        const elsewhere = await store.register({ name: 'p11', ip: '127.0.0.2', requestedPort: 0, owner: 's11', key: keyOf('s11'), now: 0 });
        assert.ok(elsewhere.ok, 'another IP has its own ports');
        assert.ok(await store.remove('p3', 's3'));
        const again = await store.register({ name: 'p12', ip: '127.0.0.1', requestedPort: 0, owner: 's12', key: keyOf('s12'), now: 0 });
        assert.ok(again.ok, 'a released port can be assigned again');
      }));

    it('only the owner can refresh or remove an entry', () =>
      withStore(async (store) => {
        await store.register({ name: 'alice', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        assert.equal(await store.refresh('alice', 'intruder', 50), undefined);
        assert.equal(await store.remove('alice', 'intruder'), false);
        assert.equal((await store.list())[0]?.lastHeard, 0);
        assert.equal((await store.refresh('alice', 's1', 60))?.lastHeard, 60);
        assert.equal(await store.refresh('nobody', 's1', 60), undefined);
        assert.equal(await store.remove('alice', 's1'), true);
        assert.equal(await store.remove('alice', 's1'), false);
        assert.equal(await store.size(), 0);
      }));

    it('expires exactly the entries not heard from since the cutoff', () =>
      withStore(async (store) => {
        await store.register({ name: 'old', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        await store.register({ name: 'fresh', ip: '127.0.0.1', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        await store.refresh('fresh', 's2', 100);
        const gone = await store.expire(100);
        assert.deepEqual(
          gone.map((r) => r.name),
          ['old'],
        );
        assert.deepEqual(
          (await store.list()).map((r) => r.name),
          ['fresh'],
        );
        assert.deepEqual(await store.expire(100), []);
      }));

    it('list() is a snapshot: later changes do not alter it', () =>
      withStore(async (store) => {
        await store.register({ name: 'a', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        const snapshot = await store.list();
        await store.register({ name: 'b', ip: '127.0.0.1', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        await store.refresh('a', 's1', 77);
        assert.equal(snapshot.length, 1);
        assert.equal(snapshot[0]?.lastHeard, 0);
      }));

    it('generation changes when the listing changes, and only then', () =>
      withStore(async (store) => {
        const g0 = await store.generation();
        await store.register({ name: 'a', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 0 });
        const g1 = await store.generation();
        assert.notEqual(g1, g0, 'a registration');
        await store.register({ name: 'a', ip: '127.0.0.1', requestedPort: 0, owner: 's1', key: keyOf('s1'), now: 1 });
        await store.refresh('a', 's1', 2);
        await store.register({ name: 'a', ip: '127.0.0.1', requestedPort: 0, owner: 'intruder', key: keyOf('intruder'), now: 3 });
        await store.remove('a', 'intruder');
        assert.equal(await store.generation(), g1, 'refreshes and refusals leave it alone');
        await store.remove('a', 's1');
        const g2 = await store.generation();
        assert.ok(g2 !== g1 && g2 !== g0, 'a departure');
        await store.register({ name: 'b', ip: '127.0.0.1', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        const g3 = await store.generation();
        await store.expire(10);
        assert.notEqual(await store.generation(), g3, 'an expiry');
      }));

    it('concurrent registrations of one name admit exactly one', () =>
      withStore(async (store) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.register({ name: 'same', ip: '127.0.0.1', requestedPort: 0, owner: `s${i}`, key: keyOf(`s${i}`), now: 0 }),
          ),
        );
        assert.equal(results.filter((r) => r.ok).length, 1);
      }));

    it('is bound to one directory key: the same key again is fine, another is refused', () =>
      withStore(async (store) => {
        await store.claimIdentity(keyOf('directory'));
        await store.claimIdentity(keyOf('directory'));
        await assert.rejects(store.claimIdentity(keyOf('another directory')), (e) => isNatterError(e, ERROR_CODES.DIRECTORY_KEY_CONFLICT));
        await assert.rejects(store.claimIdentity('not a key'), (e) => isNatterError(e, ERROR_CODES.INVALID_ARGUMENT));
      }));

    it('a shutdown announced through the store reaches every listener, once', () =>
      withStore(async (store) => {
        const heard: string[] = [];
        const both = new Promise<void>((resolve) => {
          store.onShutdown((reason) => heard.push(`first: ${reason}`));
          store.onShutdown((reason) => {
            heard.push(`second: ${reason}`);
            resolve();
          });
        });
        await store.announceShutdown('maintenance');
        await both;
        await store.announceShutdown('again');
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(heard.sort(), ['first: maintenance', 'second: maintenance']);
      }));

    it('keeps the address a registration was seen from, and restores nothing for one that gave none', () =>
      withStore(async (store) => {
        await store.register({
          name: 'alice',
          ip: '192.0.2.1',
          requestedPort: 0,
          owner: 's1',
          key: keyOf('s1'),
          now: 0,
          seenIp: '203.0.113.7',
          seenPort: 41_186,
        });
        await store.register({ name: 'bob', ip: '192.0.2.2', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        const byName = new Map((await store.list()).map((r) => [r.name, r]));
        assert.deepEqual([byName.get('alice')?.seenIp, byName.get('alice')?.seenPort], ['203.0.113.7', 41_186]);
        assert.equal('seenIp' in (byName.get('bob') ?? {}), false);
        const refreshed = await store.refresh('alice', 's1', 1);
        assert.equal(refreshed?.seenPort, 41_186);
      }));

    it('a notice told to an owner reaches the listeners of the store that owner registered through', () =>
      withStore(async (store) => {
        await store.register({ name: 'bob', ip: '127.0.0.1', requestedPort: 0, owner: 's2', key: keyOf('s2'), now: 0 });
        const heard: unknown[] = [];
        store.onNotice((owner, notice) => heard.push([owner, notice]));
        const [record] = await store.list();
        const call = { type: 'CALL', via: 'relay', name: 'alice|x', ip: '198.51.100.20', port: 7447 } as const;
        await store.tell((record as { owner: string }).owner, call);
        const deadline = Date.now() + 3_000;
        while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(heard, [['s2', call]]);
      }));

    it('concurrent registrations at one IP never share a port', () =>
      withStore(
        async (store) => {
          const results = await Promise.all(
            Array.from({ length: 200 }, (_, i) =>
              store.register({ name: `n${i}`, ip: '127.0.0.1', requestedPort: 0, owner: `s${i}`, key: keyOf(`s${i}`), now: 0 }),
            ),
          );
          const ports = results.map((r) => (r.ok ? r.record.port : -1));
          assert.ok(ports.every((p) => p > 0));
          assert.equal(new Set(ports).size, 200);
        },
        { lo: 40_000, hi: 40_999 },
      ));
  });
}
