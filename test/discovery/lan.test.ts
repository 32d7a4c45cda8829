/**
 * LanDiscovery's options and lifecycle, checked without a socket: nothing here
 * starts it, so nothing is sent on this machine's networks
 * (test/netns/lan-discovery.test.ts runs it on a LAN of namespaces).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DEFAULT_LAN_TIMINGS, LanDiscovery, type LanDiscoveryOptions } from '../../src/discovery/lan.ts';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';

const KEY = Buffer.alloc(32, 5);
const has = (code: NatterErrorCode, message: RegExp) => (e: unknown) =>
  e instanceof NatterError && e.code === code && message.test(e.message);

it('refuses options out of range, each with the option named', () => {
  const cases: [Partial<LanDiscoveryOptions>, NatterErrorCode, RegExp][] = [
    [{ name: 'a b' }, ERROR_CODES.INVALID_NAME, /spaces/],
    [{ publicKey: Buffer.alloc(31) }, ERROR_CODES.INVALID_ARGUMENT, /32-byte/],
    [{ interface: 'eth0' }, ERROR_CODES.INVALID_ARGUMENT, /interface must be an IPv4 address/],
    [{ interface: '::1' }, ERROR_CODES.INVALID_ARGUMENT, /interface must be an IPv4 address/],
    [{ timings: { ttlSeconds: 0 } }, ERROR_CODES.INVALID_ARGUMENT, /timing ttlSeconds must be an integer from 1 to 7200, got 0/],
    [{ timings: { ttlSeconds: 7_201 } }, ERROR_CODES.INVALID_ARGUMENT, /ttlSeconds/],
    [{ timings: { announceMs: 1.5 } }, ERROR_CODES.INVALID_ARGUMENT, /announceMs/],
    [{ timings: { announcements: 9 } }, ERROR_CODES.INVALID_ARGUMENT, /announcements/],
    [{ timings: { requeryMs: 99 } }, ERROR_CODES.INVALID_ARGUMENT, /requeryMs/],
    [{ timings: { interfacePollMs: Number.NaN } }, ERROR_CODES.INVALID_ARGUMENT, /interfacePollMs/],
    [{ limits: { maxPeers: 0 } }, ERROR_CODES.INVALID_ARGUMENT, /limit maxPeers/],
    [{ limits: { maxTxtBytes: 100_000 } }, ERROR_CODES.INVALID_ARGUMENT, /limit maxTxtBytes/],
    [{ limits: { maxRecordsPerPacket: 2 } }, ERROR_CODES.INVALID_ARGUMENT, /limit maxRecordsPerPacket/],
  ];
  for (const [options, code, message] of cases) {
    assert.throws(() => new LanDiscovery({ name: 'amy', publicKey: KEY, ...options }), has(code, message), message.source);
  }
});

it('takes the defaults, normalises the name, and knows nobody before it starts', async () => {
  const lan = new LanDiscovery({ name: 'zoe\u0308', publicKey: KEY, timings: { ttlSeconds: 30 } });
  assert.equal(lan.name, 'zoë');
  assert.deepEqual(lan.timings, { ...DEFAULT_LAN_TIMINGS, ttlSeconds: 30 });
  assert.equal(lan.keyAuthority, 'lan');
  assert.equal(lan.isFriend(), false);
  assert.deepEqual(await lan.list(), []);
  assert.equal(await lan.lookup('bob'), undefined);
  assert.equal(lan.hasSeen('bob'), false);
  assert.equal(lan.state, 'idle');
  lan.requery(); // not running: nothing to do, nothing sent
});

it('start() refuses a bad port; stop() is idempotent and final', async () => {
  const lan = new LanDiscovery({ name: 'amy', publicKey: KEY });
  for (const port of [0, 65_536, 1.5])
    await assert.rejects(lan.start(port), has(ERROR_CODES.INVALID_ARGUMENT, /port must be from 1 to 65535/));
  assert.equal(lan.state, 'idle');
  await lan.stop();
  await lan.stop();
  assert.equal(lan.state, 'closed');
  await assert.rejects(lan.start(50_000), has(ERROR_CODES.INVALID_ARGUMENT, /cannot start: it is closed/));
});
