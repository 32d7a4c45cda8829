/**
 * A data directory damaged on disk no longer stops natter: the records that
 * could never be sent are skipped with one notice naming the file and the
 * lines, and the good messages queued around them are delivered. Real
 * directory, real chat processes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { newMessageId } from '../../src/peer/store/message-id.ts';
import { ChatProc } from '../helpers/chat-proc.ts';
import { startDirectoryProcess, type NatterProcess } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const procs: { kill(signal: NodeJS.Signals): void }[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

async function peer(name: string, target: string, extra: string[] = []): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--directory', target, ...extra]);
  procs.push(p);
  await p.next('ready');
  return p;
}

const queued = (text: string, ts = Date.now()): string => `${JSON.stringify({ op: 'queue', id: newMessageId(), peer: 'bob', ts, text })}\n`;

describe('a damaged data directory (JSON mode)', () => {
  it('skips what could never be sent, says where it was, and delivers the rest', async () => {
    const d: { proc: NatterProcess; port: number } = await startDirectoryProcess(['--alive-interval', '0.5']);
    procs.push(d.proc);
    const target = `127.0.0.1:${d.port}`;
    const dir = tempDir('damaged');
    const outbox = join(dir, 'outbox.jsonl');
    // What crashed every start before: a text past the protocol's limit, and a time of 1e20.
    writeFileSync(outbox, queued('first') + queued('y'.repeat(4_097)) + queued('second', 1e20) + queued('third'));
    const bob = await peer('bob', target, ['--auto-accept']);
    const amy = await peer('amy', target, ['--data-dir', dir]);
    const notice = await amy.next('notice', (e) => String(e.message).includes('outbox.jsonl'));
    assert.match(
      String(notice.message),
      new RegExp(
        `^${outbox.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: skipped 2 damaged records \\(line 2: a text of 4,097 bytes \\(the most is 4,096\\); line 3: a time out of range`,
      ),
    );
    const texts = [];
    for (let i = 0; i < 2; i++) texts.push((await bob.next('message', () => true, 15_000)).text);
    assert.deepEqual(texts, ['first', 'third']);
    await amy.next('delivered', () => true, 8_000);
    amy.send({ cmd: 'send', to: 'bob', text: 'still here' });
    assert.equal((await bob.next('message')).text, 'still here');
    amy.send({ cmd: 'quit' });
    assert.equal((await amy.exit()).code, 0);
  });
});
