import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import type { Message } from '../../src/protocol/messages.ts';
import { byteByByte, decodeAll } from '../helpers/split.ts';
import { textMsg } from '../helpers/messages.ts';

function hasCode(code: NatterErrorCode) {
  return (err: unknown) => err instanceof NatterError && err.code === code;
}

const text = (n: number): Message => textMsg('y'.repeat(n));

describe('FrameDecoder', () => {
  it('returns nothing until a frame is whole, then exactly that frame', () => {
    const bytes = encodeMessage(textMsg('hello'));
    const d = new FrameDecoder();
    d.push(bytes.subarray(0, 3));
    assert.equal(d.next(), undefined);
    d.push(bytes.subarray(3, 9));
    assert.equal(d.next(), undefined);
    assert.equal(d.bufferedBytes, 4);
    d.push(bytes.subarray(9));
    assert.deepEqual(d.next(), textMsg('hello'));
    assert.equal(d.next(), undefined);
    assert.equal(d.bufferedBytes, 0);
    d.end();
  });

  it('frames pushed as separate chunks before reading come out in order', () => {
    const d = new FrameDecoder();
    d.push(encodeMessage({ type: 'PING', nonce: 1 }));
    d.push(encodeMessage({ type: 'PING', nonce: 2 }));
    d.push(encodeMessage(textMsg('three')));
    assert.deepEqual(
      [d.next(), d.next(), d.next(), d.next()],
      [{ type: 'PING', nonce: 1 }, { type: 'PING', nonce: 2 }, textMsg('three'), undefined],
    );
  });

  it('accepts plain Uint8Array chunks and ignores empty ones', () => {
    const bytes = encodeMessage({ type: 'PING', nonce: 9 });
    const d = new FrameDecoder();
    d.push(new Uint8Array(0));
    d.push(new Uint8Array(bytes));
    assert.deepEqual(d.next(), { type: 'PING', nonce: 9 });
  });

  it('a 4 KiB TEXT frame decodes byte by byte', () => {
    assert.deepEqual(decodeAll(byteByByte(encodeMessage(text(4096)))), [text(4096)]);
  });

  it('validates the header before buffering the payload it announces', () => {
    const d = new FrameDecoder();
    const head = Buffer.from([0, 0, 0xff, 0xf0, 0x22]);
    d.push(head);
    assert.equal(d.next(), undefined);
    assert.equal(d.bufferedBytes, 0, 'only the header was consumed; nothing allocated for the payload');
  });

  describe('buffered bytes cap', () => {
    it('at the limit passes, one past fails', () => {
      const frame = encodeMessage(text(71)); // 5 + 26 + 71 = 102 bytes
      assert.equal(frame.length, 102);
      assert.deepEqual(decodeAll([frame], { maxBufferedBytes: 102 }), [text(71)]);
      assert.throws(() => decodeAll([frame], { maxBufferedBytes: 101 }), hasCode(ERROR_CODES.BUFFER_LIMIT));
    });
    it('counts what is held across pushes', () => {
      const frame = encodeMessage(text(95));
      const d = new FrameDecoder({ maxBufferedBytes: 150 });
      d.push(frame.subarray(0, 60));
      assert.equal(d.next(), undefined);
      d.push(frame.subarray(60));
      assert.deepEqual(d.next(), text(95));
      d.push(frame);
      assert.throws(() => d.push(frame), hasCode(ERROR_CODES.BUFFER_LIMIT), 'two frames held without next()');
    });
  });

  describe('buffered parts cap', () => {
    it('a payload held in exactly maxBufferedParts pieces passes, one more piece fails', () => {
      // The header's pieces are released once it is read; the 36 payload bytes then arrive one by one.
      const frame = encodeMessage(text(10));
      assert.equal(frame.length, 5 + 36);
      assert.deepEqual(decodeAll(byteByByte(frame), { maxBufferedParts: 36 }), [text(10)]);
      assert.throws(() => decodeAll(byteByByte(frame), { maxBufferedParts: 35 }), hasCode(ERROR_CODES.TOO_MANY_PARTS));
    });
    it('the default lets a 4 KiB TEXT trickle in byte by byte and stops an 8 KiB trickle', () => {
      assert.equal(decodeAll(byteByByte(encodeMessage(text(4096)))).length, 1);
      const big = encodeMessage({ type: 'STATE', more: false, data: Buffer.alloc(9000) });
      assert.throws(() => decodeAll(byteByByte(big)), hasCode(ERROR_CODES.TOO_MANY_PARTS));
    });
  });

  describe('end of stream', () => {
    it('inside a header is NATTER_ERR_TRUNCATED', () => {
      const d = new FrameDecoder();
      d.push(Buffer.from([0, 0]));
      assert.equal(d.next(), undefined);
      assert.throws(() => d.end(), hasCode(ERROR_CODES.TRUNCATED));
    });
    it('inside a payload is NATTER_ERR_TRUNCATED', () => {
      const d = new FrameDecoder();
      d.push(encodeMessage(text(20)).subarray(0, 10));
      assert.equal(d.next(), undefined);
      assert.throws(() => d.end(), hasCode(ERROR_CODES.TRUNCATED));
    });
    it('after a header announcing an empty-bodied frame is not truncated once read', () => {
      const d = new FrameDecoder();
      d.push(encodeMessage({ type: 'END' }));
      assert.deepEqual(d.next(), { type: 'END' });
      d.end();
    });
  });

  it('stays failed after an error and reports the same error', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from([0, 0, 0, 0, 0x7f]));
    let first: unknown;
    assert.throws(
      () => d.next(),
      (err) => {
        first = err;
        return hasCode(ERROR_CODES.UNKNOWN_TYPE)(err);
      },
    );
    assert.equal(d.failure, first);
    assert.throws(
      () => d.push(encodeMessage({ type: 'END' })),
      (err) => err === first,
    );
    assert.throws(
      () => d.next(),
      (err) => err === first,
    );
    assert.throws(
      () => d.end(),
      (err) => err === first,
    );
  });

  it('frames before a bad one in the same chunk are still delivered', () => {
    const d = new FrameDecoder();
    d.push(Buffer.concat([encodeMessage({ type: 'WHO' }), Buffer.from([0, 0, 0, 0, 0xee])]));
    assert.deepEqual(d.next(), { type: 'WHO' });
    assert.throws(() => d.next(), hasCode(ERROR_CODES.UNKNOWN_TYPE));
  });

  it('takeRest() gives back every byte not returned as a frame, a half-read header included', () => {
    const whole = encodeMessage({ type: 'PING', nonce: 1 });
    const half = encodeMessage(textMsg('half'));
    const d = new FrameDecoder();
    d.push(Buffer.concat([whole, half.subarray(0, 9)]));
    assert.deepEqual(d.next(), { type: 'PING', nonce: 1 });
    // The TEXT frame's header is parsed by now; its payload is not all there.
    assert.equal(d.next(), undefined);
    assert.deepEqual(d.takeRest(), half.subarray(0, 9));
    assert.equal(d.bufferedBytes, 0);
    d.end();
  });

  it('takeRest() before any header is read gives back the bytes as pushed, and nothing when empty', () => {
    const d = new FrameDecoder();
    assert.deepEqual(d.takeRest(), Buffer.alloc(0));
    d.push(Buffer.from([0, 0, 0]));
    assert.deepEqual(d.takeRest(), Buffer.from([0, 0, 0]));
    d.end();
  });

  it('refuses bad limits at construction', () => {
    assert.throws(() => new FrameDecoder({ maxBufferedParts: 0 }), hasCode(ERROR_CODES.INVALID_ARGUMENT));
  });
});
