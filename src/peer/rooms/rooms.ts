/**
 * The rooms of a peer (docs/chat.md "Rooms", protocol.md §7.2): small
 * private groups carried over the members' own one-to-one links. No server
 * holds a room: each member keeps the room's signed log (room-log.ts) in its
 * room store, and the log decides who is a member.
 *
 *   command ──▶ sign an item ──▶ room store ──▶ log ──▶ RITEMS to every member
 *                                                        (now, or when it can be reached)
 *   RITEMS ──▶ signature, sender on the member list ──▶ room store ──▶ log ──▶ events ──▶ RHAVE back
 *   connection between two members opens ──▶ RHAVE both ways ──▶ each sends what the other lacks
 *
 * Nothing is lost: an item is in the store before it goes anywhere; every
 * member tells the others, per author, how far it holds every item (RHAVE),
 * so what one lacks is sent by any member that has it, with its author's
 * signature. The author keeps trying to reach a member that lacks its items.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ERROR_CODES, NatterError } from '../../errors.ts';
import { normalizeName } from '../../protocol/fields.ts';
import type { RhaveMessage, RitemsMessage } from '../../protocol/messages.ts';
import type { FramedConnection } from '../../transport/framed-connection.ts';
import { readItem, roomIdOf, signItem, type RoomBody, type RoomItem } from './room-item.ts';
import { RoomLog, type Member } from './room-log.ts';
import { MemberReach } from './member-reach.ts';
import { RoomLinks } from './room-links.ts';
import { RoomReceipts } from './room-receipts.ts';
import { RoomViews } from './room-views.ts';
import type { RoomMessage, RoomStatus, RoomView, RoomsEvents, RoomsOptions } from './room-types.ts';

export type { RoomMessage, RoomStatus, RoomView, RoomsEvents, RoomsOptions } from './room-types.ts';

/** Rooms not yet known whose records (an invitation, perhaps) are held at once, and their records at most. */
const MAX_STRANGER_ROOMS = 16;
const MAX_STRANGER_ITEMS = 256;

export class Rooms extends EventEmitter<RoomsEvents> {
  readonly #o: RoomsOptions;
  readonly #me: string;
  readonly #rooms = new Map<string, RoomLog>();
  /** Logs of rooms we are not in, from peers inviting us perhaps: kept only once an invitation for us counts. */
  readonly #strangers = new Map<string, RoomLog>();
  readonly #status = new Map<string, RoomStatus>();
  readonly #memberLists = new Map<string, string>();
  readonly #views: RoomViews;
  readonly #receipts = new RoomReceipts();
  readonly #links: RoomLinks;
  readonly #reach: MemberReach;
  #isStopped = false;

