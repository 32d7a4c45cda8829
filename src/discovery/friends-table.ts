/**
 * The static friends table (docs/chat.md, "Friends file"): a JSON file shared
 * a priori by a group of friends, listing each one's name, IP and port.
 *
 *   { "friends": [ { "name": "user_1", "ip": "127.0.0.1", "port": 50000, "key": HEX }, ... ] }
 *
 * `key` is optional: the friend's public key as `natter id` prints it (64 hex
 * digits). With it the friend is verified on every connection; without it
 * the key is pinned on first contact (docs/security.md).
 * A bare array of the same entries is accepted too.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { canonicalIp, normalizeName } from '../protocol/fields.ts';
import { DEFAULT_LIMITS } from '../protocol/limits.ts';
import type { Discovery, KeyAuthority, PeerInfo } from './discovery.ts';

export class FriendsTable implements Discovery {
  readonly keyAuthority: KeyAuthority = 'friends-table';
  readonly friends: readonly PeerInfo[];
  readonly #byName: Map<string, PeerInfo>;

  constructor(friends: PeerInfo[]) {
    this.friends = friends;
    this.#byName = new Map(friends.map((f) => [f.name, f]));
  }

  /** Reads and validates a friends file; every problem is NATTER_ERR_INVALID_ARGUMENT naming the file and entry. */
  static load(file: string): FriendsTable {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `cannot read the friends file ${file}: ${(cause as Error).message}`, { cause });
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `the friends file ${file} is not valid JSON: ${(cause as Error).message}`, {
        cause,
      });
    }
    return FriendsTable.parse(data, file);
  }

  static parse(data: unknown, source = 'friends table'): FriendsTable {
    const list = Array.isArray(data) ? data : (data as { friends?: unknown } | null)?.friends;
    if (!Array.isArray(list) || list.length === 0) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `${source}: expected {"friends": [{"name", "ip", "port"}, ...]} with at least one entry`,
      );
    }
    const friends: PeerInfo[] = [];
    const seen = new Set<string>();
    list.forEach((entry: unknown, i) => {
      const where = `${source}: entry ${i + 1}`;
      const e = entry as { name?: unknown; ip?: unknown; port?: unknown; key?: unknown } | null;
      if (e === null || typeof e !== 'object') throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where} is not an object`);
      if (typeof e.name !== 'string') throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where}: "name" must be a string`);
      let name: string;
      try {
        name = normalizeName(e.name, DEFAULT_LIMITS.maxNameBytes);
      } catch (cause) {
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where}: ${(cause as Error).message}`, { cause });
      }
      if (typeof e.ip !== 'string' || isIP(e.ip) === 0)
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where} (${name}): "ip" must be an IP address`);
      if (typeof e.port !== 'number' || !Number.isInteger(e.port) || e.port < 1 || e.port > 65_535) {
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where} (${name}): "port" must be a number from 1 to 65535`);
      }
      if (e.key !== undefined && (typeof e.key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.key))) {
        throw new NatterError(
          ERROR_CODES.INVALID_ARGUMENT,
          `${where} (${name}): "key" must be the public key natter id prints (64 hex digits)`,
        );
      }
      if (seen.has(name)) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${where}: ${name} is listed twice`);
      seen.add(name);
      const key = typeof e.key === 'string' ? { key: Buffer.from(e.key, 'hex') } : {};
      friends.push({ name, ip: canonicalIp(e.ip), port: e.port, ...key });
    });
    return new FriendsTable(friends);
  }

  get(name: string): PeerInfo | undefined {
    return this.#byName.get(name);
  }

  async lookup(name: string): Promise<PeerInfo | undefined> {
    return this.#byName.get(name);
  }

  async list(): Promise<PeerInfo[]> {
    return [...this.friends];
  }

  isFriend(name: string): boolean {
    return this.#byName.has(name);
  }

  hasSeen(name: string): boolean {
    return this.#byName.has(name);
  }
}
