/** Rooms in the full-screen UI's model: a buffer per room, its messages, its members in the title, delivery marked once every member has it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spansOf } from '../../../../src/cli/ui/tui/buffers.ts';
import { ChatView } from '../../../../src/cli/ui/tui/chat-view.ts';

const ROOM = '00112233445566778899aabbccddeeff';

function view(): { v: ChatView; alerts: string[] } {
  const alerts: string[] = [];
  const v = new ChatView({
    self: 'amy',
    scrollback: 100,
    historyLines: 10,
    recentHistory: () => [],
    onAlert: (from, _b, title) => alerts.push(`${from}|${title}`),
    now: () => 0,
  });
  return { v, alerts };
}

describe('ChatView: rooms', () => {
  it('gives a room a buffer of its own, named #ROOM, that knows the room it shows', () => {
    const { v, alerts } = view();
    v.present({ type: 'room-joined', room: ROOM, name: 'club', members: ['amy', 'bob'] });
    const index = v.find('#club');
    assert.ok(index > 0);
    const b = v.buffers[index];
    assert.ok(b !== undefined);
    assert.equal(v.roomOf(b), ROOM);
    assert.equal(v.roomOf(v.status), undefined);
    assert.match(v.titleOf(b), /amy, bob/);
    v.present({ type: 'room-message', room: ROOM, name: 'club', from: 'bob', text: 'hi', id: 'a'.repeat(32), ts: 1 });
    v.present({ type: 'room-message', room: ROOM, name: 'club', from: 'cat', text: 'early', id: 'b'.repeat(32), ts: 0, late: true });
    assert.deepEqual(
      b.lines.filter((l) => l.kind === 'message').map((l) => `${l.from}: ${l.text}`),
      ['bob: hi', 'cat: early (late)'],
    );
    assert.equal(b.unread, 2, 'not shown, so unread');
    assert.deepEqual(alerts, ['bob|bob in #club', 'cat|cat in #club']);
  });

  it('marks an own room message delivered once every member holds it', () => {
    const { v } = view();
    v.present({ type: 'room-joined', room: ROOM, name: 'club', members: ['amy', 'bob', 'cat'] });
    const id = 'c'.repeat(32);
    v.present({ type: 'queued', room: ROOM, name: 'club', id, ts: 0, text: 'hello' });
    const b = v.buffers[v.find('#club')];
    const line = () => b?.lines.find((l) => l.id === id);
    assert.equal(line()?.delivery, 'pending');
    v.present({ type: 'delivered', room: ROOM, name: 'club', to: 'bob', id, members: 2 });
    assert.equal(line()?.delivery, 'pending', 'one of two');
    const shown = line();
    assert.ok(shown !== undefined);
    assert.match(
      spansOf(shown)
        .spans.map((sp) => sp.text)
        .join(''),
      /amy: hello ✓ 1\/2$/,
    );
    v.present({ type: 'delivered', room: ROOM, name: 'club', to: 'cat', id, members: 2 });
    assert.equal(line()?.delivery, 'delivered');
  });

  it('/who: the rooms a peer shares and whether it is reachable now, and members nobody lists', () => {
    const { v } = view();
    v.present({
      type: 'who',
      peers: [
        { name: 'bob', ip: '127.0.0.1', port: 7001, source: 'directory', rooms: ['club', 'chess'], reachable: true },
        { name: 'cat', ip: '127.0.0.1', port: 7002, source: 'directory' },
      ],
      members: [{ name: 'dan', rooms: ['club'], reachable: false }],
    });
    const text = v.status.lines.slice(-3).map((l) => l.text);
    assert.match(text[0] ?? '', /^bob +directory +127\.0\.0\.1:7001 +#club #chess: reachable now$/);
    assert.match(text[1] ?? '', /^cat +directory +127\.0\.0\.1:7002$/);
    assert.match(text[2] ?? '', /^dan +member +not listed +#club: not reachable now$/);
  });

  it('says an invitation in the status buffer, and leaving or removal in the room', () => {
    const { v } = view();
    v.present({ type: 'room-invite', room: ROOM, name: 'club', from: 'bob' });
    assert.match(v.status.lines.at(-1)?.text ?? '', /bob invites you to #club: \/join club/);
    v.present({ type: 'room-left', room: ROOM, name: 'club', reason: 'removed' });
    const b = v.buffers[v.find('#club')];
    assert.match(b?.lines.at(-1)?.text ?? '', /you were removed from #club/);
  });
});
