/** The terminal's modes: what enter() turns on, leave() turns off, on every way out; pastes come whole. */
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Terminal } from '../../../../src/cli/ui/tui/terminal.ts';
import type { Action } from '../../../../src/cli/ui/tui/keys.ts';
import { emulator, feed } from '../../../helpers/xterm.ts';

/** A pipe pair that says it is a terminal, and what was written to it. */
function fakeTerminal(): { input: NodeJS.ReadStream; output: NodeJS.WriteStream; written: () => string; rawModes: boolean[] } {
  const chunks: string[] = [];
  const rawModes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    setRawMode: (on: boolean) => rawModes.push(on),
  }) as unknown as NodeJS.ReadStream;
  const output = Object.assign(
    new Writable({
      write: (c, _e, done) => {
        chunks.push(String(c));
        done();
      },
    }),
    { isTTY: true, columns: 40, rows: 10, hasColors: () => false },
  ) as unknown as NodeJS.WriteStream;
  return { input, output, written: () => chunks.join(''), rawModes };
}

describe('Terminal', () => {
  it('turns its modes on, and every one off again', async () => {
    const t = fakeTerminal();
    const term = new Terminal(t.input, t.output);
    const screen = emulator(40, 10);
    term.enter();
    await feed(screen, t.written());
    assert.equal(screen.buffer.active.type, 'alternate');
    assert.equal(screen.modes.bracketedPasteMode, true);
    assert.equal(screen.modes.sendFocusMode, true);
    await feed(screen, '\x1b[?25l');
    term.leave();
    term.leave();
    await feed(screen, t.written());
    assert.equal(screen.buffer.active.type, 'normal');
    assert.equal(screen.modes.bracketedPasteMode, false);
    assert.equal(screen.modes.sendFocusMode, false);
    assert.deepEqual(t.rawModes, [true, false], 'raw mode on, then off once');
  });

  it('is left on a crash, before the error is printed', () => {
    const t = fakeTerminal();
    const term = new Terminal(t.input, t.output);
    const before = { crash: process.listenerCount('uncaughtExceptionMonitor'), exit: process.listenerCount('exit') };
    term.enter();
    assert.equal(process.listenerCount('uncaughtExceptionMonitor'), before.crash + 1);
    assert.equal(process.listenerCount('exit'), before.exit + 1, 'and on exit, as a last resort');
    (process.emit as (event: string, ...args: unknown[]) => boolean)('uncaughtExceptionMonitor', new Error('boom'), 'uncaughtException');
    assert.ok(t.written().endsWith('\x1b[?1049l'), 'the alternate screen was left');
    assert.equal(process.listenerCount('uncaughtExceptionMonitor'), before.crash, 'and the listeners are gone');
    assert.equal(process.listenerCount('exit'), before.exit);
  });

  it('gives a bracketed paste whole, with its line breaks, and keys one by one', () => {
    const t = fakeTerminal();
    const term = new Terminal(t.input, t.output);
    const pastes: [string, boolean][] = [];
    const actions: Action[] = [];
    term.on('paste', (text, isCut) => pastes.push([text, isCut]));
    term.on('action', (a) => actions.push(a));
    term.enter();
    t.input.write('\x1b[200~one\rtwo\x1b[2J\x1b[201~x');
    assert.deepEqual(pastes, [['one\ntwo\x1b[2J', false]]);
    assert.deepEqual(actions, [{ kind: 'insert', text: 'x' }]);
    term.leave();
  });
});
