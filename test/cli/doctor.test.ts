/** `natter doctor` and /doctor on one machine (behind a NAT: test/netns/reach.test.ts). */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ChatProc } from '../helpers/chat-proc.ts';
import { freshHome, NatterProcess, startDirectoryProcess } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';

const procs: { kill(signal: NodeJS.Signals): void }[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

async function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new NatterProcess(args, { env });
  procs.push(p);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

describe('natter doctor', () => {
  it('with a directory on this machine: reachable, no NAT, the port reachable, exit 0; the JSON has every field', async () => {
    const d = await startDirectoryProcess();
    procs.push(d.proc);
    const target = `127.0.0.1:${d.port}`;
    const home = freshHome();
    const json = await run(['doctor', '--directory', target, '--json', '--no-lan'], { XDG_CONFIG_HOME: home });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(report).sort(), ['behindNat', 'directory', 'inbound', 'lan', 'localIps', 'ok', 'publicIp', 'relay']);
    const dir = report.directory as Record<string, unknown>;
    assert.equal(dir.address, target);
    assert.equal(dir.reachable, true);
    assert.match(String(dir.fingerprint), /^([a-z2-7]{4} ){7}[a-z2-7]{4}$/);
    assert.equal(dir.pin, 'new');
    assert.ok(typeof dir.rttMs === 'number' && dir.rttMs >= 0);
    assert.equal(report.publicIp, '127.0.0.1');
    assert.equal(report.behindNat, false);
    assert.equal((report.inbound as { reachable: boolean }).reachable, true);
    assert.deepEqual(report.relay, { available: true });
    assert.deepEqual(report.lan, { enabled: false, peers: 0 });
    assert.equal(report.ok, true);
    const words = await run(['doctor', '--directory', target, '--no-lan'], { XDG_CONFIG_HOME: home });
    assert.equal(words.code, 0);
    assert.match(words.stdout, /^natter doctor\n/);
    assert.match(words.stdout, /reachable, round trip [\d.]+ ms/);
    assert.match(words.stdout, /no NAT in between/);
    assert.match(words.stdout, /LAN discovery: off/);
    assert.match(words.stdout, /=> everything needed to chat works\n$/);
  });

  it('with no directory there: says so with a hint, exit 1', async () => {
    const [port] = await freePorts(1);
    const r = await run(['doctor', '--directory', `127.0.0.1:${port}`, '--no-lan']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /! directory 127\.0\.0\.1:\d+: not reachable .*Check the address/);
    assert.match(r.stdout, /=> something needed to chat does not work/);
  });

  it('/doctor inside natter chat reports the same, as an event', async () => {
    const d = await startDirectoryProcess();
    procs.push(d.proc);
    const p = new ChatProc(['--name', 'doc', '--directory', `127.0.0.1:${d.port}`]);
    procs.push(p);
    await p.next('ready');
    p.send({ cmd: 'doctor' });
    const e = await p.next('doctor', () => true, 10_000);
    assert.equal((e.directory as { reachable: boolean }).reachable, true);
    assert.equal((e.directory as { pin: string }).pin, 'pinned', 'natter chat pinned it at start');
    assert.equal(e.ok, true);
    assert.ok(Array.isArray(e.lines) && (e.lines as string[]).some((l) => /everything needed to chat works/.test(l)));
  });
});
