/**
 * The Redis store against a real redis-server this file starts: the store
 * contract, then what only a shared store does: several stores (as several
 * directory processes would hold) on one Redis, a shared clock, SHUTDOWN
 * notices, and riding out a Redis outage.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { ERROR_CODES, isNatterError } from '../../src/errors.ts';
import { parseRedisUrl } from '../../src/directory/store/redis-connection.ts';
import { RedisStore, type RedisStoreOptions } from '../../src/directory/store/redis-store.ts';
import type { RegisterRequest } from '../../src/directory/store/store.ts';
import { freePorts } from '../helpers/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { runStoreContract } from './store-contract.ts';

let redis: RedisServer;
before(async () => {
  redis = await RedisServer.start();
});
after(async () => {
  await redis.stop();
});

/** Each store gets a prefix of its own unless a test shares one between stores (processes of one directory). */
let prefixes = 0;
const freshPrefix = (): string => `t${++prefixes}:`;
const open: RedisStore[] = [];

async function connect(options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
  const store = await RedisStore.connect({ url: redis.url, prefix: freshPrefix(), connectTimeoutMs: 5_000, ...options });
  open.push(store);
  return store;
}

after(async () => {
  for (const s of open) await s.close();
});

runStoreContract('RedisStore', async ({ portRange }) =>
  RedisStore.connect({ url: redis.url, portRange, prefix: freshPrefix(), connectTimeoutMs: 5_000 }),
);

