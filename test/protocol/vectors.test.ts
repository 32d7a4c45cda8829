import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { MESSAGE_TYPES, type MessageName } from '../../src/protocol/messages.ts';
import { readVectors } from '../helpers/vectors.ts';
import { byteByByte, cutAt, decodeAll } from '../helpers/split.ts';

const vectors = readVectors();

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

  it('decode identically when all are sent as one stream, whole and byte by byte', () => {
    const stream = Buffer.concat(vectors.map((v) => v.bytes));
    const expected = vectors.map((v) => v.message);
    assert.deepEqual(decodeAll([stream]), expected);
    assert.deepEqual(decodeAll(byteByByte(stream)), expected);
  });
});
