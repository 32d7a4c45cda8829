/**
 * Several `natter directory --redis` processes acting as one directory: real
 * directory processes, real chat peers, and a real redis-server this file
 * starts (its own temporary directory, a free port, no persistence). Each test
 * uses a Redis database of its own, so nothing one leaves behind reaches the
 * next.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runNatter, said, startDirectoryProcess, type NatterProcess } from '../helpers/cli.ts';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { RawClient, newKeyPair } from '../helpers/raw-client.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALIVE_INTERVAL_S = 0.5;

const dir = tempDir('redis-procs');
/** The one identity every process of the directory is started with. */
const identity = join(dir, 'directory', 'identity.json');
const otherIdentity = join(dir, 'other', 'identity.json');
let redis: RedisServer;
let databases = 0;

before(async () => {
  redis = await RedisServer.start();
  for (const file of [identity, otherIdentity]) assert.equal((await runNatter(['id', '--identity', file, '--new-identity'])).code, 0);
});
after(async () => {
  await redis.stop();
});

const procs: { kill(signal: NodeJS.Signals): void; exited: Promise<unknown> }[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const p of procs.splice(0)) {
    p.kill('SIGKILL');
    await p.exited;
  }
});

interface Directory {
  proc: NatterProcess;
  port: number;
  target: string;
}

/** A directory process on the given Redis database. */
async function directory(url: string, extra: string[] = []): Promise<Directory> {
  const { proc, port } = await startDirectoryProcess([
    '--redis',
    url,
    '--identity',
    identity,
    '--alive-interval',
    String(ALIVE_INTERVAL_S),
    ...extra,
  ]);
  procs.push(proc);
  return { proc, port, target: `127.0.0.1:${port}` };
}

/** `count` directory processes sharing a fresh Redis database. */
async function cluster(count: number, extra: string[] = []): Promise<Directory[]> {
  const url = `${redis.url}/${++databases}`;
  const out: Directory[] = [];
  for (let i = 0; i < count; i++) out.push(await directory(url, extra));
  return out;
}

async function peer(name: string, target: string, extra: string[] = []): Promise<ChatProc> {
  const p = new ChatProc(['--name', name, '--directory', target, ...extra]);
  procs.push({ kill: (s) => p.kill(s), exited: p.exit() });
  assert.equal((await p.next('ready')).name, name);
  return p;
}

async function client(port: number, keyPair = newKeyPair()): Promise<RawClient> {
  const c = await RawClient.connect(port, { keyPair });
  clients.push(c);
  return c;
}

const names = (e: Event): string[] => (e.peers as { name: string }[]).map((p) => p.name).sort();

