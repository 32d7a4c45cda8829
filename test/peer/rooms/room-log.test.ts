/**
 * A room's signed membership log and its order (src/peer/rooms): signatures,
 * rights, and convergence whatever order and however many times items arrive.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES } from '../../../src/errors.ts';
import { RoomLog, ROOM_MEMBER_CAP } from '../../../src/peer/rooms/room-log.ts';
import { readItem, roomIdOf, signItem, type RoomBody, type RoomItem } from '../../../src/peer/rooms/room-item.ts';
import { keyPairFromSeed, type KeyPair } from '../../../src/transport/secure.ts';
import { readVectors } from '../../helpers/vectors.ts';

const LIMITS = { maxNameBytes: 32, maxTextBytes: 4096 };

function keys(n: number): KeyPair[] {
  return Array.from({ length: n }, (_, i) => keyPairFromSeed(Buffer.alloc(32, i + 1)));
}

/** Writes items the way members do: per-author seqs, Lamport clocks. */
class Writer {
  readonly room: string;
  readonly #seq = new Map<KeyPair, number>();
  #clock = 1_000;
  readonly items: RoomItem[] = [];

  constructor(creator: KeyPair, name = 'club') {
    const nonce = randomBytes(16);
    this.room = roomIdOf(creator.publicKey, nonce);
    this.write(creator, { kind: 'create', nonce, name, label: 'amy' });
  }

