/** The table of peers heard on the LAN: bounded, expiring by TTL, one entry per name. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Announcement } from '../../src/discovery/lan-records.ts';
import { LanTable } from '../../src/discovery/lan-table.ts';

const KEY_A = Buffer.alloc(32, 1);
const KEY_B = Buffer.alloc(32, 2);

function ann(instance: string, name = instance, over: Partial<Announcement> = {}): Announcement {
  return { instance, name, key: KEY_A, ip: '192.0.2.7', port: 50_000, ttlSeconds: 10, ...over };
}

it('holds an announcement for its TTL from when it was last heard', () => {
  const t = new LanTable(8);
  assert.equal(t.take(ann('a'), 0), 'added');
  assert.equal(t.take(ann('a'), 4_000), 'refreshed');
  assert.deepEqual(t.expire(13_999), []);
  assert.deepEqual(
    t.expire(14_000).map((e) => e.name),
    ['a'],
  );
  assert.equal(t.lookup('a'), undefined);
  assert.equal(t.hasSeen('a'), true, 'what was seen stays known as seen');
});

it('reports a changed address, port or key', () => {
  const t = new LanTable(8);
  t.take(ann('a'), 0);
  assert.equal(t.take(ann('a', 'a', { port: 50_001 }), 1), 'changed');
  assert.equal(t.take(ann('a', 'a', { ip: '192.0.2.8' }), 2), 'changed');
  assert.equal(t.take(ann('a', 'a', { key: KEY_B }), 3), 'changed');
  assert.deepEqual(t.lookup('a'), { ...ann('a', 'a', { key: KEY_B }), heardAt: 3, expiresAt: 10_003, refreshAt: 8_003, seq: 0 });
});

it('is bounded: a new instance past maxPeers is refused until one leaves', () => {
  const t = new LanTable(2);
  assert.equal(t.take(ann('a'), 0), 'added');
  assert.equal(t.take(ann('b'), 0), 'added');
  assert.equal(t.take(ann('c'), 0), 'full');
  assert.equal(t.size, 2);
  assert.equal(t.take(ann('a'), 1), 'refreshed', 'those held are still refreshed');
  assert.equal(t.remove('b')?.name, 'b');
  assert.equal(t.remove('b'), undefined);
  assert.equal(t.take(ann('c'), 2), 'added');
});

it('one entry per name: the instance that appeared last, kept while it is announced again', () => {
  const t = new LanTable(8);
  t.take(ann('bob-1', 'bob'), 0);
  t.take(ann('amy', 'amy'), 1);
  t.take(ann('bob-2', 'bob', { key: KEY_B, port: 2 }), 2);
  t.take(ann('bob-1', 'bob'), 3);
  assert.equal(t.lookup('bob')?.instance, 'bob-2');
  assert.deepEqual(
    t.list().map((e) => e.instance),
    ['amy', 'bob-2'],
  );
  t.remove('bob-2');
  assert.equal(t.lookup('bob')?.instance, 'bob-1', 'the earlier one is back once the later one leaves');
});

it('asks again at 80% and 90% of a TTL, then lets it expire; hearing it starts over', () => {
  const t = new LanTable(8);
  t.take(ann('a'), 0);
  assert.equal(t.nextDue(), 8_000);
  assert.equal(t.takeRefreshDue(7_999), false);
  assert.equal(t.takeRefreshDue(8_000), true);
  assert.equal(t.nextDue(), 9_000);
  assert.equal(t.takeRefreshDue(9_000), true);
  assert.equal(t.nextDue(), 10_000);
  assert.equal(t.takeRefreshDue(9_999), false);
  t.take(ann('a'), 9_500);
  assert.equal(t.nextDue(), 17_500);
  assert.equal(new LanTable(1).nextDue(), undefined);
});

it('known answers: only entries with more than half their TTL left, with what is left, at most `max`', () => {
  const t = new LanTable(8);
  t.take(ann('a'), 0);
  t.take(ann('b', 'b', { ttlSeconds: 100 }), 0);
  t.take(ann('c'), 0);
  assert.deepEqual(t.knownAnswers(4_000, 8), [
    { instance: 'a', ttlSeconds: 6 },
    { instance: 'b', ttlSeconds: 96 },
    { instance: 'c', ttlSeconds: 6 },
  ]);
  assert.deepEqual(t.knownAnswers(5_000, 8), [{ instance: 'b', ttlSeconds: 95 }]);
  assert.equal(t.knownAnswers(0, 2).length, 2);
});

it('clear() forgets every peer', () => {
  const t = new LanTable(8);
  t.take(ann('a'), 0);
  t.clear();
  assert.deepEqual(t.list(), []);
});
