/** History with real processes: kept across restarts, shown by the history command, and not kept with --no-history. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { tempDir } from '../helpers/tmp.ts';

const procs: ChatProc[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

it('history survives a restart, answers the history command, and --no-history keeps none', async () => {
  const [alicePort, bobPort] = (await freePorts(2)) as [number, number];
  const table = join(tempDir('history'), 'friends.json');
  writeFileSync(table, JSON.stringify([{ name: 'alice', ip: '127.0.0.1', port: alicePort }, { name: 'bob', ip: '127.0.0.1', port: bobPort }]));
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
    [['out', 'one'], ['in', 'two']],
    'both directions, oldest first, after a restart',
  );
  alice.send({ cmd: 'history', with: 'bob', count: 1 });
  assert.deepEqual(((await alice.next('history')).entries as { text: string }[]).map((e) => e.text), ['two'], 'the last N');
  alice.send({ cmd: 'history', with: 'bob', count: 0 });
  assert.equal((await alice.next('error')).code, 'NATTER_ERR_BAD_COMMAND');

  bob.send({ cmd: 'history', with: 'alice' });
  assert.deepEqual((await bob.next('history')).entries, [], '--no-history keeps none');
  const bobData = join(homes.bob, 'data', 'natter', 'bob');
  assert.ok(existsSync(join(bobData, 'received.jsonl')), 'received ids are kept all the same');
  assert.ok(!existsSync(join(bobData, 'history')) || readdirSync(join(bobData, 'history')).length === 0, 'no history file');
});
