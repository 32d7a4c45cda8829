/**
 * Rooms in the line UI: `natter chat --ui line` on pipes, typed commands in,
 * its lines out; the other member is driven in JSON mode.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { NatterProcess } from '../helpers/cli.ts';
import { cast } from '../helpers/room-cast.ts';

const procs: { kill(signal: NodeJS.Signals): void }[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

describe('natter chat --ui line: rooms', () => {
  it('/room create, /invite, #ROOM/message, /members, /history #ROOM; [#club] bob: hi', async () => {
    const c = await cast(['amy', 'bob']);
    const amy = new NatterProcess(['chat', '--ui', 'line', '--name', 'amy', '--friends', c.table], {
      env: { XDG_CONFIG_HOME: c.homes.get('amy') as string },
    });
    procs.push(amy);
    await amy.waitFor(/amy ready at/, 10_000);
    const bob = new ChatProc(['--name', 'bob', '--friends', c.table], { XDG_CONFIG_HOME: c.homes.get('bob') as string });
    procs.push(bob);
    await bob.next('ready');

    amy.write('/room create club\n');
    await amy.waitFor(/\* you are in #club \([0-9a-f]{32}\) with amy/, 5_000);
    amy.write('/invite club bob\n');
    const invite = await bob.next('room-invite');
    assert.deepEqual([invite.name, invite.from], ['club', 'amy']);
    bob.send({ cmd: 'room-join', room: invite.room });
    await bob.next('room-joined');
    await amy.waitFor(/\* #club: amy\*\+, bob\+?/, 5_000);

    bob.send({ cmd: 'room-send', room: 'club', text: 'hi' });
    await amy.waitFor(/\[#club\] bob: hi/, 5_000);
    amy.write('#club/hello bob\n');
    const m = await bob.next('room-message');
    assert.deepEqual([m.from, m.text, m.name], ['amy', 'hello bob', 'club']);
    await amy.waitFor(/✓ \[#club\] bob has it/, 5_000);

    amy.write('/members club\n');
    // Both online now: `+` marks who can be reached.
    await amy.waitFor(/\* #club: amy\*\+, bob\+\n/, 5_000);
    amy.write('/who\n');
    await amy.waitFor(/bob +friends +127\.0\.0\.1:\d+ .* connected, direct +#club: reachable now\n/, 5_000);
    amy.write('/history #club\n');
    await amy.waitFor(/\d\d:\d\d \[#club\] bob: hi\n.*\[#club\] amy: hello bob/, 5_000);
    // A room can be the current conversation: plain lines go to it.
    amy.write('/switch #club\n');
    amy.write('plain line to the room\n');
    assert.equal((await bob.next('room-message', (e) => e.text === 'plain line to the room')).from, 'amy');
    amy.write('/kick club zed\n');
    await amy.waitFor(/! zed is not a member of #club/, 5_000);
    amy.write('#nowhere/hi\n');
    await amy.waitFor(/! no room "nowhere" here/, 5_000);
  });
});
