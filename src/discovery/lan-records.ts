/**
 * natter's DNS-SD records on multicast DNS (RFC 6763 on RFC 6762): what a
 * peer announces about itself, what it asks, and reading what others
 * announce. Pure functions: no sockets, no timers (lan.ts has those).
 *
 *   _natter._tcp.local                 PTR  bob (1a2b3c4d)._natter._tcp.local   shared: many peers answer
 *   bob (1a2b3c4d)._natter._tcp.local  SRV  0 0 <port> natter-<key>-<port>.local
 *   bob (1a2b3c4d)._natter._tcp.local  TXT  "v=1" "name=bob" "key=<64 hex digits>"
 *   natter-<key>-<port>.local          A    <IPv4 address>, one record per address
 *
 * An announcement is only a hint (docs/security.md): anyone on the LAN can
 * send one, for any name and key. Everything read here is bounded and
 * checked; what does not pass is reported, never thrown.
 */
import { isIPv4 } from 'node:net';
import type multicastDns from 'multicast-dns';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';

type DnsPacket = multicastDns.DnsPacket;
type DnsRecord = multicastDns.DnsRecord;

/** The DNS-SD service type natter peers announce and browse. */
export const SERVICE_TYPE = '_natter._tcp.local';

/** The version of the TXT format below; an announcement of another version is ignored. */
export const TXT_VERSION = '1';

/** Longest TTL taken from an announcement; a longer one is cut to this (seconds). */
export const MAX_TTL_SECONDS = 7_200;

/** Addresses taken from one announcement, at most. */
const MAX_ADDRESSES = 8;

/** Entries of one TXT record looked at, at most. */
const MAX_TXT_ENTRIES = 32;

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What is read from the network, bounded: every limit has a finite default. */
export interface LanLimits {
  /** Peers remembered at once; announcements of more are ignored until some expire. Default 256. */
  maxPeers: number;
  /** Bytes of one TXT record's data (RFC 6763 §6.2 suggests keeping a whole record set under 1,300). Default 1,024. */
  maxTxtBytes: number;
  /** Records of one packet looked at (answers, then additionals); the rest are ignored. Default 64. */
  maxRecordsPerPacket: number;
}

export const DEFAULT_LAN_LIMITS: Readonly<LanLimits> = Object.freeze({ maxPeers: 256, maxTxtBytes: 1_024, maxRecordsPerPacket: 64 });

/** What we announce about ourselves. */
export interface OwnRecord {
  /** The instance's full name: `<label>._natter._tcp.local`. */
  instance: string;
  /** The host name the SRV record points at: `natter-<key>-<port>.local`. */
  host: string;
  name: string;
  key: Buffer;
  port: number;
  /** IPv4 addresses we can be reached at. */
  addresses: readonly string[];
}

/** A peer's announcement, checked. */
export interface Announcement {
  /** The instance's full name, in the form `sameDnsName` compares (the handle later packets use). */
  instance: string;
  name: string;
  key: Buffer;
  ip: string;
  port: number;
  /** How long it holds, in seconds (1 to MAX_TTL_SECONDS). */
  ttlSeconds: number;
}

/** What one response packet says. */
export interface ReadResult {
  /** Peers announced (new, or announced again). */
  seen: Announcement[];
  /** Instances that said goodbye (a PTR record with TTL 0, RFC 6762 §10.1). */
  gone: string[];
  /** Announcements of our type that did not pass, and why. */
  rejected: { instance: string; error: NatterError }[];
}

