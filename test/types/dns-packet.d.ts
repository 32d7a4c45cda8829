/** The part of dns-packet the tests use (the package ships no types): the codec multicast-dns puts on the wire. */
declare module 'dns-packet' {
  import type multicastDns from 'multicast-dns';

  /** Encodes a packet as multicast-dns sends it. Throws on what it cannot encode. */
  export function encode(packet: multicastDns.DnsPacket): Buffer;
  /** Decodes bytes as multicast-dns does before emitting 'query' or 'response'. Throws on bytes that are not a DNS packet. */
  export function decode(buf: Buffer): multicastDns.DnsPacket;
}