const keyOf = (who: string): string => createHash('sha256').update(who).digest('hex');
const up = (name: string, owner: string, key: string, now: number, extra: Partial<RegisterRequest> = {}): RegisterRequest => ({
  name,
  ip: '127.0.0.1',
  requestedPort: 0,
  owner,
  key,
  now,
  ...extra,
});

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('RedisStore: several stores on one Redis act as one', () => {
  it('an entry registered through one is listed, with its key, by another; generations agree', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    const r = await a.register(up('alice', '1', keyOf('alice'), 0));
    assert.ok(r.ok && r.isNew);
    const listed = await b.list();
    assert.deepEqual(
      listed.map((p) => [p.name, p.key, p.port]),
      [['alice', keyOf('alice'), r.record.port]],
    );
    assert.notEqual(listed[0]?.owner, '1', "another process's owner never equals a local session id");
    assert.equal((await a.list())[0]?.owner, '1');
    assert.equal(await b.generation(), await a.generation());
    // A change at one is pushed to the other: its generation moves with no read of its own.
    const before = await b.generation();
    assert.ok((await a.register(up('bob', '2', keyOf('bob'), 0))).ok);
    await until("b to hear of a's change", async () => (await b.generation()) !== before, 2_000);
    assert.deepEqual((await b.list()).map((p) => p.name).sort(), ['alice', 'bob']);
    assert.equal(await b.size(), 2);
  });

  it('a notice told through one store to an owner of another reaches that one alone, with its own owner id', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    assert.ok((await b.register(up('bob', '7', keyOf('bob'), 0, { seenIp: '203.0.113.9', seenPort: 40_001 }))).ok);
    const heardAtA: unknown[] = [];
    const heardAtB: unknown[] = [];
    a.onNotice((owner, n) => heardAtA.push([owner, n]));
    b.onNotice((owner, n) => heardAtB.push([owner, n]));
    const bob = (await a.list())[0];
    assert.deepEqual([bob?.seenIp, bob?.seenPort], ['203.0.113.9', 40_001], 'the seen address crosses over too');
    const call = { type: 'CALL', via: 'punch', name: 'alice', ip: '198.51.100.2', port: 40_002 } as const;
    await a.tell(bob?.owner as string, call);
    await until('b to hear it', () => heardAtB.length === 1, 2_000);
    assert.deepEqual(heardAtB, [['7', call]]);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(heardAtA, [], 'not for a');
  });

  it('racing registrations of one name with different keys from two stores: exactly one wins', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).register(up('contested', String(i), keyOf(`racer ${i}`), 0))),
    );
    assert.equal(results.filter((r) => r.ok).length, 1);
    assert.equal(results.filter((r) => !r.ok && r.reason === 'name-taken').length, 19);
  });

  it('the same key from another process takes the entry over; the old session no longer speaks for it', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    const key = keyOf('alice');
    assert.ok((await a.register(up('alice', '7', key, 0))).ok);
    const moved = await b.register(up('alice', '7', key, 0, { ip: '127.0.0.2' }));
    assert.ok(moved.ok);
    assert.equal(moved.isNew, false);
    assert.ok(moved.previousOwner !== undefined && moved.previousOwner !== '7', "the previous owner is not one of b's sessions");
    assert.equal(await a.refresh('alice', '7', 1), undefined);
    assert.equal(await a.remove('alice', '7'), false);
    assert.deepEqual(
      (await a.list()).map((p) => p.ip),
      ['127.0.0.2'],
    );
  });

  it('ports stay unique per IP across stores', async () => {
    const prefix = freshPrefix();
    const portRange = { lo: 41_000, hi: 41_099 };
    const a = await connect({ prefix, portRange });
    const b = await connect({ prefix, portRange });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? a : b).register(up(`n${i}`, String(i), keyOf(`n${i}`), 0))),
    );
    const ports = results.map((r) => (r.ok ? r.record.port : -1));
    assert.equal(new Set(ports).size, 100);
    assert.deepEqual(await a.register(up('one too many', 'x', keyOf('x'), 0)), { ok: false, reason: 'ports-exhausted' });
  });

  it('any store expires the entries of a process that died, on a clock they share', async () => {
    const prefix = freshPrefix();
    const deadClock = new ManualClock(1_000_000);
    const liveClock = new ManualClock(5);
    const dead = await RedisStore.connect({ url: redis.url, prefix, clock: deadClock });
    const live = await connect({ prefix, clock: liveClock });
    assert.ok((await dead.register(up('ghost', '1', keyOf('ghost'), deadClock.now()))).ok);
    await dead.close(); // as SIGKILL would leave it: the entry stays in Redis
    // Each caller's time is its own: the live store sees the entry as registered just now on its clock.
    const [ghost] = await live.list();
    assert.ok(
      ghost !== undefined && Math.abs(ghost.lastHeard - liveClock.now()) < 1_000,
      `lastHeard ${ghost?.lastHeard} on the live clock`,
    );
    assert.deepEqual(await live.expire(liveClock.now() - 1_000), [], 'not yet silent for long');
    liveClock.advance(2_000);
    const gone = await live.expire(liveClock.now() - 1_000);
    assert.deepEqual(
      gone.map((r) => r.name),
      ['ghost'],
    );
    assert.equal(await live.size(), 0);
  });

  it('every store of one directory must present the same key', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    await a.claimIdentity(keyOf('directory'));
    await b.claimIdentity(keyOf('directory'));
    await assert.rejects(
      b.claimIdentity(keyOf('intruder')),
      (e) => isNatterError(e, ERROR_CODES.DIRECTORY_KEY_CONFLICT) && /same --identity/.test(e.message),
    );
  });

  it('SHUTDOWN announced through one store reaches the others; a store started after it is not stopped by it', async () => {
    const prefix = freshPrefix();
    const a = await connect({ prefix });
    const b = await connect({ prefix });
    const heard = new Promise<string>((resolve) => b.onShutdown(resolve));
    await a.announceShutdown('administrator');
    assert.equal(await heard, 'administrator');
    const late = await connect({ prefix, reconcileIntervalMs: 20 });
    let isStopped = false;
    late.onShutdown(() => {
      isStopped = true;
    });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(isStopped, false);
  });

  it('a SHUTDOWN notice whose message was missed is found by the periodic check', async () => {
    const prefix = freshPrefix();
    const store = await connect({ prefix, reconcileIntervalMs: 30 });
    const heard = new Promise<string>((resolve) => store.onShutdown(resolve));
    const [seconds, micros] = (await redis.command(['TIME'])) as [string, string];
    // Recorded as the announcing script records it (Redis TIME in µs), but never published.
    await redis.command(['SET', `${prefix}shutdown`, `${seconds}${micros.padStart(6, '0')}|missed message`]);
    assert.equal(await heard, 'missed message');
  });
});

