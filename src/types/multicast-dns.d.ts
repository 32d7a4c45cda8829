/**
 * The part of multicast-dns natter uses (the package ships no types): one UDP
 * socket on the mDNS group (224.0.0.251:5353), packets encoded and decoded by
 * dns-packet. Decoded packets come from the network, so their records are
 * typed loosely here and checked where they are read (src/discovery/lan-records.ts).
 */
declare module 'multicast-dns' {
  import type { EventEmitter } from 'node:events';

  namespace multicastDns {
    interface Options {
      /** IPv4 address of the interface to join the group on and send from; default: every interface. */
      interface?: string;
      /** Address to bind; default: `interface`, which on Linux would hide multicast, so natter gives 0.0.0.0. */
      bind?: string;
      port?: number;
      /** Multicast group. Default 224.0.0.251. */
      ip?: string;
      /** IP TTL of multicast packets (RFC 6762 §11: 255). */
      ttl?: number;
      /** Receive our own packets (other peers on this machine need them). Default true. */
      loopback?: boolean;
      reuseAddr?: boolean;
    }

    /** A resource record as dns-packet decodes or encodes it. */
    interface DnsRecord {
      name: string;
      type: string;
      ttl?: number;
      class?: string;
      /** The cache-flush bit (RFC 6762 §10.2): set on records only their owner answers for. */
      flush?: boolean;
      data?: unknown;
    }

    interface DnsQuestion {
      name: string;
      type: string;
      class?: string;
    }

    interface DnsPacket {
      type?: 'query' | 'response';
      flags?: number;
      questions?: DnsQuestion[];
      answers?: DnsRecord[];
      authorities?: DnsRecord[];
      additionals?: DnsRecord[];
    }

    interface RemoteInfo {
      address: string;
      family: string;
      port: number;
      size: number;
    }

    interface MulticastDns extends EventEmitter {
      query(packet: DnsPacket, callback?: (err: Error | null) => void): void;
      respond(packet: DnsPacket, callback?: (err: Error | null) => void): void;
      /** Joins the group on interfaces that appeared since the last call. */
      update(): void;
      destroy(callback?: () => void): void;
      on(event: 'ready', listener: () => void): this;
      on(event: 'error' | 'warning', listener: (err: Error) => void): this;
      on(event: 'query' | 'response', listener: (packet: DnsPacket, rinfo: RemoteInfo) => void): this;
      once(event: 'ready', listener: () => void): this;
      once(event: 'error', listener: (err: Error) => void): this;
      off(event: string, listener: (...args: never[]) => void): this;
    }
  }

  function multicastDns(options?: multicastDns.Options): multicastDns.MulticastDns;
  export = multicastDns;
}
