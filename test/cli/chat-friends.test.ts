/**
 * `natter chat --friends` end to end with the shipped examples/friends.json:
 * no server involved. The example's fixed ports may be taken on a busy
 * machine, so the chats run on a copy of it with free ports.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, before, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { runNatter, said } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const SHIPPED = fileURLToPath(new URL('../../examples/friends.json', import.meta.url));
type Entry = { name: string; ip: string; port: number };
let EXAMPLE = SHIPPED;
/** The port of user_n in the copy. */
let PORTS: number[] = [];

before(async () => {
  const table = JSON.parse(readFileSync(SHIPPED, 'utf8')) as { friends: Entry[] };
  assert.deepEqual(
    table.friends.map((f) => [f.name, f.ip, f.port]),
    [
      ['user_1', '127.0.0.1', 50_000],
      ['user_2', '127.0.0.1', 50_001],
      ['user_3', '127.0.0.1', 50_002],
    ],
    'the shipped example is what README shows',
  );
  PORTS = await freePorts(3);
  EXAMPLE = join(tempDir('friends'), 'friends.json');
  writeFileSync(EXAMPLE, JSON.stringify({ friends: table.friends.map((f, i) => ({ ...f, port: PORTS[i] })) }));
});

const procs: ChatProc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exit();
  }
});

async function user(n: number, extra: string[] = []): Promise<ChatProc> {
  const p = new ChatProc(['--name', `user_${n}`, '--friends', EXAMPLE, ...extra]);
  procs.push(p);
  assert.deepEqual(await p.next('ready'), {
    type: 'ready',
    name: `user_${n}`,
    ip: '127.0.0.1',
    port: PORTS[n - 1],
    via: `friends table ${EXAMPLE}`,
  });
  return p;
}

describe('natter chat --friends (the three example users)', () => {
  it('friends chat at once, both ways, over one reused connection per pair', async () => {
    const [u1, u2, u3] = [await user(1), await user(2), await user(3)];
    for (let i = 0; i < 30; i++) u1.send({ cmd: 'send', to: 'user_2', text: `to 2 #${i}` });
    u1.send({ cmd: 'send', to: 'user_3', text: 'to 3' });
    for (let i = 0; i < 30; i++) assert.deepEqual(said(await u2.next('message')), { type: 'message', from: 'user_1', text: `to 2 #${i}` });
    assert.equal((await u3.next('message')).text, 'to 3');
    assert.equal(
      (await u2.allEvents()).some((e) => e.type === 'request'),
      false,
      'friends are accepted without asking',
    );
    for (let i = 0; i < 10; i++) u2.send({ cmd: 'send', to: 'user_1', text: `back #${i}` });
    for (let i = 0; i < 10; i++) assert.equal((await u1.next('message', (e) => e.from === 'user_2')).text, `back #${i}`);
    u1.send({ cmd: 'dump' });
    const d1 = await u1.next('dump');
    u2.send({ cmd: 'dump' });
    const d2 = await u2.next('dump');
    assert.deepEqual(d1.counters, { dialed: 2, accepted: 0, idleClosed: 0 }, 'user_1 dialled each friend once');
    assert.equal((d2.counters as { accepted: number }).accepted, 1);
    assert.equal((d2.counters as { dialed: number }).dialed, 0, 'user_2 answered on the connection user_1 opened');
    assert.equal(d1.connections, 2);

    u3.send({ cmd: 'who' });
    assert.deepEqual((await u3.next('who')).peers, [
      { name: 'user_1', ip: '127.0.0.1', port: PORTS[0], source: 'friends', connected: true, link: 'direct' },
      { name: 'user_2', ip: '127.0.0.1', port: PORTS[1], source: 'friends', connected: false },
    ]);
  });

  it('closes idle connections after --idle-timeout and reopens them for the next message', async () => {
    const u1 = await user(1, ['--idle-timeout', '0.3']);
    const u2 = await user(2, ['--idle-timeout', '0.3']);
    u1.send({ cmd: 'send', to: 'user_2', text: 'first' });
    await u2.next('message');
    for (;;) {
      u1.send({ cmd: 'dump' });
      const d = await u1.next('dump');
      if (d.connections === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    u1.send({ cmd: 'send', to: 'user_2', text: 'after idle' });
    assert.deepEqual(said(await u2.next('message')), { type: 'message', from: 'user_1', text: 'after idle' });
    u1.send({ cmd: 'dump' });
    assert.deepEqual((await u1.next('dump')).counters, { dialed: 2, accepted: 0, idleClosed: 1 });
  });

  it('when stdin ends, the commands already read still run, then it quits with 0', async () => {
    const u2 = await user(2);
    const u1 = await user(1);
    u1.send({ cmd: 'send', to: 'user_2', text: 'last words' });
    u1.proc.child.stdin.end();
    assert.deepEqual(said(await u2.next('message')), { type: 'message', from: 'user_1', text: 'last words' });
    assert.deepEqual(await u1.exit(), { code: 0, signal: null });
    assert.equal((await u2.next('ended')).with, 'user_1', 'quitting ends the chat with END');
  });

  it('an offline friend and a stranger get clear errors', async () => {
    const u1 = await user(1);
    u1.send({ cmd: 'send', to: 'user_3', text: 'are you there?' });
    // An offline friend's message waits in the outbox; the user hears why.
    const queued = await u1.next('queued');
    assert.equal(queued.to, 'user_3');
    const offline = await u1.next('waiting');
    assert.deepEqual([offline.to, offline.count, offline.code], ['user_3', 1, 'NATTER_ERR_PEER_UNREACHABLE']);
    assert.match(String(offline.reason), /user_3 is offline/);
    u1.send({ cmd: 'connect', to: 'user_9' });
    assert.equal((await u1.next('error')).code, 'NATTER_ERR_UNKNOWN_PEER');
    u1.send({ cmd: 'send', to: 'user_9', text: 'hello?' });
    assert.equal((await u1.next('error')).code, 'NATTER_ERR_UNKNOWN_PEER', 'a stranger to the table is refused at once, not queued');
  });

  it('refuses a name that is not in the table, and a broken table, clearly', async () => {
    const r = await runNatter(['chat', '--name', 'user_7', '--friends', EXAMPLE]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /user_7 is not in .*friends\.json/);
    const missing = await runNatter(['chat', '--name', 'user_1', '--friends', '/nonexistent/friends.json']);
    assert.match(missing.stderr, /cannot read the friends file/);
  });
});
