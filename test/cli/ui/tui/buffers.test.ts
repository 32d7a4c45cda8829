/** The buffer model: bounded scrollback, one line per message id, day lines, delivery marks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatBuffer, dayLine, spansOf, type Line } from '../../../../src/cli/ui/tui/buffers.ts';
import { STYLE } from '../../../../src/cli/ui/tui/styles.ts';

const at = (h: number, day = 3): number => new Date(2026, 5, day, h, 5).getTime();
const msg = (text: string, extra: Partial<Line> = {}): Line => ({
  kind: 'message',
  at: at(12),
  from: 'bob',
  text,
  style: STYLE.plain,
  ...extra,
});
const rowText = (rows: { g: string }[][]): string[] => rows.map((r) => r.map((c) => c.g).join(''));

describe('ChatBuffer', () => {
  it('keeps at most its scrollback, dropping the oldest lines and their ids', () => {
    const b = new ChatBuffer('bob', 100);
    for (let i = 0; i < 1_000; i++) b.push(msg(`m${i}`, { kind: 'own', id: `id${i}`, delivery: 'pending' }));
    assert.ok(b.lines.length <= 100 + 100 / 16, `${b.lines.length} lines kept`);
    assert.equal(b.lines.at(-1)?.text, 'm999');
    assert.equal(b.byId('id0'), undefined, 'a dropped line is forgotten');
    assert.ok(b.byId('id999'));
  });

  it('shows a message once when the history it opened with has it too; keeps no id it will not need', () => {
    const b = new ChatBuffer('bob', 100);
    assert.equal(b.push(msg('hi', { id: 'x', isHistory: true })), true);
    assert.equal(b.push(msg('hi', { id: 'x' })), false, 'the live copy of a line from the history');
    assert.equal(b.push(msg('new', { id: 'y' })), true);
    assert.equal(b.byId('y'), undefined, 'a live message from a peer comes once: its id is not kept');
    assert.equal(b.lines.length, 2);
  });

  it('says when the day changed', () => {
    const b = new ChatBuffer('bob', 100);
    b.push(msg('monday', { at: at(23, 1) }));
    b.push(msg('tuesday', { at: at(1, 2) }));
    assert.deepEqual(
      b.lines.map((l) => l.kind),
      ['message', 'day', 'message'],
    );
    assert.equal(b.lines[1]?.text, dayLine(at(1, 2)));
    assert.match(b.lines[1]?.text ?? '', /^── Tuesday, 2 June 2026 ──$/);
  });

  it('neutralises what it is given, and marks own messages until their receipt', () => {
    const b = new ChatBuffer('bob', 100);
    b.push({ kind: 'own', at: at(9), from: 'amy', text: 'hi\u001b[2J', style: STYLE.plain, id: 'o1', delivery: 'pending' });
    assert.deepEqual(rowText(b.rowsOf(0, 40)), ['09:05 amy: hi^[[2J …']);
    b.markWaiting();
    assert.deepEqual(rowText(b.rowsOf(0, 40)), ['09:05 amy: hi^[[2J (in the outbox)']);
    b.mark('o1', 'delivered');
    assert.deepEqual(rowText(b.rowsOf(0, 40)), ['09:05 amy: hi^[[2J ✓']);
    b.mark('o1', 'pending');
    assert.equal(b.byId('o1')?.delivery, 'delivered', 'a receipt is final');
  });

  it('wraps under the text, and rewraps for a new width', () => {
    const b = new ChatBuffer('bob', 100);
    b.push(msg('one two three four five six'));
    assert.deepEqual(rowText(b.rowsOf(0, 24)), ['12:05 bob: one two three', '        four five six']);
    assert.deepEqual(rowText(b.rowsOf(0, 80)), ['12:05 bob: one two three four five six']);
    assert.equal(b.rowsOfNewest(1, 24), 2);
    const { indent } = spansOf(b.lines[0] as Line);
    assert.equal(indent, 11);
  });
});
