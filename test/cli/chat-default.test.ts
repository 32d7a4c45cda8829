/**
 * The zero-setup default: the same command in several terminals, different
 * names. The first peer hosts the local directory; when it quits, the others
 * are not stranded: one of them hosts a new one and everyone registers there.
 * Uses its own rendezvous port so that it never meets a natter the developer runs,
 * and no LAN (test/netns/lan-chat.test.ts has it), so nothing leaves this machine.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { join } from 'node:path';
import { freshHome, runNatter, said } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';

const procs: ChatProc[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exit();
  }
});

describe('natter chat with no directory and no friends table', () => {
  it('peers on one machine find each other; the host quitting strands nobody', async () => {
    const [port] = await freePorts(1);
    const start = async (name: string) => {
      const p = new ChatProc(['--name', name, '--local-directory', `127.0.0.1:${port}`, '--no-lan']);
      procs.push(p);
      return { p, ready: await p.next('ready') };
    };
    const ann = await start('ann');
    assert.match(String(ann.ready.via), /\(hosted here\)/);
    const ben = await start('ben');
    assert.doesNotMatch(String(ben.ready.via), /hosted here/);
    const cal = await start('cal');

    ben.p.send({ cmd: 'send', to: 'ann', text: 'hi ann' });
    assert.equal((await ann.p.next('request')).from, 'ben');
    ann.p.send({ cmd: 'accept', from: 'ben' });
    assert.deepEqual(said(await ann.p.next('message')), { type: 'message', from: 'ben', text: 'hi ann' });

    ann.p.send({ cmd: 'quit' });
    assert.deepEqual(await ann.p.exit(), { code: 0, signal: null });
    assert.equal((await ben.p.next('ended')).with, 'ann');
    const isBack = (e: Event) => /registered with the directory again/.test(String(e.message));
    const back = [await ben.p.next('notice', isBack), await cal.p.next('notice', isBack)];
    assert.equal(back.filter((e) => /now hosted here/.test(String(e.message))).length, 1, 'exactly one took over');
    assert.equal(
      ben.p.allEvents().some((e) => e.type === 'shutdown'),
      false,
      'nobody was told to shut down',
    );

    const dee = await start('dee');
    dee.p.send({ cmd: 'who' });
    assert.deepEqual(((await dee.p.next('who')).peers as { name: string }[]).map((p) => p.name).sort(), ['ben', 'cal', 'dee']);
    dee.p.send({ cmd: 'send', to: 'cal', text: 'hello cal' });
    assert.equal((await cal.p.next('request')).from, 'dee');
  });

  it('an admin SHUTDOWN of the hosted directory strands nobody, and names stay bound to their keys', async () => {
    const [port] = await freePorts(1);
    const annHome = freshHome();
    const start = async (name: string, env: NodeJS.ProcessEnv = {}) => {
      const p = new ChatProc(['--name', name, '--local-directory', `127.0.0.1:${port}`, '--no-lan'], env);
      procs.push(p);
      return { p, ready: await p.next('ready') };
    };
    const ann = await start('ann', { XDG_CONFIG_HOME: annHome });
    assert.match(String(ann.ready.via), /\(hosted here\)/);
    const ben = await start('ben');
    const cal = await start('cal');
    // The host's own identity is the hosted directory's admin key.
    const r = await runNatter([
      'admin',
      'shutdown',
      '--directory',
      `127.0.0.1:${port}`,
      '--identity',
      join(annHome, 'natter', 'identity.json'),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const isBack = (e: Event) => /registered with the directory again/.test(String(e.message));
    for (const p of [ann, ben, cal]) {
      await p.p.next('notice', (e) => /ignored a SHUTDOWN/.test(String(e.message)));
      await p.p.next('notice', isBack);
    }
    assert.equal(
      [ann, ben, cal].some((p) => p.p.allEvents().some((e) => e.type === 'shutdown')),
      false,
      'nobody shut down',
    );
    // ben is registered again: another key cannot take his name.
    const impostor = new ChatProc(['--name', 'ben', '--local-directory', `127.0.0.1:${port}`, '--no-lan']);
    procs.push(impostor);
    assert.equal((await impostor.exit()).code, 1);
    assert.match(impostor.proc.stderr, /NATTER_ERR_NAME_TAKEN/);
    const dee = await start('dee');
    dee.p.send({ cmd: 'who' });
    assert.deepEqual(((await dee.p.next('who')).peers as { name: string }[]).map((p) => p.name).sort(), ['ann', 'ben', 'cal', 'dee']);
    ben.p.send({ cmd: 'send', to: 'cal', text: 'still here' });
    assert.equal((await cal.p.next('request')).from, 'ben');
  });
});
