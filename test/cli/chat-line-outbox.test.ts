/**
 * The outbox is the user's to see and to clear, and quitting never hangs
 * without a word: the line UI in a real terminal (tmux), with a directory.
 * amy types in tmux; bob is driven in JSON mode and never answers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome, startDirectoryProcess, type NatterProcess } from '../helpers/cli.ts';
import { EXIT_MARK, Tmux } from '../helpers/tmux.ts';

const term = new Tmux();
let directory: NatterProcess;
let target = '';
let bob: ChatProc;
const home = freshHome();
const env = { XDG_CONFIG_HOME: home, XDG_DATA_HOME: `${home}/data` };

const lastRow = (name: string): string =>
  term
    .rows(name)
    .filter((r) => r !== '')
    .at(-1) ?? '';

before(async () => {
  const d = await startDirectoryProcess();
  directory = d.proc;
  target = `127.0.0.1:${d.port}`;
  term.natter('amy', ['chat', '--ui', 'line', '--name', 'amy', '--directory', target], env);
  await term.until('amy', (s) => s.includes('amy ready at'), 'the ready line');
  bob = new ChatProc(['--name', 'bob', '--directory', target]);
  await bob.next('ready');
});

after(() => {
  bob?.kill('SIGKILL');
  directory?.kill('SIGKILL');
  term.kill();
});

describe('the outbox and quitting (line UI, tmux, with a directory)', () => {
  it('accepting a request makes that chat the current one', async () => {
    bob.send({ cmd: 'send', to: 'amy', text: 'hello amy' });
    await term.until('amy', (s) => s.includes('bob wants to chat: /accept bob or /decline bob'), 'the request');
    assert.equal(lastRow('amy'), '>', 'a request changes nothing');
    term.line('amy', '/accept bob');
    await term.until('amy', (s) => s.includes('Message from bob: hello amy'), 'the message');
    assert.ok(term.rows('amy').includes('* chat with bob is open'), 'no hint to switch: it is the current one');
    assert.equal(lastRow('amy'), 'bob>');
    term.line('amy', '/end bob');
    await term.until('amy', (s) => s.includes('* chat with bob ended; no current conversation now'), 'the end');
  });

  it('a name nobody has seen: said once, with the /drop hint, and worded for a directory', async () => {
    term.line('amy', '/connect nobody');
    await term.until('amy', (s) => /^! nobody is not online$/m.test(s), 'the error');
    assert.equal(lastRow('amy'), '>', 'a failed /connect changes nothing');
    term.line('amy', 'nobody/hi there');
    await term.until('amy', (s) => s.includes('nobody has never been seen here'), 'the notice');
    assert.match(
      term.screen('amy').replace(/\n/g, ''),
      /\* nobody has never been seen here: nobody is not online\. 1 message waits and leaves if nobody ever comes online; if the name is a typo, \/drop nobody/,
    );
    term.line('amy', 'nobody/second try');
    await term.until('amy', (s) => s.includes('* queued for nobody (2 messages waiting)'), 'the count');
    const screen = term.screen('amy');
    assert.equal(screen.split('never been seen here').length - 1, 1, 'said once');
    assert.doesNotMatch(screen, /friend/, 'no friends in directory mode');
    assert.doesNotMatch(screen, /\([^)\n]*\(/, 'no nested brackets');
  });

  it('/outbox shows what waits, /drop clears it', async () => {
    term.line('amy', '/outbox');
    await term.until('amy', (s) => /^ {2}nobody {2}2 messages {2}oldest \d+ s ago$/m.test(s), '/outbox');
    term.line('amy', '/drop nobody');
    await term.until('amy', (s) => s.includes('* dropped 2 messages to nobody'), '/drop');
    term.line('amy', '/outbox');
    await term.until('amy', (s) => s.includes('* the outbox is empty'), 'the empty outbox');
    term.line('amy', '/drop nobody');
    await term.until('amy', (s) => s.includes('* nothing waits for nobody'), 'nothing left');
  });

  it('Ctrl-C with an unanswered chat request quits at once and leaves a clean line', async () => {
    term.line('amy', 'bob/are you there?');
    assert.equal((await bob.next('request')).from, 'amy');
    const pressed = Date.now();
    term.press('amy', 'C-c');
    await term.until('amy', () => term.exitStatus('amy') !== undefined, 'natter to exit');
    // The grace for receipts is 5 s; a request nobody answered has none on its way.
    assert.ok(Date.now() - pressed < 2_500, `quit took ${Date.now() - pressed} ms`);
    assert.equal(term.exitStatus('amy'), 0);
    const rows = term.rows('amy');
    const queued = rows.indexOf('* 1 message to bob stays queued; it leaves when natter runs again and bob can be reached');
    assert.ok(queued >= 0, rows.join('\n'));
    // What comes after natter (the shell's prompt; here the mark) starts a clean line right below.
    assert.equal(rows[queued + 1], `${EXIT_MARK}0`, `the line after natter:\n${rows.join('\n')}`);
    assert.equal(
      rows.some((r) => /^(bob|nobody)?> ?$/.test(r)),
      false,
      'no prompt is left behind',
    );
  });

  it('the next start tells of it in the singular, with the /drop hint', async () => {
    term.natter('amy2', ['chat', '--ui', 'line', '--name', 'amy', '--directory', target], env);
    await term.until(
      'amy2',
      (s) => s.includes('* 1 message to bob from last time waits in the outbox; it leaves when bob can be reached (/drop bob cancels it)'),
      'the recovered notice',
    );
    term.press('amy2', 'C-c');
    await term.until('amy2', () => term.exitStatus('amy2') === 0, 'natter to exit');
  });
});