/** DNS names compare without regard to ASCII case (RFC 6762 §16). */
export function dnsKey(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * Our instance and host names. The instance label shows the name to people
 * browsing the LAN with other tools, with the start of the key so that two
 * peers with one name stay apart; '.' and '\' would split or escape labels.
 */
export function ownNames(name: string, key: Buffer, port: number): { instance: string; host: string } {
  const hex = key.toString('hex');
  const label = `${name.replace(/[.\\]/g, '-')} (${hex.slice(0, 8)})`;
  return { instance: `${label}.${SERVICE_TYPE}`, host: `natter-${hex.slice(0, 12)}-${port}.local` };
}

/** The TXT entries of our announcement. */
export function ownTxt(name: string, key: Buffer): Buffer[] {
  return [`v=${TXT_VERSION}`, `name=${name}`, `key=${key.toString('hex')}`].map((e) => Buffer.from(e, 'utf8'));
}

/**
 * Our records, for an announcement or an answer (`ttlSeconds` > 0), or for a
 * goodbye (0). All go in the answer section, as RFC 6762 §8.3 has for
 * announcements; receivers read both sections anyway.
 */
export function ownRecords(own: OwnRecord, ttlSeconds: number): DnsPacket {
  const answers: DnsRecord[] = [
    { name: SERVICE_TYPE, type: 'PTR', ttl: ttlSeconds, data: own.instance },
    { name: own.instance, type: 'SRV', ttl: ttlSeconds, flush: true, data: { port: own.port, target: own.host, priority: 0, weight: 0 } },
    { name: own.instance, type: 'TXT', ttl: ttlSeconds, flush: true, data: ownTxt(own.name, own.key) },
    ...own.addresses
      .slice(0, MAX_ADDRESSES)
      .map((ip): DnsRecord => ({ name: own.host, type: 'A', ttl: ttlSeconds, flush: true, data: ip })),
  ];
  return { answers };
}

/**
 * A query for every natter peer, with the answers we already hold for long
 * enough (RFC 6762 §7.1, known-answer suppression): peers that find their own
 * record among them stay quiet, so a LAN of many peers is not flooded.
 */
export function browseQuery(known: readonly { instance: string; ttlSeconds: number }[]): DnsPacket {
  return {
    questions: [{ name: SERVICE_TYPE, type: 'PTR' }],
    answers: known.map(({ instance, ttlSeconds }) => ({ name: SERVICE_TYPE, type: 'PTR', ttl: ttlSeconds, data: instance })),
  };
}

/**
 * True when `packet` asks for us and does not already hold our record with
 * more than half its TTL left (known-answer suppression, RFC 6762 §7.1).
 */
export function isAskingFor(packet: DnsPacket, own: { instance: string }, ttlSeconds: number): boolean {
  const instance = dnsKey(own.instance);
  const asks = (packet.questions ?? []).slice(0, 16).some((q) => {
    if (typeof q?.name !== 'string') return false;
    const name = dnsKey(q.name);
    if (name === SERVICE_TYPE) return q.type === 'PTR' || q.type === 'ANY';
    return name === instance && (q.type === 'SRV' || q.type === 'TXT' || q.type === 'ANY');
  });
  if (!asks) return false;
  const isKnown = (packet.answers ?? [])
    .slice(0, 64)
    .some(
      (r) =>
        r?.type === 'PTR' &&
        typeof r.data === 'string' &&
        dnsKey(r.data) === instance &&
        typeof r.ttl === 'number' &&
        r.ttl > ttlSeconds / 2,
    );
  return !isKnown;
}

/**
 * Reads a natter TXT record: `v=1`, `name=NAME` (a valid display name),
 * `key=HEX` (a 32-byte public key). Keys are case-insensitive and the first
 * of a repeated key counts (RFC 6763 §6.4); other keys are ignored.
 * @throws NatterError NATTER_ERR_MALFORMED, or NATTER_ERR_INVALID_NAME for the name.
 */
export function parseTxt(data: unknown, limits: Pick<LanLimits, 'maxTxtBytes'> = DEFAULT_LAN_LIMITS): { name: string; key: Buffer } {
  const entries = Array.isArray(data) ? data : [data];
  let bytes = 0;
  for (const e of entries) bytes += Buffer.isBuffer(e) ? e.length + 1 : 0;
  if (bytes > limits.maxTxtBytes) {
    throw new NatterError(ERROR_CODES.MALFORMED, `TXT record of ${bytes} bytes; the limit is ${limits.maxTxtBytes}`);
  }
  if (entries.length > MAX_TXT_ENTRIES) {
    throw new NatterError(ERROR_CODES.MALFORMED, `TXT record of ${entries.length} entries; the limit is ${MAX_TXT_ENTRIES}`);
  }
  const fields = new Map<string, Buffer>();
  for (const e of entries) {
    if (!Buffer.isBuffer(e)) throw new NatterError(ERROR_CODES.MALFORMED, 'TXT entry is not a byte string');
    const eq = e.indexOf(0x3d); // '='
    const rawKey = e.subarray(0, eq === -1 ? e.length : eq);
    // Keys are printable US-ASCII but '=' (RFC 6763 §6.4); an entry with no key is ignored.
    if (rawKey.length === 0 || rawKey.some((b) => b < 0x20 || b > 0x7e)) continue;
    const key = dnsKey(rawKey.toString('latin1'));
    if (!fields.has(key)) fields.set(key, eq === -1 ? Buffer.alloc(0) : e.subarray(eq + 1));
  }
  const version = fields.get('v')?.toString('latin1');
  if (version !== TXT_VERSION) {
    throw new NatterError(
      ERROR_CODES.MALFORMED,
      version === undefined
        ? 'TXT record without v='
        : `TXT record of version ${JSON.stringify(version.slice(0, 16))}; this natter reads ${TXT_VERSION}`,
    );
  }
  const rawName = fields.get('name');
  if (rawName === undefined) throw new NatterError(ERROR_CODES.MALFORMED, 'TXT record without name=');
  let text: string;
  try {
    text = STRICT_UTF8.decode(rawName);
  } catch (cause) {
    throw new NatterError(ERROR_CODES.MALFORMED, 'TXT name= is not valid UTF-8', { cause });
  }
  const name = normalizeName(text, DEFAULT_LIMITS.maxNameBytes);
  const hex = fields.get('key')?.toString('latin1');
  if (hex === undefined || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new NatterError(ERROR_CODES.MALFORMED, 'TXT key= must be a public key: 64 hex digits');
  }
  return { name, key: Buffer.from(hex, 'hex') };
}

export interface ReadOptions {
  limits?: Pick<LanLimits, 'maxTxtBytes' | 'maxRecordsPerPacket'>;
  /** True for an IPv4 address on one of this machine's networks: the only addresses taken from an announcement. */
  isOnLink: (ip: string) => boolean;
}

/**
 * Reads the natter announcements and goodbyes in a response packet that came
 * from `source` (the sender's address, already checked to be on the link).
 * The peer's address is the announced A record that is the sender's own,
 * else the first announced one on our link, else the sender's.
 */
export function readResponse(packet: DnsPacket, source: string, options: ReadOptions): ReadResult {
  const limits = options.limits ?? DEFAULT_LAN_LIMITS;
  const result: ReadResult = { seen: [], gone: [], rejected: [] };
  const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])]
    .slice(0, limits.maxRecordsPerPacket)
    .filter((r): r is DnsRecord => typeof r === 'object' && r !== null && typeof r.name === 'string' && typeof r.type === 'string');
  const ttlOf = (r: DnsRecord): number => (typeof r.ttl === 'number' && Number.isInteger(r.ttl) && r.ttl >= 0 ? r.ttl : 0);
  const handled = new Set<string>();
  for (const ptr of records) {
    if (ptr.type !== 'PTR' || dnsKey(ptr.name) !== SERVICE_TYPE || typeof ptr.data !== 'string') continue;
    const instance = dnsKey(ptr.data);
    if (handled.has(instance)) continue;
    handled.add(instance);
    if (ttlOf(ptr) === 0) {
      result.gone.push(instance);
      continue;
    }
    try {
      result.seen.push(readInstance(instance, ttlOf(ptr), records, source, limits, options.isOnLink, ttlOf));
    } catch (err) {
      const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.MALFORMED, String(err), { cause: err });
      result.rejected.push({ instance, error });
    }
  }
  return result;
}

