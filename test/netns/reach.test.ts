/**
 * Reaching peers behind NATs, with real network separation: a "public"
 * namespace with the directory, and two homes, each a host behind its own
 * NAT router (nftables masquerade; unsolicited packets dropped, as home
 * routers do). The hosts reach the directory but not each other. Real
 * natter processes, real sockets, and a capture of every byte that crosses
 * the public side. Needs root; skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { BIN, NatterProcess, freshHome } from '../helpers/cli.ts';
import { Lab, twoHomes } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

const unavailable = Lab.unavailable() ?? (spawnable('tcpdump') ? undefined : 'these tests need tcpdump (Debian package tcpdump)');

function spawnable(cmd: string): boolean {
  try {
    return spawn(cmd, ['--version'], { stdio: 'ignore' }).pid !== undefined;
  } catch {
    return false;
  }
}

const DIRECTORY = '203.0.113.10:7447';
const procs: { kill(signal: NodeJS.Signals): void }[] = [];
afterEach(() => {
  for (const p of procs.splice(0)) p.kill('SIGKILL');
});

/** Runs natter inside a namespace. */
const inside = (ns: string): string[] => ['ip', 'netns', 'exec', ns, process.execPath, BIN];

function startDirectory(lab: Lab, ns: string, identity: string): Promise<NatterProcess> {
  const proc = new NatterProcess(
    [
      'directory',
      '--host',
      '203.0.113.10',
      '--port',
      '7447',
      '--identity',
      identity,
      '--new-identity',
      '--alive-interval',
      '1',
      '--log-level',
      'warn',
    ],
    { command: inside(ns) },
  );
  procs.push(proc);
  void lab;
  return proc.waitFor(/listening on/).then(() => proc);
}

async function peer(ns: string, name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--directory', DIRECTORY, '--auto-accept', '--retry', '0.5', ...extra], env, inside(ns));
  procs.push(p);
  await p.next('ready', () => true, 15_000);
  return p;
}

/** Records every packet on the public switch, until stop(). */
function capture(ns: string, bridge: string): { stop(): Promise<Buffer> } {
  const file = join(tempDir('capture'), 'public.pcap');
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', bridge, '-s', '0', '-U', '-w', file], { stdio: 'ignore' });
  return {
    async stop() {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
      return readFileSync(file);
    },
  };
}

const texts = (p: ChatProc): string[] =>
  p
    .allEvents()
    .filter((e) => e.type === 'message')
    .map((e) => String(e.text));