  write(author: KeyPair, body: RoomBody, clock?: number): RoomItem {
    const seq = (this.#seq.get(author) ?? 0) + 1;
    this.#seq.set(author, seq);
    this.#clock = clock ?? this.#clock + 1;
    const item = signItem(author, { room: this.room, seq, clock: this.#clock, body }, LIMITS);
    this.items.push(item);
    return item;
  }
}

function labels(log: RoomLog): string[] {
  return log
    .members()
    .map((m) => m.label)
    .sort();
}

function feed(log: RoomLog, items: readonly RoomItem[]): void {
  for (const item of items) log.add(item);
  log.settle();
}

describe('room items', () => {
  it('in the RITEMS vectors of protocol.md read, with their signatures checked, as documented', () => {
    const items = readVectors().flatMap((v) => (v.message.type === 'RITEMS' ? v.message.items : []));
    assert.equal(items.length, 2);
    const [message, create] = items.map((b) => readItem(b, LIMITS)) as [RoomItem, RoomItem];
    const rfcKey = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
    assert.equal(message.authorHex, rfcKey);
    assert.deepEqual(message.body, { kind: 'message', text: 'hi' });
    assert.equal(message.seq, 2);
    assert.equal(create.body.kind, 'create');
    assert.equal(roomIdOf(create.author, (create.body as { nonce: Buffer }).nonce), '060c51c829f03c82e132a14e5128d952');
    const log = new RoomLog(create.room);
    feed(log, [message, create]);
    assert.equal(log.name, 'club');
    assert.deepEqual(
      log.history().map((i) => i.id),
      [message.id],
    );
  });

  it('round-trip through their bytes with the signature checked', () => {
    const [a] = keys(1) as [KeyPair];
    const w = new Writer(a);
    const m = w.write(a, { kind: 'message', text: 'héllo ✓' });
    const back = readItem(m.bytes, LIMITS);
    assert.equal(back.id, m.id);
    assert.deepEqual(back.body, m.body);
    assert.equal(back.clock, m.clock);
  });

  it('refuse a flipped bit with BAD_SIGNATURE, garbage with a decoding code', () => {
    const [a] = keys(1) as [KeyPair];
    const w = new Writer(a);
    const m = w.write(a, { kind: 'message', text: 'hi' });
    const bad = Buffer.from(m.bytes);
    bad[63] = (bad[63] as number) ^ 1;
    assert.throws(() => readItem(bad, LIMITS), { code: ERROR_CODES.BAD_SIGNATURE });
    assert.throws(() => readItem(Buffer.alloc(10), LIMITS), { code: ERROR_CODES.TRUNCATED });
    const kind = Buffer.from(m.bytes);
    kind[60] = 99;
    assert.throws(() => readItem(kind, LIMITS), { code: ERROR_CODES.MALFORMED });
    assert.throws(() => readItem(Buffer.concat([m.bytes.subarray(0, 61), Buffer.from([0, 50]), Buffer.alloc(64)]), LIMITS), {
      code: ERROR_CODES.TRUNCATED,
    });
  });

  it('refuse a text over the limit before reading it', () => {
    const [a] = keys(1) as [KeyPair];
    const w = new Writer(a);
    const m = w.write(a, { kind: 'message', text: 'x'.repeat(100) });
    assert.throws(() => readItem(m.bytes, { maxNameBytes: 32, maxTextBytes: 50 }), { code: ERROR_CODES.TEXT_TOO_LONG });
  });
});

describe('RoomLog', () => {
  it('applies the rights: admins invite and remove, invitees join, members leave', () => {
    const [a, b, c, d] = keys(4) as [KeyPair, KeyPair, KeyPair, KeyPair];
    const w = new Writer(a);
    w.write(a, { kind: 'invite', key: b.publicKey, label: 'bob' });
    w.write(b, { kind: 'join' });
    // bob is no admin: his invitation of dan does not count, nor dan's join
    w.write(b, { kind: 'invite', key: d.publicKey, label: 'dan' });
    w.write(d, { kind: 'join' });
    w.write(a, { kind: 'invite', key: c.publicKey, label: 'cat' });
    w.write(c, { kind: 'join' });
    const hi = w.write(c, { kind: 'message', text: 'hi' });
    const log = new RoomLog(w.room);
    feed(log, w.items);
    assert.deepEqual(labels(log), ['amy', 'bob', 'cat']);
    assert.deepEqual(
      log.history().map((i) => i.id),
      [hi.id],
    );
    w.write(a, { kind: 'kick', key: c.publicKey, upTo: 2 });
    const after = w.write(c, { kind: 'message', text: 'still here?' });
    w.write(b, { kind: 'leave' });
    feed(log, w.items);
    assert.deepEqual(labels(log), ['amy']);
    assert.ok(!log.history().some((i) => i.id === after.id), 'a removed member writes nothing that counts');
  });

  it('a removed member cannot backdate a message before its removal', () => {
    const [a, b] = keys(2) as [KeyPair, KeyPair];
    const w = new Writer(a);
    w.write(a, { kind: 'invite', key: b.publicKey, label: 'bob' });
    w.write(b, { kind: 'join' }); // bob's seq 1
    w.write(b, { kind: 'message', text: 'one' }, 2_000); // seq 2
    w.write(a, { kind: 'kick', key: b.publicKey, upTo: 2 }, 3_000);
    const backdated = w.write(b, { kind: 'message', text: 'sneaky' }, 2_500); // seq 3, sorts before the kick
    const log = new RoomLog(w.room);
    feed(log, w.items);
    assert.deepEqual(
      log.history().map((i) => (i.body as { text: string }).text),
      ['one'],
    );
    assert.ok(!log.history().some((i) => i.id === backdated.id));
  });

  it('ignores a create for the room id by anyone but its creator', () => {
    const [a, mallory] = keys(2) as [KeyPair, KeyPair];
    const w = new Writer(a);
    const forged = signItem(
      mallory,
      { room: w.room, seq: 1, clock: 1, body: { kind: 'create', nonce: randomBytes(16), name: 'mine', label: 'mal' } },
      LIMITS,
    );
    const log = new RoomLog(w.room);
    assert.equal(log.add(forged), 'wrong-room');
    feed(log, w.items);
    assert.equal(log.name, 'club');
  });

  it('keeps the first of two different items with one seq', () => {
    const [a] = keys(1) as [KeyPair];
    const w = new Writer(a);
    const m = w.write(a, { kind: 'message', text: 'one' });
    const other = signItem(a, { room: w.room, seq: m.seq, clock: m.clock, body: { kind: 'message', text: 'two' } }, LIMITS);
    const log = new RoomLog(w.room);
    feed(log, w.items);
    assert.equal(log.add(other), 'conflict');
    assert.equal(log.add(m), 'duplicate');
  });

  it(`caps a room at ${ROOM_MEMBER_CAP} members and invitations`, () => {
    const all = keys(ROOM_MEMBER_CAP + 2);
    const [a] = all as [KeyPair];
    const w = new Writer(a);
    for (const [i, k] of all.slice(1).entries()) w.write(a, { kind: 'invite', key: k.publicKey, label: `p${i}` });
    for (const k of all.slice(1)) w.write(k, { kind: 'join' });
    const log = new RoomLog(w.room);
    feed(log, w.items);
    assert.equal(log.members().length, ROOM_MEMBER_CAP);
  });

  it('says which items come late, and keeps the history in the agreed order', () => {
    const [a, b] = keys(2) as [KeyPair, KeyPair];
    const w = new Writer(a);
    w.write(a, { kind: 'invite', key: b.publicKey, label: 'bob' });
    w.write(b, { kind: 'join' });
    const early = w.write(b, { kind: 'message', text: 'early' });
    const later = w.write(a, { kind: 'message', text: 'later' });
    const log = new RoomLog(w.room);
    feed(
      log,
      w.items.filter((i) => i !== early),
    );
    log.add(early);
    const settled = log.settle();
    assert.deepEqual(
      settled.items.map((s) => [s.item.id, s.isLate]),
      [[early.id, true]],
    );
    assert.deepEqual(
      log.history().map((i) => i.id),
      [early.id, later.id],
    );
    assert.deepEqual(log.have().get(b.publicKey.toString('hex')), 2);
  });

  it('any delivery order, any duplication, any settling converges to the same members and history', () => {
    const ks = keys(5);
    const [a, b, c, d, e] = ks as [KeyPair, KeyPair, KeyPair, KeyPair, KeyPair];
    // A script of concurrent writers: clocks collide on purpose.
    const w = new Writer(a);
    w.write(a, { kind: 'invite', key: b.publicKey, label: 'bob' }, 1_010);
    w.write(a, { kind: 'invite', key: c.publicKey, label: 'cat' }, 1_010);
    w.write(b, { kind: 'join' }, 1_020);
    w.write(c, { kind: 'join' }, 1_020);
    w.write(a, { kind: 'admin', key: b.publicKey }, 1_030);
    w.write(b, { kind: 'invite', key: d.publicKey, label: 'dan' }, 1_040);
    w.write(d, { kind: 'join' }, 1_050);
    for (let i = 0; i < 6; i++) for (const k of [a, b, c, d]) w.write(k, { kind: 'message', text: `m${i}` }, 1_060 + i * 3);
    w.write(b, { kind: 'kick', key: c.publicKey, upTo: 4 }, 1_070);
    w.write(a, { kind: 'kick', key: b.publicKey, upTo: 99 }, 1_070);
    w.write(c, { kind: 'message', text: 'after kick' }, 1_065);
    w.write(a, { kind: 'invite', key: e.publicKey, label: 'eve' }, 1_080);
    w.write(e, { kind: 'decline' }, 1_090);
    w.write(d, { kind: 'leave' }, 1_100);
    const reference = new RoomLog(w.room);
    feed(reference, w.items);
    const members = labels(reference);
    const history = reference.history().map((i) => i.id);
    fc.assert(
      fc.property(
        fc.array(fc.nat(w.items.length - 1), { minLength: w.items.length, maxLength: w.items.length * 2 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 20 }),
        (picks, settles) => {
          const log = new RoomLog(w.room);
          // Every item at least once, in the order given by picks, with repeats.
          const seen = new Set<number>();
          const sequence = [...picks, ...w.items.keys()].filter((i) => {
            const again = seen.has(i);
            seen.add(i);
            return !again || i % 3 === 0;
          });
          sequence.forEach((i, n) => {
            log.add(w.items[i] as RoomItem);
            if (settles[n % settles.length] === true) log.settle();
          });
          log.settle();
          assert.deepEqual(labels(log), members);
          assert.deepEqual(
            log.history().map((i) => i.id),
            history,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
