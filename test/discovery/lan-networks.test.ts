/** This machine's networks as LAN discovery sees them, from interface lists given by the test. */
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { it } from 'node:test';
import { LocalNetworks } from '../../src/discovery/lan-networks.ts';

const v4 = (address: string, prefix: number, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: '',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal,
  cidr: `${address}/${prefix}`,
});
const v6 = (address: string): NetworkInterfaceInfo => ({
  address,
  netmask: '',
  family: 'IPv6',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/64`,
  scopeid: 0,
});

it('on the link: an address inside one of our IPv4 networks, loopback included', () => {
  const n = new LocalNetworks(undefined, () => ({
    lo: [v4('127.0.0.1', 8, true)],
    eth0: [v4('192.0.2.2', 24), v6('fe80::1')],
    wlan0: [v4('198.51.100.9', 25)],
  }));
  n.refresh();
  for (const ip of ['192.0.2.200', '198.51.100.100', '127.0.0.5']) assert.equal(n.isOnLink(ip), true, ip);
  for (const ip of ['192.0.3.1', '198.51.100.200', '203.0.113.5', 'fe80::2', 'bob']) assert.equal(n.isOnLink(ip), false, ip);
  assert.deepEqual(n.announceable(), ['192.0.2.2', '198.51.100.9'], 'every address but loopback, in order');
});

it('with one interface chosen, only its network (and loopback) counts, and only its address is announced', () => {
  const n = new LocalNetworks('192.0.2.2', () => ({
    lo: [v4('127.0.0.1', 8, true)],
    eth0: [v4('192.0.2.2', 24)],
    wlan0: [v4('198.51.100.9', 24)],
  }));
  n.refresh();
  assert.equal(n.isOnLink('192.0.2.7'), true);
  assert.equal(n.isOnLink('198.51.100.7'), false);
  assert.deepEqual(n.announceable(), ['192.0.2.2']);
});

it('refresh() tells when the networks changed, and only then', () => {
  let interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = { lo: [v4('127.0.0.1', 8, true)], eth0: [] };
  const n = new LocalNetworks('192.0.2.5', () => interfaces);
  assert.equal(n.refresh(), true, 'the first read');
  assert.equal(n.refresh(), false);
  assert.equal(n.isOnLink('192.0.2.7'), false, 'no address on the chosen interface yet');
  interfaces = { lo: [v4('127.0.0.1', 8, true)], eth0: [v4('192.0.2.5', 24)] };
  assert.equal(n.refresh(), true);
  assert.equal(n.signature, '127.0.0.1/8,192.0.2.5/24');
  assert.equal(n.isOnLink('192.0.2.7'), true);
  interfaces = { eth0: [v4('192.0.2.5', 24)], lo: [v4('127.0.0.1', 8, true)], docker0: [v4('203.0.113.1', 24)] };
  assert.equal(n.refresh(), false, 'an interface that is not ours, listed in another order: no change');
});
