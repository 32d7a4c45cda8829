/** `natter chat --directory` end to end: a real directory and real chat processes in JSON mode. */
import assert from 'node:assert/strict';
import { once } from 'node:events';

import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { freshHome, runNatter, startDirectoryProcess, type NatterProcess, said } from '../helpers/cli.ts';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { tempDir } from '../helpers/tmp.ts';

const procs: { kill(signal: NodeJS.Signals): void; exited?: Promise<unknown>; exit?: () => Promise<unknown> }[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await (p.exited ?? p.exit?.());
  }
});

async function directory(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ proc: NatterProcess; target: string; port: number }> {
  const d = await startDirectoryProcess(['--alive-interval', '0.5', ...args], undefined, env);
  procs.push(d.proc);
  return { proc: d.proc, target: `127.0.0.1:${d.port}`, port: d.port };
}

async function peer(name: string, target: string, extra: string[] = []): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--directory', target, ...extra]);
  procs.push(p);
  const ready = await p.next('ready');
  assert.equal(ready.name, name);
  return p;
}

const names = (e: Event) => (e.peers as { name: string }[]).map((p) => p.name).sort();

describe('natter chat with a directory (JSON mode, real processes)', () => {
  it('registers, lists, chats both ways, declines, is busy, ends and chats again, quits cleanly', async () => {
    const { target } = await directory();
    const alice = await peer('alice', target);
    const bob = await peer('bob', target, ['--max-chats', '1']);
    const carol = await peer('carol', target, ['--auto-accept']);
    const ready = alice.events[0] as unknown as { ip: string; port: number };
    assert.match(`${ready.ip}:${ready.port}`, /^127\.0\.0\.1:5\d{4}$/);

    alice.send({ cmd: 'who' });
    const who = await alice.next('who');
    assert.deepEqual(names(who), ['alice', 'bob', 'carol']);
    for (const p of who.peers as { ip: string; port: number }[]) assert.ok(p.ip === '127.0.0.1' && p.port >= 50_000);

    // bob declines alice
    alice.send({ cmd: 'connect', to: 'bob' });
    assert.equal((await bob.next('request')).from, 'alice');
    bob.send({ cmd: 'decline', from: 'alice' });
    assert.deepEqual(await alice.next('declined'), { type: 'declined', by: 'bob', reason: 'declined' });

    // then accepts; messages flow both ways
    alice.send({ cmd: 'send', to: 'bob', text: 'second try' });
    await bob.next('request');
    bob.send({ cmd: 'accept', from: 'alice' });
    assert.deepEqual(await alice.next('connected'), { type: 'connected', with: 'bob', link: 'direct' });
    assert.deepEqual(said(await bob.next('message')), { type: 'message', from: 'alice', text: 'second try' });
    bob.send({ cmd: 'send', to: 'alice', text: 'héllo ✓' });
    assert.deepEqual(said(await alice.next('message')), { type: 'message', from: 'bob', text: 'héllo ✓' });

    // bob holds one chat at most: carol is told he is busy
    carol.send({ cmd: 'connect', to: 'bob' });
    assert.deepEqual(await carol.next('declined'), { type: 'declined', by: 'bob', reason: 'busy' });

    // multiple chats at once: alice with bob and carol
    alice.send({ cmd: 'send', to: 'carol', text: 'hi carol' });
    assert.deepEqual(said(await carol.next('message')), { type: 'message', from: 'alice', text: 'hi carol' });
    carol.send({ cmd: 'send', to: 'alice', text: 'hi alice' });
    assert.deepEqual(said(await alice.next('message')), { type: 'message', from: 'carol', text: 'hi alice' });
    alice.send({ cmd: 'send', to: 'bob', text: 'still there?' });
    assert.equal((await bob.next('message')).text, 'still there?');

    // END, then a new chat
    bob.send({ cmd: 'end', with: 'alice' });
    assert.deepEqual(await alice.next('ended'), { type: 'ended', with: 'bob', reason: 'remote' });
    assert.deepEqual(await bob.next('ended'), { type: 'ended', with: 'alice', reason: 'local' });
    bob.send({ cmd: 'connect', to: 'alice' });
    assert.equal((await alice.next('request')).from, 'bob');
    alice.send({ cmd: 'accept', from: 'bob' });
    assert.equal((await bob.next('connected')).with, 'alice');

    // /quit: END to every chat, DOWN, exit 0
    alice.send({ cmd: 'quit' });
    assert.deepEqual(await alice.exit(), { code: 0, signal: null });
    assert.equal((await bob.next('ended')).with, 'alice');
    assert.equal((await carol.next('ended')).with, 'alice');
    carol.send({ cmd: 'who' });
    assert.deepEqual(names(await carol.next('who')), ['bob', 'carol']);
    for (const p of [alice, bob, carol]) for (const e of p.allEvents()) assert.equal(typeof e.type, 'string');
  });

  it('bad commands get error events, never a crash; a 250-character limit; unknown and offline peers', async () => {
    const { target } = await directory();
    const dana = await peer('dana', target);
    for (const [line, code] of [
      ['not json\n', 'NATTER_ERR_BAD_COMMAND'],
      ['[1,2]\n', 'NATTER_ERR_BAD_COMMAND'],
      ['{"cmd":"fly"}\n', 'NATTER_ERR_UNKNOWN_COMMAND'],
      ['{"cmd":"send","to":"x"}\n', 'NATTER_ERR_BAD_COMMAND'],
      ['{"cmd":"connect","to":"no body"}\n', 'NATTER_ERR_INVALID_NAME'],
      ['{"cmd":"connect","to":"nobody"}\n', 'NATTER_ERR_UNKNOWN_PEER'],
      ['{"cmd":"accept","from":"nobody"}\n', 'NATTER_ERR_NO_SUCH_REQUEST'],
      [`${JSON.stringify({ cmd: 'send', to: 'nobody', text: 'x'.repeat(251) })}\n`, 'NATTER_ERR_MESSAGE_TOO_LONG'],
    ] as const) {
      dana.writeRaw(line);
      const e = await dana.next('error');
      assert.equal(e.code, code, line);
      assert.equal(typeof e.message, 'string');
    }
    const eli = await peer('eli', target, ['--auto-accept']);
    dana.send({ cmd: 'send', to: 'eli', text: 'y'.repeat(250) });
    assert.equal(((await eli.next('message')).text as string).length, 250, '250 characters pass');
    eli.kill('SIGKILL');
    await eli.exit();
    dana.send({ cmd: 'end', with: 'eli' });
    dana.send({ cmd: 'connect', to: 'eli' });
    const offline = await dana.next('error', (e) => e.code !== 'NATTER_ERR_NO_SUCH_CHAT');
    assert.match(String(offline.code), /NATTER_ERR_(UNKNOWN_PEER|PEER_UNREACHABLE)/);
  });

  it('a peer killed with SIGKILL leaves WHO within two alive intervals', async () => {
    const { target } = await directory();
    const fay = await peer('fay', target);
    const gus = await peer('gus', target);
    gus.kill('SIGKILL');
    await gus.exit();
    const started = Date.now();
    for (;;) {
      fay.send({ cmd: 'who' });
      if (names(await fay.next('who')).join() === 'fay') break;
      assert.ok(Date.now() - started < 1_000, 'gone within two intervals of 0.5 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('re-registers by itself after the directory restarts, and never with another directory on its address', async () => {
    const home = freshHome(); // the directory's identity, kept across its restart
    const first = await directory([], { XDG_CONFIG_HOME: home });
    const hal = await peer('hal', first.target);
    const ivy = await peer('ivy', first.target);
    first.proc.kill('SIGKILL');
    await first.proc.exited;
    assert.match(String((await hal.next('notice')).message), /directory unreachable.*retrying/);
    // Something else (another key) takes the address: refused, with both fingerprints.
    const impostor = await directory(['--port', String(first.port)]);
    const refused = await hal.next('notice', (e) => /NATTER_ERR_KEY_MISMATCH|proved key/.test(String(e.message)), 15_000);
    assert.match(
      String(refused.message),
      /proved key ([a-z2-7]{4} ){7}[a-z2-7]{4}, but ([a-z2-7]{4} ){7}[a-z2-7]{4} was pinned.*--trust-directory/,
    );
    impostor.proc.kill('SIGKILL');
    await impostor.proc.exited;
    const second = await directory(['--port', String(first.port)], { XDG_CONFIG_HOME: home });
    assert.equal(second.port, first.port);
    await hal.next('notice', (e) => /registered with the directory again/.test(String(e.message)), 40_000);
    await ivy.next('notice', (e) => /registered with the directory again/.test(String(e.message)), 40_000);
    hal.send({ cmd: 'who' });
    assert.deepEqual(names(await hal.next('who')), ['hal', 'ivy']);
  });

  it('SHUTDOWN from the directory: every peer says so and exits 0', async () => {
    // The operator runs the directory and `natter admin` with one identity: its key is the admin key by default.
    const identity = join(tempDir('chat'), 'identity.json');
    const { proc, target } = await directory(['--identity', identity, '--new-identity']);
    const jo = await peer('jo', target);
    const kim = await peer('kim', target);
    const r = await runNatter(['admin', 'shutdown', '--directory', target, '--identity', identity]);
    assert.equal(r.code, 0, r.stderr);
    for (const p of [jo, kim]) {
      await p.next('shutdown');
      assert.deepEqual(await p.exit(), { code: 0, signal: null });
    }
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('a directory that is not there is a clear error at start', async () => {
    const { proc, target } = await directory();
    proc.kill('SIGKILL');
    await proc.exited;
    const r = await runNatter(['chat', '--json', '--name', 'lou', '--directory', target]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /no directory answers at 127\.0\.0\.1:\d+.*NATTER_ERR_DIRECTORY_UNAVAILABLE/);
  });

  it('when the assigned port is busy on this machine, it gives it back and takes another', async () => {
    const blocker = createServer();
    blocker.listen(51_500, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const { target } = await directory(['--port-range', '51500-51510']);
      const nia = await peer('nia', target);
      assert.equal(nia.events[0]?.port, 51_501);
      nia.send({ cmd: 'who' });
      const [entry] = (await nia.next('who')).peers as { fingerprint: string }[];
      assert.deepEqual(
        { ...entry, fingerprint: undefined },
        { name: 'nia', ip: '127.0.0.1', port: 51_501, source: 'directory', fingerprint: undefined },
      );
      assert.match(String(entry?.fingerprint), /^([a-z2-7]{4} ){7}[a-z2-7]{4}$/);
    } finally {
      blocker.close();
    }
  });

  it('a taken name is a clear error at start', async () => {
    const { target } = await directory();
    await peer('mo', target);
    const r = await runNatter(['chat', '--json', '--name', 'mo', '--directory', target]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the name mo is online with another key.*NATTER_ERR_NAME_TAKEN/);
  });
});
