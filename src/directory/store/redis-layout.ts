/**
 * How the Redis store lays its records out in Redis (redis-scripts.ts lists
 * the keys): key names under a prefix, an entry's value
 * "key|ip|port|registeredAt|seenIp|seenPort|owner", owners tagged per process, and times
 * converted between the caller's clock and the shared one (Redis TIME).
 */
import { randomBytes } from 'node:crypto';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import type { PeerRecord } from './store.ts';

/** An owner carrying a process's tag (16 hex digits and a slash). */
const TAGGED = /^[0-9a-f]{16}\//;

export class RedisLayout {
  readonly keys: { peers: string; heard: string; ports: string; gen: string; cursor: string; identity: string; shutdown: string };
  /** The pub/sub channel SHUTDOWN notices go out on. */
  readonly channel: string;
  /**
   * Marks this process's owners in Redis (`${tag}${owner}`): session ids are
   * per process, so another process's "1" must never be taken for ours.
   */
  readonly tag = `${randomBytes(8).toString('hex')}/`;
  /** Shared ms = caller's ms + offset (RedisStore measures it). */
  offset = 0;

  constructor(prefix: string) {
    this.keys = {
      peers: `${prefix}peers`,
      heard: `${prefix}heard`,
      ports: `${prefix}ports`,
      gen: `${prefix}gen`,
      cursor: `${prefix}cursor`,
      identity: `${prefix}identity`,
      shutdown: `${prefix}shutdown`,
    };
    this.channel = `${prefix}events`;
  }

  /** KEYS of the scripts that may add an entry (register). */
  changeKeys(): string[] {
    const k = this.keys;
    return [k.peers, k.heard, k.ports, k.gen, k.cursor];
  }

  /** KEYS of the scripts that remove entries (remove, expire). */
  removeKeys(): string[] {
    const k = this.keys;
    return [k.peers, k.heard, k.ports, k.gen];
  }

  ownerIn(owner: string): string {
    return this.tag + owner;
  }

  /**
   * An owner as Redis holds it: one of ours gets our tag; one read from Redis
   * that another process holds (ownerOut left its tag on) is already stored form.
   */
  stored(owner: string): string {
    return TAGGED.test(owner) ? owner : this.tag + owner;
  }

  /** The caller's owner for one of ours; another process's owner as stored, which no session id equals. */
  ownerOut(stored: string): string {
    return stored.startsWith(this.tag) ? stored.slice(this.tag.length) : stored;
  }

  toShared(ms: number): number {
    return ms + this.offset;
  }

  /** A record from its value and its last-heard time (shared ms), with times on the caller's clock. */
  decode(name: string, value: string, heardShared: number): PeerRecord {
    const cut: number[] = [];
    for (let at = -1, i = 0; i < 6; i++) {
      at = value.indexOf('|', at + 1);
      if (at < 0) throw new NatterError(ERROR_CODES.INTERNAL, `unexpected entry in Redis for ${name}`);
      cut.push(at);
    }
    const [a, b, c, d, e, f] = cut as [number, number, number, number, number, number];
    const seenIp = value.slice(d + 1, e);
    return {
      name,
      key: value.slice(0, a),
      ip: value.slice(a + 1, b),
      port: Number(value.slice(b + 1, c)),
      registeredAt: Number(value.slice(c + 1, d)) - this.offset,
      owner: this.ownerOut(value.slice(f + 1)),
      lastHeard: heardShared - this.offset,
      ...(seenIp === '' ? {} : { seenIp, seenPort: Number(value.slice(e + 1, f)) }),
    };
  }
}
