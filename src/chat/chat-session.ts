/**
 * A running chat: a PeerNode and its ways of finding peers (assembled by
 * startChat()), turned into one stream of UI-neutral events (events.ts) and
 * the commands a front end may give. Nothing behind it is reachable from a
 * UI: the line UI, the full-screen UI and the JSON mode see only this.
 */
import { EventEmitter } from 'node:events';
import type { DirectoryLink } from '../discovery/directory-link.ts';
import { runDoctor } from '../discovery/doctor.ts';
import type { LocalRendezvous } from '../discovery/local-rendezvous.ts';
import type { MergedDiscovery } from '../discovery/merged.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { KnownPeers } from '../peer/known-peers.ts';
import type { LinkKind } from '../peer/links/connector.ts';
import type { PeerNode } from '../peer/peer-node.ts';
import type { HistoryEntry } from '../peer/store/message-store.ts';
import { fingerprint } from '../transport/identity.ts';
import type { KeyPair } from '../transport/secure.ts';
import type { ChatEvent } from './events.ts';
import type { Found } from './lan-wiring.ts';
import type { FindPeers } from './find-peers.ts';
import type { ChatCommands, RoomCommand } from './ui.ts';
import type { RoomView } from '../peer/rooms/rooms.ts';

/** What is still shown while natter quits. */
const QUITTING_EVENTS: ReadonlySet<ChatEvent['type']> = new Set(['shutdown', 'error', 'kept', 'delivered', 'message', 'room-message']);

/** What startChat() assembled, for a ChatSession to run. */
export interface ChatParts {
  node: PeerNode;
  find: FindPeers;
  /** Our key pair (from the identity file). */
  keyPair: KeyPair;
  /** Pinned keys of peers and directories (the known-peers file). */
  known: KnownPeers;
  /** The directory link, unless peers are found in a friends table. */
  directory: DirectoryLink | undefined;
  /** The local default's rendezvous, when that is how peers are found. */
  rendezvous: LocalRendezvous | undefined;
  /** Every way of finding peers, merged: what /who lists. */
  discovery: MergedDiscovery;
  found: Found;
}

/** A chat as startChat() makes it: commands in, UI-neutral events out ('event'), and 'done' with the exit code once quit() has finished. */
export class ChatSession extends EventEmitter<{ event: [ChatEvent]; done: [code: number] }> implements ChatCommands {
  readonly #node: PeerNode;
  readonly #find: FindPeers;
  readonly #keyPair: KeyPair;
  readonly #known: KnownPeers;
  readonly #directory: DirectoryLink | undefined;
  readonly #rendezvous: LocalRendezvous | undefined;
  /** Every way of finding peers, merged: what /who lists. */
  readonly #discovery: MergedDiscovery;
  readonly #found: Found;
  #isQuitting = false;
  /** Events held until begin(), so that none is lost before the UI listens. */
  #backlog: ChatEvent[] | undefined = [];
  /** The outbox as this run found it, before any retry could deliver a message of it. */
  readonly #recovered: ReturnType<PeerNode['outbox']>;

