import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES, isNatterError } from '../../src/errors.ts';
import { IdentityHandshake, keyPairFromSeed, type HandshakeResult } from '../../src/transport/handshake.ts';
import {
  LENGTH_BYTES,
  MAX_RECORD_BYTES,
  MAX_RECORD_PLAINTEXT,
  RECORD_OVERHEAD,
  RecordOpener,
  RecordSealer,
  SEND_RECORD_PLAINTEXT,
  STREAM_HEADER_BYTES,
  streamId,
} from '../../src/transport/records.ts';
import { cutAt } from '../helpers/split.ts';
import sodium from 'sodium-universal';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

/** A real handshake between alice (dialer) and bob: both sides' results. */
function handshake(): { dialer: HandshakeResult; acceptor: HandshakeResult } {
  const i = new IdentityHandshake(true, alice);
  const r = new IdentityHandshake(false, bob);
  const m2 = r.receive(i.start()) as Buffer;
  r.receive(i.receive(m2) as Buffer);
  return { dialer: i.result as HandshakeResult, acceptor: r.result as HandshakeResult };
}

/** The dialer's sealer and the accepting side's opener for the same connection, and the stream header to start with. */
function pair(): { sealer: RecordSealer; opener: RecordOpener; header: Buffer } {
  const { dialer, acceptor } = handshake();
  const sealer = new RecordSealer(dialer.tx, dialer.hash, true);
  const opener = new RecordOpener(acceptor.rx, acceptor.hash, false);
  return { sealer, opener, header: sealer.takeHeader() as Buffer };
}

/** Feeds `pieces` to `opener` and returns the plaintext of every record, concatenated. */
function openAll(opener: RecordOpener, pieces: Buffer[]): Buffer {
  const out: Buffer[] = [];
  for (const piece of pieces) {
    opener.push(piece);
    for (let p = opener.next(); p !== undefined; p = opener.next()) out.push(Buffer.from(p));
  }
  return Buffer.concat(out);
}

function lengthOf(n: number): Buffer {
  return Buffer.from([n & 0xff, (n >> 8) & 0xff, n >> 16]);
}

function failsWith(code: string, pattern: RegExp) {
  return (err: unknown): boolean => isNatterError(err) && err.code === code && pattern.test(err.message);
}

