import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NatterError, isNatterErrorCode } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import { MESSAGE_TYPES, PROTOCOL_VERSION, type MessageName } from '../../src/protocol/messages.ts';
import { readErrorVectors, readVectors } from '../helpers/vectors.ts';
import { byteByByte, cutAt, decodeAll } from '../helpers/split.ts';

const vectors = readVectors();
const errorVectors = readErrorVectors();

/**
 * Feeds the pieces one by one, draining after each, and returns the error
 * with the index of the piece that raised it. The stream is not ended: an
 * error vector must be refused for what its frame holds, not for stopping.
 */
function refusal(pieces: Buffer[]): { err: unknown; at: number } | undefined {
  const decoder = new FrameDecoder();
  for (let i = 0; i < pieces.length; i++) {
    try {
      decoder.push(pieces[i] as Buffer);
      const msg = decoder.next();
      if (msg !== undefined) throw new Error(`decoded ${JSON.stringify(msg)}`);
    } catch (err) {
      return { err, at: i };
    }
  }
  return undefined;
}

describe('docs/protocol.md vectors', () => {
  it('cover every message type', () => {
    const covered = new Set(vectors.map((v) => v.message.type));
    for (const name of Object.keys(MESSAGE_TYPES) as MessageName[]) {
      assert.ok(covered.has(name), `docs/protocol.md has no vector for ${name}`);
    }
  });

  for (const v of vectors) {
    describe(`${v.message.type} (protocol.md line ${v.line})`, () => {
      it('decodes to the stated message', () => {
        assert.deepEqual(decodeAll([v.bytes]), [v.message]);
      });
      it('re-encodes to the same bytes', () => {
        assert.equal(encodeMessage(v.message).toString('hex'), v.bytes.toString('hex'));
      });
      it('header length matches the payload', () => {
        assert.equal(v.bytes.readUInt32BE(0), v.bytes.length - 5);
        assert.equal(v.bytes[4], MESSAGE_TYPES[v.message.type]);
      });
      it('decodes the same byte by byte', () => {
        assert.deepEqual(decodeAll(byteByByte(v.bytes)), [v.message]);
      });
      it('decodes the same at every single cut', () => {
        for (let cut = 0; cut <= v.bytes.length; cut++) {
          assert.deepEqual(decodeAll(cutAt(v.bytes, [cut])), [v.message], `cut at ${cut}`);
        }
      });
    });
  }

  it("HELLO vectors speak this build's protocol version", () => {
    const hellos = vectors.filter((v) => v.message.type === 'HELLO');
    assert.ok(hellos.length > 0);
    for (const v of hellos) assert.deepEqual(v.message, { type: 'HELLO', version: PROTOCOL_VERSION }, `protocol.md line ${v.line}`);
  });

  it('decode identically when all are sent as one stream, whole and byte by byte', () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    const expected = vectors.map((v) => v.message);
    assert.deepEqual(decodeAll([stream]), expected);
    assert.deepEqual(decodeAll(byteByByte(stream)), expected);
  });
});

describe('docs/protocol.md error vectors', () => {
  it('exist', () => assert.ok(errorVectors.length > 0));

  for (const v of errorVectors) {
    describe(`${v.code} (protocol.md line ${v.line})`, () => {
      it('names a documented code', () => assert.ok(isNatterErrorCode(v.code), v.code));
      it('header length matches the bytes given', () => {
        assert.equal(v.bytes.readUInt32BE(0), v.bytes.length - 5);
      });
      const check = (pieces: Buffer[], what: string): void => {
        const got = refusal(pieces);
        assert.ok(got !== undefined, `${what}: not refused`);
        assert.ok(got.err instanceof NatterError, `${what}: ${String(got.err)}`);
        assert.equal(got.err.code, v.code, `${what}: ${got.err.message}`);
        assert.equal(got.at, pieces.length - 1, `${what}: refused before the whole frame was in`);
      };
      it('is refused with that code once the frame is in, whole', () => check([v.bytes], 'whole'));
      it('is refused the same byte by byte', () => check(byteByByte(v.bytes), 'byte by byte'));
      it('is refused the same at every single cut', () => {
        for (let cut = 1; cut < v.bytes.length; cut++) check(cutAt(v.bytes, [cut]), `cut at ${cut}`);
      });
    });
  }
});