  /** Made by startChat(). */
  constructor(parts: ChatParts) {
    super();
    const { node, find, directory: link, rendezvous, found } = parts;
    this.#node = node;
    this.#find = find;
    this.#keyPair = parts.keyPair;
    this.#known = parts.known;
    this.#directory = link;
    this.#rendezvous = rendezvous;
    this.#discovery = parts.discovery;
    this.#found = found;
    for (const message of found.notices) this.#emit({ type: 'notice', message });
    node.store.onNotice?.((message) => this.#emit({ type: 'notice', message }));
    // Taken in the same tick as node.start() returned: no retry has run yet.
    this.#recovered = node.outbox();
    node.on('request', (from) => this.#emit({ type: 'request', from }));
    node.on('connected', (peer, { link }) => this.#emit({ type: 'connected', with: peer, link }));
    node.on('moved', (peer, { link }) => this.#emit({ type: 'moved', with: peer, link }));
    node.on('declined', (by, reason) => this.#emit({ type: 'declined', by, reason }));
    node.on('message', (from, text, { id, ts }) => this.#emit({ type: 'message', from, text, id, ts }));
    node.on('queued', (to, m) => this.#emit({ type: 'queued', to, id: m.id, ts: m.ts, text: m.text }));
    node.on('sent', (to, id) => this.#emit({ type: 'sent', to, id }));
    node.on('delivered', (to, id) => this.#emit({ type: 'delivered', to, id }));
    node.on('waiting', (to, count, err, { isNeverSeen }) =>
      this.#emit({ type: 'waiting', to, count, code: err.code, reason: err.message, ...(isNeverSeen ? { unknown: true as const } : {}) }),
    );
    node.on('stopping', (due, graceMs) => {
      const what = due.map(({ peer, count }) => `${count === 1 ? '1 message' : `${count} messages`} to ${peer}`).join(', ');
      this.#emit({ type: 'notice', message: `leaving: waiting up to ${graceMs / 1000} s for ${what} to be delivered` }, true);
    });
    node.on('kept', (to, count) => this.#emit({ type: 'kept', to, count }));
    node.on('ended', (peer, reason, detail) =>
      this.#emit({ type: 'ended', with: peer, reason: reason === 'lost' || reason === 'unanswered' ? detail : reason }),
    );
    node.on('problem', (err) => this.#emit({ type: 'error', code: err.code, message: err.message }));
    const rooms = node.rooms;
    rooms.on('joined', (r) => this.#emit({ type: 'room-joined', room: r.id, name: r.name, members: r.members.map((m) => m.name) }));
    rooms.on('invite', (r, from) => this.#emit({ type: 'room-invite', room: r.id, name: r.name, from }));
    rooms.on('message', (r, m, { isLate }) =>
      this.#emit({
        type: 'room-message',
        room: r.id,
        name: r.name,
        from: m.from,
        text: m.text,
        id: m.id,
        ts: m.ts,
        ...(isLate ? { late: true as const } : {}),
      }),
    );
    rooms.on('members', (r) => this.#emit(membersEvent(r)));
    rooms.on('left', (r, reason) => this.#emit({ type: 'room-left', room: r.id, name: r.name, reason }));
    rooms.on('queued', (r, m) => this.#emit({ type: 'queued', room: r.id, name: r.name, id: m.id, ts: m.ts, text: m.text }));
    rooms.on('delivered', (r, to, id) =>
      this.#emit({ type: 'delivered', room: r.id, name: r.name, to, id, members: r.members.length - 1 }),
    );
    rooms.on('problem', (err) => this.#emit({ type: 'error', code: err.code, message: err.message }));
    if (link !== undefined) {
      link.on('lost', (err, delayMs) =>
        this.#emit({ type: 'notice', message: `directory unreachable: ${err.message}; retrying in ${(delayMs / 1000).toFixed(1)} s` }),
      );
      const address = find.kind === 'directory' ? find.directory : find.kind === 'local' ? find.rendezvous : undefined;
      const where = address === undefined ? '' : `${address.host}:${address.port}`;
      this.#emit({ type: 'directory', address: where, isReachable: true });
      let wasLost = false;
      link.on('lost', () => {
        if (!wasLost) this.#emit({ type: 'directory', address: where, isReachable: false });
        wasLost = true;
      });
      link.on('registered', (r) => {
        if (wasLost) {
          wasLost = false;
          this.#emit({ type: 'directory', address: where, isReachable: true });
          this.#emit({
            type: 'notice',
            message: `registered with the directory again${rendezvous?.isHosting ? ' (now hosted here)' : ''}`,
          });
        }
        if (r.port !== node.address?.port) {
          this.#emit({ type: 'notice', message: `the directory assigned port ${r.port}, but this peer listens on ${node.address?.port}` });
        }
      });
      rendezvous?.on('hosting-stopped', (reason) =>
        this.#emit({ type: 'notice', message: `the local directory hosted here stopped (${reason}); registering again` }),
      );
      link.on('shutdown', () => {
        // Only a directory whose key we pinned may stop us (protocol.md §6.5); the
        // local rendezvous is whichever peer came first, so it may not. The link
        // goes on: it registers again wherever the local directory is hosted next.
        if (find.kind !== 'directory') {
          this.#emit({
            type: 'notice',
            message: 'ignored a SHUTDOWN from the local rendezvous directory: only a pinned directory may stop natter',
          });
          return;
        }
        this.#emit({ type: 'shutdown' });
        void this.quit(0);
      });
    }
  }

  /** Our own display name. */
  get name(): string {
    return this.#node.name;
  }

  /** Names of every peer a way of finding peers knows now (the directory's list, the friends table, the LAN), for completion. */
  async names(): Promise<string[]> {
    try {
      return [...new Set((await this.#discovery.list()).map((p) => p.name))].filter((n) => n !== this.#node.name);
    } catch {
      // A directory that cannot answer now leaves completion with the names the UI has seen.
      return [];
    }
  }

  /** The last `count` lines of the conversation with `name` in the history store, oldest first (none without history). */
  recentHistory(name: string, count: number): HistoryEntry[] {
    try {
      return this.#node.history(name, count);
    } catch {
      return [];
    }
  }

  /** Stops reading from peers until resumeIncoming(): the UI's output is full, so messages wait in the network, not in memory. */
  pauseIncoming(): void {
    this.#node.pauseInput();
  }

  resumeIncoming(): void {
    this.#node.resumeInput();
  }

  /**
   * Call once the UI listens: tells of the messages an earlier run left in
   * the outbox, then of everything that happened since start() (a peer may
   * have sent a message, or had one delivered, before the UI was there).
   */
  begin(): void {
    const backlog = this.#backlog ?? [];
    this.#backlog = undefined;
    for (const { peer, message } of this.#recovered) {
      this.#emit({ type: 'queued', to: peer, id: message.id, ts: message.ts, text: message.text, recovered: true });
    }
    for (const event of backlog) this.#emit(event);
  }

  #emit(event: ChatEvent, isQuittingNotice = false): void {
    if (this.#backlog !== undefined) {
      this.#backlog.push(event);
      return;
    }
    // While quitting, only what the user must still hear: the shutdown notice, the fate of waiting
    // messages, and messages that still arrive (they are recorded and acknowledged: never drop one unseen).
    if (this.#isQuitting && !QUITTING_EVENTS.has(event.type) && !isQuittingNotice) return;
    this.emit('event', event);
  }

  /** `{ link }` with the path of the connection to `name` open now, or nothing. */
  #link(name: string): { link?: LinkKind } {
    const link = this.#node.linkOf(name);
    return link === undefined ? {} : { link };
  }

  /** Runs `fn`, turning a NatterError into an error event; resolves true when it succeeded. */
  async #run(fn: () => Promise<void> | void): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (!(err instanceof NatterError)) throw err;
      this.#emit({ type: 'error', code: err.code, message: err.message });
      return false;
    }
  }

  /** Every peer any way of finding them knows, each once, with that way (a friends table lists the others; a directory everyone online). */
  who(): Promise<boolean> {
    return this.#run(async () => {
      const isFriends = this.#find.kind === 'friends';
      const members = this.#roomMembers();
      const peers = (await this.#discovery.list())
        .filter((p) => !(p.source === 'friends' && p.name === this.#node.name))
        .map(({ key, ...p }) => ({
          ...p,
          ...(key === undefined ? {} : { fingerprint: fingerprint(key) }),
          ...(isFriends ? { connected: this.#node.isConnected(p.name) } : {}),
          ...this.#link(p.name),
          ...(p.name === this.#node.name ? {} : members.get(p.name)),
        }));
      const listed = new Set(peers.map((p) => p.name));
      const unlisted = [...members].filter(([name]) => !listed.has(name)).map(([name, m]) => ({ name, ...m }));
      this.#emit({ type: 'who', peers, ...(unlisted.length === 0 ? {} : { members: unlisted }) });
    });
  }

  /** The other members of the rooms we are in, by name: which rooms each shares with us, and whether it is reachable now. */
  #roomMembers(): Map<string, { rooms: string[]; reachable: boolean }> {
    const members = new Map<string, { rooms: string[]; reachable: boolean }>();
    const me = this.#keyPair.publicKey.toString('hex');
    for (const room of this.#node.rooms.list()) {
      if (room.status !== 'member') continue;
      for (const m of room.members) {
        if (m.key === me) continue;
        const entry = members.get(m.name) ?? { rooms: [], reachable: false };
        entry.rooms.push(room.name);
        entry.reachable ||= m.isReachable;
        members.set(m.name, entry);
      }
    }
    return members;
  }

  whois(name: string): Promise<boolean> {
    return this.#run(async () => {
      const r = await this.#node.whois(name);
      this.#emit({
        type: 'whois',
        name: r.name,
        status: r.status,
        ...(r.key === undefined ? {} : { fingerprint: fingerprint(r.key) }),
        ...(r.since === undefined ? {} : { since: r.since }),
        ...(r.published === undefined ? {} : { published: fingerprint(r.published) }),
        ...(r.offered === undefined ? {} : { offered: fingerprint(r.offered) }),
        ...this.#link(r.name),
      });
    });
  }

  trust(name: string): Promise<boolean> {
    return this.#run(async () => {
      const { old, key } = await this.#node.trust(name);
      this.#emit({ type: 'trusted', name, fingerprint: fingerprint(key), ...(old === undefined ? {} : { previous: fingerprint(old) }) });
    });
  }

  dump(): void {
    this.#emit({ type: 'dump', ...this.#node.dump() });
  }

  /** /doctor: what `natter doctor` says, about the directory this chat uses. */
  async doctor(): Promise<boolean> {
    return this.#run(async () => {
      if (this.#find.kind === 'friends') {
        throw new NatterError(
          ERROR_CODES.BAD_COMMAND,
          `this chat finds peers in the friends table ${this.#find.file}: there is no directory to check`,
        );
      }
      const { host, port } = this.#find.kind === 'directory' ? this.#find.directory : this.#find.rendezvous;
      const pinned = this.#find.kind === 'directory' ? this.#known.directory(`${host}:${port}`)?.key : undefined;
      const lan = this.#found.lan;
      const report = await runDoctor({
        host,
        port,
        keyPair: this.#keyPair,
        pinned,
        ...(lan === undefined ? {} : { lanPeers: async () => (await lan.list()).length }),
      });
      this.#emit({ type: 'doctor', ...report });
    });
  }

  connect(name: string): Promise<boolean> {
    return this.#run(() => this.#node.connect(name));
  }

  accept(name: string): Promise<boolean> {
    return this.#run(() => this.#node.accept(name));
  }

  decline(name: string): Promise<boolean> {
    return this.#run(() => this.#node.decline(name));
  }

  send(name: string, text: string): Promise<boolean> {
    return this.#run(async () => {
      if (text.trim() === '') throw new NatterError(ERROR_CODES.BAD_COMMAND, `nothing to send to ${name}`);
      await this.#node.send(name, text);
    });
  }

  history(name: string, count: number): Promise<boolean> {
    return this.#run(() => {
      const entries = this.#node.history(name, count);
      this.#emit({ type: 'history', with: name, entries });
    });
  }

  end(name: string): Promise<boolean> {
    return this.#run(() => this.#node.end(name));
  }

  /** What waits in the outbox, per name: how many, and when the oldest was entered (ms since 1970). */
  outbox(): void {
    const byPeer = new Map<string, { to: string; count: number; oldest: number }>();
    for (const { peer, message } of this.#node.outbox()) {
      const entry = byPeer.get(peer);
      if (entry === undefined) byPeer.set(peer, { to: peer, count: 1, oldest: message.ts });
      else {
        entry.count++;
        entry.oldest = Math.min(entry.oldest, message.ts);
      }
    }
    this.#emit({ type: 'outbox', waiting: [...byPeer.values()].sort((a, b) => a.oldest - b.oldest) });
  }

  /** Drops what waits for `name`. */
  drop(name: string): Promise<boolean> {
    return this.#run(() => {
      const count = this.#node.drop(name);
      this.#emit({ type: 'dropped', to: name, count });
    });
  }

