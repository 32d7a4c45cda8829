/**
 * JSON mode with a reader that stops reading: natter must stop reading its
 * peers instead of buffering their messages in memory, so a flooding peer
 * ends up blocked by TCP.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { BIN, childEnv } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { textMsg } from '../helpers/messages.ts';
import { loopbackFriends } from '../helpers/tmp.ts';

it('a stalled stdout makes natter stop reading peers; a flooding peer is held back by TCP', async () => {
  const [amyPort, evePort] = (await freePorts(2)) as [number, number];
  const friends = loopbackFriends('bp', { amy: amyPort, eve: evePort });
  const amy = spawn(process.execPath, [BIN, 'chat', '--json', '--name', 'amy', '--friends', friends], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: childEnv(),
  });
  try {
    await new Promise<void>((resolve) => amy.stdout.once('data', () => resolve()));
    amy.stdout.pause(); // whoever reads natter's events stops reading
    const eve = await RawClient.connect(amyPort);
    eve.send({ type: 'CONN', name: 'eve', ip: '127.0.0.1', port: evePort });
    assert.deepEqual(await eve.next(), { type: 'RESP', accept: true, reason: '' });
    // Each a new message (its own id): copies of one would be dropped, not shown, and fill nothing.
    const text = 'f'.repeat(4000);
    let n = 0;
    const nextFrame = (): Buffer => encodeMessage(textMsg(text, Buffer.from((n++).toString(16).padStart(32, '0'), 'hex')));
    const LIMIT = 64 * 1024 * 1024; // bounded: without backpressure this much would be taken in
    let sent = 0;
    let isBlocked = false;
    while (sent < LIMIT && !isBlocked) {
      const frame = nextFrame();
      if (!eve.socket.write(frame)) {
        isBlocked = !(await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), 1_000);
          eve.socket.once('drain', () => {
            clearTimeout(timer);
            resolve(true);
          });
        }));
      }
      sent += frame.length;
    }
    assert.ok(isBlocked, `the flood was never held back (${sent} bytes taken in)`);
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${amy.pid}/status`, 'utf8'))?.[1]);
    assert.ok(rssKiB < 300 * 1024, `natter's memory stayed bounded: ${rssKiB} KiB after ${sent} bytes`);
    eve.destroy();
  } finally {
    amy.kill('SIGKILL');
  }
});
