/**
 * Where a typed line goes, in a real terminal (tmux): only the user changes
 * the current conversation, never something that arrives, and never a
 * command that failed. Three friends as in examples/friends.json (on free
 * ports): user_3 types in tmux, user_1 and user_2 are driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome, said } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { loopbackFriends } from '../helpers/tmp.ts';
import { Tmux } from '../helpers/tmux.ts';

const term = new Tmux();
const U3 = 'user_3';
let friends = '';
let user1: ChatProc;
let user2: ChatProc;

const lastRow = (): string =>
  term
    .rows(U3)
    .filter((r) => r !== '')
    .at(-1) ?? '';
const promptIs = async (prompt: string, what: string): Promise<void> => {
  // Rows are read with trailing blanks trimmed: an empty prompt is "user_1>".
  await term.until(U3, () => `${lastRow()} `.startsWith(prompt), what);
};
/** Every message event of `p` so far, as text. */
const texts = (p: ChatProc): string[] =>
  p
    .allEvents()
    .filter((e) => e.type === 'message')
    .map((e) => String(e.text));

before(async () => {
  const ports = await freePorts(3);
  friends = loopbackFriends('target', Object.fromEntries(ports.map((port, i) => [`user_${i + 1}`, port])));
  const home = freshHome();
  term.natter(U3, ['chat', '--ui', 'line', '--name', U3, '--friends', friends, '--retry', '60'], {
    XDG_CONFIG_HOME: home,
    XDG_DATA_HOME: `${home}/data`,
  });
  await term.until(U3, (s) => s.includes('user_3 ready at'), 'the ready line');
  user1 = new ChatProc(['--name', 'user_1', '--friends', friends]);
  user2 = new ChatProc(['--name', 'user_2', '--friends', friends]);
  await user1.next('ready');
  await user2.next('ready');
});

after(() => {
  user1?.kill('SIGKILL');
  user2?.kill('SIGKILL');
  term.kill();
});