  constructor(options: RoomsOptions) {
    super();
    if (!Number.isInteger(options.maxRoomMembers) || options.maxRoomMembers < 2 || options.maxRoomMembers > 32) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `maxRoomMembers must be 2 to 32, got ${options.maxRoomMembers}`);
    }
    this.#o = options;
    this.#me = options.keyPair.publicKey.toString('hex');
    this.#links = new RoomLinks(options.scheduler);
    this.#views = new RoomViews(this.#me, options.name, options.link);
    this.#reach = new MemberReach({ ...options, isWanted: (peer) => this.isRoomName(peer) });
  }

  /** Reads the room store, then reaches every member of our rooms: what either side lacks is exchanged. */
  start(): void {
    for (const [id, items] of this.#o.store.load()) {
      const log = new RoomLog(id);
      for (const bytes of items) {
        try {
          // Checked when they came in, or ours: the signatures are not checked again.
          log.add(readItem(bytes, this.#o.limits, { isSigned: 'trusted' }));
        } catch (err) {
          this.#o.logger.warn({ room: id, code: (err as NatterError).code }, 'skipped a stored room item that does not read');
        }
      }
      log.settle();
      if (log.name === undefined) continue;
      this.#rooms.set(id, log);
      this.#status.set(id, this.#views.statusIn(log));
      this.#memberLists.set(id, log.memberList());
    }
    for (const log of this.#rooms.values()) this.#reachAll(log);
  }

  stop(): void {
    this.#isStopped = true;
    this.#reach.stop();
  }

  // ---- what the user asks ----------------------------------------------------

  /** Every room we are in or invited to. */
  list(): RoomView[] {
    return [...this.#rooms.values()].filter((log) => this.#views.statusIn(log) !== 'out').map((log) => this.#views.view(log));
  }

  /** Makes a room with us as its only member and admin. */
  create(name: string): RoomView {
    const roomName = this.#name(name, 'room name');
    const nonce = randomBytes(16);
    const log = new RoomLog(roomIdOf(this.#o.keyPair.publicKey, nonce));
    this.#rooms.set(log.id, log);
    this.#status.set(log.id, 'out');
    try {
      this.#append(log, { kind: 'create', nonce, name: roomName, label: this.#o.name });
    } catch (err) {
      // Not recorded (a full disk, say): there is no room.
      this.#rooms.delete(log.id);
      this.#status.delete(log.id);
      throw err;
    }
    return this.#views.view(log);
  }

  /**
   * Invites the peer called `peer` (admins only), by the key this peer holds
   * for that name. @throws NatterError NO_SUCH_ROOM, NOT_A_MEMBER, NOT_ALLOWED, ROOM_FULL, UNKNOWN_PEER
   */
  async invite(room: string, peer: string): Promise<void> {
    const log = this.#find(room, 'member');
    const name = this.#name(peer, 'name');
    this.#mustBeAdmin(log);
    const key = await this.#o.keyOf(name);
    if (key === undefined)
      throw new NatterError(
        ERROR_CODES.UNKNOWN_PEER,
        `no key is known for ${name}: chat with ${name} once (or have it in the friends table), then invite`,
      );
    const hex = key.toString('hex');
    if (hex === this.#me) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'that is you');
    if (log.member(hex) !== undefined) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${name} is a member of #${log.name} already`);
    if (log.members().length + log.invitations().length >= this.#o.maxRoomMembers && log.invitation(hex) === undefined) {
      throw new NatterError(
        ERROR_CODES.ROOM_FULL,
        `#${log.name} has ${this.#o.maxRoomMembers} members and invitations, the most it may have`,
      );
    }
    this.#append(log, { kind: 'invite', key, label: name });
  }

  /** Accepts an invitation. @throws NatterError NO_SUCH_ROOM (no invitation) */
  join(room: string): RoomView {
    const log = this.#find(room, 'invited');
    // We ask the members we can reach for what the room said before us (#settle).
    this.#append(log, { kind: 'join' });
    return this.#views.view(log);
  }

  /** Declines an invitation; the inviter's peer learns it. */
  decline(room: string): void {
    this.#append(this.#find(room, 'invited'), { kind: 'decline' });
  }

  /** Sends a message to every member. Resolves with its id once it is in the room store. */
  send(room: string, text: string): RoomMessage {
    const log = this.#find(room, 'member');
    const item = this.#append(log, { kind: 'message', text });
    return { id: item.id, from: this.#o.name, text, ts: item.clock };
  }

  /** Leaves a room: no more of its messages come here. */
  leave(room: string): void {
    this.#append(this.#find(room, 'member'), { kind: 'leave' });
  }

  /** Removes the member called `peer` (admins only): it gets nothing new, and what it sends from now on is refused. */
  kick(room: string, peer: string): void {
    const log = this.#find(room, 'member');
    this.#mustBeAdmin(log);
    const name = this.#name(peer, 'name');
    const target = log.members().find((m) => m.label === name || m.hex === peer);
    if (target === undefined) throw new NatterError(ERROR_CODES.NOT_A_MEMBER, `${name} is not a member of #${log.name}`);
    if (target.hex === this.#me) throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'that is you: leave instead');
    this.#append(log, { kind: 'kick', key: target.key, upTo: log.have().get(target.hex) ?? 0 });
  }

  /** The room, with its members. */
  members(room: string): RoomView {
    return this.#views.view(this.#find(room, 'any'));
  }

  /** The last `n` messages of the room, in the order every member agrees on. */
  history(room: string, n: number): { room: RoomView; entries: RoomMessage[] } {
    const log = this.#find(room, 'any');
    return { room: this.#views.view(log), entries: log.history(n).map((item) => this.#views.message(log, item)) };
  }

  /** Whether `key` is a member of a room we are in, or invited to one: its connections are let in without asking. */
  isRoomPeer(key: Buffer | undefined): boolean {
    if (key === undefined) return false;
    const hex = key.toString('hex');
    for (const log of this.#rooms.values()) {
      if (this.#views.statusIn(log) === 'out') continue;
      if (log.member(hex) !== undefined || log.invitation(hex) !== undefined) return true;
    }
    return false;
  }

  /** Whether the peer called `name` is a member of a room we are in, or invited to one of ours. */
  isRoomName(name: string): boolean {
    for (const log of this.#rooms.values()) {
      if (this.#views.statusIn(log) !== 'member') continue;
      if (log.members().some((m) => m.label === name && m.hex !== this.#me) || log.invitations().some((i) => i.label === name)) return true;
    }
    return false;
  }

  // ---- the wire ---------------------------------------------------------------

  /** A chat with `peer` is open on `conn`: tell it what we hold of the rooms we share, and hand on its invitations. */
  ready(peer: string, conn: FramedConnection): void {
    this.#reach.reached(peer);
    const hex = conn.remoteKey?.toString('hex');
    if (hex === undefined) return;
    for (const log of this.#rooms.values()) {
      if (this.#views.statusIn(log) !== 'member') continue;
      if (log.member(hex) !== undefined) conn.send(this.#have(log, true));
      else if (log.invitation(hex) !== undefined) this.#sendItems(conn, log, log.records());
      else this.#sendItems(conn, log, log.removalsOf(hex));
    }
  }

  /** A room frame from `peer` on `conn`, whose chat is open. */
  receive(peer: string, conn: FramedConnection, msg: RitemsMessage | RhaveMessage): void {
    if (this.#isStopped) return;
    if (msg.type === 'RHAVE') this.#onHave(peer, conn, msg);
    else this.#onItems(peer, conn, msg);
  }

  #onItems(peer: string, conn: FramedConnection, msg: RitemsMessage): void {
    const senderKey = conn.remoteKey;
    if (senderKey === undefined) return;
    const sender = senderKey.toString('hex');
    const added = new Map<RoomLog, Buffer[]>();
    let refusal: NatterError | undefined;
    const gone = new Set<RoomLog>();
    const now = this.#now();
    for (const bytes of msg.items) {
      try {
        // An item on its author's own link is proven by the link (its handshake); one passed on by another member by its signature.
        const isFromAuthor = bytes.length >= 48 && senderKey.equals(bytes.subarray(16, 48));
        const item = readItem(bytes, this.#o.limits, { isSigned: isFromAuthor ? 'trusted' : 'check' });
        if (item.clock > now + this.#o.maxClockAheadMs) {
          throw new NatterError(ERROR_CODES.CLOCK_AHEAD, `a room item's clock is ${Math.round((item.clock - now) / 1000)} s ahead of ours`);
        }
        const log = this.#logFor(item, sender);
        const result = log.add(item);
        if (result === 'wrong-room') throw new NatterError(ERROR_CODES.MALFORMED, 'a create record that does not make its room id');
        if (result === 'added') {
          let list = added.get(log);
          if (list === undefined) {
            list = [];
            added.set(log, list);
          }
          list.push(item.bytes);
        }
      } catch (err) {
        if (err instanceof RoomGone) {
          // We are out of that room and the sender has not heard: the record that says so answers it.
          gone.add(err.log);
          continue;
        }
        if (!(err instanceof NatterError)) throw err;
        refusal ??= err;
      }
    }
    for (const log of gone) this.#sendItems(conn, log, log.removalsOf(this.#me));
    if (refusal !== undefined) {
      // The chat goes on; the sender hears why (once per frame), and nothing it sent that failed counts.
      this.#o.logger.info({ peer, code: refusal.code }, `room items refused: ${refusal.message}`);
      conn.send({ type: 'ERROR', code: refusal.code, reason: refusal.message });
    }
    for (const [log, items] of added) {
      const isKnown = this.#rooms.get(log.id) === log;
      if (isKnown) {
        if (!this.#record(log, items, peer)) continue;
        this.#settle(log);
        if (this.#views.statusIn(log) !== 'member') continue;
        // Our receipt: what we hold now. A gap it shows is filled by the sender at once.
        if (log.member(sender) !== undefined) conn.send(this.#have(log, false));
        // Membership records go on to every other member: its author may not know them all yet.
        const records = items.map((b) => log.heldItem(b)).filter((i): i is RoomItem => i !== undefined && i.body.kind !== 'message');
        if (records.length > 0) {
          for (const m of log.members()) if (m.hex !== this.#me && m.hex !== sender) this.#deliver(log, m.label, m.key, records);
        }
      } else {
        log.settle();
        if (this.#views.statusIn(log) !== 'invited') continue;
        // An invitation for us, checked: the room is ours to keep (and answer).
        this.#strangers.delete(log.id);
        if (
          !this.#record(
            log,
            log.missing(new Map()).map((i) => i.bytes),
            peer,
          )
        )
          continue;
        this.#rooms.set(log.id, log);
        this.#status.set(log.id, 'out');
        this.#settle(log);
      }
    }
  }

  /** The log an incoming item belongs in, if its sender may bring it. @throws NatterError */
  #logFor(item: RoomItem, sender: string): RoomLog {
    const known = this.#rooms.get(item.room);
    if (known !== undefined) {
      // Out of the room (left, removed, declined): its messages are no longer ours to take; its records still
      // are, from a member, so that a new invitation reaches us.
      if (this.#views.statusIn(known) === 'out' && item.body.kind === 'message') throw new RoomGone(known);
      // Only a member brings a room's items, or one invited (its answer; or, a member already where it comes
      // from, items it holds: each signed by its author), and only by authors the room names.
      const isMember = known.member(sender) !== undefined || known.invitation(sender) !== undefined;
      if (!isMember) throw new NatterError(ERROR_CODES.NOT_A_MEMBER, `you are not a member of room ${item.room}`);
      if (!known.isKnownAuthor(item.authorHex) && item.body.kind !== 'create') {
        throw new NatterError(ERROR_CODES.NOT_A_MEMBER, `room ${item.room} names no member with the key that signed item ${item.seq}`);
      }
      return known;
    }
    let log = this.#strangers.get(item.room);
    if (log === undefined) {
      if (item.body.kind !== 'create') throw new NatterError(ERROR_CODES.NO_SUCH_ROOM, `no room ${item.room} here`);
      if (this.#strangers.size >= MAX_STRANGER_ROOMS) {
        const oldest = this.#strangers.keys().next().value as string;
        this.#strangers.delete(oldest);
      }
      log = new RoomLog(item.room);
      this.#strangers.set(item.room, log);
    } else if (log.size >= MAX_STRANGER_ITEMS) {
      throw new NatterError(ERROR_CODES.NO_SUCH_ROOM, `room ${item.room} sent more records than an invitation needs`);
    } else if (!log.isKnownAuthor(item.authorHex) && item.body.kind !== 'create') {
      throw new NatterError(ERROR_CODES.NOT_A_MEMBER, `room ${item.room} names no member with the key that signed item ${item.seq}`);
    }
    return log;
  }

  #onHave(peer: string, conn: FramedConnection, msg: RhaveMessage): void {
    const sender = conn.remoteKey?.toString('hex');
    const log = this.#rooms.get(msg.room);
    if (sender === undefined) return;
    // We left, or were removed, and the sender has not heard yet: nothing to answer.
    if (log !== undefined && this.#views.statusIn(log) !== 'member') return;
    if (log !== undefined && log.member(sender) === undefined && log.invitation(sender) !== undefined) {
      // Invited here, a member already where it comes from: its join is on its way, or it sends it when it hears what we hold.
      this.#askLater(conn, log);
      return;
    }
    if (log === undefined || log.member(sender) === undefined) {
      // A member removed while it was away learns it now, from the record that removed it.
      if (log !== undefined) this.#sendItems(conn, log, log.removalsOf(sender));
      conn.send({ type: 'ERROR', code: ERROR_CODES.NOT_A_MEMBER, reason: `you are not a member of room ${msg.room} here` });
      return;
    }
    const theirs = new Map(msg.have.map((h) => [h.key.toString('hex'), h.seq]));
    // Asked: whatever they lack. A receipt: only our own items they lack; others' items are their authors' to send,
    // and passing them on here too would copy every message of a busy room to every member twice.
    this.#sendItems(conn, log, log.missing(theirs, this.#links.sentOn(conn, log.id), msg.isAsking ? undefined : this.#me));
    // Asked, and they hold something we lack too: ask back (the other side of an exchange that crossed ours).
    // A receipt is no reason to ask: what it shows we lack is nearly always on its way from its author.
    if (msg.isAsking && [...theirs].some(([author, seq]) => seq > log.haveOf(author))) this.#askLater(conn, log);
    const delivered = this.#receipts.held(log.id, sender, theirs.get(this.#me) ?? 0);
    if (delivered.length > 0) {
      const view = this.#views.viewOf(log);
      const to = log.member(sender)?.label ?? peer;
      for (const id of delivered) this.emit('delivered', view, to, id);
    }
  }

  #sendItems(conn: FramedConnection, log: RoomLog, items: readonly RoomItem[]): void {
    this.#links.send(conn, log.id, items);
  }

  #askLater(conn: FramedConnection, log: RoomLog): void {
    this.#links.askLater(conn, log.id, () => (this.#isStopped ? undefined : this.#have(log, true)));
  }

  /** What we hold of `log`; `isAsking`: send us what we lack (else it is a receipt). */
  #have(log: RoomLog, isAsking: boolean): RhaveMessage {
    return { type: 'RHAVE', room: log.id, isAsking, have: log.haveList() };
  }

  // ---- our own items ----------------------------------------------------------

  /** Signs an item of ours, records it, applies it, and sends it to whoever must have it. */
  #append(log: RoomLog, body: RoomBody): RoomItem {
    const seq = log.haveOf(this.#me) + 1;
    const clock = Math.max(this.#now(), log.maxClock + 1);
    const item = signItem(this.#o.keyPair, { room: log.id, seq, clock, body }, this.#o.limits);
    this.#o.store.append(log.id, [item.bytes]);
    log.add(item);
    const before = log.members();
    this.#settle(log);
    // Everyone who was or is a member hears of it: a removed member learns it was removed.
    const targets = new Map<string, Member>();
    for (const m of [...before, ...log.members()]) if (m.hex !== this.#me) targets.set(m.hex, m);
    if (body.kind === 'message') {
      const message = this.#views.message(log, item);
      this.#receipts.expect(log.id, seq, item.id, targets.keys());
      this.emit('queued', this.#views.viewOf(log), message);
    }
    for (const m of targets.values()) this.#deliver(log, m.label, m.key, [item]);
    if (body.kind === 'invite') this.#deliver(log, body.label, body.key, log.records());
    if (body.kind === 'decline') {
      const inviter = log.member(
        log.records().findLast((r) => r.body.kind === 'invite' && r.body.key.toString('hex') === this.#me)?.authorHex ?? '',
      );
      if (inviter !== undefined && !targets.has(inviter.hex)) this.#deliver(log, inviter.label, inviter.key, [item]);
    }
    return item;
  }

  /** Sends `items` to the peer `label` (whose key must be `key`) now, or keeps trying to reach it (catch-up then sends them). */
  #deliver(log: RoomLog, label: string, key: Buffer, items: readonly RoomItem[]): void {
    const conn = this.#o.link(label);
    if (conn !== undefined && conn.remoteKey?.equals(key) === true) this.#sendItems(conn, log, items);
    else this.#reach.want(label);
  }

  /** At start: every member of our rooms, and everyone we invited, is reached, so what either lacks is exchanged. */
  #reachAll(log: RoomLog): void {
    if (this.#views.statusIn(log) !== 'member') return;
    for (const m of log.members()) if (m.hex !== this.#me) this.#reach.want(m.label);
    for (const inv of log.invitations()) if (inv.by === this.#me) this.#reach.want(inv.label);
  }

  /** Records items of a room; false (and a problem told) when the store fails: then they do not count yet. */
  #record(log: RoomLog, items: readonly Buffer[], peer: string): boolean {
    try {
      this.#o.store.append(log.id, items);
      return true;
    } catch (err) {
      const error = err instanceof NatterError ? err : new NatterError(ERROR_CODES.STORAGE_FAILED, String(err), { cause: err });
      this.emit('problem', error, peer);
      return false;
    }
  }

  /** Lets the log settle and tells what changed: messages, the member list, our own place in the room. */
  #settle(log: RoomLog): void {
    const before = this.#status.get(log.id) ?? 'out';
    const { items } = log.settle();
    // Only records change the member list or our place in the room; messages alone (nearly always) take the short way.
    if (items.length > 0 && items.every(({ item }) => item.body.kind === 'message')) {
      if (before !== 'member') return;
      const view = this.#views.viewOf(log);
      for (const { item, isLate } of items)
        if (item.authorHex !== this.#me) this.emit('message', view, this.#views.message(log, item), { isLate });
      return;
    }
    const after = this.#views.statusIn(log);
    this.#status.set(log.id, after);
    const list = log.memberList();
    const isChanged = list !== this.#memberLists.get(log.id);
    this.#memberLists.set(log.id, list);
    this.#views.changed(log.id);
    const view = this.#views.view(log);
    if (before !== 'member' && after === 'member') {
      this.emit('joined', view);
      // Just in: ask the members we can reach for what the room said before us.
      for (const m of log.members()) {
        const conn = m.hex === this.#me ? undefined : this.#o.link(m.label);
        if (conn !== undefined && conn.remoteKey?.equals(m.key) === true) this.#askLater(conn, log);
      }
    }
    for (const { item, isLate } of items) {
      if (item.body.kind === 'message' && item.authorHex !== this.#me && after === 'member') {
        this.emit('message', view, this.#views.message(log, item), { isLate });
      }
    }
    if (before !== 'invited' && after === 'invited') {
      const invitation = log.invitation(this.#me);
      this.emit('invite', view, log.member(invitation?.by ?? '')?.label ?? '?');
    }
    if (before === 'member' && after !== 'member') {
      const hasLeft = items.some(({ item }) => item.body.kind === 'leave' && item.authorHex === this.#me);
      this.emit('left', view, hasLeft ? 'left' : 'removed');
    } else if (before === 'member' && after === 'member' && isChanged) {
      this.emit('members', view);
      // The members we can reach hear what we hold, so gaps the change left are filled.
      for (const m of log.members()) {
        const conn = m.hex === this.#me ? undefined : this.#o.link(m.label);
        if (conn !== undefined && conn.remoteKey?.equals(m.key) === true) this.#askLater(conn, log);
      }
    }
  }

  // ---- helpers ------------------------------------------------------------------

  /**
   * A room by id, or by name among ours. `need`: what we must be there.
   * @throws NatterError NO_SUCH_ROOM (unknown, or a name two rooms share), NOT_A_MEMBER
   */
  #find(ref: string, need: RoomStatus | 'any'): RoomLog {
    let log = this.#rooms.get(ref.toLowerCase());
    if (log === undefined) {
      const name = ref.startsWith('#') ? ref.slice(1) : ref;
      const named = [...this.#rooms.values()].filter((l) => l.name === name && this.#views.statusIn(l) !== 'out');
      if (named.length > 1) {
        throw new NatterError(
          ERROR_CODES.NO_SUCH_ROOM,
          `${named.length} rooms are called #${name}; use an id: ${named.map((l) => l.id).join(', ')}`,
        );
      }
      log = named[0];
    }
    if (log === undefined) throw new NatterError(ERROR_CODES.NO_SUCH_ROOM, `no room ${JSON.stringify(ref)} here`);
    const status = this.#views.statusIn(log);
    if (need === 'member' && status !== 'member') throw new NatterError(ERROR_CODES.NOT_A_MEMBER, `you are not a member of #${log.name}`);
    if (need === 'invited' && status !== 'invited') throw new NatterError(ERROR_CODES.NO_SUCH_ROOM, `no invitation to #${log.name} waits`);
    return log;
  }

  #mustBeAdmin(log: RoomLog): void {
    if (log.member(this.#me)?.isAdmin !== true) throw new NatterError(ERROR_CODES.NOT_ALLOWED, `only an admin of #${log.name} may do that`);
  }

  #name(raw: string, what: string): string {
    try {
      return normalizeName(raw, this.#o.limits.maxNameBytes);
    } catch (err) {
      throw new NatterError(ERROR_CODES.INVALID_NAME, `${JSON.stringify(raw)} is not a valid ${what}: ${(err as Error).message}`);
    }
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

/** An item for a room we are out of: not refused, answered (#onItems). */
class RoomGone extends Error {
  readonly log: RoomLog;
  constructor(log: RoomLog) {
    super('out of the room');
    this.log = log;
  }
}