describe('records', () => {
  it('start with a 56-byte stream header: the stream id for this side, then the secretstream header', () => {
    const { dialer, acceptor } = handshake();
    const header = new RecordSealer(dialer.tx, dialer.hash, true).takeHeader() as Buffer;
    assert.equal(header.length, LENGTH_BYTES + STREAM_HEADER_BYTES);
    assert.deepEqual(header.subarray(0, 3), lengthOf(56));
    assert.deepEqual(header.subarray(3, 35), Buffer.from(streamId(dialer.hash, true)));
    // Both sides derive the same handshake hash, so the same ids; the two directions differ.
    assert.deepEqual(Buffer.from(streamId(acceptor.hash, true)), Buffer.from(streamId(dialer.hash, true)));
    assert.notDeepEqual(Buffer.from(streamId(dialer.hash, false)), Buffer.from(streamId(dialer.hash, true)));
  });

  it('carry any writes through any split of the byte stream, each record 17 bytes longer than its plaintext', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(4_000), { maxLength: 12 }),
        (writes, cuts) => {
          const { sealer, opener, header } = pair();
          const sealed = writes.map((w) => sealer.seal(w));
          sealed.forEach((s, k) => {
            const n = (writes[k] as Uint8Array).length;
            assert.equal(s.length, n === 0 ? 0 : n + LENGTH_BYTES + RECORD_OVERHEAD);
          });
          const wire = Buffer.concat([header, ...sealed]);
          assert.deepEqual(openAll(opener, cutAt(wire, cuts)), Buffer.concat(writes));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('cut a large write into records of 16,384 bytes of plaintext, and put bytes given to go ahead in front', () => {
    const { sealer, opener, header } = pair();
    const big = randomBytes(2 * SEND_RECORD_PLAINTEXT + 100);
    const head = Buffer.from('ahead');
    const sealed = sealer.seal(big, Buffer.concat([head, header]));
    assert.deepEqual(sealed.subarray(0, 5), head);
    const records = sealed.subarray(5 + header.length);
    assert.equal(records.length, big.length + 3 * (LENGTH_BYTES + RECORD_OVERHEAD));
    assert.deepEqual(records.subarray(0, 3), lengthOf(SEND_RECORD_PLAINTEXT + RECORD_OVERHEAD));
    assert.deepEqual(openAll(opener, [header, ...cutAt(records, [1, 20_000, 40_000])]), big);
  });

  it('open records as large as the limit allows, as other implementations may send them', () => {
    // A record of 65,536 bytes of plaintext, sealed by hand with libsodium as @hyperswarm/secret-stream seals a write.
    const { dialer, acceptor } = handshake();
    const header = Buffer.alloc(3 + STREAM_HEADER_BYTES);
    header.set([STREAM_HEADER_BYTES, 0, 0]);
    header.set(streamId(dialer.hash, true), 3);
    const state = Buffer.alloc(52);
    sodium.crypto_secretstream_xchacha20poly1305_init_push(state, header.subarray(35), dialer.tx.subarray(0, 32));
    const plain = randomBytes(MAX_RECORD_PLAINTEXT);
    const record = Buffer.alloc(3 + MAX_RECORD_BYTES);
    record.set(lengthOf(MAX_RECORD_BYTES));
    record.set(plain, 4);
    sodium.crypto_secretstream_xchacha20poly1305_push(state, record.subarray(3), record.subarray(4, 4 + plain.length), null, 0);
    const opener = new RecordOpener(acceptor.rx, acceptor.hash, false);
    assert.deepEqual(openAll(opener, cutAt(Buffer.concat([header, record]), [5, 65_536])), plain);
  });

  it('give records one at a time, so that a reader may stop between any two', () => {
    const { sealer, opener, header } = pair();
    opener.push(Buffer.concat([header, sealer.seal(Buffer.from('one')), sealer.seal(Buffer.from('two'))]));
    assert.equal(opener.next()?.toString(), 'one');
    assert.equal(opener.isIdle, false);
    assert.equal(opener.next()?.toString(), 'two');
    assert.equal(opener.next(), undefined);
    assert.equal(opener.isIdle, true);
  });

  it('refuse a record length over the limit as soon as its three bytes are in, before keeping any of it', () => {
    const { opener, header } = pair();
    assert.deepEqual(openAll(opener, [header]), Buffer.alloc(0));
    opener.push(lengthOf(MAX_RECORD_BYTES + 1).subarray(0, 2));
    assert.equal(opener.next(), undefined);
    opener.push(lengthOf(MAX_RECORD_BYTES + 1).subarray(2));
    assert.throws(() => opener.next(), failsWith(ERROR_CODES.FRAME_TOO_LARGE, /65554 bytes \(the most is 65553\)/));
    // Spent: it stays failed.
    assert.throws(() => opener.push(Buffer.alloc(1)), failsWith(ERROR_CODES.FRAME_TOO_LARGE, /65554/));
  });

  it('refuse a stream header of another size or of another handshake, and records that do not authenticate', () => {
    const a = pair();
    a.opener.push(Buffer.concat([lengthOf(55), Buffer.alloc(55)]));
    assert.throws(() => a.opener.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /stream header of 55 bytes/));

    const b = pair();
    const other = pair();
    b.opener.push(other.header);
    assert.throws(() => b.opener.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /does not belong to this handshake/));

    const c = pair();
    const record = c.sealer.seal(Buffer.from('hello'));
    record[record.length - 1] = (record[record.length - 1] as number) ^ 1;
    c.opener.push(Buffer.concat([c.header, record]));
    assert.throws(() => c.opener.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /did not authenticate/));

    const d = pair();
    d.opener.push(Buffer.concat([d.header, lengthOf(16), Buffer.alloc(16)]));
    assert.throws(() => d.opener.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /record of 16 bytes \(at least 17\)/));
  });

  it('refuse records replayed, reordered or reflected back to their sender', () => {
    const { sealer, opener, header } = pair();
    sealer.seal(Buffer.from('first'));
    opener.push(Buffer.concat([header, sealer.seal(Buffer.from('second'))]));
    assert.throws(() => opener.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /did not authenticate/));

    const again = pair();
    const once = again.sealer.seal(Buffer.from('once'));
    again.opener.push(Buffer.concat([again.header, once, once]));
    assert.equal(again.opener.next()?.toString(), 'once');
    assert.throws(() => again.opener.next(), /did not authenticate/);

    // The accepting side's own stream, fed back to it, names the wrong direction.
    const { acceptor } = handshake();
    const mirror = new RecordOpener(acceptor.rx, acceptor.hash, false);
    mirror.push(new RecordSealer(acceptor.tx, acceptor.hash, false).takeHeader() as Buffer);
    assert.throws(() => mirror.next(), failsWith(ERROR_CODES.CONNECTION_CLOSED, /does not belong to this handshake/));
  });
});
