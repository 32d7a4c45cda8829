/** History with real processes: kept across restarts, shown by the history command in the order it happened here, and not kept with --no-history. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { loopbackFriends } from '../helpers/tmp.ts';
import { Tmux } from '../helpers/tmux.ts';

const procs: ChatProc[] = [];
const terms: Tmux[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
  for (const t of terms) t.kill();
});

it('history survives a restart, answers the history command, and --no-history keeps none', async () => {
  const [alicePort, bobPort] = (await freePorts(2)) as [number, number];
  const table = loopbackFriends('history', { alice: alicePort, bob: bobPort });
  const homes = { alice: freshHome(), bob: freshHome() };
  const launch = async (name: 'alice' | 'bob', extra: string[] = []): Promise<ChatProc> => {
    const p = new ChatProc(['--name', name, '--friends', table, ...extra], { XDG_CONFIG_HOME: homes[name] });
    procs.push(p);
    await p.next('ready');
    return p;
  };
  let alice = await launch('alice');
  const bob = await launch('bob', ['--no-history']);
  alice.send({ cmd: 'send', to: 'bob', text: 'one' });
  await alice.next('delivered');
  bob.send({ cmd: 'send', to: 'alice', text: 'two' });
  await alice.next('message');
  alice.send({ cmd: 'quit' });
  assert.equal((await alice.exit()).code, 0);

  alice = await launch('alice');
  alice.send({ cmd: 'history', with: 'bob', count: 5 });
  const h = await alice.next('history');
  assert.deepEqual(
    (h.entries as { dir: string; text: string }[]).map((e) => [e.dir, e.text]),
    [
      ['out', 'one'],
      ['in', 'two'],
    ],
    'both directions, oldest first, after a restart',
  );
  alice.send({ cmd: 'history', with: 'bob', count: 1 });
  assert.deepEqual(
    ((await alice.next('history')).entries as { text: string }[]).map((e) => e.text),
    ['two'],
    'the last N',
  );
  alice.send({ cmd: 'history', with: 'bob', count: 0 });
  assert.equal((await alice.next('error')).code, 'NATTER_ERR_BAD_COMMAND');

  bob.send({ cmd: 'history', with: 'alice' });
  assert.deepEqual((await bob.next('history')).entries, [], '--no-history keeps none');
  const bobData = join(homes.bob, 'data', 'natter', 'bob');
  assert.ok(existsSync(join(bobData, 'received.jsonl')), 'received ids are kept all the same');
  assert.ok(!existsSync(join(bobData, 'history')) || readdirSync(join(bobData, 'history')).length === 0, 'no history file');
});

it("/history keeps the order things happened here, with this machine's times, whatever the sender's clock says", async () => {
  const [amyPort, bobPort] = (await freePorts(2)) as [number, number];
  const table = loopbackFriends('history', { amy: amyPort, bob: bobPort });
  const home = freshHome();
  const term = new Tmux();
  terms.push(term);
  term.natter('amy', ['chat', '--ui', 'line', '--name', 'amy', '--friends', table], {
    XDG_CONFIG_HOME: home,
    XDG_DATA_HOME: `${home}/data`,
  });
  await term.until('amy', (s) => s.includes('amy ready at'), 'the ready line');
  // bob's machine runs two hours behind: his answer carries a time before amy's question.
  const bob = await RawClient.connect(amyPort);
  bob.send({ type: 'CONN', name: 'bob', ip: '127.0.0.1', port: bobPort });
  assert.equal((await bob.next()).type, 'RESP');
  term.line('amy', 'bob/what time is it?');
  const question = await bob.next();
  assert.equal(question.type, 'TEXT');
  bob.send({ type: 'RCPT', id: (question as { id: Uint8Array }).id });
  const lag = 2 * 3_600_000;
  bob.send({ type: 'TEXT', id: Buffer.from('ab'.repeat(16), 'hex'), ts: Date.now() - lag, text: 'half past' });
  await term.until('amy', (s) => s.includes('Message from bob: half past'), 'the answer');
  term.line('amy', '/history bob');
  const screen = await term.until('amy', (s) => /\d\d:\d\d bob: half past/.test(s), '/history');
  const rows = screen.split('\n');
  const asked = rows.findIndex((r) => /^\d\d:\d\d you: what time is it\?$/.test(r));
  const answered = rows.findIndex((r) => /^\d\d:\d\d bob: half past$/.test(r));
  assert.ok(asked >= 0 && answered === asked + 1, `the answer right after the question:\n${screen}`);
  const minutes = (row: string): number => Number(row.slice(0, 2)) * 60 + Number(row.slice(3, 5));
  const apart = (minutes(rows[answered] as string) - minutes(rows[asked] as string) + 1440) % 1440;
  assert.ok(apart <= 1, `both at this machine's time, not two hours apart:\n${rows[asked]}\n${rows[answered]}`);
  bob.destroy();
});
