/**
 * `natter chat` with no setup on a LAN: real processes in network namespaces,
 * two people on one home network (a bridge in the router), and a third on
 * another network behind the same router, which forwards unicast between
 * them but no multicast. Nobody passes --directory or --friends.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { BIN, NatterProcess, said } from '../helpers/cli.ts';
import { Lab } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

type WhoPeer = { name: string; ip: string; port: number; source: string; fingerprint?: string };

/** Asks `who` until `until` holds for the list (discovery takes a moment), or fails after `timeoutMs`. */
async function whoUntil(p: ChatProc, until: (peers: WhoPeer[]) => boolean, timeoutMs = 5_000): Promise<WhoPeer[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    p.send({ cmd: 'who' });
    const peers = (await p.next('who')).peers as WhoPeer[];
    if (until(peers)) return peers;
    if (Date.now() > deadline) throw new Error(`who never matched within ${timeoutMs} ms: ${JSON.stringify(peers)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const reason = Lab.unavailable();

describe('natter chat on a LAN with no server', { skip: reason === undefined ? false : `${reason}: skipped` }, () => {
  const lab = new Lab();
  const procs: ChatProc[] = [];
  const ns: Record<'ann' | 'ben' | 'cal', string> = { ann: '', ben: '', cal: '' };

  before(() => {
    // The router is the switch of both networks, and routes between them.
    const router = lab.namespace('rt');
    const home = lab.bridge(router, '192.0.2.1/24');
    const other = lab.bridge(router, '198.51.100.1/24');
    lab.exec(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    for (const [name, ip, bridge, gateway] of [
      ['ann', '192.0.2.2', home, '192.0.2.1'],
      ['ben', '192.0.2.3', home, '192.0.2.1'],
      ['cal', '198.51.100.2', other, '198.51.100.1'],
    ] as const) {
      ns[name] = lab.namespace(name);
      const [, port] = lab.wire({ ns: ns[name], address: `${ip}/24` }, { ns: router });
      lab.enslave(router, port, bridge);
      lab.route(ns[name], gateway);
    }
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exit();
    }
  });

  after(() => lab.destroy());

  async function start(name: 'ann' | 'ben' | 'cal', extra: string[] = []): Promise<{ p: ChatProc; ready: Event }> {
    const p = new ChatProc(['--name', name, ...extra], {}, lab.wrap(ns[name], [process.execPath, BIN]));
    procs.push(p);
    return { p, ready: await p.next('ready') };
  }

  it('two peers on one network find each other by mDNS and chat; a peer on another network sees neither; a peer that quits is gone at once', async () => {
    const ann = await start('ann');
    const ben = await start('ben', ['--listen', '192.0.2.3']);
    const cal = await start('cal');
    for (const { ready } of [ann, ben, cal])
      assert.match(String(ready.via), /^local directory 127\.0\.0\.1:7447 \(hosted here\) and the LAN \(mDNS\)$/);

    // Each lists itself from its own machine's rendezvous, and the other from the LAN, with the key it announced.
    ben.p.send({ cmd: 'who' });
    const benSelf = ((await ben.p.next('who')).peers as WhoPeer[]).find((p) => p.name === 'ben');
    assert.equal(benSelf?.source, 'local');
    const seen = await whoUntil(ann.p, (peers) => peers.some((p) => p.name === 'ben'));
    assert.deepEqual(
      seen.map(({ name, source }) => ({ name, source })),
      [
        { name: 'ann', source: 'local' },
        { name: 'ben', source: 'lan' },
      ],
    );
    assert.deepEqual(seen[1], { name: 'ben', ip: '192.0.2.3', port: ben.ready.port, source: 'lan', fingerprint: benSelf?.fingerprint });
    ann.p.send({ cmd: 'whois', name: 'ben' });
    assert.deepEqual(await ann.p.next('whois'), { type: 'whois', name: 'ben', status: 'announced', fingerprint: benSelf?.fingerprint });
    assert.ok(
      (await whoUntil(ben.p, (peers) => peers.some((p) => p.name === 'ann'))).some(
        (p) => p.name === 'ann' && p.ip === '192.0.2.2' && p.source === 'lan',
      ),
    );

    ann.p.send({ cmd: 'send', to: 'ben', text: 'hello over the LAN' });
    assert.equal((await ben.p.next('request')).from, 'ann');
    ben.p.send({ cmd: 'accept', from: 'ann' });
    assert.deepEqual(said(await ben.p.next('message')), { type: 'message', from: 'ann', text: 'hello over the LAN' });
    await ann.p.next('delivered');
    ann.p.send({ cmd: 'whois', name: 'ben' });
    assert.equal((await ann.p.next('whois')).status, 'pinned', 'the key the handshake proved is pinned');

    // cal is one router away: unicast gets through, mDNS does not.
    const dial = `require('node:net').connect(${String(ann.ready.port)}, '192.0.2.2').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
    lab.exec(ns.cal, process.execPath, '-e', dial);
    assert.deepEqual(
      (await whoUntil(cal.p, () => true)).map((p) => p.name),
      ['cal'],
    );
    cal.p.send({ cmd: 'send', to: 'ann', text: 'anyone?' });
    assert.equal((await cal.p.next('waiting')).to, 'ann');
    assert.equal(
      [ann, ben].some(({ p }) => p.allEvents().some((e) => e.type === 'who' && (e.peers as WhoPeer[]).some((x) => x.name === 'cal'))),
      false,
      'nobody on the home network ever listed cal',
    );

    // ben quits: his goodbye takes him off ann's list at once, not when his 120 s TTL ends.
    ben.p.send({ cmd: 'quit' });
    assert.deepEqual(await ben.p.exit(), { code: 0, signal: null });
    const left = Date.now();
    await whoUntil(ann.p, (peers) => !peers.some((p) => p.name === 'ben'), 3_000);
    assert.ok(Date.now() - left < 3_000);
  });

  it('--no-lan keeps the default on this machine; --lan adds the LAN to a friends table, where it can be reached', async () => {
    /** The TCP and UDP ports a namespace listens on. */
    const sockets = (name: 'ann' | 'ben' | 'cal') => lab.exec(ns[name], 'ss', '-Hlntu');
    const ann = await start('ann', ['--no-lan']);
    assert.doesNotMatch(String(ann.ready.via), /LAN/);
    assert.match(sockets('ann'), new RegExp(`127\\.0\\.0\\.1:${String(ann.ready.port)}\\b`), 'chats on this machine only');
    assert.doesNotMatch(sockets('ann'), /:5353\b/, 'no mDNS socket at all');
    const ben = await start('ben');
    assert.match(
      sockets('ben'),
      new RegExp(`(0\\.0\\.0\\.0|\\*):${String(ben.ready.port)}\\b`),
      'with the LAN, chats come from other machines too',
    );
    assert.match(sockets('ben'), /:5353\b/);
    ann.p.kill('SIGKILL');
    await ann.p.exit();

    const friends = join(tempDir('lan'), 'friends.json');
    writeFileSync(
      friends,
      JSON.stringify({
        friends: [
          { name: 'ann', ip: '192.0.2.2', port: 50_100 },
          { name: 'cal', ip: '127.0.0.1', port: 50_101 },
        ],
      }),
    );
    const withTable = await start('ann', ['--friends', friends, '--lan']);
    assert.match(String(withTable.ready.via), /^friends table .* and the LAN \(mDNS\)$/);
    const peers = await whoUntil(withTable.p, (list) => list.some((p) => p.name === 'ben'));
    assert.deepEqual(
      peers.map(({ name, source }) => `${name}:${source}`),
      ['cal:friends', 'ben:lan'],
    );
    assert.ok(
      (await whoUntil(ben.p, (list) => list.some((p) => p.name === 'ann'))).some(
        (p) => p.name === 'ann' && p.ip === '192.0.2.2' && p.port === 50_100,
      ),
    );
    // An entry on loopback cannot be reached from the LAN: natter says so rather than announce it.
    const loopback = await start('cal', ['--friends', friends, '--lan']);
    assert.doesNotMatch(String(loopback.ready.via), /LAN/);
    assert.match(String((await loopback.p.next('notice')).message), /^LAN discovery is off: this peer listens on 127\.0\.0\.1 only/);
  });
  it('natter doctor counts the peers on its network, announcing nothing itself; /doctor too', async () => {
    const ann = await start('ann');
    await start('ben');
    await whoUntil(ann.p, (peers) => peers.some((p) => p.name === 'ben'));
    // From ann's machine: the local directory is the one ann hosts; the LAN holds ann and ben.
    const doctor = new NatterProcess(['doctor', '--json', '--lan-wait', '1'], { command: lab.wrap(ns.ann, [process.execPath, BIN]) });
    const { code } = await doctor.exited;
    const report = JSON.parse(doctor.stdout) as { lan: unknown; directory: { reachable: boolean } };
    assert.equal(code, 0, doctor.stdout + doctor.stderr);
    assert.equal(report.directory.reachable, true);
    assert.deepEqual(report.lan, { enabled: true, peers: 2 });
    // The doctor only looked: nobody saw it.
    assert.deepEqual((await whoUntil(ann.p, () => true)).map((p) => p.name).sort(), ['ann', 'ben']);
    ann.p.send({ cmd: 'doctor' });
    const inside = await ann.p.next('doctor', () => true, 10_000);
    assert.deepEqual(inside.lan, { enabled: true, peers: 1 }, 'a chat counts the others');
    // cal's network is another one: nobody there.
    const far = new NatterProcess(['doctor', '--json', '--lan-wait', '1'], { command: lab.wrap(ns.cal, [process.execPath, BIN]) });
    await far.exited;
    assert.deepEqual((JSON.parse(far.stdout) as { lan: unknown }).lan, { enabled: true, peers: 0 });
  });
});
