/**
 * The full-screen UI in a real terminal: natter runs inside tmux (the
 * default UI there, where stdin and stdout are a terminal), the tests type
 * with send-keys and read the screen with capture-pane. amy and bob both
 * use it; carol is driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { Tmux } from '../helpers/tmux.ts';
import { loopbackFriends } from '../helpers/tmp.ts';

const term = new Tmux();
let friends = '';
let carol: ChatProc;

const screen = (name: string): string => term.screen(name);
/** The screen's rows (capture-pane ends its last row with a newline too). */
const rows = (name: string): string[] => term.rows(name).slice(0, Number(term.format(name, 'pane_height')));
/** The input row: the last row of the screen. */
const inputRow = (name: string): string => rows(name).at(-1) ?? '';
/** The status bar: the row above the input. */
const statusBar = (name: string): string => rows(name).at(-2) ?? '';

function launch(name: string, cols = 80, lines = 24, extra: string[] = []): void {
  const home = freshHome();
  term.natter(
    name,
    ['chat', '--name', name, '--friends', friends, ...extra],
    { XDG_CONFIG_HOME: home, XDG_DATA_HOME: `${home}/data` },
    cols,
    lines,
  );
}

before(async () => {
  const ports = await freePorts(4);
  friends = loopbackFriends('full-screen', Object.fromEntries(['amy', 'bob', 'carol', 'dan'].map((name, i) => [name, ports[i] as number])));
  launch('amy');
  term.watchBells();
  launch('bob', 40, 10);
  await term.until('amy', (s) => s.includes('amy ready at 127.0.0.1:'), 'amy ready');
  // At 40 columns the ready line wraps: the ready screen is its status bar and an empty input row.
  await term.until('bob', () => /^1:status/.test(statusBar('bob')) && inputRow('bob') === '>', 'bob ready');
  carol = new ChatProc(['--name', 'carol', '--friends', friends]);
  await carol.next('ready');
});

after(() => {
  carol?.kill('SIGKILL');
  term.kill();
});

