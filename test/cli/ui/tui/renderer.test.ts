/**
 * The differential renderer against a terminal emulator model
 * (@xterm/headless): whatever sequence of frames it is given, the emulated
 * screen ends up showing the last one; it writes nothing when nothing
 * changed and little when little did; text can never become a sequence.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Frame } from '../../../../src/cli/ui/tui/frame.ts';
import { Renderer } from '../../../../src/cli/ui/tui/renderer.ts';
import { STYLE } from '../../../../src/cli/ui/tui/styles.ts';
import { emulator, feed, screenOf } from '../../../helpers/xterm.ts';

const rowsOf = (f: Frame): string[] => Array.from({ length: f.height }, (_, y) => f.row(y));

function frameWith(width: number, height: number, rows: Record<number, string>, style: number = STYLE.plain): Frame {
  const f = new Frame(width, height);
  for (const [y, text] of Object.entries(rows)) f.text(0, Number(y), text, style);
  return f;
}

describe('Renderer', () => {
  it('draws a frame, then only what changed, inside synchronized output', async () => {
    const term = emulator(30, 6);
    const r = new Renderer(true);
    const first = frameWith(30, 6, { 0: 'title', 2: 'hello 日本 😀 world', 5: '> typing' });
    const out = r.render(first, { x: 8, y: 5 });
    assert.ok(out.startsWith('\x1b[?2026h') && out.endsWith('\x1b[?2026l'), 'one synchronized update');
    await feed(term, out);
    assert.deepEqual(screenOf(term), rowsOf(first));
    assert.deepEqual([term.buffer.active.cursorX, term.buffer.active.cursorY], [8, 5]);
    assert.equal(term.modes.synchronizedOutputMode, false, 'the update is closed');

    assert.equal(r.render(first, { x: 8, y: 5 }), '', 'the same frame again writes nothing');
    const second = frameWith(30, 6, { 0: 'title', 2: 'hello 日本 😀 world', 5: '> typingX' });
    const small = r.render(second, { x: 9, y: 5 });
    assert.ok(small.length < 60, `one cell costs a few bytes, not a redraw: ${JSON.stringify(small)}`);
    await feed(term, small);
    assert.deepEqual(screenOf(term), rowsOf(second));
  });

  it('uses the terminal to scroll new lines in, and the screen is right either way', async () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf'];
    const lines = Array.from(
      { length: 30 },
      (_, i) =>
        `${i}: ${Array(5)
          .fill(words[i % words.length])
          .join(' ')}`,
    );
    const frameAt = (n: number): Frame => {
      const f = new Frame(40, 10);
      f.text(0, 0, 'title bar', STYLE.bar);
      for (let y = 1; y <= 7; y++) f.text(0, y, lines[n + y] as string, STYLE.plain);
      f.text(0, 8, 'status bar', STYLE.bar);
      f.text(0, 9, '> ', STYLE.bold);
      return f;
    };
    const withHint = new Renderer(false);
    const without = new Renderer(false);
    const a = emulator(40, 10);
    const b = emulator(40, 10);
    await feed(a, withHint.render(frameAt(0), { x: 2, y: 9 }));
    await feed(b, without.render(frameAt(0), { x: 2, y: 9 }));
    const hinted = withHint.render(frameAt(1), { x: 2, y: 9 }, { top: 1, bottom: 7, by: 1 });
    const plain = without.render(frameAt(1), { x: 2, y: 9 });
    await feed(a, hinted);
    await feed(b, plain);
    assert.deepEqual(screenOf(a), rowsOf(frameAt(1)));
    assert.deepEqual(screenOf(b), rowsOf(frameAt(1)));
    assert.ok(
      hinted.length * 3 < plain.length,
      `scrolling writes one line (${hinted.length} bytes), redrawing writes seven (${plain.length})`,
    );
    // A wrong hint costs bytes, never correctness.
    const wrong = withHint.render(frameAt(5), { x: 2, y: 9 }, { top: 1, bottom: 7, by: 2 });
    await feed(a, wrong);
    assert.deepEqual(screenOf(a), rowsOf(frameAt(5)));
  });

  it('any sequence of frames leaves the emulated screen showing the last one (property)', async () => {
    const text = fc.array(fc.constantFrom('a', 'b', ' ', '日', '😀', 'é', 'x', '-', '界', 'q'), { maxLength: 30 }).map((a) => a.join(''));
    const frameSpec = fc.array(
      fc.record({ y: fc.integer({ min: 0, max: 7 }), x: fc.integer({ min: 0, max: 15 }), text, style: fc.integer({ min: 0, max: 12 }) }),
      { maxLength: 10 },
    );
    const scroll = fc.option(fc.record({ top: fc.integer({ min: 0, max: 3 }), by: fc.integer({ min: 1, max: 3 }) }), { nil: undefined });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(frameSpec, scroll), { minLength: 1, maxLength: 6 }), fc.boolean(), async (frames, isColor) => {
        const term = emulator(20, 8);
        const r = new Renderer(isColor);
        let last: Frame | undefined;
        for (const [spec, hint] of frames) {
          const f = new Frame(20, 8);
          for (const p of spec) f.text(p.x, p.y, p.text, p.style);
          await feed(term, r.render(f, { x: 0, y: 7 }, hint === undefined ? undefined : { top: hint.top, bottom: 6, by: hint.by }));
          last = f;
        }
        assert.deepEqual(screenOf(term), rowsOf(last as Frame));
      }),
      { numRuns: 150 },
    );
  });

  it('text with escape sequences is shown as text, and changes nothing in the terminal', async () => {
    const term = emulator(60, 4);
    let title = '';
    term.onTitleChange((t) => (title = t));
    const r = new Renderer(true);
    const f = new Frame(60, 4);
    f.text(0, 1, 'x\u001b]0;pwned\u0007\u001b[2J\u001b[?1049l\u001b[?2004h\u009b31m\u202eend', STYLE.plain);
    await feed(term, r.render(f, { x: 0, y: 3 }));
    assert.equal(screenOf(term)[1], 'x^[]0;pwned^G^[[2J^[[?1049l^[[?2004h<U+009B>31m<U+202E>end');
    assert.equal(title, '', 'the title was not set');
    assert.equal(term.modes.bracketedPasteMode, false);
    assert.equal(term.buffer.active.type, 'normal');
  });

  it('colours only when asked; the bars keep reverse video without them', async () => {
    const color = emulator(20, 2);
    const mono = emulator(20, 2);
    const f = frameWith(20, 2, { 0: 'bob' }, STYLE.peer);
    f.text(0, 1, 'bar', STYLE.bar);
    await feed(color, new Renderer(true).render(f, undefined));
    await feed(mono, new Renderer(false).render(f, undefined));
    const cell = (t: typeof color, x: number, y: number) => t.buffer.active.getLine(y)?.getCell(x);
    assert.equal(cell(color, 0, 0)?.getFgColor(), 6, 'cyan');
    assert.equal(cell(mono, 0, 0)?.isFgDefault(), true, 'no colour');
    assert.ok(cell(mono, 0, 1)?.isInverse(), 'reverse video is not a colour');
  });
});