describe('RedisStore: a Redis outage', () => {
  it('refuses registrations, answers its own sessions, keeps the last listing, and restores everything when Redis returns empty', async () => {
    const prefix = freshPrefix();
    const messages: string[] = [];
    const logger = {
      debug() {},
      info() {},
      warn: (_: object, m: string) => messages.push(m),
      error: (_: object, m: string) => messages.push(m),
    };
    const a = await connect({ prefix, logger, reconnectMaxDelayMs: 100 });
    const b = await connect({ prefix, reconnectMaxDelayMs: 100 });
    const alice = await a.register(up('alice', '1', keyOf('alice'), 0, { requestedPort: 50_123 }));
    const carol = await a.register(up('carol', '2', keyOf('carol'), 0));
    const bob = await b.register(up('bob', '1', keyOf('bob'), 0));
    assert.ok(alice.ok && carol.ok && bob.ok);
    // b's change reaches a as a message, a moment later.
    await until('the stores to agree', async () => (await a.generation()) === (await b.generation()));
    const generation = await a.generation();
    assert.equal((await a.list()).length, 3);

    await redis.kill();
    await until('the store to notice', async () => {
      await a.refresh('alice', '1', 10);
      return !a.isAvailable;
    });
    await assert.rejects(a.register(up('dan', '3', keyOf('dan'), 11)), (e) => isNatterError(e, ERROR_CODES.STORE_UNAVAILABLE));
    assert.equal((await a.refresh('alice', '1', 12))?.port, 50_123, 'its own session is still answered');
    assert.equal(await a.refresh('bob', '1', 12), undefined, "another process's entry is not known here");
    assert.equal(await a.remove('carol', '2'), true, 'a departure is taken, to be replayed');
    assert.equal(await a.generation(), generation, 'the last generation read');
    assert.deepEqual((await a.list()).map((p) => p.name).sort(), ['alice', 'bob', 'carol'], 'the last listing read');
    assert.deepEqual(await a.expire(1e12), [], 'nothing expires while Redis is away');
    for (let i = 0; i < 20; i++) await a.refresh('alice', '1', 13);
    assert.equal(messages.filter((m) => /unavailable/.test(m)).length, 1, `the fault is logged once: ${JSON.stringify(messages)}`);

    await redis.restart(); // empty: no persistence
    await until('both stores to recover', () => a.isAvailable && b.isAvailable);
    const names = (await b.list()).map((p) => p.name).sort();
    assert.deepEqual(names, ['alice', 'bob'], 'each store re-asserted its own sessions; the departure was kept');
    assert.equal((await b.list()).find((p) => p.name === 'alice')?.port, 50_123, 'with the same port');
    assert.notEqual(await a.generation(), generation, 'a restarted Redis never repeats a generation');
    assert.ok((await a.register(up('dan', '3', keyOf('dan'), 20))).ok, 'registrations work again');
    assert.ok(messages.some((m) => /available again/.test(m)));
  });

  it('a Redis that stops answering, its connections open, counts as unavailable after the reply timeout; the store recovers when it answers again', async () => {
    const prefix = freshPrefix();
    const store = await connect({ prefix, replyTimeoutMs: 300, reconcileIntervalMs: 100 });
    assert.ok((await store.register(up('alice', '1', keyOf('alice'), 0))).ok);
    redis.pause();
    try {
      const started = Date.now();
      const answer = await store.refresh('alice', '1', 5); // sent, never answered: the watchdog gives up on it
      assert.equal(answer?.name, 'alice', 'answered from what this process knows');
      assert.ok(Date.now() - started < 2_000, `gave up after ${Date.now() - started} ms`);
      assert.equal(store.isAvailable, false);
      await assert.rejects(store.register(up('bob', '2', keyOf('bob'), 6)), (e) => isNatterError(e, ERROR_CODES.STORE_UNAVAILABLE));
    } finally {
      redis.resume();
    }
    await until('the store to recover', () => store.isAvailable);
    assert.ok((await store.register(up('bob', '2', keyOf('bob'), 7))).ok);
  });

  it('cannot reach Redis at start: NATTER_ERR_STORE_UNAVAILABLE within the deadline', async () => {
    const [port] = await freePorts(1);
    const started = Date.now();
    await assert.rejects(
      RedisStore.connect({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 300 }),
      (e) => isNatterError(e, ERROR_CODES.STORE_UNAVAILABLE) && e.message.includes(`127.0.0.1:${port}`),
    );
    assert.ok(Date.now() - started < 3_000);
  });
});

describe('parseRedisUrl', () => {
  it("reads host, port, TLS, user, database; a given password replaces the URL's; the display drops credentials", () => {
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6380/2'), {
      host: '10.0.0.5',
      port: 6380,
      isTls: false,
      database: 2,
      display: 'redis://10.0.0.5:6380/2',
    });
    assert.deepEqual(parseRedisUrl('rediss://natter:s%40cret@redis.example:6390'), {
      host: 'redis.example',
      port: 6390,
      isTls: true,
      username: 'natter',
      password: 's@cret',
      display: 'rediss://redis.example:6390',
    });
    assert.equal(parseRedisUrl('redis://:inurl@[::1]', 'fromfile').password, 'fromfile');
    assert.equal(parseRedisUrl('redis://[::1]').host, '::1');
    assert.equal(parseRedisUrl('redis://h').port, 6379);
  });

  it('refuses what is not a Redis URL', () => {
    for (const url of ['localhost:6379', 'http://h:1', 'redis://h:1/x', 'redis://']) {
      assert.throws(
        () => parseRedisUrl(url),
        (e) => isNatterError(e, ERROR_CODES.INVALID_ARGUMENT),
        url,
      );
    }
  });
});
