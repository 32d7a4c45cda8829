/**
 * One room's log: every signed item a member holds (membership records and
 * messages), in the one order every member agrees on, and what that order
 * makes of them: the member list, who is an admin, who is invited, and which
 * messages count.
 *
 * The state is a fold over the items sorted by (Lamport clock, author key,
 * seq) (room-item.ts compareItems). Each record is checked against the
 * state just before it: a member list is a pure function of the set of
 * items held, so members holding the same items agree, whatever order and
 * however many times the items arrived.
 *
 *   create   its author is the first member and admin; the room id must be
 *            BLAKE2b(author ‖ nonce), so nobody else can write it
 *   invite   by an admin, of a key not yet a member; room capped at 32
 *   join     by an invited key: it becomes a member
 *   decline  by an invited key: the invitation is gone
 *   leave    by a member
 *   kick     by an admin, of another member; `upTo` is the last seq of the
 *            removed member the admin had: its later items count nowhere,
 *            even those that sort before the kick (a removed member cannot
 *            backdate new messages into the room)
 *   admin    by an admin, of a member
 *   message  counts when its author is a member at its place in the order
 *
 * Items arriving in order extend the fold; one that sorts before what is
 * already settled (a late message, catch-up from several members at once)
 * makes the next settle() fold again from the start: a few thousand map
 * operations, done once per batch.
 */
import { compareItems, roomIdOf, type RoomItem } from './room-item.ts';

/** The most members (and invitations) a room may ever have: the same at every member, so it is part of the fold. */
export const ROOM_MEMBER_CAP = 32;

export interface Member {
  key: Buffer;
  hex: string;
  /** The display name the invitation gave (the creator's own, for the creator): the name members reach it at. */
  label: string;
  isAdmin: boolean;
}

export interface Invitation {
  key: Buffer;
  hex: string;
  label: string;
  /** Who invited: the inviting member's key. */
  by: string;
}

interface FoldState {
  name: string | undefined;
  members: Map<string, Member>;
  invited: Map<string, Invitation>;
}

/** What settle() found: items that count now and did not before, in order, and whether each came late. */
export interface Settled {
  items: { item: RoomItem; isLate: boolean }[];
  /** Messages shown before that count no more (a removed member's, past the kick's `upTo`). */
  withdrawn: RoomItem[];
}

export class RoomLog {
  readonly id: string;
  /** Every item held, by author (hex) and seq. */
  readonly #byAuthor = new Map<string, Map<number, RoomItem>>();
  /** The settled items, in order. */
  #order: RoomItem[] = [];
  #pending: RoomItem[] = [];
  #state: FoldState = emptyState();
  /** Ids of the items that count: records applied, messages by a member. */
  #valid = new Set<string>();
  /** Per author: the highest seq such that every seq up to it is held. */
  readonly #have = new Map<string, number>();
  /** Each author's key, as bytes. */
  readonly #keys = new Map<string, Buffer>();
  /** have() as RHAVE lists it, made again only after an item came in. */
  #haveList: { key: Buffer; seq: number }[] | undefined;
  /** Per author: the highest seq held. */
  readonly #top = new Map<string, number>();
  /** Keys an item may come from: the creator and every key any invite names. Others are refused before they are stored. */
  readonly #known = new Set<string>();
  /** The name each key was given (the creator's own, or an invitation's): removed members' messages still have a sender. */
  readonly #labels = new Map<string, string>();
  #maxClock = 0;

  constructor(id: string) {
    this.id = id;
  }

