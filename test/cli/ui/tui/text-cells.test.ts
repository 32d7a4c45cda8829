/** Cell widths and wrapping: what the full-screen UI measures every line with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { cellsOf, fit, graphemes, graphemeWidth, textWidth, wrap } from '../../../../src/cli/ui/tui/text-cells.ts';

const rowText = (row: { g: string }[]): string => row.map((c) => c.g).join('');
const rowWidth = (row: { w: number }[]): number => row.reduce((s, c) => s + c.w, 0);

describe('widths', () => {
  it('ASCII takes one column, CJK and emoji two, a combining mark none of its own', () => {
    assert.equal(textWidth('hello'), 5);
    assert.equal(textWidth('日本語'), 6);
    assert.equal(graphemeWidth('😀'), 2);
    assert.equal(graphemeWidth('e\u0301'), 1, 'é as e + combining acute is one cell');
    assert.equal(textWidth('a😀b'), 4);
    assert.deepEqual(graphemes('ne\u0301e'), ['n', 'e\u0301', 'e']);
  });

  it('cells leave out what takes no room, controls among them', () => {
    assert.deepEqual(
      cellsOf('a\u0007b', 0).map((c) => c.g),
      ['a', 'b'],
    );
    assert.deepEqual(cellsOf('日x', 3), [
      { g: '日', w: 2, style: 3 },
      { g: 'x', w: 1, style: 3 },
    ]);
  });

  it('fit cuts to a width and says so with an ellipsis', () => {
    assert.equal(fit('hello world', 20), 'hello world');
    assert.equal(fit('hello world', 6), 'hello…');
    assert.equal(fit('日本語テキスト', 5), '日本…');
    assert.equal(textWidth(fit('日本語テキスト', 5)), 5);
    assert.equal(fit('abc', 0), '');
  });
});

describe('wrap', () => {
  it('breaks at spaces, with a hanging indent under the text', () => {
    const rows = wrap(
      [
        { text: '12:00 bob: ', style: 1 },
        { text: 'the quick brown fox jumps over the lazy dog', style: 0 },
      ],
      36,
      11,
    );
    assert.deepEqual(rows.map(rowText), ['12:00 bob: the quick brown fox jumps', '           over the lazy dog']);
    assert.equal(rows[0]?.[0]?.style, 1, 'styles are kept per cell');
  });

  it('cuts a word longer than a row, and never splits a wide character', () => {
    assert.deepEqual(wrap([{ text: 'abcdefghij', style: 0 }], 4).map(rowText), ['abcd', 'efgh', 'ij']);
    const cjk = wrap([{ text: '日本語日本語', style: 0 }], 5);
    assert.deepEqual(cjk.map(rowText), ['日本', '語日', '本語']);
  });

  it('keeps the indent to a third of the width on a narrow screen', () => {
    const rows = wrap(
      [
        { text: 'a-very-long-name-here: ', style: 0 },
        { text: 'word word word', style: 0 },
      ],
      30,
      23,
    );
    for (const row of rows.slice(1)) assert.equal(rowText(row).search(/\S/), 10, rowText(row));
  });

  it('no row is wider than asked, and nothing but spaces is lost (property)', () => {
    const grapheme = fc.constantFrom('a', 'b', ' ', '日', '😀', 'e\u0301', 'z', ' ', 'ü');
    fc.assert(
      fc.property(
        fc.array(grapheme, { maxLength: 120 }),
        fc.integer({ min: 2, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        (gs, width, indent) => {
          const text = gs.join('');
          const rows = wrap([{ text, style: 0 }], width, indent);
          for (const row of rows) assert.ok(rowWidth(row) <= width, `${rowWidth(row)} > ${width}: ${rowText(row)}`);
          assert.equal(rows.map(rowText).join('').replace(/ /g, ''), text.replace(/ /g, ''));
        },
      ),
      { numRuns: 300 },
    );
  });
});
