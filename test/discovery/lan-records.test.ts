/**
 * natter's DNS-SD records: what a peer announces, through the codec
 * multicast-dns puts on the wire, read back; and every kind of broken or
 * oversized announcement refused with its code, never thrown.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decode, encode } from 'dns-packet';
import fc from 'fast-check';
import type multicastDns from 'multicast-dns';
import {
  DEFAULT_LAN_LIMITS,
  MAX_TTL_SECONDS,
  SERVICE_TYPE,
  browseQuery,
  isAskingFor,
  ownNames,
  ownRecords,
  parseTxt,
  readResponse,
  type OwnRecord,
} from '../../src/discovery/lan-records.ts';
import { ERROR_CODES, NatterError, type NatterErrorCode } from '../../src/errors.ts';
import { keyArb, nameArb } from '../helpers/arbitraries.ts';

type DnsPacket = multicastDns.DnsPacket;
type DnsRecord = multicastDns.DnsRecord;

const KEY = Buffer.alloc(32, 0xab);
const LAN = '192.0.2.';
const isOnLink = (ip: string) => ip.startsWith(LAN);

function own(name = 'bob', key = KEY, port = 50_001, addresses = ['192.0.2.7']): OwnRecord {
  return { ...ownNames(name, key, port), name, key, port, addresses };
}

/** Through the bytes multicast-dns would send and receive. */
const wire = (packet: DnsPacket): DnsPacket => decode(encode({ type: 'response', ...packet }));

const txt = (...entries: (string | Buffer)[]) => entries.map((e) => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e));
const HEX = KEY.toString('hex');

/** An announcement of `bob` with its TXT entries replaced. */
function withTxt(entries: Buffer[], port = 50_001): DnsPacket {
  const packet = ownRecords(own(), 120);
  const answers = (packet.answers ?? []).map((r) =>
    r.type === 'TXT'
      ? { ...r, data: entries }
      : r.type === 'SRV'
        ? { ...r, data: { port, target: (r.data as { target: string }).target } }
        : r,
  );
  return { answers };
}

const rejects = (code: NatterErrorCode, message: RegExp) => (e: unknown) =>
  e instanceof NatterError && e.code === code && message.test(e.message);

