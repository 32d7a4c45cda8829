/** The input line: editing keys by grapheme, the lines typed before, completion; keys as node:readline parses them. */
import assert from 'node:assert/strict';
import { emitKeypressEvents } from 'node:readline';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { Completer, InputHistory, InputLine } from '../../../../src/cli/ui/tui/input-line.ts';
import { actionOf, type Action, type Key } from '../../../../src/cli/ui/tui/keys.ts';

const typed = (text: string): InputLine => {
  const line = new InputLine();
  line.insert(text);
  return line;
};
/** The line with a | at the cursor. */
const show = (line: InputLine): string => `${line.parts.slice(0, line.cursor).join('')}|${line.parts.slice(line.cursor).join('')}`;

describe('InputLine', () => {
  it('edits like Emacs: Ctrl-A/E/K/U/W, Alt-B/F, Left/Right, Delete', () => {
    const line = typed('hello big world');
    line.wordLeft();
    assert.equal(show(line), 'hello big |world');
    line.wordLeft();
    line.wordLeft();
    assert.equal(show(line), '|hello big world');
    line.wordRight();
    assert.equal(show(line), 'hello| big world');
    line.killToEnd();
    assert.equal(show(line), 'hello|');
    line.insert(' there');
    line.killWordBack();
    assert.equal(show(line), 'hello |');
    line.home();
    line.right();
    line.deleteForward();
    assert.equal(show(line), 'h|llo ');
    line.killToStart();
    assert.equal(show(line), '|llo ');
    line.end();
    line.backspace();
    line.left();
    assert.equal(show(line), 'll|o');
  });

  it('moves and deletes by what a person sees as one character', () => {
    const line = typed('ae\u0301😀日');
    assert.equal(line.parts.length, 4);
    line.left();
    line.left();
    line.backspace();
    assert.equal(show(line), 'a|😀日');
    line.insert('\u0301');
    assert.equal(line.text, 'a\u0301😀日', 'a combining mark joins the character before it');
  });

  it('takes no control characters: a tab becomes a space, the rest is dropped', () => {
    assert.equal(typed('a\tb\u001b[2Jc\u0007').text, 'a b[2Jc');
  });

  it('take() empties the line', () => {
    const line = typed('send me');
    assert.equal(line.take(), 'send me');
    assert.equal(show(line), '|');
  });
});

describe('InputHistory', () => {
  it('goes back through what was typed and forward to the draft', () => {
    const h = new InputHistory();
    h.add('one');
    h.add('two');
    h.add('two');
    h.add('  ');
    assert.equal(h.size, 2, 'no repeats, no blanks');
    assert.equal(h.up('draft'), 'two');
    assert.equal(h.up('two'), 'one');
    assert.equal(h.up('one'), undefined);
    assert.equal(h.down(), 'two');
    assert.equal(h.down(), 'draft');
    assert.equal(h.down(), undefined);
  });

  it('keeps at most its limit', () => {
    const h = new InputHistory();
    for (let i = 0; i < InputHistory.MAX + 50; i++) h.add(`line ${i}`);
    assert.equal(h.size, InputHistory.MAX);
  });
});

describe('Completer', () => {
  const names = ['bob', 'bobby', 'carol'];
  const commands = ['/switch', '/who', '/whois'];

  it('completes an address at the start of a line, and cycles through matches', () => {
    const line = typed('bo');
    const c = new Completer();
    assert.equal(c.complete(line, commands, names), true);
    assert.equal(show(line), 'bob/|');
    c.complete(line, commands, names);
    assert.equal(show(line), 'bobby/|');
    c.complete(line, commands, names);
    assert.equal(show(line), 'bob/|');
  });

  it('completes a command, and a name after it', () => {
    const c = new Completer();
    const line = typed('/sw');
    c.complete(line, commands, names);
    assert.equal(show(line), '/switch |');
    c.reset();
    line.insert('ca');
    c.complete(line, commands, names);
    assert.equal(show(line), '/switch carol |');
  });

  it('completes a name inside the text, keeping what follows', () => {
    const c = new Completer();
    const line = typed('bob/ask CA about it');
    for (let i = 0; i < ' about it'.length; i++) line.left();
    c.complete(line, commands, names);
    assert.equal(show(line), 'bob/ask carol| about it');
    assert.equal(new Completer().complete(typed('zz'), commands, names), false, 'no match, no change');
  });
});

describe('keys', () => {
  /** The actions node:readline's parser makes of raw terminal input. */
  function actions(input: string): Action[] {
    const stream = new PassThrough();
    emitKeypressEvents(stream);
    const out: Action[] = [];
    stream.on('keypress', (ch: string | undefined, key: Key | undefined) => out.push(actionOf(ch, key)));
    stream.write(input);
    return out;
  }

  it('maps what terminals send', () => {
    const cases: [string, Action][] = [
      ['\x01', { kind: 'home' }],
      ['\x05', { kind: 'end' }],
      ['\x0b', { kind: 'killToEnd' }],
      ['\x15', { kind: 'killToStart' }],
      ['\x17', { kind: 'killWordBack' }],
      ['\x1bb', { kind: 'wordLeft' }],
      ['\x1bf', { kind: 'wordRight' }],
      ['\x1b[D', { kind: 'left' }],
      ['\x1b[C', { kind: 'right' }],
      ['\x1b[H', { kind: 'home' }],
      ['\x1b[F', { kind: 'end' }],
      ['\x1b[3~', { kind: 'delete' }],
      ['\x7f', { kind: 'backspace' }],
      ['\x1b[A', { kind: 'historyUp' }],
      ['\x1b[B', { kind: 'historyDown' }],
      ['\t', { kind: 'complete' }],
      ['\x1b[5~', { kind: 'pageUp' }],
      ['\x1b[6~', { kind: 'pageDown' }],
      ['\x1b[1;2A', { kind: 'lineUp' }],
      ['\x1b[1;2B', { kind: 'lineDown' }],
      ['\x1b3', { kind: 'buffer', index: 2 }],
      ['\x0e', { kind: 'nextBuffer' }],
      ['\x10', { kind: 'previousBuffer' }],
      ['\x1b[1;3C', { kind: 'nextBuffer' }],
      ['\x1b[1;3D', { kind: 'previousBuffer' }],
      ['\x1bOP', { kind: 'help' }],
      ['\x03', { kind: 'quit' }],
      ['\x04', { kind: 'deleteOrQuit' }],
      ['\r', { kind: 'submit' }],
      ['\x1b[I', { kind: 'focus', isFocused: true }],
      ['\x1b[O', { kind: 'focus', isFocused: false }],
      ['é', { kind: 'insert', text: 'é' }],
    ];
    for (const [input, action] of cases) assert.deepEqual(actions(input), [action], JSON.stringify(input));
  });
});
