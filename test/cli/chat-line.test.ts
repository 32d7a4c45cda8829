/**
 * The line UI in a real terminal: natter runs inside tmux, the test types
 * with send-keys and reads the screen with capture-pane. The other peer is
 * driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { BIN, freshHome, said } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { RawClient } from '../helpers/raw-client.ts';

const SOCKET = `natter-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const screen = () => tmux('capture-pane', '-p', '-t', 'amy');

async function until(cond: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; screen:\n${screen()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let bob: ChatProc;
let amyPort = 0;

before(async () => {
  const ports = await freePorts(3);
  amyPort = ports[0] as number;
  const bobPort = ports[1] as number;
  const catPort = ports[2] as number; // cat is a friend who never comes online here
  const dir = mkdtempSync(join(tmpdir(), 'natter-line-'));
  const friends = join(dir, 'friends.json');
  writeFileSync(friends, JSON.stringify({ friends: [{ name: 'amy', ip: '127.0.0.1', port: amyPort }, { name: 'bob', ip: '127.0.0.1', port: bobPort }, { name: 'cat', ip: '127.0.0.1', port: catPort }] }));
  // Its own config and data directories: nothing of another run (pins, an outbox) may leak in.
  const home = freshHome();
  tmux('new-session', '-d', '-s', 'amy', '-x', '150', '-y', '40', `env -u NODE_V8_COVERAGE XDG_CONFIG_HOME=${home} XDG_DATA_HOME=${home}/data ${process.execPath} ${BIN} chat --name amy --friends ${friends}`);
  await until(() => screen().includes('amy ready at 127.0.0.1:'), 'the ready line');
  bob = new ChatProc(['--name', 'bob', '--friends', friends]);
  await bob.next('ready');
});

after(async () => {
  bob?.kill('SIGKILL');
  try {
    tmux('kill-server');
  } catch {
    // already gone
  }
});

describe('natter chat line UI (tmux)', () => {
  it('keeps a partly typed line intact when a message arrives, then sends it', async () => {
    tmux('send-keys', '-t', 'amy', '-l', 'half typed');
    await until(() => screen().includes('half typed'), 'the typed text');
    bob.send({ cmd: 'send', to: 'amy', text: 'hello amy' });
    await until(() => screen().includes('Message from bob: hello amy'), 'the incoming message');
    const lines = screen().trimEnd().split('\n');
    assert.match(lines.at(-1) as string, /> half typed$/, 'the prompt and the half-typed text are redrawn below');
    tmux('send-keys', '-t', 'amy', 'Enter');
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
    tmux('send-keys', '-t', 'amy', '-l', `bob/${'z'.repeat(251)}`);
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => screen().includes('message is 251 characters, the limit is 250; it was not sent'), 'the refusal');
    tmux('send-keys', '-t', 'amy', '-l', 'bob/short one');
    tmux('send-keys', '-t', 'amy', 'Enter');
    assert.deepEqual(said(await bob.next('message')), { type: 'message', from: 'amy', text: 'short one' });
    assert.equal(bob.allEvents().filter((e) => e.type === 'message').length, 2, 'the long one never arrived');
  });

  it('marks delivery quietly, and /history shows the conversation both ways', async () => {
    tmux('send-keys', '-t', 'amy', '-l', 'bob/one for the log');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await bob.next('message', (e) => e.text === 'one for the log');
    await until(() => screen().includes('✓ bob has it'), 'the delivery mark');
    tmux('send-keys', '-t', 'amy', '-l', '/history bob 3');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => /\d\d:\d\d you: one for the log/.test(screen()), '/history output');
    const lines = screen().split('\n');
    const at = lines.findIndex((l) => l.includes('> /history bob 3'));
    assert.match(lines[at + 1] ?? '', /\d\d:\d\d bob: x\^\[\[2J/, 'bob\'s hostile message, sanitised in history too');
    assert.match(lines[at + 2] ?? '', /\d\d:\d\d you: short one$/);
    assert.match(lines[at + 3] ?? '', /\d\d:\d\d you: one for the log$/);
  });

  it('tells once that an offline friend cannot be reached, and counts what waits for them', async () => {
    tmux('send-keys', '-t', 'amy', '-l', 'cat/are you there?');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => screen().includes('cat cannot be reached now'), 'the waiting notice');
    assert.match(screen(), /1 message waits and leaves when cat can be/);
    tmux('send-keys', '-t', 'amy', '-l', 'cat/hello?');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => screen().includes('* queued for cat (2 messages waiting)'), 'the count');
    assert.equal(screen().split('cannot be reached now').length - 1, 1, 'the notice is not repeated');
    tmux('send-keys', '-t', 'amy', '-l', '/switch bob');
    tmux('send-keys', '-t', 'amy', 'Enter');
  });

  it('/who, /help, an unknown command, and /quit', async () => {
    tmux('send-keys', '-t', 'amy', '-l', '/who');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => /bob {2}127\.0\.0\.1:\d+ {2}\(connected\)/.test(screen()), '/who output');
    tmux('send-keys', '-t', 'amy', '-l', '/help');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => screen().includes('/decline NAME'), '/help output');
    tmux('send-keys', '-t', 'amy', '-l', '/dance');
    tmux('send-keys', '-t', 'amy', 'Enter');
    await until(() => screen().includes('unknown command /dance; type /help'), 'the refusal');
    tmux('send-keys', '-t', 'amy', '-l', '/quit');
    tmux('send-keys', '-t', 'amy', 'Enter');
    assert.equal((await bob.next('ended')).with, 'amy');
  });
});