  /**
   * Takes an item (its signature already checked) into the log, to count
   * from the next settle(). 'duplicate' for one held already; 'conflict'
   * for a second, different item with an author's seq (the first is kept);
   * 'wrong-room' for an item of another room or a create that is not this
   * room's. (Whether its author may write here is the fold's to say; the
   * owner refuses authors no record names before they get here:
   * isKnownAuthor.)
   */
  add(item: RoomItem): 'added' | 'duplicate' | 'conflict' | 'wrong-room' {
    if (item.room !== this.id) return 'wrong-room';
    const seqs = this.#byAuthor.get(item.authorHex);
    const held = seqs?.get(item.seq);
    if (held !== undefined) return held.bytes.equals(item.bytes) ? 'duplicate' : 'conflict';
    if (item.body.kind === 'create' && roomIdOf(item.author, item.body.nonce) !== this.id) return 'wrong-room';
    this.#known.add(item.authorHex);
    if (item.body.kind === 'create') this.#labels.set(item.authorHex, item.body.label);
    if (item.body.kind === 'invite') {
      this.#known.add(item.body.key.toString('hex'));
      this.#labels.set(item.body.key.toString('hex'), item.body.label);
    }
    let map = seqs;
    if (map === undefined) {
      map = new Map();
      this.#byAuthor.set(item.authorHex, map);
    }
    map.set(item.seq, item);
    let have = this.#have.get(item.authorHex) ?? 0;
    while (map.has(have + 1)) have++;
    this.#have.set(item.authorHex, have);
    this.#haveList = undefined;
    if (!this.#keys.has(item.authorHex)) this.#keys.set(item.authorHex, item.author);
    if (item.seq > (this.#top.get(item.authorHex) ?? 0)) this.#top.set(item.authorHex, item.seq);
    if (item.clock > this.#maxClock) this.#maxClock = item.clock;
    this.#pending.push(item);
    return 'added';
  }

  /** Takes in what add() took since the last settle, and says what counts now that did not. */
  settle(): Settled {
    if (this.#pending.length === 0) return { items: [], withdrawn: [] };
    const pending = this.#pending.sort(compareItems);
    this.#pending = [];
    const last = this.#order.at(-1);
    if (last === undefined || compareItems(pending[0] as RoomItem, last) > 0) {
      // In order: the fold goes on from where it was, and only the new items need looking at.
      const from = this.#order.length;
      const withdrawn: RoomItem[] = [];
      for (const item of pending) this.#order.push(item);
      for (let i = from; i < this.#order.length; i++) this.#apply(i, withdrawn);
      const items = pending.filter((i) => this.#valid.has(i.id)).map((item) => ({ item, isLate: false }));
      return { items, withdrawn: withdrawn.filter((w) => !pending.includes(w)) };
    }
    const before = this.#valid;
    const lastShown = lastValidMessage(this.#order, before);
    this.#order = merge(this.#order, pending);
    this.#state = emptyState();
    this.#valid = new Set();
    for (let i = 0; i < this.#order.length; i++) this.#apply(i, []);
    const items: Settled['items'] = [];
    const withdrawn: RoomItem[] = [];
    for (const item of this.#order) {
      const isValid = this.#valid.has(item.id);
      if (isValid && !before.has(item.id)) items.push({ item, isLate: lastShown !== undefined && compareItems(item, lastShown) < 0 });
      else if (!isValid && before.has(item.id) && item.body.kind === 'message') withdrawn.push(item);
    }
    return { items, withdrawn };
  }

  /** Applies the settled item at `index` to the state, if its author may make it there. */
  #apply(index: number, withdrawn: RoomItem[]): void {
    const item = this.#order[index] as RoomItem;
    const s = this.#state;
    const author = s.members.get(item.authorHex);
    const body = item.body;
    let ok = false;
    switch (body.kind) {
      case 'create':
        if (s.name === undefined) {
          s.name = body.name;
          s.members.set(item.authorHex, { key: item.author, hex: item.authorHex, label: body.label, isAdmin: true });
          ok = true;
        }
        break;
      case 'invite': {
        const hex = body.key.toString('hex');
        if (author?.isAdmin === true && !s.members.has(hex) && (s.invited.has(hex) || s.members.size + s.invited.size < ROOM_MEMBER_CAP)) {
          s.invited.set(hex, { key: body.key, hex, label: body.label, by: item.authorHex });
          ok = true;
        }
        break;
      }
      case 'join': {
        const invitation = s.invited.get(item.authorHex);
        if (invitation !== undefined) {
          s.invited.delete(item.authorHex);
          s.members.set(item.authorHex, { key: item.author, hex: item.authorHex, label: invitation.label, isAdmin: false });
          ok = true;
        }
        break;
      }
      case 'decline':
        ok = s.invited.delete(item.authorHex);
        break;
      case 'leave':
        ok = s.members.delete(item.authorHex);
        break;
      case 'kick': {
        const hex = body.key.toString('hex');
        if (author?.isAdmin === true && hex !== item.authorHex && s.members.has(hex)) {
          s.members.delete(hex);
          ok = true;
          // Its messages the admin had not seen when it removed it count nowhere, wherever they sort.
          for (let i = 0; i < index; i++) {
            const m = this.#order[i] as RoomItem;
            if (m.authorHex === hex && m.seq > body.upTo && m.body.kind === 'message' && this.#valid.delete(m.id)) withdrawn.push(m);
          }
        }
        break;
      }
      case 'admin': {
        const target = s.members.get(body.key.toString('hex'));
        if (author?.isAdmin === true && target !== undefined) {
          target.isAdmin = true;
          ok = true;
        }
        break;
      }
      case 'message':
        ok = author !== undefined;
        break;
    }
    if (ok) this.#valid.add(item.id);
  }

  /** The room's name, once its create record is held. */
  get name(): string | undefined {
    return this.#state.name;
  }

  /** The current members, in the order they came in. */
  members(): Member[] {
    return [...this.#state.members.values()];
  }

  member(hex: string): Member | undefined {
    return this.#state.members.get(hex);
  }

  invitation(hex: string): Invitation | undefined {
    return this.#state.invited.get(hex);
  }

  invitations(): Invitation[] {
    return [...this.#state.invited.values()];
  }

  /** True when an item by this key has ever been held or named (the creator, or a key some invite names). */
  isKnownAuthor(hex: string): boolean {
    return this.#known.has(hex);
  }

  /** The name `hex` was given in this room, if any. */
  labelOf(hex: string): string | undefined {
    return this.#labels.get(hex);
  }

  /** The highest Lamport clock held: the next own item's clock is above it. */
  get maxClock(): number {
    return this.#maxClock;
  }

  /** Per author, the highest seq up to which every item is held. */
  have(): Map<string, number> {
    return new Map(this.#have);
  }

  /** The item `author` wrote with `seq`, if held. */
  get(authorHex: string, seq: number): RoomItem | undefined {
    return this.#byAuthor.get(authorHex)?.get(seq);
  }

  /** Items held that `theirs` (another member's have()) lacks, beyond `sent` where given (and only `onlyAuthor`'s, where given), in the room's order. */
  missing(theirs: ReadonlyMap<string, number>, sent?: ReadonlyMap<string, number>, onlyAuthor?: string): RoomItem[] {
    const out: RoomItem[] = [];
    let isSorted = true;
    for (const [author, seqs] of this.#byAuthor) {
      if (onlyAuthor !== undefined && author !== onlyAuthor) continue;
      const from = Math.max(theirs.get(author) ?? 0, sent?.get(author) ?? 0);
      // Up from what they hold, not over everything held: a receipt costs what it acknowledges.
      const top = this.#top.get(author) ?? 0;
      for (let seq = from + 1; seq <= top; seq++) {
        const item = seqs.get(seq);
        if (item === undefined) continue;
        if (out.length > 0 && isSorted && compareItems(out[out.length - 1] as RoomItem, item) > 0) isSorted = false;
        out.push(item);
      }
    }
    return isSorted ? out : out.sort(compareItems);
  }

  /** have() as RHAVE lists it: each author's key and seq (the first 255 authors). Made once per change. */
  haveList(): { key: Buffer; seq: number }[] {
    this.#haveList ??= [...this.#have].slice(0, 255).map(([hex, seq]) => ({ key: this.#keys.get(hex) as Buffer, seq }));
    return this.#haveList;
  }

  /** The highest seq of `hex` such that every one up to it is held. */
  haveOf(hex: string): number {
    return this.#have.get(hex) ?? 0;
  }

  /** The membership records (no messages) in order: what an invited peer needs to check its invitation. */
  records(): RoomItem[] {
    const out: RoomItem[] = [];
    for (const seqs of this.#byAuthor.values()) for (const item of seqs.values()) if (item.body.kind !== 'message') out.push(item);
    return out.sort(compareItems);
  }

  /** The messages that count, in the room's order: its history. The last `n` when given. */
  history(n?: number): RoomItem[] {
    const out: RoomItem[] = [];
    for (let i = this.#order.length - 1; i >= 0 && (n === undefined || out.length < n); i--) {
      const item = this.#order[i] as RoomItem;
      if (item.body.kind === 'message' && this.#valid.has(item.id)) out.push(item);
    }
    return out.reverse();
  }

  /** The member list as one string (keys, and `*` for admins): to tell when it changed. */
  memberList(): string {
    return this.members()
      .map((m) => `${m.hex}${m.isAdmin ? '*' : ''}`)
      .join(',');
  }

  /** The held item whose bytes these are (found by author and seq). */
  heldItem(bytes: Buffer): RoomItem | undefined {
    return this.get(bytes.subarray(16, 48).toString('hex'), bytes.readUInt32BE(48));
  }

  /** The records that took `hex` out of the room (a removal, its leaving, its declining): all a member who is out is told, and tells. */
  removalsOf(hex: string): RoomItem[] {
    return this.records().filter(
      (r) =>
        (r.body.kind === 'kick' && r.body.key.toString('hex') === hex) ||
        (r.authorHex === hex && (r.body.kind === 'leave' || r.body.kind === 'decline')),
    );
  }

  /** How many items are held. */
  get size(): number {
    return this.#order.length + this.#pending.length;
  }
}

function emptyState(): FoldState {
  return { name: undefined, members: new Map(), invited: new Map() };
}

function lastValidMessage(order: readonly RoomItem[], valid: ReadonlySet<string>): RoomItem | undefined {
  for (let i = order.length - 1; i >= 0; i--) {
    const item = order[i] as RoomItem;
    if (item.body.kind === 'message' && valid.has(item.id)) return item;
  }
  return undefined;
}

/** Two sorted lists into one. */
function merge(a: readonly RoomItem[], b: readonly RoomItem[]): RoomItem[] {
  const out: RoomItem[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length)
    out[k++] = compareItems(a[i] as RoomItem, b[j] as RoomItem) <= 0 ? (a[i++] as RoomItem) : (b[j++] as RoomItem);
  while (i < a.length) out[k++] = a[i++] as RoomItem;
  while (j < b.length) out[k++] = b[j++] as RoomItem;
  return out;
}