  /** A room command (docs/chat.md, "Rooms"), answered by room events. */
  room(c: RoomCommand): Promise<boolean> {
    const rooms = this.#node.rooms;
    return this.#run(async () => {
      switch (c.cmd) {
        case 'room-create':
          rooms.create(c.name);
          return;
        case 'room-invite':
          await rooms.invite(c.room, c.to);
          return;
        case 'room-join':
          rooms.join(c.room);
          return;
        case 'room-decline':
          rooms.decline(c.room);
          return;
        case 'room-send':
          if (c.text.trim() === '') throw new NatterError(ERROR_CODES.BAD_COMMAND, `nothing to send to #${c.room}`);
          rooms.send(c.room, c.text);
          return;
        case 'room-leave':
          rooms.leave(c.room);
          return;
        case 'room-kick':
          rooms.kick(c.room, c.name);
          return;
        case 'room-members':
          this.#emit(membersEvent(rooms.members(c.room)));
          return;
        case 'room-history': {
          const { room, entries } = rooms.history(c.room, c.count ?? 20);
          this.#emit({ type: 'room-history', room: room.id, name: room.name, entries });
          return;
        }
        case 'room-list':
          this.#emit({
            type: 'room-list',
            rooms: rooms
              .list()
              .map((r) => ({ room: r.id, name: r.name, status: r.status === 'invited' ? 'invited' : 'member', members: r.members.length })),
          });
          return;
      }
    });
  }

  /** END every chat, DOWN to the directory, stop hosting; then 'done'. */
  async quit(code = 0): Promise<void> {
    if (this.#isQuitting) return;
    this.#isQuitting = true;
    // Goodbye to the LAN first: others drop us at once instead of when our announcement expires.
    await this.#found.lan?.stop();
    await this.#node.stop();
    await this.#directory?.stop();
    await this.#rendezvous?.close();
    this.#node.store.close();
    this.emit('done', code);
  }
}

function membersEvent(r: RoomView): ChatEvent {
  return {
    type: 'room-members',
    room: r.id,
    name: r.name,
    members: r.members.map((m) => m.name),
    admins: r.members.filter((m) => m.isAdmin).map((m) => m.name),
    online: r.members.filter((m) => m.isReachable).map((m) => m.name),
    status: r.status,
  };
}
