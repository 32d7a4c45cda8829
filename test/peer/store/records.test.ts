import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteBuilder } from '../../../src/peer/store/byte-builder.ts';
import { writeDoneLines, writeHistoryLine, writeQueueLine, writeReceivedLine } from '../../../src/peer/store/records.ts';

/**
 * The lines are written straight into bytes; older versions wrote
 * JSON.stringify of each record, and every reader parses them as JSON. Each
 * writer must give exactly those bytes, whatever the text: escapes, control
 * characters, characters of two, three and four UTF-8 bytes, lone surrogates.
 */
const textArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u001f', '\u007f', 'é', '✓', '\u2028', '😀', '\ud800', '\udc00') }),
  // Long enough to go through the runtime's encoder.
  fc.string({ unit: 'grapheme', minLength: 250, maxLength: 400 }),
);
const idBytesArb = fc.uint8Array({ minLength: 16, maxLength: 16 });
const tsArb = fc.oneof(fc.nat(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0));

function line(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}

/** One builder for every case, so that each starts where another left it (its buffer grown, its last number kept). */
const shared = new ByteBuilder(16);

function written(write: (out: ByteBuilder) => void, out = shared): string {
  out.reset();
  write(out);
  return out.bytes().toString('utf8');
}

describe('records: the lines as bytes', () => {
  it('writes a queue line as JSON.stringify of its record', () => {
    fc.assert(
      fc.property(idBytesArb, textArb, tsArb, textArb, (idBytes, peer, ts, text) => {
        const id = Buffer.from(idBytes).toString('hex');
        const expected = line({ op: 'queue', id, peer, ts, text });
        assert.equal(
          written((out) => writeQueueLine(out, { id, peer, ts, text })),
          expected,
        );
      }),
    );
  });

  it('writes history lines as JSON.stringify of their records, the id given as hex or as bytes', () => {
    fc.assert(
      fc.property(idBytesArb, tsArb, fc.constantFrom('in' as const, 'out' as const), textArb, tsArb, (idBytes, ts, dir, text, at) => {
        const id = Buffer.from(idBytes).toString('hex');
        const expected = line({ ts, dir, id, text, at });
        assert.equal(
          written((out) => writeHistoryLine(out, { peer: 'p', id, ts, text }, dir, at)),
          expected,
        );
        assert.equal(
          written((out) => writeHistoryLine(out, { peer: 'p', id: idBytes, ts, text }, dir, at)),
          expected,
        );
      }),
    );
  });

  it("writes a history line with its text copied from the batch's queue lines, as it would encode it", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(idBytesArb, textArb, textArb), { minLength: 1, maxLength: 5 }), tsArb, (batch, at) => {
        const msgs = batch.map(([idBytes, peer, text], i) => ({ id: Buffer.from(idBytes).toString('hex'), peer, ts: i, text }));
        const queue = new ByteBuilder(16);
        const texts = { from: queue, spans: [] };
        for (const [i, m] of msgs.entries()) writeQueueLine(queue, m, texts, i);
        assert.equal(queue.bytes().toString('utf8'), msgs.map((m) => line({ op: 'queue', ...m })).join(''));
        // Backwards, as a batch to several peers takes them out of order.
        for (let i = msgs.length - 1; i >= 0; i--) {
          const m = msgs[i] as (typeof msgs)[number];
          const expected = line({ ts: m.ts, dir: 'out', id: m.id, text: m.text, at });
          assert.equal(
            written((out) => writeHistoryLine(out, m, 'out', at, texts, i)),
            expected,
          );
        }
      }),
    );
  });

  it('writes received and done lines as JSON.stringify of their records', () => {
    fc.assert(
      fc.property(idBytesArb, textArb, fc.option(textArb, { nil: undefined }), (idBytes, peer, why) => {
        const id = Buffer.from(idBytes).toString('hex');
        assert.equal(
          written((out) => writeReceivedLine(out, peer, idBytes)),
          line({ peer, id }),
        );
        assert.equal(
          written((out) => writeReceivedLine(out, peer, id)),
          line({ peer, id }),
        );
        const done = why === undefined ? { op: 'done', id } : { op: 'done', id, why };
        assert.equal(
          written((out) => writeDoneLines(out, [id, id], why)),
          line(done) + line(done),
        );
      }),
    );
  });

  it('writes a time that is not finite as JSON does: null', () => {
    const id = '0'.repeat(32);
    for (const at of [Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.equal(
        written((out) => writeHistoryLine(out, { peer: 'p', id, ts: 1, text: 'x' }, 'out', at)),
        line({ ts: 1, dir: 'out', id, text: 'x', at }),
      );
    }
  });

  it('keeps a batch whole as the builder grows, and starts over at reset', () => {
    const out = new ByteBuilder(16);
    const msgs = Array.from({ length: 200 }, (_, i) => ({ id: i.toString(16).padStart(32, '0'), peer: 'bob', ts: i, text: 'ü'.repeat(i) }));
    for (const m of msgs) writeQueueLine(out, m);
    const first = out.view(0);
    assert.equal(first.toString('utf8'), msgs.map((m) => line({ op: 'queue', ...m })).join(''));
    out.reset();
    assert.equal(out.length, 0);
    writeReceivedLine(out, 'bob', msgs[1]?.id as string);
    assert.equal(out.bytes().toString('utf8'), line({ peer: 'bob', id: msgs[1]?.id }));
  });
});