function readInstance(
  instance: string,
  ptrTtl: number,
  records: readonly DnsRecord[],
  source: string,
  limits: Pick<LanLimits, 'maxTxtBytes'>,
  isOnLink: (ip: string) => boolean,
  ttlOf: (r: DnsRecord) => number,
): Announcement {
  const srv = records.find((r) => r.type === 'SRV' && dnsKey(r.name) === instance);
  const txt = records.find((r) => r.type === 'TXT' && dnsKey(r.name) === instance);
  if (srv === undefined || txt === undefined) throw new NatterError(ERROR_CODES.MALFORMED, 'announcement without its SRV and TXT records');
  const target = (srv.data as { target?: unknown } | null | undefined)?.target;
  const port = (srv.data as { port?: unknown } | null | undefined)?.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new NatterError(ERROR_CODES.MALFORMED, `announced port ${String(port)} is not a port from 1 to 65535`);
  }
  const { name, key } = parseTxt(txt.data, limits);
  const addresses =
    typeof target === 'string'
      ? records
          .filter((r) => r.type === 'A' && dnsKey(r.name) === dnsKey(target) && typeof r.data === 'string' && isIPv4(r.data))
          .map((r) => r.data as string)
          .filter(isOnLink)
          .slice(0, MAX_ADDRESSES)
      : [];
  const ip = addresses.includes(source) ? source : (addresses[0] ?? source);
  const srvTtl = ttlOf(srv) === 0 ? ptrTtl : ttlOf(srv);
  return { instance, name, key, ip, port, ttlSeconds: Math.max(1, Math.min(MAX_TTL_SECONDS, ptrTtl, srvTtl)) };
}