describe('LAN announcements', () => {
  it('an announcement reads back as the peer announced it, through the wire', () => {
    const me = own('zoë.x', KEY, 50_001, ['192.0.2.7', '198.51.100.9']);
    assert.match(me.instance, /^zoë-x \(abababab\)\._natter\._tcp\.local$/);
    const { seen, gone, rejected } = readResponse(wire(ownRecords(me, 120)), '192.0.2.7', { isOnLink });
    assert.deepEqual(gone, []);
    assert.deepEqual(rejected, []);
    assert.deepEqual(seen, [{ instance: me.instance, name: 'zoë.x', key: KEY, ip: '192.0.2.7', port: 50_001, ttlSeconds: 120 }]);
  });

  it('property: any valid name, key and port read back the same', () => {
    fc.assert(
      fc.property(nameArb, keyArb, fc.integer({ min: 1, max: 65_535 }), fc.integer({ min: 1, max: 254 }), (name, key, port, host) => {
        const ip = `${LAN}${host}`;
        const [a] = readResponse(wire(ownRecords(own(name, key, port, [ip]), 60)), ip, { isOnLink }).seen;
        assert.deepEqual(a && { name: a.name, key: a.key, ip: a.ip, port: a.port }, { name: name.normalize('NFC'), key, ip, port });
      }),
      { numRuns: 200 },
    );
  });

  it('a goodbye (TTL 0) names the instance that leaves, whatever the case of its name', () => {
    const me = own();
    const bye = wire(ownRecords(me, 0));
    assert.deepEqual(readResponse(bye, '192.0.2.7', { isOnLink }), { seen: [], gone: [me.instance.toLowerCase()], rejected: [] });
    const shouting = { answers: [{ name: SERVICE_TYPE.toUpperCase(), type: 'PTR', ttl: 0, data: me.instance.toUpperCase() }] };
    assert.deepEqual(readResponse(shouting, '192.0.2.7', { isOnLink }).gone, [me.instance.toLowerCase()]);
  });

  it('the address: the sender’s own when announced, else the first announced on our link, else the sender’s', () => {
    const read = (addresses: string[], source: string) =>
      readResponse(ownRecords(own('bob', KEY, 1, addresses), 120), source, { isOnLink }).seen[0]?.ip;
    assert.equal(read(['192.0.2.8', '192.0.2.7'], '192.0.2.7'), '192.0.2.7');
    assert.equal(read(['203.0.113.5', '192.0.2.8'], '192.0.2.7'), '192.0.2.8', 'an address off our link is never taken');
    assert.equal(read(['203.0.113.5'], '192.0.2.7'), '192.0.2.7');
    assert.equal(read([], '192.0.2.7'), '192.0.2.7');
    const notAnAddress = {
      answers: [
        ...(ownRecords(own(), 120).answers ?? []).filter((r) => r.type !== 'A'),
        { name: own().host, type: 'A', ttl: 120, data: 'fe80::1' },
      ],
    };
    assert.equal(readResponse(notAnAddress, '192.0.2.7', { isOnLink }).seen[0]?.ip, '192.0.2.7');
  });

  it('TTLs are cut to 1 s .. 2 h, and the shorter of PTR and SRV counts', () => {
    const ttl = (ptr: number, srv: number) => {
      const answers = (ownRecords(own(), 120).answers ?? []).map((r) => ({
        ...r,
        ttl: r.type === 'PTR' ? ptr : r.type === 'SRV' ? srv : 120,
      }));
      return readResponse({ answers }, '192.0.2.7', { isOnLink }).seen[0]?.ttlSeconds;
    };
    assert.equal(ttl(4500, 120), 120);
    assert.equal(ttl(60, 120), 60);
    assert.equal(ttl(999_999, 999_999), MAX_TTL_SECONDS);
    assert.equal(ttl(30, 0), 30, 'an SRV without a TTL takes the PTR’s');
  });

  it('refuses, with a reason and a code, every announcement that does not pass; never throws', () => {
    // The last cases cannot be put on the wire: dns-packet decodes nothing like them, but the reader holds up anyway.
    const cases: [DnsPacket, NatterErrorCode, RegExp, boolean?][] = [
      [withTxt(txt('name=bob', `key=${HEX}`)), ERROR_CODES.MALFORMED, /without v=/],
      [withTxt(txt('v=2', 'name=bob', `key=${HEX}`)), ERROR_CODES.MALFORMED, /version "2"/],
      [withTxt(txt('v=1', `key=${HEX}`)), ERROR_CODES.MALFORMED, /without name=/],
      [withTxt(txt('v=1', 'name=', `key=${HEX}`)), ERROR_CODES.INVALID_NAME, /empty/],
      [withTxt(txt('v=1', 'name=bo b', `key=${HEX}`)), ERROR_CODES.INVALID_NAME, /spaces/],
      [withTxt(txt('v=1', 'name=bob\u001b[2J', `key=${HEX}`)), ERROR_CODES.INVALID_NAME, /control/],
      [withTxt(txt('v=1', `name=${'x'.repeat(33)}`, `key=${HEX}`)), ERROR_CODES.INVALID_NAME, /33 bytes/],
      [withTxt(txt('v=1', Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3d, 0xff, 0xfe]), `key=${HEX}`)), ERROR_CODES.MALFORMED, /UTF-8/],
      [withTxt(txt('v=1', 'name=bob')), ERROR_CODES.MALFORMED, /64 hex digits/],
      [withTxt(txt('v=1', 'name=bob', `key=${HEX.slice(2)}`)), ERROR_CODES.MALFORMED, /64 hex digits/],
      [withTxt(txt('v=1', 'name=bob', `key=${HEX.slice(2)}zz`)), ERROR_CODES.MALFORMED, /64 hex digits/],
      [
        withTxt(
          txt(
            'v=1',
            'name=bob',
            `key=${HEX}`,
            `pad=${'p'.repeat(250)}`,
            `pad2=${'p'.repeat(250)}`,
            `pad3=${'p'.repeat(250)}`,
            `pad4=${'p'.repeat(250)}`,
          ),
        ),
        ERROR_CODES.MALFORMED,
        /bytes; the limit is 1024/,
      ],
      [
        withTxt(txt('v=1', 'name=bob', `key=${HEX}`, ...Array.from({ length: 40 }, (_, i) => `k${i}=`))),
        ERROR_CODES.MALFORMED,
        /entries; the limit is 32/,
      ],
      [withTxt(txt('v=1', 'name=bob', `key=${HEX}`), 0), ERROR_CODES.MALFORMED, /port 0/],
      [
        { answers: (ownRecords(own(), 120).answers ?? []).filter((r) => r.type !== 'SRV') },
        ERROR_CODES.MALFORMED,
        /without its SRV and TXT/,
      ],
      [
        { answers: (ownRecords(own(), 120).answers ?? []).filter((r) => r.type !== 'TXT') },
        ERROR_CODES.MALFORMED,
        /without its SRV and TXT/,
      ],
      [
        { answers: (ownRecords(own(), 120).answers ?? []).map((r) => (r.type === 'SRV' ? { ...r, data: 'nonsense' } : r)) },
        ERROR_CODES.MALFORMED,
        /port undefined/,
        false,
      ],
      [
        { answers: (ownRecords(own(), 120).answers ?? []).map((r) => (r.type === 'TXT' ? { ...r, data: [7] } : r)) },
        ERROR_CODES.MALFORMED,
        /not a byte string/,
        false,
      ],
    ];
    for (const [packet, code, message, isOnWire = true] of cases) {
      const { seen, rejected } = readResponse(isOnWire ? wire(packet) : packet, '192.0.2.7', { isOnLink });
      assert.deepEqual(seen, [], message.source);
      assert.equal(rejected.length, 1, message.source);
      assert.ok(rejects(code, message)(rejected[0]?.error), `${message.source}: ${rejected[0]?.error.code} ${rejected[0]?.error.message}`);
    }
  });

  it('TXT keys: case does not matter, the first of a repeated key counts, entries without a key or value are skipped', () => {
    assert.deepEqual(parseTxt(txt('V=1', 'NAME=bob', `Key=${HEX}`, 'name=eve', '=orphan', 'flag', '')), { name: 'bob', key: KEY });
    assert.throws(() => parseTxt(txt('v=1', 'name=bob', `key=${HEX}`), { maxTxtBytes: 64 }), rejects(ERROR_CODES.MALFORMED, /limit is 64/));
  });

  it('looks at no more records than the limit, so a huge packet costs little', () => {
    const many: DnsRecord[] = Array.from({ length: 500 }, (_, i) => ({
      name: SERVICE_TYPE,
      type: 'PTR',
      ttl: 120,
      data: `x${i}.${SERVICE_TYPE}`,
    }));
    const { seen, rejected } = readResponse({ answers: [...many, ...(ownRecords(own(), 120).answers ?? [])] }, '192.0.2.7', { isOnLink });
    assert.deepEqual(seen, [], 'the real announcement came after the limit');
    assert.equal(rejected.length, DEFAULT_LAN_LIMITS.maxRecordsPerPacket);
  });

  it('ignores records of other services and records that are not records', () => {
    const packet = {
      answers: [
        { name: '_http._tcp.local', type: 'PTR', ttl: 120, data: 'web._http._tcp.local' },
        null,
        { name: 7, type: 'PTR' },
        { name: SERVICE_TYPE, type: 'PTR', ttl: 120, data: { not: 'a name' } },
        ...(ownRecords(own(), 120).answers ?? []),
      ],
    } as unknown as DnsPacket;
    assert.equal(readResponse(packet, '192.0.2.7', { isOnLink }).seen.length, 1);
  });

  it('property: whatever the records hold, reading never throws', () => {
    const value = fc.oneof(
      fc.anything(),
      fc.constant(SERVICE_TYPE),
      fc.uint8Array().map((a) => [Buffer.from(a)]),
    );
    const record = fc.record({
      name: fc.oneof(fc.constant(SERVICE_TYPE), fc.string()),
      type: fc.constantFrom('PTR', 'SRV', 'TXT', 'A', 'AAAA', 'ANY'),
      ttl: fc.oneof(fc.integer(), fc.anything()),
      data: value,
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (answers) => {
        const r = readResponse({ answers: answers as DnsRecord[] }, '192.0.2.7', { isOnLink });
        for (const { error } of r.rejected) assert.ok(error instanceof NatterError);
      }),
      { numRuns: 300 },
    );
  });
});

describe('LAN queries', () => {
  const me = own();

  it('a query for natter peers asks us, unless it already holds our record for more than half its TTL', () => {
    assert.equal(isAskingFor(wire(browseQuery([])), me, 120), true);
    assert.equal(isAskingFor(decode(encode(browseQuery([{ instance: me.instance, ttlSeconds: 61 }]))), me, 120), false);
    assert.equal(
      isAskingFor(browseQuery([{ instance: me.instance, ttlSeconds: 60 }]), me, 120),
      true,
      'half or less: answer, so it is refreshed',
    );
    assert.equal(isAskingFor(browseQuery([{ instance: `other.${SERVICE_TYPE}`, ttlSeconds: 120 }]), me, 120), true);
  });

  it('a query for our instance asks us; one for another service does not', () => {
    assert.equal(isAskingFor({ questions: [{ name: me.instance.toUpperCase(), type: 'SRV' }] }, me, 120), true);
    assert.equal(isAskingFor({ questions: [{ name: me.instance, type: 'A' }] }, me, 120), false);
    assert.equal(isAskingFor({ questions: [{ name: '_http._tcp.local', type: 'PTR' }] }, me, 120), false);
    assert.equal(isAskingFor({}, me, 120), false);
  });
});
