/** The layout at several sizes, without a terminal: bars, messages, "more below", the input row. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatBuffer } from '../../../../src/cli/ui/tui/buffers.ts';
import { InputLine } from '../../../../src/cli/ui/tui/input-line.ts';
import { MIN_HEIGHT, MIN_WIDTH, draw, type ScreenState } from '../../../../src/cli/ui/tui/layout.ts';
import { STYLE } from '../../../../src/cli/ui/tui/styles.ts';
import { textWidth } from '../../../../src/cli/ui/tui/text-cells.ts';

const NOW = new Date(2026, 5, 3, 14, 30).getTime();

function state(extra: Partial<ScreenState> = {}): ScreenState {
  const status = new ChatBuffer('status', 1_000, true);
  const bob = new ChatBuffer('bob', 1_000);
  const carol = new ChatBuffer('carol', 1_000);
  for (let i = 0; i < 40; i++)
    bob.push({
      kind: 'message',
      at: NOW,
      from: 'bob',
      text: `message ${i} from bob, long enough to wrap on a narrow screen`,
      style: STYLE.plain,
    });
  carol.unread = 3;
  carol.hasRequest = true;
  status.hasError = true;
  const input = new InputLine();
  input.insert('half typed');
  return {
    buffers: [status, bob, carol],
    current: 1,
    self: 'amy',
    title: 'chat open, direct',
    status: { text: 'directory ✓', short: 'dir ✓', style: STYLE.bar },
    input,
    prompt: 'bob> ',
    counter: undefined,
    paste: undefined,
    now: NOW,
    ...extra,
  };
}

const rows = (s: ScreenState, w: number, h: number): string[] => {
  const { frame } = draw(s, w, h);
  return Array.from({ length: h }, (_, y) => frame.row(y));
};

describe('layout', () => {
  for (const [w, h] of [
    [40, 10],
    [80, 24],
    [120, 40],
  ] as const) {
    it(`${w}×${h}: title, the newest lines at the bottom, status bar, input`, () => {
      const s = state();
      const screen = rows(s, w, h);
      assert.equal(screen.length, h);
      for (const row of screen) assert.ok(textWidth(row) <= w, `a row fits: ${row}`);
      assert.match(screen[0] as string, /^ amy {2}bob · chat open, direct/);
      assert.match(screen[h - 3] as string, /(message 39 from bob|screen)/, 'the newest line is right above the status bar');
      assert.match(
        screen[h - 2] as string,
        w < 60 ? /^1:status! 2:bob 3:carol\(3\)\? +dir ✓$/ : /^\[14:30\] 1:status! 2:bob 3:carol\(3\)\? +directory ✓$/,
      );
      assert.equal(screen[h - 1], 'bob> half typed');
      const { cursor } = draw(s, w, h);
      assert.deepEqual(cursor, { x: 'bob> half typed'.length, y: h - 1 });
    });
  }

  it('scrolled up, the view stays put as lines come, and says there is more below', () => {
    const s = state();
    const bob = s.buffers[1] as ChatBuffer;
    draw(s, 40, 10);
    bob.scroll = 12;
    const before = rows(s, 40, 10).slice(1, 7);
    assert.match(rows(s, 40, 10)[7] as string, /more below \(12 rows\) ▼$/);
    bob.push({ kind: 'message', at: NOW, from: 'bob', text: 'a new one', style: STYLE.plain });
    const after = rows(s, 40, 10);
    assert.deepEqual(after.slice(1, 7), before, 'what was read stays where it was');
    assert.match(after[7] as string, /more below \(13 rows\)/);
    bob.scroll = 0;
    assert.match(rows(s, 40, 10)[7] as string, /a new one/);
  });

  it('gives a scroll hint for new lines at the bottom, and none while scrolled up', () => {
    const s = state();
    const bob = s.buffers[1] as ChatBuffer;
    draw(s, 80, 24);
    bob.push({ kind: 'message', at: NOW, from: 'bob', text: 'short', style: STYLE.plain });
    assert.deepEqual(draw(s, 80, 24).scroll, { top: 1, bottom: 21, by: 1 });
    assert.equal(draw(s, 80, 24).scroll, undefined, 'nothing new');
    bob.scroll = 3;
    bob.push({ kind: 'message', at: NOW, from: 'bob', text: 'short', style: STYLE.plain });
    assert.equal(draw(s, 80, 24).scroll, undefined);
  });

  it('keeps the cursor on the row when the input is longer than the screen, and counts down to the limit', () => {
    const input = new InputLine();
    input.insert('x'.repeat(230));
    const s = state({ input, counter: { text: '20 left', style: STYLE.dim } });
    const { frame, cursor } = draw(s, 40, 10);
    assert.ok(cursor !== undefined && cursor.x < 40 - '20 left'.length, JSON.stringify(cursor));
    assert.match(frame.row(9), /^bob> x+ +20 left$/);
    input.home();
    const home = draw(s, 40, 10);
    assert.deepEqual(home.cursor, { x: 5, y: 9 });
  });

  it('the shown buffer stays in the status bar when not every buffer fits', () => {
    const buffers = [new ChatBuffer('status', 10, true), ...Array.from({ length: 9 }, (_, i) => new ChatBuffer(`friend_number_${i}`, 10))];
    const s = state({ buffers, current: 8, prompt: 'friend_number_7> ' });
    const bar = rows(s, 40, 10)[8] as string;
    assert.match(bar, /‹.*9:friend_number_7/);
  });

  it('a paste waiting for Enter takes the message area and asks on the input row', () => {
    const s = state({
      paste: {
        lines: ['first line', 'second line', '/quit is text here'],
        question: 'send these 3 lines to bob, one message each? Enter sends, Esc cancels',
      },
    });
    const screen = rows(s, 80, 24);
    assert.deepEqual(screen.slice(1, 4), ['│ first line', '│ second line', '│ /quit is text here']);
    assert.match(screen[23] as string, /^send these 3 lines to bob/);
  });

  it('below the smallest size, says so and draws nothing else', () => {
    const screen = rows(state(), MIN_WIDTH - 1, MIN_HEIGHT);
    assert.match(screen[0] as string, /natter needs/);
    assert.deepEqual(
      screen.slice(1).filter((r) => r !== ''),
      [],
    );
    assert.equal(draw(state(), 10, 3).cursor, undefined);
  });
});
