/**
 * LanDiscovery on a real LAN: network namespaces on one bridge, multicast on
 * it and nowhere else, each node a process of its own (test/helpers/lan-node.ts).
 * Timings are shortened through the options, never waited out.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import type multicastDns from 'multicast-dns';
import { ownNames, ownRecords, ownTxt } from '../../src/discovery/lan-records.ts';
import { NatterProcess } from '../helpers/cli.ts';
import type { LanNodeOptions } from '../helpers/lan-node.ts';
import { Lab } from '../helpers/netns.ts';

const NODE = fileURLToPath(new URL('../helpers/lan-node.ts', import.meta.url));
type Event = { type: string } & Record<string, unknown>;

/** A lan-node process in a namespace, read as JSON lines. */
class LanProc {
  readonly proc: NatterProcess;
  #taken = 0;

  constructor(lab: Lab, ns: string, options: LanNodeOptions) {
    this.proc = new NatterProcess([JSON.stringify(options)], { command: lab.wrap(ns, [process.execPath, NODE]) });
  }

  events(): Event[] {
    return this.proc.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Event);
  }

  /** The next event of `type` (matching `where`) after the last one returned. */
  async next(type: string, where: (e: Event) => boolean = () => true, timeoutMs = 5_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = this.events();
      const i = events.findIndex((e, j) => j >= this.#taken && e.type === type && where(e));
      if (i >= 0) {
        this.#taken = i + 1;
        return events[i] as Event;
      }
      if (Date.now() > deadline)
        throw new Error(`no ${type} within ${timeoutMs} ms; stdout: ${this.proc.stdout}\nstderr: ${this.proc.stderr}`);
      await this.proc.waitFor(/[\s\S]/, Math.max(1, deadline - Date.now())).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async list(): Promise<{ name: string; ip: string; port: number; key: string }[]> {
    this.proc.write('{"cmd":"list"}\n');
    return (await this.next('list')).peers as { name: string; ip: string; port: number; key: string }[];
  }
}

const reason = Lab.unavailable();

describe('LAN discovery between namespaces', { skip: reason === undefined ? false : `${reason}: skipped` }, () => {
  const lab = new Lab();
  const procs: LanProc[] = [];
  /** Namespace and address of each host on the one LAN (192.0.2.0/24). */
  const hosts = new Map<string, { ns: string; ip: string; ifname: string }>();

  before(() => {
    const sw = lab.namespace('sw');
    const br = lab.bridge(sw);
    ['amy', 'bob', 'cat', 'dan', 'eve', 'ivy', 'rog', 'off'].forEach((name, i) => {
      const ns = lab.namespace(name);
      // dan joins the LAN with no address: it gets one during its test. off is on the wire but on another subnet.
      const ip = name === 'off' ? '198.51.100.7' : `192.0.2.${i + 2}`;
      const [ifname, port] = lab.wire({ ns, ...(name === 'dan' ? {} : { address: `${ip}/24` }) }, { ns: sw });
      lab.enslave(sw, port, br);
      hosts.set(name, { ns, ip, ifname });
    });
  });

  afterEach(async () => {
    for (const p of procs.splice(0)) {
      p.proc.kill('SIGKILL');
      await p.proc.exited;
    }
  });

  after(() => lab.destroy());

  const host = (name: string) => hosts.get(name) as { ns: string; ip: string; ifname: string };

  async function peer(name: string, options: Partial<Extract<LanNodeOptions, { mode: 'peer' }>> = {}): Promise<LanProc> {
    const h = host(name);
    const p = new LanProc(lab, h.ns, { mode: 'peer', name, port: 50_000, interface: h.ip, timings: { interfacePollMs: 100 }, ...options });
    procs.push(p);
    await p.next('ready');
    return p;
  }

  it('peers find each other; one that quits says goodbye, one that vanishes expires with its TTL, one that lives is kept', async () => {
    const amy = await peer('amy');
    const bob = await peer('bob', { timings: { ttlSeconds: 1, announceMs: 100 } });
    const cat = await peer('cat', { port: 50_123 });
    const bobKey = (bob.events()[0] as Event).key;
    for (const [name, ip, port, key] of [
      ['bob', '192.0.2.3', 50_000, bobKey],
      ['cat', '192.0.2.4', 50_123, undefined],
    ] as const) {
      const up = await amy.next('up', (e) => e.name === name);
      assert.deepEqual({ ip: up.ip, port: up.port }, { ip, port });
      if (key !== undefined) assert.equal(up.key, key, 'the key announced is the peer’s own');
    }
    assert.equal((await bob.next('up', (e) => e.name === 'amy')).ip, '192.0.2.2');

    // bob announced a TTL of one second: asked again before it runs out, he answers and stays.
    const since = Date.now();
    await new Promise((r) => setTimeout(r, 2_500));
    assert.deepEqual((await amy.list()).map((p) => p.name).sort(), ['bob', 'cat']);
    assert.equal(
      amy.events().some((e) => e.type === 'down'),
      false,
      `nobody left in ${Date.now() - since} ms`,
    );

    // cat quits: his goodbye removes him at once, long before his 120 s TTL.
    cat.proc.write('{"cmd":"stop"}\n');
    await cat.next('stopped');
    const goodbye = await amy.next('down', (e) => e.name === 'cat', 2_000);
    assert.equal(goodbye.reason, 'goodbye');

    // bob vanishes without a word: gone once his TTL runs out unanswered.
    bob.proc.kill('SIGKILL');
    const expired = await amy.next('down', (e) => e.name === 'bob', 3_000);
    assert.equal(expired.reason, 'expired');
    assert.deepEqual(await amy.list(), []);
  });

  it('browsing only: it hears everyone, and nobody hears of it, not even a goodbye', async () => {
    const amy = await peer('amy');
    const eve = await peer('eve', { isBrowsingOnly: true });
    assert.equal((await eve.next('up', (e) => e.name === 'amy')).ip, '192.0.2.2');
    // amy has asked again by now (her second query goes out announceMs after start) and eve's query was answered.
    await new Promise((r) => setTimeout(r, 1_500));
    eve.proc.write('{"cmd":"stop"}\n');
    await eve.next('stopped');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await amy.list(), []);
    assert.deepEqual(
      amy.events().filter((e) => e.type === 'up' || e.type === 'down'),
      [],
    );
  });

  it('a peer whose network comes up asks again at once, and finds who announced before it was there', async () => {
    // eve announces once only: whatever dan learns later, he learns by asking.
    const eve = await peer('eve', { timings: { announcements: 1 } });
    // dan's second query would come a minute after his first, and the periodic ones ten minutes apart.
    const dan = await peer('dan', { timings: { announceMs: 60_000, requeryMs: 600_000, interfacePollMs: 100 } });
    assert.deepEqual(await dan.list(), []);
    const started = Date.now();
    lab.ip(host('dan').ns, 'addr', 'add', '192.0.2.5/24', 'dev', host('dan').ifname);
    const up = await dan.next('up', (e) => e.name === 'eve', 3_000);
    assert.equal(up.ip, host('eve').ip);
    assert.ok(Date.now() - started < 3_000, 'found long before his next query');
    assert.ok(
      dan.events().some((e) => e.type === 'log' && /interfaces changed/.test(String(e.msg))),
      'the change was noticed',
    );
    assert.ok(
      (await eve.list()).some((p) => p.name === 'dan'),
      'and dan announced himself on his new network',
    );
  });

  it('malformed announcements are logged and ignored, the table is bounded, and answers from off the link are not taken', async () => {
    const ivy = await peer('ivy', { limits: { maxPeers: 3 } });
    const key = () => randomBytes(32);
    const announce = (name: string, txt: Buffer[], port = 50_000): multicastDns.DnsPacket => {
      const names = ownNames(name, key(), port);
      const packet = ownRecords({ ...names, name, key: key(), port, addresses: [] }, 120);
      const answers = (packet.answers ?? []).map((r) => (r.type === 'TXT' ? { ...r, data: txt.map((b) => b.toString('latin1')) } : r));
      return { answers };
    };
    const valid = (name: string) => announce(name, ownTxt(name, key()));
    // From another subnet on the same wire: a valid announcement that must not be taken.
    const off = new LanProc(lab, host('off').ns, { mode: 'rogue', interface: host('off').ip, packets: [valid('mallory')] });
    procs.push(off);
    await off.next('sent');
    const bad = [
      announce('x1', [Buffer.from('v=1'), Buffer.from('name=bad name'), Buffer.from(`key=${'ab'.repeat(32)}`)]),
      announce('x2', [Buffer.from('v=1'), Buffer.from('name=x2'), Buffer.from('key=not-a-key')]),
      announce('x3', [Buffer.from('v=9'), Buffer.from('name=x3'), Buffer.from(`key=${'ab'.repeat(32)}`)]),
      announce('x4', [Buffer.from('v=1'), Buffer.from(`name=${'x'.repeat(40)}`), Buffer.from(`key=${'ab'.repeat(32)}`)]),
      announce('x5', [
        Buffer.from('v=1'),
        Buffer.from('name=x5'),
        Buffer.from(`key=${'ab'.repeat(32)}`),
        ...Array.from({ length: 5 }, () => Buffer.from(`pad=${'p'.repeat(240)}`)),
      ]),
      announce('x6', ownTxt('x6', key()), 0),
    ];
    const rog = new LanProc(lab, host('rog').ns, {
      mode: 'rogue',
      interface: host('rog').ip,
      packets: [...bad, ...['r1', 'r2', 'r3', 'r4', 'r5'].map(valid)],
    });
    procs.push(rog);
    await rog.next('sent');
    for (let i = 0; i < 3; i++) await ivy.next('up');
    await ivy.next('log', (e) => /table is full/.test(String(e.msg)));
    const malformed = () => ivy.events().filter((e) => e.type === 'log' && /malformed/.test(String(e.msg)));
    while (malformed().length < bad.length) await ivy.next('log', (e) => /malformed/.test(String(e.msg)));
    assert.deepEqual(
      malformed()
        .map((e) => e.code)
        .sort(),
      [
        'NATTER_ERR_INVALID_NAME',
        'NATTER_ERR_INVALID_NAME',
        'NATTER_ERR_MALFORMED',
        'NATTER_ERR_MALFORMED',
        'NATTER_ERR_MALFORMED',
        'NATTER_ERR_MALFORMED',
      ],
    );
    const listed = await ivy.list();
    assert.equal(listed.length, 3, 'no more peers than maxPeers');
    assert.ok(
      listed.every((p) => /^r\d$/.test(p.name) && p.ip === host('rog').ip),
      JSON.stringify(listed),
    );
    assert.equal(
      ivy.events().some((e) => e.name === 'mallory'),
      false,
      'an answer from outside our networks is ignored',
    );
    assert.equal(ivy.proc.child.exitCode, null, 'still running');
  });
});
