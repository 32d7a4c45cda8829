/**
 * The outbox in JSON mode: what waits can be listed and dropped, and a
 * message to a name no source has ever seen says so once. Real directory,
 * real chat processes.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome, startDirectoryProcess, type NatterProcess } from '../helpers/cli.ts';

const procs: { kill(signal: NodeJS.Signals): void }[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

async function directory(): Promise<string> {
  const d: { proc: NatterProcess; port: number } = await startDirectoryProcess(['--alive-interval', '0.5']);
  procs.push(d.proc);
  return `127.0.0.1:${d.port}`;
}

async function peer(name: string, target: string, env: NodeJS.ProcessEnv = {}): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--directory', target], env);
  procs.push(p);
  await p.next('ready');
  return p;
}

describe('the outbox (JSON mode)', () => {
  it('lists what waits per name, drops it on request, and the next start no longer has it', async () => {
    const target = await directory();
    const home = freshHome();
    const amy = await peer('amy', target, { XDG_CONFIG_HOME: home });
    const bob = await peer('bob', target);
    amy.send({ cmd: 'who' });
    await amy.next('who');
    bob.send({ cmd: 'quit' });
    await bob.exit();

    amy.send({ cmd: 'send', to: 'nobody', text: 'typo 1' });
    const unknown = await amy.next('waiting', (e) => e.to === 'nobody');
    assert.deepEqual(unknown, {
      type: 'waiting',
      to: 'nobody',
      count: 1,
      code: 'NATTER_ERR_UNKNOWN_PEER',
      reason: 'nobody is not online',
      unknown: true,
    });
    amy.send({ cmd: 'send', to: 'nobody', text: 'typo 2' });
    amy.send({ cmd: 'send', to: 'bob', text: 'for later' });
    const seen = await amy.next('waiting', (e) => e.to === 'bob');
    assert.equal(seen.unknown, undefined, 'bob was listed by the directory before: no typo hint');

    amy.send({ cmd: 'outbox' });
    const before = Date.now();
    const outbox = await amy.next('outbox');
    const waiting = outbox.waiting as { to: string; count: number; oldest: number }[];
    assert.deepEqual(
      waiting.map(({ to, count }) => ({ to, count })),
      [
        { to: 'nobody', count: 2 },
        { to: 'bob', count: 1 },
      ],
    );
    for (const w of waiting) assert.ok(w.oldest <= before && w.oldest > before - 60_000, 'oldest is when the first one was entered');

    amy.send({ cmd: 'drop', to: 'nobody' });
    assert.deepEqual(await amy.next('dropped'), { type: 'dropped', to: 'nobody', count: 2 });
    amy.send({ cmd: 'drop', to: 'nobody' });
    assert.deepEqual(await amy.next('dropped'), { type: 'dropped', to: 'nobody', count: 0 });
    amy.send({ cmd: 'drop', to: 'bad name' });
    assert.equal((await amy.next('error')).code, 'NATTER_ERR_INVALID_NAME');
    amy.send({ cmd: 'drop' });
    assert.equal((await amy.next('error')).code, 'NATTER_ERR_BAD_COMMAND');
    amy.send({ cmd: 'outbox' });
    assert.deepEqual(
      ((await amy.next('outbox')).waiting as { to: string }[]).map((w) => w.to),
      ['bob'],
    );

    amy.send({ cmd: 'quit' });
    await amy.exit();
    const again = await peer('amy', target, { XDG_CONFIG_HOME: home });
    const recovered = await again.next('queued', (e) => e.recovered === true);
    assert.equal(recovered.to, 'bob');
    again.send({ cmd: 'outbox' });
    await again.next('outbox');
    assert.deepEqual(
      again
        .allEvents()
        .filter((e) => e.type === 'queued')
        .map((e) => e.to),
      ['bob'],
      'the dropped messages did not come back',
    );
  });
});
