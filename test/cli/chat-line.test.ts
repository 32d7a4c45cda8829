/**
 * The line UI in a real terminal: natter runs inside tmux, the test types
 * with send-keys and reads the screen with capture-pane. The other peer is
 * driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome, said } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { Tmux } from '../helpers/tmux.ts';
import { loopbackFriends } from '../helpers/tmp.ts';

const term = new Tmux();
const screen = () => term.screen('amy');

async function until(cond: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  await term.until('amy', () => cond(), what, timeoutMs);
}

let bob: ChatProc;
let amyPort = 0;

before(async () => {
  const ports = await freePorts(3);
  amyPort = ports[0] as number;
  const bobPort = ports[1] as number;
  const catPort = ports[2] as number; // cat is a friend who never comes online here
  const friends = loopbackFriends('line', { amy: amyPort, bob: bobPort, cat: catPort });
  // Its own config and data directories: nothing of another run (pins, an outbox) may leak in.
  const home = freshHome();
  term.natter('amy', ['chat', '--ui', 'line', '--name', 'amy', '--friends', friends], {
    XDG_CONFIG_HOME: home,
    XDG_DATA_HOME: `${home}/data`,
  });
  await until(() => screen().includes('amy ready at 127.0.0.1:'), 'the ready line');
  bob = new ChatProc(['--name', 'bob', '--friends', friends]);
  await bob.next('ready');
});

after(async () => {
  bob?.kill('SIGKILL');
  term.kill();
});

describe('natter chat line UI (tmux)', () => {
  it('keeps a partly typed line intact when a message arrives, then sends it', async () => {
    term.type('amy', 'bob/half typed');
    await until(() => screen().includes('half typed'), 'the typed text');
    bob.send({ cmd: 'send', to: 'amy', text: 'hello amy' });
    await until(() => screen().includes('Message from bob: hello amy'), 'the incoming message');
    const lines = screen().trimEnd().split('\n');
    assert.match(lines.at(-1) as string, /^> bob\/half typed$/, 'the prompt and the half-typed text are redrawn below');
    term.press('amy', 'Enter');
    assert.deepEqual(said(await bob.next('message')), { type: 'message', from: 'amy', text: 'half typed' });
  });

  it('shows escape sequences from a peer harmlessly', async () => {
    bob.send({ cmd: 'send', to: 'amy', text: 'x\u001b[2J\u001b[31mRED\u0007\u009b1m\u202eevil' });
    await until(() => screen().includes('RED'), 'the hostile message');
    const s = screen();
    assert.ok(s.includes('Message from bob: x^[[2J^[[31mRED^G<U+009B>1m<U+202E>evil'), s);
    assert.ok(s.includes('Message from bob: hello amy'), 'the screen was not cleared');
  });

  it('shows escape sequences in an ERROR from a stranger harmlessly too', async () => {
    const eve = await RawClient.connect(amyPort);
    eve.send({ type: 'CONN', name: 'eve', ip: '127.0.0.1', port: 9 });
    eve.send({ type: 'ERROR', code: 'X', reason: 'boo\u001b[2J\u001b]0;pwned\u0007' });
    await until(() => screen().includes('boo^[[2J^[]0;pwned^G'), 'the sanitised reason');
    eve.destroy();
  });

  it('refuses a message over 250 characters and sends nothing', async () => {
    term.type('amy', `bob/${'z'.repeat(251)}`);
    term.press('amy', 'Enter');
    await until(() => screen().includes('message is 251 characters, the limit is 250; it was not sent'), 'the refusal');
    term.type('amy', 'bob/short one');
    term.press('amy', 'Enter');
    assert.deepEqual(said(await bob.next('message')), { type: 'message', from: 'amy', text: 'short one' });
    assert.equal(bob.allEvents().filter((e) => e.type === 'message').length, 2, 'the long one never arrived');
  });

  it('marks delivery quietly, and /history shows the conversation both ways', async () => {
    term.type('amy', 'bob/one for the log');
    term.press('amy', 'Enter');
    await bob.next('message', (e) => e.text === 'one for the log');
    // Receipts of one moment share a mark; the one for this message comes after its line.
    const markAfter = (s: string): boolean => {
      const rows = s.split('\n');
      const sent = rows.findLastIndex((r) => r.includes('bob/one for the log'));
      return sent >= 0 && rows.slice(sent + 1).some((r) => /^ {2}✓ bob has (it|all \d+)$/.test(r));
    };
    await until(() => markAfter(screen()), 'the delivery mark');
    term.type('amy', '/history bob 3');
    term.press('amy', 'Enter');
    await until(() => /\d\d:\d\d you: one for the log/.test(screen()), '/history output');
    const lines = screen().split('\n');
    const at = lines.findIndex((l) => l.includes('> /history bob 3'));
    assert.match(lines[at + 1] ?? '', /\d\d:\d\d bob: x\^\[\[2J/, "bob's hostile message, sanitised in history too");
    assert.match(lines[at + 2] ?? '', /\d\d:\d\d you: short one$/);
    assert.match(lines[at + 3] ?? '', /\d\d:\d\d you: one for the log$/);
  });

  it('tells once that an offline friend cannot be reached, and counts what waits for them', async () => {
    term.type('amy', 'cat/are you there?');
    term.press('amy', 'Enter');
    await until(() => screen().includes('cat cannot be reached now'), 'the waiting notice');
    assert.match(screen(), /1 message waits and leaves when cat can be/);
    term.type('amy', 'cat/hello?');
    term.press('amy', 'Enter');
    await until(() => screen().includes('* queued for cat (2 messages waiting)'), 'the count');
    assert.equal(screen().split('cannot be reached now').length - 1, 1, 'the notice is not repeated');
    term.type('amy', '/switch bob');
    term.press('amy', 'Enter');
  });

  it('/who, /help, an unknown command, and /quit', async () => {
    term.type('amy', '/who');
    term.press('amy', 'Enter');
    await until(() => /^cat +friends +127\.0\.0\.1:\d+ +not connected$/m.test(screen()), '/who output');
    // Columns line up: each starts at the same place on every row.
    const who = screen()
      .split('\n')
      .filter((r) => /^(bob|cat) /.test(r));
    assert.equal(who.length, 2, screen());
    assert.match(who[0] as string, /^bob +friends +127\.0\.0\.1:\d+ +connected, direct$/);
    for (const column of [/friends/, /127\.0\.0\.1/, /(not )?connected(, direct)?$/]) {
      assert.equal(new Set(who.map((r) => r.search(column))).size, 1, `${column} starts at one place:\n${who.join('\n')}`);
    }
    term.type('amy', '/help');
    term.press('amy', 'Enter');
    await until(() => screen().includes('/drop NAME'), '/help output');
    const help = screen()
      .split('\n')
      .filter((r) => /^(friend\/message|message|\/[a-z]+) /.test(r));
    assert.ok(help.length >= 15, help.join('\n'));
    const descriptions = new Set(help.map((r) => r.search(/ {2}\S/) + r.slice(r.search(/ {2}\S/)).search(/\S/)));
    assert.equal(descriptions.size, 1, `the descriptions start at one column:\n${help.join('\n')}`);
    term.type('amy', '/dance');
    term.press('amy', 'Enter');
    await until(() => screen().includes('unknown command /dance; type /help'), 'the refusal');
    term.type('amy', '/quit');
    term.press('amy', 'Enter');
    assert.equal((await bob.next('ended')).with, 'amy');
  });
});