describe('reaching a peer behind a NAT (network namespaces)', { skip: unavailable }, () => {
  describe('NATs that keep the source port (Linux masquerade)', () => {
    const lab = new Lab();
    let net: ReturnType<typeof twoHomes>;
    before(() => {
      net = twoHomes(lab);
    });
    after(() => lab.destroy());

    it('the peers punch through and chat both ways; nothing of the chat crosses the public side in the clear', async () => {
      await startDirectory(lab, net.pub, join(tempDir('dir'), 'identity.json'));
      const pcap = capture(net.pub, net.bridge);
      const alice = await peer(net.a.host, 'alice');
      const bob = await peer(net.b.host, 'bob');
      const started = Date.now();
      alice.send({ cmd: 'send', to: 'bob', text: 'secret punch phrase one' });
      const connected = await alice.next('connected', () => true, 10_000);
      const tookMs = Date.now() - started;
      assert.equal(connected.link, 'punched', JSON.stringify(alice.allEvents()));
      assert.ok(tookMs < 5_000, `connected after ${tookMs} ms`);
      assert.equal((await bob.next('message')).text, 'secret punch phrase one');
      assert.equal((await bob.next('connected')).link, 'punched');
      bob.send({ cmd: 'send', to: 'alice', text: 'secret punch phrase two' });
      assert.equal((await alice.next('message')).text, 'secret punch phrase two');
      const bytes = await pcap.stop();
      assert.ok(bytes.length > 1_000, 'the capture saw the traffic');
      for (const t of ['secret punch phrase one', 'secret punch phrase two'])
        assert.equal(bytes.includes(t), false, `"${t}" crossed in the clear`);
    });
  });

  describe('NATs that map every connection to a random port', () => {
    const lab = new Lab();
    let net: ReturnType<typeof twoHomes>;
    before(() => {
      net = twoHomes(lab, { isRandomPorts: true });
    });
    after(() => lab.destroy());

    it('punching cannot work, so the directory relays, blind: the chat works, and nothing of it crosses in the clear', async () => {
      await startDirectory(lab, net.pub, join(tempDir('dir'), 'identity.json'));
      const pcap = capture(net.pub, net.bridge);
      const alice = await peer(net.a.host, 'alice');
      const bob = await peer(net.b.host, 'bob');
      const started = Date.now();
      alice.send({ cmd: 'send', to: 'bob', text: 'secret relay phrase one' });
      const connected = await alice.next('connected', () => true, 10_000);
      const tookMs = Date.now() - started;
      assert.equal(connected.link, 'relay', JSON.stringify(alice.allEvents()));
      assert.ok(tookMs < 5_000, `fell back to the relay within ${tookMs} ms`);
      assert.equal((await bob.next('message')).text, 'secret relay phrase one');
      bob.send({ cmd: 'send', to: 'alice', text: 'secret relay phrase two' });
      assert.equal((await alice.next('message')).text, 'secret relay phrase two');
      const bytes = await pcap.stop();
      for (const t of ['secret relay phrase one', 'secret relay phrase two'])
        assert.equal(bytes.includes(t), false, `"${t}" crossed in the clear`);
    });

    it('a relayed chat survives the directory being restarted: messages wait, then go, each once', async () => {
      const identity = join(tempDir('dir'), 'identity.json');
      let directory = await startDirectory(lab, net.pub, identity);
      const alice = await peer(net.a.host, 'alice');
      const bob = await peer(net.b.host, 'bob');
      alice.send({ cmd: 'send', to: 'bob', text: 'before' });
      assert.equal((await alice.next('connected', () => true, 10_000)).link, 'relay');
      await bob.next('message', (e) => e.text === 'before');
      directory.kill('SIGKILL');
      await directory.exited;
      await bob.next('ended', () => true, 10_000); // the relayed connection went with the directory
      for (let i = 0; i < 5; i++) alice.send({ cmd: 'send', to: 'bob', text: `while away ${i}` });
      await alice.next('waiting', () => true, 10_000);
      directory = await startDirectory(lab, net.pub, identity);
      for (let i = 0; i < 5; i++) await bob.next('message', (e) => e.text === `while away ${i}`, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(texts(bob), ['before', ...Array.from({ length: 5 }, (_, i) => `while away ${i}`)], 'each once, in order');
      await alice.next('delivered', (e) => e.to === 'bob', 10_000);
    });

    it('a relayed chat moves to a direct connection once one gets through, losing and repeating nothing', async () => {
      await startDirectory(lab, net.pub, join(tempDir('dir'), 'identity.json'));
      const alice = await peer(net.a.host, 'alice');
      const bob = await peer(net.b.host, 'bob');
      const bobPort = Number((bob.events[0] as Event).port);
      alice.send({ cmd: 'send', to: 'bob', text: 'relayed 0' });
      assert.equal((await alice.next('connected', () => true, 10_000)).link, 'relay');
      // bob's router forwards his port now (what a user does to be reachable): a direct path opens.
      lab.forwardPort(net.b.router, { wan: net.b.wan, port: bobPort, to: net.b.hostIp });
      const sent: string[] = ['relayed 0'];
      for (let i = 1; i <= 30; i++) {
        const text = `message ${i}`;
        sent.push(text);
        alice.send({ cmd: 'send', to: 'bob', text });
        await new Promise((r) => setTimeout(r, 100));
      }
      const moved = await alice.next('moved', () => true, 15_000);
      assert.equal(moved.link, 'direct');
      alice.send({ cmd: 'send', to: 'bob', text: 'after the move' });
      sent.push('after the move');
      await bob.next('message', (e) => e.text === 'after the move', 10_000);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(texts(bob), sent, 'every message once, in order');
    });
  });

  describe('natter doctor', () => {
    const lab = new Lab();
    let net: ReturnType<typeof twoHomes>;
    before(() => {
      net = twoHomes(lab);
    });
    after(() => lab.destroy());

    it('behind a NAT: says so, and that the port cannot be reached; on the public side: reachable', async () => {
      await startDirectory(lab, net.pub, join(tempDir('dir'), 'identity.json'));
      const home = freshHome();
      const behind = await runIn(net.a.host, ['doctor', '--directory', DIRECTORY, '--json'], home);
      const report = JSON.parse(behind.stdout) as Record<string, Record<string, unknown>>;
      assert.equal(behind.code, 0, 'the relay makes up for it: chatting works');
      assert.equal(report.directory?.reachable, true);
      assert.equal(report.behindNat as unknown, true);
      assert.equal(report.publicIp as unknown, net.a.publicIp);
      assert.equal(report.inbound?.reachable, false);
      assert.equal(report.relay?.available, true);
      const open = await runIn(net.pub, ['doctor', '--directory', DIRECTORY, '--json'], freshHome());
      const publicReport = JSON.parse(open.stdout) as Record<string, Record<string, unknown>>;
      assert.equal(publicReport.behindNat as unknown, false);
      assert.equal(publicReport.inbound?.reachable, true);
      const words = await runIn(net.a.host, ['doctor', '--directory', DIRECTORY], home);
      assert.match(words.stdout, /behind a NAT/);
      assert.match(words.stdout, /cannot be reached from outside/);
      assert.match(words.stdout, /everything needed to chat works/);
    });
  });
});

async function runIn(ns: string, args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new NatterProcess(args, { command: inside(ns), env: { XDG_CONFIG_HOME: home } });
  procs.push(p);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}
