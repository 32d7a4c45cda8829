import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { DirectoryServer } from '../../src/directory/server.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { until } from '../helpers/until.ts';

const servers: DirectoryServer[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  for (const s of servers.splice(0)) await s.shutdown('test over');
});

async function start(aliveIntervalMs: number, registerTimeoutMs: number) {
  const server = new DirectoryServer({ aliveIntervalMs, registerTimeoutMs });
  servers.push(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const client = async () => {
    const c = await RawClient.connect(port);
    clients.push(c);
    return c;
  };
  return { server, client };
}

describe('directory: the sweep timer', () => {
  it('expires a silent client after two alive intervals, at the next check', async () => {
    const aliveMs = 400;
    const { server, client } = await start(aliveMs, 10_000);
    const quiet = await client();
    await quiet.up('quiet');
    const since = performance.now();
    await until(() => server.counters.expirations === 1, 'the silent client to expire', 5_000, 2);
    const after = performance.now() - since;
    assert.ok(after >= 2 * aliveMs, `expired after ${after.toFixed(0)} ms, before two intervals`);
    // The checks run every eighth of an interval (here the quarter-second floor of the timer: 100 ms); the slack is the machine's.
    assert.ok(after < 2 * aliveMs + 100 + 400, `expired ${after.toFixed(0)} ms after its last word`);
  });

  it('keeps the registration deadline to its quarter-timeout cadence while many registered clients are idle', async () => {
    const { server, client } = await start(60_000, 400);
    const idle: RawClient[] = [];
    for (let i = 0; i < 50; i++) {
      const c = await client();
      await c.up(`idle${i}`);
      idle.push(c);
    }
    const late = await client();
    const since = performance.now();
    await late.closed();
    const after = performance.now() - since;
    assert.ok(after >= 400 - 50 && after < 400 + 100 + 400, `closed ${after.toFixed(0)} ms after it connected`);
    assert.equal(server.counters.registerTimeouts, 1);
    assert.ok(
      idle.every((c) => !c.isClosed),
      'the registered ones stay',
    );
    assert.equal(await server.store.size(), 50);
  });
});
