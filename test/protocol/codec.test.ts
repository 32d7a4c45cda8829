import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { KEY_BYTES, decodePayload, encodeMessage } from '../../src/protocol/codec.ts';
import { canonicalIp, ipToBytes, normalizeName } from '../../src/protocol/fields.ts';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/protocol/limits.ts';
import { MESSAGE_TYPES, type Message, type MessageName } from '../../src/protocol/messages.ts';
import { messageArb } from '../helpers/arbitraries.ts';
import { byteByByte, cutAt, decodeAll } from '../helpers/split.ts';
import { FIXED_ID, FIXED_TS, textMsg } from '../helpers/messages.ts';

/** TEXT's id and time fields, as the raw payloads below start with them. */
const ID_AND_TIME = Buffer.concat([FIXED_ID, Buffer.from(BigInt(FIXED_TS).toString(16).padStart(16, '0'), 'hex')]);

function hasCode(code: NatterErrorCode) {
  return (err: unknown) => {
    assert.ok(err instanceof NatterError, `expected a NatterError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** A frame with the given type name and raw payload, bypassing the encoder's checks. */
function rawFrame(type: MessageName | number, payload: Buffer | number[]): Buffer {
  const body = Buffer.from(payload);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 0);
  head.writeUInt8(typeof type === 'number' ? type : typeCode(type), 4);
  return Buffer.concat([head, body]);
}
function typeCode(name: MessageName): number {
  return MESSAGE_TYPES[name];
}
function decodeRaw(type: MessageName, payload: number[] | Buffer, limits = {}): Message[] {
  return decodeAll([rawFrame(type, payload)], limits);
}

/** A 32-byte public key with no two bytes alike, so a shifted or cut copy never passes for it. */
const KEY = Buffer.from(Array.from({ length: KEY_BYTES }, (_, i) => 0xa0 + i));

describe('codec round trip', () => {
  it('every message decodes to itself, whole, byte by byte and at random cuts', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.nat(), { maxLength: 8 }), (msg, cuts) => {
        const bytes = encodeMessage(msg);
        assert.deepEqual(decodeAll([bytes]), [msg]);
        assert.deepEqual(
          decodeAll(
            cutAt(
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
          ),
          [msg],
        );
        if (bytes.length <= 600) assert.deepEqual(decodeAll(byteByByte(bytes)), [msg]);
      }),
      { numRuns: 2000 },
    );
  });

  it('a stream of many messages decodes identically under any split', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map((m) => encodeMessage(m)));
        assert.deepEqual(
          decodeAll(
            cutAt(
              stream,
              cuts.map((c) => c % (stream.length + 1)),
            ),
          ),
          msgs,
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe('limits', () => {
  it('TEXT at the limit passes and one byte past fails, encoding and decoding', () => {
    const atLimit = 'x'.repeat(4096);
    assert.deepEqual(decodeAll([encodeMessage(textMsg(atLimit))]), [textMsg(atLimit)]);
    assert.throws(() => encodeMessage(textMsg(`${atLimit}x`)), hasCode(ERROR_CODES.TEXT_TOO_LONG));
    const len = Buffer.from([0x10, 0x01]);
    assert.throws(() => decodeRaw('TEXT', Buffer.concat([ID_AND_TIME, len, Buffer.alloc(4097, 0x61)])), hasCode(ERROR_CODES.TEXT_TOO_LONG));
    // Judged from the length field alone: the text itself need not have arrived.
    assert.throws(() => decodePayload('TEXT', Buffer.concat([ID_AND_TIME, len])), hasCode(ERROR_CODES.TEXT_TOO_LONG));
  });

  it('TEXT limit counts UTF-8 bytes, not characters', () => {
    const euro = '€'.repeat(1365); // 4095 bytes
    assert.equal(decodeAll([encodeMessage(textMsg(euro))]).length, 1);
    assert.throws(() => encodeMessage(textMsg(`${euro}€`)), hasCode(ERROR_CODES.TEXT_TOO_LONG));
  });

  it('TEXT limit is an option', () => {
    const limits = { maxTextBytes: 10 };
    assert.equal(decodeAll([encodeMessage(textMsg('0123456789'), resolveLimits(limits))], limits).length, 1);
    const eleven = encodeMessage(textMsg('0123456789a'));
    assert.throws(() => decodeAll([eleven], limits), hasCode(ERROR_CODES.TEXT_TOO_LONG));
  });

  it('frame size at the limit passes and one past fails, encoding and decoding', () => {
    const max = DEFAULT_LIMITS.maxFrameBytes;
    const fits = { type: 'STATE' as const, more: false, data: Buffer.alloc(max - 6, 0x20) };
    const fitsBytes = encodeMessage(fits);
    assert.equal(fitsBytes.length, max);
    assert.deepEqual(decodeAll([fitsBytes]), [fits]);
    const tooBig = { ...fits, data: Buffer.alloc(max - 5, 0x20) };
    assert.throws(() => encodeMessage(tooBig), hasCode(ERROR_CODES.FRAME_TOO_LARGE));
    const header = Buffer.alloc(5);
    header.writeUInt32BE(max - 4, 0);
    header.writeUInt8(0x1a, 4);
    assert.throws(() => decodeAll([header]), hasCode(ERROR_CODES.FRAME_TOO_LARGE));
  });

  it('an oversized length is refused from its four bytes, before any payload arrives', () => {
    const decoder = decodeHeaderOnly(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.throws(decoder, hasCode(ERROR_CODES.FRAME_TOO_LARGE));
  });

  it('name at 32 bytes passes and 33 fails; NFC decides the size', () => {
    const at = 'a'.repeat(32);
    assert.equal(decodeAll([encodeMessage({ type: 'CONN', name: at, ip: '', port: 1 })]).length, 1);
    assert.throws(() => encodeMessage({ type: 'CONN', name: `${at}a`, ip: '', port: 1 }), hasCode(ERROR_CODES.INVALID_NAME));
    const past = Buffer.concat([Buffer.from([33]), Buffer.alloc(33, 0x61), Buffer.from([0, 0, 1])]);
    assert.throws(() => decodeRaw('CONN', past), hasCode(ERROR_CODES.INVALID_NAME));
    // "e" + combining acute is 3 bytes decomposed, 2 bytes composed: 16 of them fit after NFC.
    const decomposed = 'e\u0301'.repeat(16);
    assert.equal(Buffer.byteLength(decomposed), 48);
    const raw = Buffer.concat([Buffer.from([48]), Buffer.from(decomposed), Buffer.from([0, 0, 1])]);
    assert.deepEqual(decodeRaw('CONN', raw), [{ type: 'CONN', name: 'é'.repeat(16), ip: '', port: 1 }]);
  });

  it('names: empty, control, format, whitespace and "/" are refused', () => {
    for (const bad of [
      '',
      'a\u0000b',
      'a\u001b[31m',
      'a\u007f',
      'a\u0085',
      'a\u202eb',
      'a\u200bb',
      'a b',
      'a\tb',
      'a\u00a0b',
      'a\u2028b',
      'a/b',
    ]) {
      assert.throws(() => normalizeName(bad, 32), hasCode(ERROR_CODES.INVALID_NAME), JSON.stringify(bad));
      const bytes = Buffer.from(bad);
      assert.throws(
        () => decodeRaw('PEER', Buffer.concat([Buffer.from([bytes.length]), bytes, Buffer.from([0, 0, 1]), KEY])),
        hasCode(ERROR_CODES.INVALID_NAME),
        JSON.stringify(bad),
      );
    }
    assert.equal(normalizeName('Zoë_42', 32), 'Zoë_42');
  });

  it('limits are validated', () => {
    for (const bad of [
      { maxFrameBytes: 4 },
      { maxFrameBytes: 2 ** 32 },
      { maxTextBytes: 0 },
      { maxTextBytes: 70000 },
      { maxNameBytes: 256 },
      { maxBufferedParts: 1.5 },
      { maxBufferedBytes: Number.NaN },
    ]) {
      assert.throws(() => resolveLimits(bad), hasCode(ERROR_CODES.INVALID_ARGUMENT), JSON.stringify(bad));
    }
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
  });
});

function decodeHeaderOnly(bytes: Buffer) {
  return () => decodeAll([bytes]);
}

describe('malformed payloads', () => {
  const cases: [string, MessageName, number[], NatterErrorCode][] = [
    ['HELLO with the wrong magic', 'HELLO', [0x48, 0x54, 0x54, 0x50, 0, 1], ERROR_CODES.BAD_MAGIC],
    ['HELLO cut short', 'HELLO', [0x4e, 0x41, 0x54, 0x52, 0], ERROR_CODES.TRUNCATED],
    ['HELLO with trailing bytes', 'HELLO', [0x4e, 0x41, 0x54, 0x52, 0, 1, 9], ERROR_CODES.MALFORMED],
    ['ERROR with a lower-case code', 'ERROR', [1, 0x61, 0, 0], ERROR_CODES.MALFORMED],
    ['ERROR with an empty code', 'ERROR', [0, 0, 0], ERROR_CODES.MALFORMED],
    ['ERROR with invalid UTF-8 reason', 'ERROR', [1, 0x41, 0, 2, 0xc3, 0x28], ERROR_CODES.MALFORMED],
    ['UP with an unknown address family', 'UP', [1, 0x61, 5, 0, 0], ERROR_CODES.MALFORMED],
    ['UP with a truncated IPv4 address', 'UP', [1, 0x61, 4, 127, 0], ERROR_CODES.TRUNCATED],
    ['UP with a truncated IPv6 address', 'UP', [1, 0x61, 6, 0, 0, 0], ERROR_CODES.TRUNCATED],
    ['UP without a port', 'UP', [1, 0x61, 0], ERROR_CODES.TRUNCATED],
    ['PEER with port 0', 'PEER', [1, 0x61, 0, 0, 0, ...KEY], ERROR_CODES.MALFORMED],
    ['PEER with an overlong UTF-8 name', 'PEER', [2, 0xc0, 0xaf, 0, 0, 1, ...KEY], ERROR_CODES.MALFORMED],
    ['PEER without a key (the version 1 layout)', 'PEER', [1, 0x61, 0, 0, 1], ERROR_CODES.TRUNCATED],
    ['PEER with a key one byte short', 'PEER', [1, 0x61, 0, 0, 1, ...KEY.subarray(1)], ERROR_CODES.TRUNCATED],
    ['PEER with a byte after the key', 'PEER', [1, 0x61, 0, 0, 1, ...KEY, 0], ERROR_CODES.MALFORMED],
    ['ACK with port 0', 'ACK', [0, 0, 0, 0, 0, 1], ERROR_CODES.MALFORMED],
    ['ACK cut short', 'ACK', [0, 1, 0], ERROR_CODES.TRUNCATED],
    ['NACK whose reason runs past the payload', 'NACK', [0, 9, 0x61], ERROR_CODES.TRUNCATED],
    ['DOWN with a payload', 'DOWN', [0], ERROR_CODES.MALFORMED],
    ['HDR cut short', 'HDR', [0, 0, 1], ERROR_CODES.TRUNCATED],
    ['SHUTDOWN with a payload', 'SHUTDOWN', [0], ERROR_CODES.MALFORMED],
    ['SHUTDOWN with a version 1 credential', 'SHUTDOWN', [0, 6, 0x73, 0x33, 0x63, 0x72, 0x65, 0x74], ERROR_CODES.MALFORMED],
    ['SHUTDOWN with the empty version 1 credential', 'SHUTDOWN', [0, 0], ERROR_CODES.MALFORMED],
    ['DUMP with a payload', 'DUMP', [0], ERROR_CODES.MALFORMED],
    ['DUMP with a version 1 credential', 'DUMP', [0, 6, 0x73, 0x33, 0x63, 0x72, 0x65, 0x74], ERROR_CODES.MALFORMED],
    ['STATE with more = 2', 'STATE', [2], ERROR_CODES.MALFORMED],
    ['STATE without its flag', 'STATE', [], ERROR_CODES.TRUNCATED],
    ['RESP with accept = 7', 'RESP', [7, 0], ERROR_CODES.MALFORMED],
    ['TEXT with a lone surrogate', 'TEXT', [...ID_AND_TIME, 0, 3, 0xed, 0xa0, 0x80], ERROR_CODES.MALFORMED],
    ['TEXT shorter than its length', 'TEXT', [...ID_AND_TIME, 0, 5, 0x61], ERROR_CODES.TRUNCATED],
    ['TEXT without id and time (the version 2 layout)', 'TEXT', [0, 2, 0x68, 0x69], ERROR_CODES.TRUNCATED],
    ['TEXT cut inside its id', 'TEXT', [...ID_AND_TIME.subarray(0, 9)], ERROR_CODES.TRUNCATED],
    ['TEXT with a time past 2^53-1', 'TEXT', [...ID_AND_TIME.subarray(0, 16), 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0, 0], ERROR_CODES.MALFORMED],
    ['TEXT with a byte after the text', 'TEXT', [...ID_AND_TIME, 0, 1, 0x61, 0x62], ERROR_CODES.MALFORMED],
    ['RCPT with an id one byte short', 'RCPT', [...ID_AND_TIME.subarray(0, 15)], ERROR_CODES.TRUNCATED],
    ['RCPT with a byte after the id', 'RCPT', [...ID_AND_TIME.subarray(0, 17)], ERROR_CODES.MALFORMED],
    ['PING cut short', 'PING', [0, 0], ERROR_CODES.TRUNCATED],
  ];
  for (const [title, type, payload, code] of cases) {
    it(`${title}: ${code}`, () => {
      assert.throws(() => decodeRaw(type, payload), hasCode(code));
      assert.throws(() => decodePayload(type, Buffer.from(payload)), hasCode(code));
    });
  }

  it('an unknown type is refused from the header', () => {
    for (const type of [0x00, 0x03, 0x0f, 0x29, 0x2f, 0x32, 0x7f, 0xff]) {
      assert.throws(() => decodeAll([rawFrame(type, [])]), hasCode(ERROR_CODES.UNKNOWN_TYPE), `type ${type}`);
    }
  });
});

describe('encoder refuses what it cannot send', () => {
  const cases: [string, Message, NatterErrorCode][] = [
    ['a message id of 15 bytes', { type: 'TEXT', id: FIXED_ID.subarray(1), ts: 0, text: 'x' }, ERROR_CODES.MALFORMED],
    ['a message id of 17 bytes', { type: 'RCPT', id: Buffer.concat([FIXED_ID, Buffer.alloc(1)]) }, ERROR_CODES.MALFORMED],
    ['a message id in hex digits', { type: 'RCPT', id: FIXED_ID.toString('hex') as unknown as Uint8Array }, ERROR_CODES.MALFORMED],
    ['a negative time', { type: 'TEXT', id: FIXED_ID, ts: -1, text: 'x' }, ERROR_CODES.MALFORMED],
    ['a time past 2^53-1', { type: 'TEXT', id: FIXED_ID, ts: 2 ** 53, text: 'x' }, ERROR_CODES.MALFORMED],
    ['a fractional time', { type: 'TEXT', id: FIXED_ID, ts: 1.5, text: 'x' }, ERROR_CODES.MALFORMED],
    ['a bad IP', { type: 'UP', name: 'a', ip: 'localhost', port: 0 }, ERROR_CODES.MALFORMED],
    ['port 0 in PEER', { type: 'PEER', name: 'a', ip: '', port: 0, key: KEY }, ERROR_CODES.MALFORMED],
    ['a PEER key of 31 bytes', { type: 'PEER', name: 'a', ip: '', port: 1, key: Buffer.alloc(31, 7) }, ERROR_CODES.MALFORMED],
    ['a PEER key of 33 bytes', { type: 'PEER', name: 'a', ip: '', port: 1, key: Buffer.alloc(33, 7) }, ERROR_CODES.MALFORMED],
    ['an empty PEER key', { type: 'PEER', name: 'a', ip: '', port: 1, key: Buffer.alloc(0) }, ERROR_CODES.MALFORMED],
    [
      'a PEER key that is not a Buffer',
      { type: 'PEER', name: 'a', ip: '', port: 1, key: KEY.toString('hex') as unknown as Buffer },
      ERROR_CODES.MALFORMED,
    ],
    ['port 70000', { type: 'UP', name: 'a', ip: '', port: 70000 }, ERROR_CODES.MALFORMED],
    ['a fractional port', { type: 'ACK', port: 1.5, aliveIntervalMs: 1, seenIp: '', seenPort: 0 }, ERROR_CODES.MALFORMED],
    ['a negative interval', { type: 'ACK', port: 1, aliveIntervalMs: -1, seenIp: '', seenPort: 0 }, ERROR_CODES.MALFORMED],
    ['a seen port over 16 bits', { type: 'ACK', port: 1, aliveIntervalMs: 1, seenIp: '', seenPort: 65536 }, ERROR_CODES.MALFORMED],
    ['PROBE of port 0', { type: 'PROBE', port: 0 }, ERROR_CODES.MALFORMED],
    ['MEET at port 0', { type: 'MEET', name: 'a', ip: '192.0.2.1', port: 0 }, ERROR_CODES.MALFORMED],
    ['a punch CALL at port 0', { type: 'CALL', via: 'punch', name: 'a', ip: '192.0.2.1', port: 0 }, ERROR_CODES.MALFORMED],
    [
      'a relay CALL with an address and no port',
      { type: 'CALL', via: 'relay', name: 'a', ip: '192.0.2.1', port: 0 },
      ERROR_CODES.MALFORMED,
    ],
    ['a relay CALL with a port and no address', { type: 'CALL', via: 'relay', name: 'a', ip: '', port: 7447 }, ERROR_CODES.MALFORMED],
    ['a RELAY to an invalid name', { type: 'RELAY', name: 'a b' }, ERROR_CODES.INVALID_NAME],
    ['a version over 16 bits', { type: 'HELLO', version: 65536 }, ERROR_CODES.MALFORMED],
    ['a count over 32 bits', { type: 'HDR', count: 2 ** 32 }, ERROR_CODES.MALFORMED],
    ['a lower-case error code', { type: 'ERROR', code: 'oops', reason: '' }, ERROR_CODES.MALFORMED],
    ['a RESP reason over 255 bytes', { type: 'RESP', accept: false, reason: 'x'.repeat(256) }, ERROR_CODES.MALFORMED],
    ['an ERROR reason over 65535 bytes', { type: 'ERROR', code: 'X', reason: 'x'.repeat(65536) }, ERROR_CODES.MALFORMED],
    ['a NACK reason too large for a frame', { type: 'NACK', reason: 'x'.repeat(65529) }, ERROR_CODES.FRAME_TOO_LARGE],
    ['RITEMS with no item', { type: 'RITEMS', items: [] }, ERROR_CODES.MALFORMED],
    ['RITEMS with 1,025 items', { type: 'RITEMS', items: Array.from({ length: 1025 }, () => Buffer.alloc(1)) }, ERROR_CODES.MALFORMED],
    ['RITEMS too large for a frame', { type: 'RITEMS', items: [Buffer.alloc(65_530)] }, ERROR_CODES.FRAME_TOO_LARGE],
    [
      'an RHAVE room id of 31 hex digits',
      { type: 'RHAVE', room: FIXED_ID.toString('hex').slice(1), isAsking: false, have: [] },
      ERROR_CODES.MALFORMED,
    ],
    [
      'an RHAVE of 256 authors',
      { type: 'RHAVE', room: FIXED_ID.toString('hex'), isAsking: false, have: Array.from({ length: 256 }, () => ({ key: KEY, seq: 1 })) },
      ERROR_CODES.MALFORMED,
    ],
    [
      'an RHAVE key of 31 bytes',
      { type: 'RHAVE', room: FIXED_ID.toString('hex'), isAsking: true, have: [{ key: Buffer.alloc(31), seq: 1 }] },
      ERROR_CODES.MALFORMED,
    ],
    [
      'an RHAVE seq over 32 bits',
      { type: 'RHAVE', room: FIXED_ID.toString('hex'), isAsking: true, have: [{ key: KEY, seq: 2 ** 32 }] },
      ERROR_CODES.MALFORMED,
    ],
  ];
  for (const [title, msg, code] of cases) {
    it(`${title}: ${code}`, () => assert.throws(() => encodeMessage(msg), hasCode(code)));
  }
});

describe('PEER keys (protocol.md §3.6, §4.8)', () => {
  const peer = { type: 'PEER' as const, name: 'alice', ip: '127.0.0.1', port: 50000, key: KEY };

  it('the key travels as the last 32 bytes of the payload and comes back equal', () => {
    const bytes = encodeMessage(peer);
    assert.equal(bytes.readUInt32BE(0), 1 + 5 + 1 + 4 + 2 + KEY_BYTES);
    assert.deepEqual(bytes.subarray(bytes.length - KEY_BYTES), KEY);
    const [msg] = decodeAll(byteByByte(bytes));
    assert.deepEqual(msg, peer);
    assert.ok(msg?.type === 'PEER' && Buffer.isBuffer(msg.key) && msg.key.equals(KEY));
  });

  it('any key round-trips, with IPv4, IPv6 and unspecified addresses', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: KEY_BYTES, maxLength: KEY_BYTES }),
        fc.constantFrom('', '10.0.0.1', '2001:db8::7'),
        (raw, ip) => {
          const msg = { ...peer, ip, key: Buffer.from(raw) };
          assert.deepEqual(decodePayload('PEER', encodeMessage(msg).subarray(5)), msg);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the decoded key is a copy: reusing the received chunk does not change it', () => {
    const bytes = encodeMessage(peer);
    const [msg] = decodeAll([bytes]);
    bytes.fill(0);
    assert.ok(msg?.type === 'PEER' && msg.key.equals(KEY));
  });

  it('encoding a key that is not 32 bytes is refused, never padded or cut', () => {
    for (const size of [0, 1, 31, 33, 64]) {
      assert.throws(() => encodeMessage({ ...peer, key: Buffer.alloc(size, 1) }), hasCode(ERROR_CODES.MALFORMED), `${size} bytes`);
    }
  });

  it('a payload that ends inside the key is TRUNCATED at every length short of 32', () => {
    const full = encodeMessage(peer).subarray(5);
    for (let cut = 1; cut <= KEY_BYTES; cut++) {
      const payload = full.subarray(0, full.length - cut);
      assert.throws(() => decodePayload('PEER', payload), hasCode(ERROR_CODES.TRUNCATED), `${cut} key bytes missing`);
      assert.throws(() => decodeRaw('PEER', payload), hasCode(ERROR_CODES.TRUNCATED), `${cut} key bytes missing, framed`);
    }
  });
});

describe('SHUTDOWN and DUMP are empty (protocol.md §4.9)', () => {
  for (const type of ['SHUTDOWN', 'DUMP'] as const) {
    it(`${type} encodes to a bare header and decodes back`, () => {
      const bytes = encodeMessage({ type });
      assert.deepEqual([...bytes], [0, 0, 0, 0, MESSAGE_TYPES[type]]);
      assert.deepEqual(decodeAll([bytes]), [{ type }]);
    });

    it(`${type} with any non-empty payload is MALFORMED`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 80 }), (payload) => {
          assert.throws(() => decodePayload(type, Buffer.from(payload)), hasCode(ERROR_CODES.MALFORMED));
          assert.throws(() => decodeRaw(type, Buffer.from(payload)), hasCode(ERROR_CODES.MALFORMED));
        }),
        { numRuns: 100 },
      );
    });
  }
});

describe('addresses', () => {
  it('IPv4-mapped IPv6 travels as IPv4', () => {
    assert.deepEqual([...ipToBytes('::ffff:127.0.0.1')], [4, 127, 0, 0, 1]);
    assert.equal(canonicalIp('::ffff:10.1.2.3'), '10.1.2.3');
  });
  it('IPv6 is written in compressed form', () => {
    const [msg] = decodeAll([encodeMessage({ type: 'PEER', name: 'a', ip: '2001:0db8:0000:0000:0000:0000:0000:0001', port: 1, key: KEY })]);
    assert.deepEqual(msg, { type: 'PEER', name: 'a', ip: '2001:db8::1', port: 1, key: KEY });
    assert.equal(canonicalIp(''), '');
  });
});
