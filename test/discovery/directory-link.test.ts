import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { ManualClock } from '../../src/clock.ts';
import { DirectoryServer } from '../../src/directory/server.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { DirectoryClient, type Registration } from '../../src/discovery/directory-client.ts';
import { DirectoryLink } from '../../src/discovery/directory-link.ts';
import type { KeyPair } from '../../src/transport/secure.ts';
import { newKeyPair } from '../helpers/raw-client.ts';

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

async function directory(options: ConstructorParameters<typeof DirectoryServer>[0] = {}) {
  const server = new DirectoryServer(options);
  const { port } = await server.listen(0);
  cleanup.push(() => server.shutdown());
  return { server, port };
}

/** Keys of the links made by link(), by name: a link keeps its key across reconnects. */
const linkKeys = new Map<string, KeyPair>();

function link(port: number, name: string, extra: Partial<ConstructorParameters<typeof DirectoryLink>[0]> = {}) {
  const keyPair = newKeyPair();
  linkKeys.set(name, keyPair);
  const l = new DirectoryLink({ name, connect: () => DirectoryClient.connect({ host: '127.0.0.1', port, keyPair }), ...extra });
  cleanup.push(() => l.stop());
  return l;
}

const nextRegistered = (l: DirectoryLink) => new Promise<Registration>((resolve) => l.once('registered', resolve));

describe('DirectoryLink', () => {
  it('registers, heartbeats at the pace the ACK sets, and stays listed', async () => {
    const { server, port } = await directory({ aliveIntervalMs: 50 });
    const l = link(port, 'steady');
    const r = await l.start();
    assert.equal(r.aliveIntervalMs, 50);
    const before = server.counters.alivesReceived;
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(server.counters.alivesReceived - before >= 3, 'ALIVE every interval');
    assert.deepEqual(
      (await l.who()).map((p) => p.name),
      ['steady'],
    );
    assert.deepEqual(await l.lookup('steady'), { name: 'steady', ip: '127.0.0.1', port: r.port, key: linkKeys.get('steady')?.publicKey });
  });

  it('answers NACK by registering again by itself, with the same port', async () => {
    const clock = new ManualClock();
    const { server, port } = await directory({ aliveIntervalMs: 100, clock });
    const l = link(port, 'forgotten');
    const first = await l.start();
    clock.advance(250); // more than two intervals of directory time
    await server.sweep();
    assert.equal(server.counters.expirations, 1);
    const again = await nextRegistered(l); // the next ALIVE gets NACK, then UP
    assert.deepEqual(again, first);
    assert.equal(server.counters.nacksSent, 1);
    assert.deepEqual(
      (await l.who()).map((p) => p.port),
      [first.port],
    );
  });

  it('retries a lost directory with backoff from 2 s doubling to 30 s, with jitter, and registers again', async (t) => {
    const { server, port } = await directory();
    let isUp = true;
    const l = link(port, 'patient', {
      random: () => 0.5, // the middle of the jitter band: exactly the base delay
      connect: () =>
        isUp
          ? DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() })
          : Promise.reject(new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'refused')),
    });
    await l.start();
    const delays: number[] = [];
    l.on('lost', (_err, delayMs) => delays.push(delayMs));
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
    isUp = false;
    await server.close();
    while (delays.length < 1) await new Promise((r) => setImmediate(r));
    for (const expected of [2_000, 4_000, 8_000, 16_000, 30_000]) {
      t.mock.timers.tick(expected);
      while (delays.length < [2_000, 4_000, 8_000, 16_000, 30_000, 30_000].indexOf(expected) + 2) await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(delays, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    assert.equal(l.isRegistered, false);
    await assert.rejects(l.who(), (e) => e instanceof NatterError && e.code === ERROR_CODES.DIRECTORY_UNAVAILABLE);
    t.mock.timers.reset();
  });

  it('jitter keeps delays within ±20% of the base', async () => {
    for (const r of [0, 0.999]) {
      const { server, port } = await directory();
      const l = link(port, `j${r}`, { random: () => r });
      await l.start();
      const lost = new Promise<number>((resolve) => l.once('lost', (_e, d) => resolve(d)));
      await server.close();
      const d = await lost;
      assert.ok(d >= 1_600 && d <= 2_400, `delay ${d}`);
      await l.stop();
    }
  });

  it('a SHUTDOWN from the directory is reported once', async () => {
    const { server, port } = await directory();
    const l = link(port, 'obedient');
    await l.start();
    const shutdown = new Promise<string>((resolve) => l.once('shutdown', () => resolve('shutdown')));
    void server.shutdown();
    assert.equal(await shutdown, 'shutdown');
  });

  it('stop() sends DOWN', async () => {
    const { server, port } = await directory();
    const l = link(port, 'leaving');
    await l.start();
    await l.stop();
    for (let i = 0; i < 100 && server.counters.departures === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(server.counters.departures, 1);
    assert.equal(await l.lookup('leaving'), undefined);
  });
});
