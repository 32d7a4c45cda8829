/**
 * Garbage in, NatterErrors out: random bytes and mutated valid frames may only
 * ever yield messages or NatterErrors, never another exception and never a hang
 * (each run is a bounded loop over a bounded input).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NatterError, isNatterErrorCode } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import { messageArb } from '../helpers/arbitraries.ts';
import { cutInto, mutate, mutationArb, predict } from '../helpers/fuzz.ts';
import { cutAt } from '../helpers/split.ts';

const RUNS = 10_000;
const SPLIT_RUNS = 30_000;

/** Feeds pieces, draining after each; returns every message and the NatterError that stopped the decoder, if any. */
function decodePieces(pieces: Buffer[]): { messages: unknown[]; code: string | undefined } {
  const decoder = new FrameDecoder();
  const messages: unknown[] = [];
  try {
    for (const piece of pieces) {
      decoder.push(piece);
      for (let m = decoder.next(); m !== undefined; m = decoder.next()) messages.push(m);
    }
    decoder.end();
    return { messages, code: undefined };
  } catch (err) {
    if (err instanceof NatterError && isNatterErrorCode(err.code)) return { messages, code: err.code };
    throw err;
  }
}

/** Feeds pieces, draining after each; returns the count of messages or the NatterError. */
function feed(pieces: Buffer[]): number | NatterError {
  const decoder = new FrameDecoder({ maxBufferedParts: 64 });
  let count = 0;
  try {
    for (const piece of pieces) {
      decoder.push(piece);
      // Each message consumes at least 5 bytes, so this loop is bounded by the input size.
      for (let m = decoder.next(); m !== undefined; m = decoder.next()) count++;
    }
    decoder.end();
    return count;
  } catch (err) {
    if (err instanceof NatterError && isNatterErrorCode(err.code)) return err;
    throw err;
  }
}

describe('fuzzing the decoder', () => {
  it(`random bytes (${RUNS} cases) yield only messages or NatterErrors`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 6 }), (bytes, cuts) => {
        const result = feed(cutAt(Buffer.from(bytes), cuts));
        assert.ok(typeof result === 'number' || result instanceof NatterError);
      }),
      { numRuns: RUNS },
    );
  });

  it(`random bytes behind a valid header (${RUNS} cases) yield only messages or NatterErrors`, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x01, 0x02, 0x10, 0x11, 0x12, 0x15, 0x16, 0x18, 0x19, 0x1a, 0x20, 0x21, 0x22, 0x24),
        fc.uint8Array({ maxLength: 80 }),
        (type, body) => {
          const head = Buffer.alloc(5);
          head.writeUInt32BE(body.length, 0);
          head.writeUInt8(type, 4);
          const result = feed([head, Buffer.from(body)]);
          assert.ok(typeof result === 'number' || result instanceof NatterError);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it(`mutated valid frames (${RUNS} cases) yield only messages or NatterErrors`, () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate'),
      value: fc.integer({ min: 0, max: 255 }),
    });
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (msgs, mutations) => {
          let bytes = [...Buffer.concat(msgs.map((m) => encodeMessage(m)))];
          for (const { at, kind, value } of mutations) {
            const i = at % (bytes.length + 1);
            if (kind === 'flip' && i < bytes.length) bytes[i] = (bytes[i] as number) ^ (1 << (value % 8));
            else if (kind === 'set' && i < bytes.length) bytes[i] = value;
            else if (kind === 'insert') bytes.splice(i, 0, value);
            else if (kind === 'delete') bytes.splice(i, 1);
            else if (kind === 'truncate') bytes = bytes.slice(0, i);
          }
          const result = feed([Buffer.from(bytes)]);
          assert.ok(typeof result === 'number' || result instanceof NatterError);
        },
      ),
      { numRuns: RUNS },
    );
  });

  // The decoder is a state machine over a byte stream: where the stream is cut must never matter,
  // even for bytes that break the rules, or a receiver's verdict would depend on TCP's segments.
  it(`mutated valid frames cut anywhere (${SPLIT_RUNS} cases) decode as they do whole, failing with the same code`, () => {
    fc.assert(
      fc.property(
        fc.array(messageArb, { minLength: 1, maxLength: 3 }),
        fc.array(mutationArb, { maxLength: 3 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
        (msgs, mutations, cuts) => {
          const bytes = mutate(Buffer.concat(msgs.map((m) => encodeMessage(m))), mutations);
          const whole = predict(bytes);
          const split = decodePieces(cutInto(bytes, cuts));
          assert.deepEqual(split.messages, whole.messages);
          assert.equal(split.code, whole.error?.code ?? (whole.isPartial ? 'NATTER_ERR_TRUNCATED' : undefined));
        },
      ),
      { numRuns: SPLIT_RUNS },
    );
  });
});