describe('the current conversation (line UI, tmux)', () => {
  it('a chat that opens by itself never takes over what the user is typing', async () => {
    term.line(U3, 'user_1/hello one');
    assert.deepEqual(said(await user1.next('message')), { type: 'message', from: U3, text: 'hello one' });
    await promptIs('user_1> ', 'the prompt to name user_1');

    user2.send({ cmd: 'send', to: U3, text: 'hi from 2' });
    await term.until(U3, (s) => s.includes('Message from user_2: hi from 2'), 'the message from user_2');
    assert.match(term.screen(U3), /\* chat with user_2 is open; user_2\/message or \/switch user_2 to talk there/);
    await promptIs('user_1> ', 'the prompt to stay user_1');

    term.type(U3, 'private words for user_1');
    await term.until(U3, () => lastRow() === 'user_1> private words for user_1', 'the typed words');
    user2.send({ cmd: 'end', with: U3 });
    await term.until(U3, (s) => s.includes('user_2 ended the chat'), 'the end');
    user2.send({ cmd: 'send', to: U3, text: 'reopening' });
    await term.until(U3, (s) => s.includes('Message from user_2: reopening'), 'the reopened chat');
    assert.equal(lastRow(), 'user_1> private words for user_1', 'the prompt and the half-typed words are unchanged');
    term.press(U3, 'Enter');
    assert.deepEqual(said(await user1.next('message')), { type: 'message', from: U3, text: 'private words for user_1' });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(texts(user2).includes('private words for user_1'), false, 'user_2 never got them');
  });

  it('a command that fails leaves the current conversation as it was', async () => {
    const failures: [string, RegExp][] = [
      ['/connect nobody', /! nobody is not in the friends table/],
      ['/accept carol', /! carol has not asked to chat/],
      ['/connect user_3', /! that is you/],
      ['zed/hi', /! zed is not a friend in the friends table; not sent/],
      [`${'a'.repeat(40)}/hello`, /! "a{40}" is not a valid name: display name is 40 bytes, the limit is 32; nothing was sent/],
      ['user_2/', /! nothing to send to user_2/],
    ];
    for (const [line, error] of failures) {
      term.line(U3, line);
      await term.until(U3, (s) => error.test(s), `the error for ${line}`);
      await promptIs('user_1> ', `the prompt to stay user_1 after ${line}`);
    }
    term.line(U3, 'still for one');
    assert.deepEqual(said(await user1.next('message')), { type: 'message', from: U3, text: 'still for one' });
    assert.equal(texts(user1).includes('hello'), false, 'the line with a bad name went nowhere');
    assert.equal(
      texts(user2).some((t) => ['hi', 'hello'].includes(t)),
      false,
    );
  });

  it('when the current chat ends while another is open, it says so and how to switch', async () => {
    user1.send({ cmd: 'end', with: U3 });
    await term.until(
      U3,
      (s) => /user_1 ended the chat; no current conversation now: \/switch user_2 to go on there \(open: user_2\)/.test(s),
      'the notice',
    );
    await promptIs('> ', 'the prompt without a conversation');
    term.line(U3, 'where does this go');
    await term.until(U3, (s) => s.includes('! no current conversation: type friend/message, or /switch NAME first'), 'the refusal');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal([...texts(user1), ...texts(user2)].includes('where does this go'), false, 'it went nowhere');
    term.line(U3, '/switch user_2');
    await promptIs('user_2> ', 'the switch');
    term.line(U3, 'chosen');
    assert.equal((await user2.next('message', (e) => e.text === 'chosen')).from, U3);
  });

  it('a wrapped input line leaves no stale copy when a message arrives', async () => {
    term.resize(U3, 100, 40);
    await new Promise((r) => setTimeout(r, 200));
    const typed = `wrapped ${'x'.repeat(142)}`; // 150 characters after the prompt: two rows at 100 columns
    term.type(U3, typed);
    await term.until(U3, (s) => s.replace(/\n/g, '').includes(typed), 'the typed line');
    for (let i = 0; i < 3; i++) {
      user2.send({ cmd: 'send', to: U3, text: `incoming ${i}` });
      await term.until(U3, (s) => s.includes(`Message from user_2: incoming ${i}`), `incoming ${i}`);
    }
    const rows = term.rows(U3);
    assert.equal(rows.filter((r) => r.includes('wrapped x')).length, 1, `one copy of the input:\n${rows.join('\n')}`);
    assert.equal(rows.filter((r) => /^x+$/.test(r)).length, 1, `one continuation row:\n${rows.join('\n')}`);
    term.press(U3, 'C-u');
    term.resize(U3, 150, 40);
  });

  it('after a key change: the refusal is printed once, /whois on lines of its own, and /trust sends what waited at once', async () => {
    user2.kill('SIGKILL');
    await user2.exit();
    // user_2 comes back with a new identity (a fresh config directory): its key has changed.
    user2 = new ChatProc(['--name', 'user_2', '--friends', friends]);
    await user2.next('ready');
    term.line(U3, 'user_2/after the change');
    await term.until(U3, (s) => s.includes("when user_2's key is settled"), 'the waiting notice');
    await new Promise((r) => setTimeout(r, 300));
    const screen = term.screen(U3).replace(/\n/g, '');
    assert.equal(screen.split("user_2's key has changed").length - 1, 1, `the refusal once:\n${term.screen(U3)}`);
    term.line(U3, '/whois user_2');
    await term.until(U3, (s) => s.includes('a connection offered another key, refused:'), '/whois');
    assert.equal(term.screen(U3).includes('^J'), false, 'no control characters inside /whois');
    assert.match(term.screen(U3), /^ {2}a connection offered another key, refused: [a-z2-7 ]+; \/trust user_2 accepts it$/m);
    // --retry 60: without /trust sending at once, nothing would go for a minute.
    term.line(U3, '/trust user_2');
    assert.equal((await user2.next('message', (e) => e.text === 'after the change', 5_000)).from, U3);
  });
});
