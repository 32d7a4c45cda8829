/**
 * This machine's IPv4 networks, as LAN discovery needs them: which addresses
 * to announce, whether a packet came from the local link (RFC 6762 §11: an
 * mDNS answer from anywhere else is not taken), and whether the networks
 * changed since the last look (then natter announces and asks again).
 */
import { isIPv4 } from 'node:net';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import ipaddr from 'ipaddr.js';

interface Network {
  address: string;
  prefix: number;
  isInternal: boolean;
}

export class LocalNetworks {
  /** The one interface address to use, or undefined for all of them. */
  readonly only: string | undefined;
  readonly #read: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  #networks: Network[] = [];
  #signature = '';

  /** `read` is os.networkInterfaces, or what a test gives instead. */
  constructor(only: string | undefined, read: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces) {
    this.only = only;
    this.#read = read;
  }

  /** The networks as last read, `address/prefix` in order: what a change is told by. */
  get signature(): string {
    return this.#signature;
  }

  /** Reads the interfaces again; true when the networks changed since the last read. */
  refresh(): boolean {
    const networks: Network[] = [];
    for (const addresses of Object.values(this.#read())) {
      for (const a of addresses ?? []) {
        if (a.family !== 'IPv4') continue;
        // Loopback stays: other peers on this machine are on the link too.
        if (this.only !== undefined && a.address !== this.only && !a.internal) continue;
        networks.push({ address: a.address, prefix: Number(a.cidr?.split('/')[1] ?? 32), isInternal: a.internal });
      }
    }
    networks.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    const signature = networks.map((n) => `${n.address}/${n.prefix}`).join(',');
    const isChanged = signature !== this.#signature;
    this.#networks = networks;
    this.#signature = signature;
    return isChanged;
  }

  /** The addresses to announce: the one interface's, or every address but loopback. */
  announceable(): string[] {
    return this.only !== undefined ? [this.only] : this.#networks.filter((n) => !n.isInternal).map((n) => n.address);
  }

  /** True for an IPv4 address inside one of the networks as last read. */
  isOnLink(ip: string): boolean {
    if (!isIPv4(ip)) return false;
    const addr = ipaddr.IPv4.parse(ip);
    return this.#networks.some((n) => addr.match(ipaddr.IPv4.parse(n.address), n.prefix));
  }
}
