/**
 * The known-peers file: keys pinned on first contact (trust on first use, as
 * SSH's accept-new), kept next to the identity (docs/security.md).
 *
 *   { "version": 1,
 *     "peers":       { "bob": { "key": HEX(32 bytes), "since": ISO-8601 } },
 *     "directories": { "chat.example.org:7447": { "key": HEX, "since": ISO-8601 } } }
 *
 * Written whole to a temporary file and renamed over the old one, so a crash
 * never leaves half a file; mode 0600 like the identity.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ERROR_CODES, NatterError } from '../errors.ts';

export interface Pin {
  key: Buffer;
  /** When it was pinned (ISO-8601). */
  since: string;
}

type Section = 'peers' | 'directories';

/**
 * Pins kept per section, at most: past it the one pinned longest ago goes.
 * Keys are pinned when a chat opens, so this many is a lifetime of contacts;
 * the bound keeps the file (rewritten whole at each pin) from growing without end.
 */
export const MAX_PINS = 10_000;

export class KnownPeers {
  /** The file, or undefined for pins kept in memory only (tests, library users who want none). */
  readonly file: string | undefined;
  readonly #pins: Record<Section, Map<string, Pin>> = { peers: new Map(), directories: new Map() };
  readonly #now: () => Date;
  readonly #maxPins: number;

  constructor(file?: string, now: () => Date = () => new Date(), maxPins = MAX_PINS) {
    this.file = file;
    this.#now = now;
    this.#maxPins = maxPins;
  }

  /** Reads `file` (a missing file is an empty one). */
  static load(file: string, now?: () => Date): KnownPeers {
    const known = new KnownPeers(file, now);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return known;
      throw bad(file, (err as Error).message, err);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      throw bad(file, 'not valid JSON', cause);
    }
    const d = data as { version?: unknown } & Partial<Record<Section, unknown>>;
    if (d === null || typeof d !== 'object' || d.version !== 1)
      throw bad(file, 'expected {"version": 1, "peers": {...}, "directories": {...}}');
    for (const section of ['peers', 'directories'] as const) {
      const entries = d[section] ?? {};
      if (entries === null || typeof entries !== 'object') throw bad(file, `"${section}" must be an object`);
      for (const [name, value] of Object.entries(entries)) {
        const v = value as { key?: unknown; since?: unknown } | null;
        if (typeof v?.key !== 'string' || !/^[0-9a-f]{64}$/.test(v.key)) throw bad(file, `${section}.${name}: "key" must be 64 hex digits`);
        known.#pins[section].set(name, { key: Buffer.from(v.key, 'hex'), since: typeof v.since === 'string' ? v.since : '' });
      }
    }
    return known;
  }

  peer(name: string): Pin | undefined {
    return this.#pins.peers.get(name);
  }

  directory(address: string): Pin | undefined {
    return this.#pins.directories.get(address);
  }

  /** Pins (or replaces) a peer's key and saves the file. */
  pinPeer(name: string, key: Buffer): Pin {
    return this.#pin('peers', name, key);
  }

  /** Pins (or replaces) a directory's key and saves the file. */
  pinDirectory(address: string, key: Buffer): Pin {
    return this.#pin('directories', address, key);
  }

  #pin(section: Section, id: string, key: Buffer): Pin {
    const pin = { key: Buffer.from(key), since: this.#now().toISOString() };
    const pins = this.#pins[section];
    // A map keeps insertion order: a replaced pin moves to the end, the first is the oldest.
    pins.delete(id);
    pins.set(id, pin);
    while (pins.size > this.#maxPins) pins.delete(pins.keys().next().value as string);
    this.#save();
    return pin;
  }

  #save(): void {
    if (this.file === undefined) return;
    const json = (section: Section) =>
      Object.fromEntries([...this.#pins[section]].map(([id, p]) => [id, { key: p.key.toString('hex'), since: p.since }]));
    const body = `${JSON.stringify({ version: 1, peers: json('peers'), directories: json('directories') }, null, 2)}\n`;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      writeFileSync(tmp, body, { mode: 0o600 });
      renameSync(tmp, this.file);
    } catch (cause) {
      throw bad(this.file, `cannot save it: ${(cause as Error).message}`, cause);
    }
  }
}

function bad(file: string, why: string, cause?: unknown): NatterError {
  return new NatterError(ERROR_CODES.INVALID_ARGUMENT, `known-peers file ${file}: ${why}`, cause === undefined ? {} : { cause });
}
