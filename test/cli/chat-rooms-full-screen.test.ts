/**
 * Rooms in the full-screen UI, in a real terminal (tmux): a buffer per
 * room, its members in the title, a plain line typed there goes to the
 * room, delivery marked once every member has it. bob is driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { cast } from '../helpers/room-cast.ts';
import { Tmux } from '../helpers/tmux.ts';

const term = new Tmux();
const procs: ChatProc[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  term.kill();
});

const rows = (name: string): string[] => term.rows(name).slice(0, Number(term.format(name, 'pane_height')));
const statusBar = (name: string): string => rows(name).at(-2) ?? '';
const inputRow = (name: string): string => rows(name).at(-1) ?? '';

describe('natter chat full-screen UI: rooms (tmux)', () => {
  it('a buffer per room: unread counts, the member list in its title, lines typed there go to the room', async () => {
    const c = await cast(['amy', 'bob']);
    const home = c.homes.get('amy') as string;
    term.natter(
      'amy',
      ['chat', '--name', 'amy', '--friends', c.table, '--no-notify'],
      { XDG_CONFIG_HOME: home, XDG_DATA_HOME: `${home}/data` },
      100,
      24,
    );
    await term.until('amy', (s) => s.includes('amy ready at 127.0.0.1:'), 'amy ready');
    const bob = new ChatProc(['--name', 'bob', '--friends', c.table], { XDG_CONFIG_HOME: c.homes.get('bob') as string });
    procs.push(bob);
    await bob.next('ready');

    term.line('amy', '/room create club');
    await term.until('amy', () => /\d:#club/.test(statusBar('amy')), 'a buffer for #club');
    term.line('amy', '/invite club bob');
    const invite = await bob.next('room-invite');
    bob.send({ cmd: 'room-join', room: invite.room });
    await bob.next('room-joined');
    bob.send({ cmd: 'room-send', room: 'club', text: 'hi room' });
    await term.until('amy', () => /#club\(\d\)/.test(statusBar('amy')), 'unread in #club');
    const index = /(\d):#club/.exec(statusBar('amy'))?.[1] as string;
    term.press('amy', `M-${index}`);
    await term.until('amy', (s) => s.includes('bob: hi room'), "bob's message in the room's buffer");
    assert.equal(inputRow('amy'), '#club>');
    assert.match(rows('amy')[0] as string, /#club .*amy, bob/);

    term.line('amy', 'hello everyone');
    const m = await bob.next('room-message', (e) => e.text === 'hello everyone');
    assert.deepEqual([m.from, m.name], ['amy', 'club']);
    await term.until('amy', (s) => /amy: hello everyone ✓/.test(s), 'marked delivered once every member has it');
    term.line('amy', '/who');
    await term.until(
      'amy',
      (s) => /bob +friends +127\.0\.0\.1:\d+ [^\n]* connected, direct\s+#club: reachable now/.test(s),
      '/who marks bob as a member reachable now',
    );
  });
});