/** Asks `p` for WHO until `check` holds. */
async function whoUntil(p: ChatProc, check: (names: string[]) => boolean, timeoutMs = 8_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    p.send({ cmd: 'who' });
    const listed = names(await p.next('who'));
    if (check(listed)) return listed;
    if (Date.now() > deadline) throw new Error(`WHO still lists ${JSON.stringify(listed)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('natter directory --redis: several processes, one directory (real processes)', () => {
  it('a peer registered at one process is listed with its key at every other, and they chat; DUMP shows everyone', async () => {
    const [a, b, c] = (await cluster(3)) as [Directory, Directory, Directory];
    const alice = await peer('alice', a.target);
    const bob = await peer('bob', b.target);
    const observer = await client(c.port);
    assert.equal((await observer.up('observer')).type, 'ACK');
    const listed = await observer.who();
    assert.deepEqual(listed.map((p) => p.name).sort(), ['alice', 'bob', 'observer']);
    for (const p of listed) assert.equal(p.key.length, 32);
    assert.ok(observer.remoteKey.equals((await client(a.port)).remoteKey), 'every process presents the one directory key');

    alice.send({ cmd: 'send', to: 'bob', text: 'across two directory processes' });
    assert.equal((await bob.next('request')).from, 'alice');
    bob.send({ cmd: 'accept', from: 'alice' });
    assert.deepEqual(said(await bob.next('message')), { type: 'message', from: 'alice', text: 'across two directory processes' });
    bob.send({ cmd: 'send', to: 'alice', text: 'and back' });
    assert.deepEqual(said(await alice.next('message')), { type: 'message', from: 'bob', text: 'and back' });

    // ALIVEs sent to a and b are seen at c: three alive intervals later, both are still there and fresh.
    await new Promise((r) => setTimeout(r, 3 * ALIVE_INTERVAL_S * 1_000));
    const dump = await runNatter(['admin', 'dump', '--directory', c.target, '--identity', identity]);
    assert.equal(dump.code, 0, dump.stderr);
    const state = JSON.parse(dump.stdout) as { clients: { name: string; lastHeardMsAgo: number }[] };
    const fresh = state.clients.filter((x) => x.name !== 'observer'); // silent since its UP: it may have expired
    assert.deepEqual(fresh.map((x) => x.name).sort(), ['alice', 'bob']);
    for (const x of fresh) assert.ok(x.lastHeardMsAgo < 2 * ALIVE_INTERVAL_S * 1_000, `${x.name} last heard ${x.lastHeardMsAgo} ms ago`);

    // A process with another key next to these is refused, not started beside them.
    const intruder = await runNatter(['directory', '--port', '0', '--redis', `${redis.url}/${databases}`, '--identity', otherIdentity]);
    assert.equal(intruder.code, 1);
    assert.match(intruder.stderr, /NATTER_ERR_DIRECTORY_KEY_CONFLICT/);
  });

  it('racing registrations of one name at two processes: exactly one wins; the same key elsewhere takes the entry over', async () => {
    // A long interval: these raw clients send no ALIVE, and must not expire meanwhile.
    const [a, b] = (await cluster(2, ['--alive-interval', '10'])) as [Directory, Directory];
    const keys = [newKeyPair(), newKeyPair()];
    const [atA, atB] = await Promise.all([client(a.port, keys[0]), client(b.port, keys[1])]);
    for (let round = 0; round < 5; round++) {
      const name = `contested${round}`;
      atA.send({ type: 'UP', name, ip: '', port: 0 });
      atB.send({ type: 'UP', name, ip: '', port: 0 });
      const answers = await Promise.all([atA.next(), atB.next()]);
      assert.equal(answers.filter((m) => m.type === 'ACK').length, 1, JSON.stringify(answers));
      assert.equal(answers.filter((m) => m.type === 'ERROR' && m.code === 'NATTER_ERR_NAME_TAKEN').length, 1, JSON.stringify(answers));
      // The loser's connection stays open; it is a different name next round.
      const winner = answers[0]?.type === 'ACK' ? atA : atB;
      winner.send({ type: 'DOWN' });
    }
    // The same key registering again from the other process moves the entry.
    assert.equal((await atA.up('mover')).type, 'ACK');
    const again = await client(b.port, keys[0]);
    assert.equal((await again.up('mover')).type, 'ACK');
    atA.send({ type: 'ALIVE' });
    assert.equal((await atA.next()).type, 'NACK', 'the old connection no longer speaks for the name');
    atA.send({ type: 'WHO' });
    const refused = await atA.next();
    assert.ok(refused.type === 'ERROR' && refused.code === 'NATTER_ERR_NOT_REGISTERED');
    assert.deepEqual(
      (await again.who()).map((p) => p.name),
      ['mover'],
    );
  });

  it('SIGKILL of one process: its peers expire at the others within two alive intervals, and the others keep serving', async () => {
    const [a, b] = (await cluster(2)) as [Directory, Directory];
    const alice = await peer('alice', a.target);
    const carol = await peer('carol', b.target);
    assert.deepEqual(await whoUntil(alice, (n) => n.length === 2), ['alice', 'carol']);
    b.proc.kill('SIGKILL');
    await b.proc.exited;
    carol.kill('SIGKILL'); // it would only retry the dead process
    const killedAt = Date.now();
    assert.deepEqual(await whoUntil(alice, (n) => n.length === 1), ['alice']);
    const tookMs = Date.now() - killedAt;
    // Two intervals (1 s) after carol's last ALIVE, plus the sweep's pace.
    assert.ok(tookMs < 2 * ALIVE_INTERVAL_S * 1_000 + 1_500, `expired after ${tookMs} ms`);
    const late = await peer('dave', a.target);
    assert.deepEqual(await whoUntil(late, (n) => n.length === 2), ['alice', 'dave']);
  });

  it('SHUTDOWN accepted by one process reaches every client of every process, and every process exits; a signal stops one process only', async () => {
    const [a, b, c] = (await cluster(3)) as [Directory, Directory, Directory];
    const alice = await peer('alice', a.target);
    const bob = await peer('bob', b.target);
    const carol = await peer('carol', c.target);
    const raw = await client(b.port);
    assert.equal((await raw.up('raw')).type, 'ACK');

    // SIGTERM on c: it exits, and carol is not told to shut down (she may move to another process).
    c.proc.kill('SIGTERM');
    assert.deepEqual(await c.proc.exited, { code: 0, signal: null });
    alice.send({ cmd: 'who' });
    const listed = names(await alice.next('who'));
    assert.ok(
      !listed.includes('carol') && listed.includes('bob'),
      `a process that stops removes its peers at once, not by expiry: ${listed.join(' ')}`,
    );
    assert.equal(
      carol.allEvents().some((e) => e.type === 'shutdown'),
      false,
    );

    raw.send({ type: 'ALIVE' }); // it sends nothing else: keep its connection from being closed as silent
    await raw.next();
    const r = await runNatter(['admin', 'shutdown', '--directory', a.target, '--identity', identity]);
    assert.equal(r.code, 0, r.stderr);
    await alice.next('shutdown');
    await bob.next('shutdown');
    assert.equal((await raw.next()).type, 'SHUTDOWN');
    assert.deepEqual(await a.proc.exited, { code: 0, signal: null });
    assert.deepEqual(await b.proc.exited, { code: 0, signal: null });
    assert.deepEqual(await alice.exit(), { code: 0, signal: null });
    assert.deepEqual(await bob.exit(), { code: 0, signal: null });
  });

  it('a Redis restart in the middle of traffic: connections stay, UP is refused with a clear code, the fault is logged once, and everyone is back after', async () => {
    const [a, b] = (await cluster(2)) as [Directory, Directory];
    const alice = await peer('alice', a.target);
    const bob = await peer('bob', b.target, ['--auto-accept']);
    alice.send({ cmd: 'send', to: 'bob', text: 'before' });
    assert.equal((await bob.next('message')).text, 'before');
    const waiting = await client(a.port);

    await redis.kill();
    await a.proc.waitFor(/Redis is unavailable/, 5_000, 'stderr');
    const refused = await waiting.up('newcomer');
    assert.ok(refused.type === 'ERROR' && refused.code === 'NATTER_ERR_STORE_UNAVAILABLE', JSON.stringify(refused));
    assert.equal(waiting.isClosed, false, 'the connection stays open');
    alice.send({ cmd: 'send', to: 'bob', text: 'during' });
    assert.equal((await bob.next('message')).text, 'during', 'chats go on: they never pass through the directory');
    // Registered peers keep being answered: a few alive intervals pass without anyone being dropped.
    await new Promise((r) => setTimeout(r, 4 * ALIVE_INTERVAL_S * 1_000));

    await redis.restart(); // empty: no persistence
    await a.proc.waitFor(/Redis is available again/, 8_000, 'stderr');
    await b.proc.waitFor(/Redis is available again/, 8_000, 'stderr');
    assert.equal((await waiting.up('newcomer')).type, 'ACK', 'registrations work again on the same connection');
    assert.deepEqual(await whoUntil(alice, (n) => n.length === 3), ['alice', 'bob', 'newcomer']);
    alice.send({ cmd: 'send', to: 'bob', text: 'after' });
    assert.equal((await bob.next('message')).text, 'after');
    for (const p of [alice, bob]) {
      const notices = p.allEvents().filter((e) => e.type === 'notice' || e.type === 'error');
      assert.deepEqual(notices, [], 'the peers never lost their directory connection nor had to register again');
    }
    for (const d of [a, b]) {
      assert.equal(d.proc.child.exitCode, null, 'still running');
      assert.equal(d.proc.stderr.match(/Redis is unavailable/g)?.length, 1, 'logged once, not once per request');
    }
  });
});
