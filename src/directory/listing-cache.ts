/**
 * The WHO answer, built once per change of the online list: HDR and every
 * PEER frame in one buffer, kept until the store's generation moves. Each
 * peer's PEER frame is kept across listings while its address and key stay
 * the same, so a new listing encodes only who changed.
 */
import { encodeMessage } from '../protocol/codec.ts';
import type { DirectoryStore } from './store/store.ts';

interface CachedPeer {
  ip: string;
  port: number;
  key: string;
  frame: Buffer;
}

export class ListingCache {
  readonly #store: DirectoryStore;
  #listing: { generation: number; frames: Buffer } | undefined;
  #peerFrames = new Map<string, CachedPeer>();

  constructor(store: DirectoryStore) {
    this.#store = store;
  }

  /** The WHO answer, HDR then every PEER frame, as one buffer. */
  async listing(): Promise<Buffer> {
    const generation = await this.#store.generation();
    if (this.#listing?.generation === generation) return this.#listing.frames;
    // Taken after the generation was read, the snapshot is at least that new:
    // a later change bumps the generation again and the next WHO rebuilds.
    const records = await this.#store.list();
    const frames: Buffer[] = [encodeMessage({ type: 'HDR', count: records.length })];
    const next = new Map<string, CachedPeer>();
    const inOrder: CachedPeer[] = [];
    for (const r of records) {
      let cached = this.#peerFrames.get(r.name);
      if (cached === undefined || cached.ip !== r.ip || cached.port !== r.port || cached.key !== r.key) {
        const frame = encodeMessage({ type: 'PEER', name: r.name, ip: r.ip, port: r.port, key: Buffer.from(r.key, 'hex') });
        cached = { ip: r.ip, port: r.port, key: r.key, frame };
      }
      next.set(r.name, cached);
      inOrder.push(cached);
      frames.push(cached.frame);
    }
    const listing = Buffer.concat(frames);
    // Each cached frame becomes a view of the new listing, so that the cache keeps that one buffer
    // alive and nothing else: a frame fresh from the encoder is a slice of Node's shared pool, and
    // frames kept from listings made at different times would keep a 64 KB pool slab (Node 24) each.
    let offset = frames[0]?.length ?? 0;
    for (const cached of inOrder) {
      const length = cached.frame.length;
      cached.frame = listing.subarray(offset, offset + length);
      offset += length;
    }
    this.#peerFrames = next;
    this.#listing = { generation, frames: listing };
    return listing;
  }

  /** The PEER frame of `name` as the current listing has it, or undefined when it is not online. */
  async peerFrame(name: string): Promise<Buffer | undefined> {
    await this.listing();
    return this.#peerFrames.get(name)?.frame;
  }
}
