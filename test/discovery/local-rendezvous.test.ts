/**
 * The zero-setup rendezvous heals itself (docs/chat.md, "The default"):
 * whatever stops the directory a peer hosts, every peer registers again,
 * at whichever directory answers on the port next. In one process, with
 * real sockets, so that the test controls who gets the port when.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { hostDirectory } from '../../src/directory/host.ts';
import { DirectoryServer } from '../../src/directory/server.ts';
import { DirectoryLink } from '../../src/discovery/directory-link.ts';
import { LocalRendezvous } from '../../src/discovery/local-rendezvous.ts';
import { freePorts } from '../helpers/ports.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { until } from '../helpers/until.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Peer {
  name: string;
  rendezvous: LocalRendezvous;
  link: DirectoryLink;
  registrations: number;
}

/** A peer of the zero-setup mode, as `natter chat` builds it (the local backoff, slowed down to leave the test room). */
async function peer(name: string, port: number, initialMs = 300): Promise<Peer> {
  const rendezvous = new LocalRendezvous({ host: '127.0.0.1', port, keyPair: newKeyPair(), hostDirectory });
  const link = new DirectoryLink({
    name,
    connect: () => rendezvous.connect(),
    backoff: { initialMs, maxMs: initialMs },
    random: () => 0.5,
  });
  const p: Peer = { name, rendezvous, link, registrations: 0 };
  link.on('registered', () => p.registrations++);
  link.on('lost', () => {});
  cleanup.push(async () => {
    await link.stop();
    await rendezvous.close();
  });
  await link.start();
  return p;
}

/** Who is registered at the directory on `port` now, asked through a peer's link. */
async function listed(p: Peer): Promise<string[]> {
  return (await p.link.who()).map((e) => e.name).sort();
}

describe('the local rendezvous heals', () => {
  it('when the hosted directory is shut down (an admin SHUTDOWN): the host hosts again and everyone registers', async () => {
    const [port] = (await freePorts(1)) as [number];
    const ann = await peer('ann', port);
    const ben = await peer('ben', port);
    const cal = await peer('cal', port);
    assert.equal(ann.rendezvous.isHosting, true);
    let shutdowns = 0;
    for (const p of [ann, ben, cal]) p.link.on('shutdown', () => shutdowns++);
    const stopped = new Promise<string>((resolve) => ann.rendezvous.once('hosting-stopped', resolve));
    const before = [ann, ben, cal].map((p) => p.registrations);
    // What `natter admin shutdown` makes the hosted directory do.
    const admin = await ann.rendezvous.connect(); // with ann's key: the hosted directory's own, so an admin key
    await admin.shutdown();
    await admin.close();
    assert.equal(await stopped, 'administrator');
    await until(() => [ann, ben, cal].every((p, i) => p.registrations > (before[i] as number)), 'everyone to register again');
    assert.equal(shutdowns, 3, 'each link told its owner of the SHUTDOWN, and went on');
    assert.equal([ann, ben, cal].filter((p) => p.rendezvous.isHosting).length, 1, 'exactly one hosts now');
    assert.deepEqual(await listed(cal), ['ann', 'ben', 'cal']);
  });

  it('when a new host appears after nobody could host for a while', async () => {
    const [port] = (await freePorts(1)) as [number];
    const first = new DirectoryServer({ keyPair: newKeyPair() });
    await first.listen(port, '127.0.0.1');
    // Retries every 400 ms (±0): room for the test to take the port between them.
    const ben = await peer('ben', port, 400);
    const cal = await peer('cal', port, 400);
    assert.equal(ben.rendezvous.isHosting || cal.rendezvous.isHosting, false);
    const before = [ben.registrations, cal.registrations];
    await first.close('gone');
    // Something that is not a directory holds the port: nobody can host or register.
    let blocker: Server | undefined = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => (blocker as Server).listen(port, '127.0.0.1', resolve));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.deepEqual([ben.registrations, cal.registrations], before, 'nobody registered while the port was blocked');
    await new Promise<void>((resolve) => (blocker as Server).close(() => resolve()));
    blocker = undefined;
    // A new host: a directory of its own, with its own key.
    const next = new DirectoryServer({ keyPair: newKeyPair() });
    await next.listen(port, '127.0.0.1');
    cleanup.push(() => next.close());
    await until(
      () => ben.registrations > (before[0] as number) && cal.registrations > (before[1] as number),
      'both to register at the new host',
    );
    assert.deepEqual((await next.store.list()).map((r) => r.name).sort(), ['ben', 'cal']);
    assert.equal(ben.rendezvous.isHosting || cal.rendezvous.isHosting, false, 'neither hosts: the new one does');
  });

  it('when the host quits: another hosts, and everyone else registers there', async () => {
    const [port] = (await freePorts(1)) as [number];
    const ann = await peer('ann', port);
    const ben = await peer('ben', port);
    const cal = await peer('cal', port);
    const before = [ben.registrations, cal.registrations];
    await ann.link.stop();
    await ann.rendezvous.close();
    await until(() => ben.registrations > (before[0] as number) && cal.registrations > (before[1] as number), 'both to register again');
    assert.equal([ben, cal].filter((p) => p.rendezvous.isHosting).length, 1);
    assert.deepEqual(await listed(ben), ['ben', 'cal']);
  });
});