describe('natter chat full-screen UI (tmux)', () => {
  it('is the default in a terminal: the alternate screen, a title bar, a status bar with the buffers', async () => {
    assert.equal(term.format('amy', 'alternate_on'), '1');
    assert.match(rows('amy')[0] as string, /^ amy {2}status · /);
    assert.match(statusBar('amy'), /^\[\d\d:\d\d\] 1:status/);
    assert.equal(inputRow('amy'), '>');
    assert.equal(statusBar('bob'), '1:status', 'at 40 columns, no clock: the room is for the buffers');
  });

  it('two peers chat: a message opens a buffer without taking focus; Alt-2 shows it; receipts mark messages', async () => {
    term.line('amy', 'bob/hello bob');
    await term.until('amy', () => inputRow('amy') === 'bob>', 'amy now in the buffer of bob');
    await term.until('bob', () => statusBar('bob') === '1:status 2:amy(1)', 'a buffer for amy, one unread');
    assert.match(rows('bob')[0] as string, / status · /, 'bob still sees the status buffer');
    term.press('bob', 'M-2');
    await term.until('bob', (s) => s.includes('amy: hello bob'), "amy's message in her buffer");
    assert.equal(inputRow('bob'), 'amy>');
    assert.equal(statusBar('bob'), '1:status 2:amy');
    await term.until('amy', (s) => /amy: hello bob ✓/.test(s), 'the delivery mark');
    term.line('bob', 'hi amy 日本 😀');
    await term.until('amy', (s) => s.includes('bob: hi amy 日本 😀'), "bob's answer, wide characters and all");
    await term.until('bob', (s) => s.includes('bob: hi amy 日本 😀 ✓'), 'delivered');
  });

  it('a message to a buffer not shown counts as unread and rings the bell; the shown one does not; switching clears it', async () => {
    term.press('bob', 'M-1');
    await term.until('bob', () => / status · /.test(rows('bob')[0] as string), 'bob on the status buffer');
    const bells = term.bells('bob');
    term.line('amy', 'are you there?');
    await term.until('bob', () => /2:amy\(1\)/.test(statusBar('bob')), 'one unread');
    await term.until('bob', () => term.bells('bob') > bells, 'the bell', 3_000);
    term.press('bob', 'C-n');
    await term.until('bob', (s) => s.includes('amy: are you there?'), 'the message shown');
    assert.match(statusBar('bob'), /2:amy$/, 'unread cleared');
    const shownBells = term.bells('bob');
    term.line('amy', 'now you see it');
    await term.until('bob', (s) => s.includes('amy: now you see it'), 'the message in the shown buffer');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(term.bells('bob'), shownBells, 'no bell for the shown buffer of a focused terminal');
  });

  it('Tab completes a name and a command; Up recalls the last line typed in the buffer', async () => {
    term.type('bob', 'ca');
    term.press('bob', 'Tab');
    await term.until('bob', () => inputRow('bob') === 'amy> carol/', 'the name completed as an address');
    term.press('bob', 'C-u');
    term.type('bob', '/wh');
    term.press('bob', 'Tab');
    await term.until('bob', () => inputRow('bob') === 'amy> /who', 'the first command that matches');
    term.press('bob', 'Tab');
    await term.until('bob', () => inputRow('bob') === 'amy> /whois', 'Tab again, the next');
    term.press('bob', 'C-u');
    term.press('bob', 'Up');
    await term.until('bob', () => inputRow('bob') === 'amy> hi amy 日本 😀', 'the last line typed here');
    term.press('bob', 'C-u');
  });

  it('PgUp scrolls back with a "more below" mark, the position is kept as lines come, PgDn returns', async () => {
    for (let i = 1; i <= 40; i++) carol.send({ cmd: 'send', to: 'amy', text: `carol line ${i}` });
    await term.until('amy', () => /3:carol\(40\)/.test(statusBar('amy')), "carol's buffer, forty unread");
    term.press('amy', 'M-3');
    await term.until('amy', (s) => s.includes('carol: carol line 40'), "carol's lines in her buffer", 10_000);
    term.press('amy', 'PPage');
    await term.until('amy', (s) => /more below \(\d+ rows\)/.test(s), 'the mark');
    const top = rows('amy')[1];
    carol.send({ cmd: 'send', to: 'amy', text: 'one more' });
    await term.until('amy', (s) => /more below \(\d+ rows\)/.test(s) && Number(/more below \((\d+)/.exec(s)?.[1]) > 0, 'still scrolled');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rows('amy')[1], top, 'what was read stays in place');
    term.press('amy', 'NPage');
    term.press('amy', 'NPage');
    await term.until('amy', (s) => !s.includes('more below') && s.includes('carol: one more'), 'back at the bottom');
  });

  it('a resize keeps the half-typed input line', async () => {
    term.type('amy', 'half typed words');
    await term.until('amy', () => inputRow('amy').endsWith('half typed words'), 'the typed words');
    term.resize('amy', 50, 12);
    await term.until('amy', () => rows('amy').length === 12 && inputRow('amy') === 'carol> half typed words', 'the input after the resize');
    assert.match(rows('amy')[0] as string, /^ amy {2}carol · /);
    term.resize('amy', 80, 24);
    await term.until('amy', () => rows('amy').length === 24 && inputRow('amy') === 'carol> half typed words', 'and back');
    term.press('amy', 'C-u');
  });

  it("a peer's escape sequences reach the screen neutralised", async () => {
    const title = term.format('amy', 'pane_title');
    carol.send({ cmd: 'send', to: 'amy', text: 'x\u001b[2J\u001b]0;pwned\u0007\u001b[?1049l\u009b1m\u202eevil' });
    await term.until('amy', (s) => s.includes('evil'), 'the hostile message');
    assert.ok(screen('amy').includes('carol: x^[[2J^[]0;pwned^G^[[?1049l<U+009B>1m<U+202E>evil'), screen('amy'));
    assert.equal(term.format('amy', 'pane_title'), title, 'the title was not changed');
    assert.equal(term.format('amy', 'alternate_on'), '1', 'still on the alternate screen');
  });

  it('a pasted block is shown and confirmed, then sent one message a line, never run as commands', async () => {
    term.paste('amy', 'first pasted\nsecond pasted\n/quit');
    await term.until('amy', (s) => s.includes('send these 3 lines to carol'), 'the question');
    assert.ok(screen('amy').includes('│ /quit'), 'the lines are shown');
    term.press('amy', 'Enter');
    for (const text of ['first pasted', 'second pasted', '/quit'])
      assert.equal((await carol.next('message', (e) => e.text === text)).from, 'amy');
    term.paste('amy', 'not\nthis');
    await term.until('amy', (s) => s.includes('send these 2 lines'), 'the second question');
    term.press('amy', 'Escape');
    await term.until('amy', (s) => s.includes('the 2 pasted lines were not sent'), 'cancelled', 3_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(carol.allEvents().filter((e) => e.type === 'message' && e.text === 'not').length, 0);
  });
});

describe('the terminal is left as it was found', () => {
  /** Checks the pane after natter exited: normal screen, cursor shown, bracketed paste off (a paste arrives plain). */
  async function assertRestored(name: string): Promise<void> {
    await term.until(name, () => term.exitStatus(name) !== undefined, 'natter to exit');
    assert.equal(term.exitStatus(name), 0);
    assert.equal(term.format(name, 'alternate_on'), '0', 'the alternate screen was left');
    assert.equal(term.format(name, 'cursor_flag'), '1', 'the cursor is visible');
    term.paste(name, 'zz');
    await term.until(name, (s) => s.includes('zz'), 'the paste echoed');
    assert.ok(!screen(name).includes('200~'), `no bracketed paste left on:\n${screen(name)}`);
  }

  for (const how of ['/quit', 'Ctrl-C', 'SIGTERM'] as const) {
    it(`after ${how}`, async () => {
      const name = `quit-${how.replace(/\W/g, '')}`;
      const home = freshHome();
      term.natter(name, ['chat', '--name', 'dan', '--friends', friends], { XDG_CONFIG_HOME: home, XDG_DATA_HOME: `${home}/data` }, 60, 15);
      await term.until(name, (s) => s.includes('dan ready at'), 'ready');
      if (how === '/quit') term.line(name, '/quit');
      else if (how === 'Ctrl-C') term.press(name, 'C-c');
      else {
        const shell = term.format(name, 'pane_pid');
        const pid = execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim().split('\n')[0] as string;
        process.kill(Number(pid), 'SIGTERM');
      }
      await assertRestored(name);
    });
  }
});
