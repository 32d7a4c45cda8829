/**
 * Wiring for `natter chat`: a PeerNode plus the way it finds peers (a
 * directory, a friends table, or the local default; the LAN besides, merged
 * with it), turned into one stream of UI-neutral events that the line UI and
 * the JSON mode both present.
 * Event shapes are the JSON mode's (docs/chat.md, "Scripting").
 */
import { EventEmitter } from 'node:events';
import type { FriendsTable } from '../discovery/friends-table.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { DirectoryClient } from '../discovery/directory-client.ts';
import { DirectoryLink, type Backoff } from '../discovery/directory-link.ts';
import { relayThrough, type RelayAt, type RelayedStream } from '../discovery/rendezvous.ts';
import type { LinkKind } from '../peer/links/connector.ts';
import { RELAY_JOIN_MS } from '../peer/links/paths.ts';
import type { PeerSource } from '../discovery/discovery.ts';
import type { MergedDiscovery } from '../discovery/merged.ts';
import { LocalRendezvous } from '../discovery/local-rendezvous.ts';
import { hostDirectory } from '../directory/host.ts';
import { runDoctor, type DoctorReport } from '../discovery/doctor.ts';
import { PeerNode } from '../peer/peer-node.ts';
import type { KeyReport } from '../peer/key-book.ts';
import { KeyBook } from '../peer/key-book.ts';
import type { KnownPeers } from '../peer/known-peers.ts';
import type { HistoryEntry, MessageStore } from '../peer/store/message-store.ts';
import { fingerprint } from '../transport/identity.ts';
import { directoryPinning } from './identity-options.ts';
import { findPeers, type Found, type LanWiringOptions } from './lan-wiring.ts';
import type { KeyPair } from '../transport/secure.ts';
import type { HostPort } from './parse.ts';


export type ChatEvent =
  | { type: 'ready'; name: string; ip: string; port: number; via: string }
  | { type: 'who'; peers: { name: string; ip: string; port: number; source: PeerSource; fingerprint?: string; connected?: boolean; link?: LinkKind }[] }
  | {
      type: 'whois';
      name: string;
      status: KeyReport['status'];
      fingerprint?: string;
      since?: string;
      published?: string;
      offered?: string;
      link?: LinkKind;
    }
  | { type: 'trusted'; name: string; fingerprint: string; previous?: string }
  | { type: 'request'; from: string }
  | { type: 'connected'; with: string; link: LinkKind }
  | { type: 'moved'; with: string; link: LinkKind }
  | { type: 'declined'; by: string; reason: string }
  | { type: 'message'; from: string; text: string; id: string; ts: number }
  | { type: 'queued'; to: string; id: string; ts: number; text: string; recovered?: true }
  | { type: 'sent'; to: string; id: string }
  | { type: 'delivered'; to: string; id: string }
  | { type: 'waiting'; to: string; count: number; code: string; reason: string; unknown?: true }
  | { type: 'outbox'; waiting: { to: string; count: number; oldest: number }[] }
  | { type: 'dropped'; to: string; count: number }
  | { type: 'kept'; to: string; count: number }
  | { type: 'history'; with: string; entries: HistoryEntry[] }
  | { type: 'ended'; with: string; reason: string }
  | { type: 'shutdown' }
  | { type: 'notice'; message: string }
  | ({ type: 'dump' } & ReturnType<PeerNode['dump']>)
  | ({ type: 'doctor' } & DoctorReport)
  | { type: 'error'; code: string; message: string };

/** What is still shown while natter quits. */
const QUITTING_EVENTS: ReadonlySet<ChatEvent['type']> = new Set(['shutdown', 'error', 'kept', 'delivered', 'message']);

export type FindPeers =
  | { kind: 'directory'; directory: HostPort }
  | { kind: 'friends'; table: FriendsTable; file: string }
  | { kind: 'local'; rendezvous: HostPort };

export interface ChatSessionOptions {
  name: string;
  find: FindPeers;
  /** Our key pair (from the identity file). */
  keyPair: KeyPair;
  /** Pinned keys of peers and directories (the known-peers file). */
  known: KnownPeers;
  /** Accept whatever key the directory (--directory) presents now, replacing its pin. */
  isTrustingDirectory?: boolean;
  /** Find peers on the LAN too (mDNS), and be found there. */
  isLanOn?: boolean;
  listenHost: string | undefined;
  isAutoAccept: boolean;
  maxChats: number;
  idleTimeoutMs: number;
  keepaliveIntervalMs: number;
  /** Outbox, received ids and history (the data directory). */
  store: MessageStore;
  /** First wait before trying again to reach a peer that messages wait for. */
  retryIntervalMs?: number;
  backoff?: Backoff;
  logger: Logger;
}

export class ChatSession extends EventEmitter<{ event: [ChatEvent]; done: [code: number] }> {
  readonly node: PeerNode;
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

  private constructor(node: PeerNode, o: ChatSessionOptions, link: DirectoryLink | undefined, rendezvous: LocalRendezvous | undefined, discovery: MergedDiscovery, found: Found) {
    super();
    const find = o.find;
    this.node = node;
    this.#find = find;
    this.#keyPair = o.keyPair;
    this.#known = o.known;
    this.#directory = link;
    this.#rendezvous = rendezvous;
    this.#discovery = discovery;
    this.#found = found;
    for (const message of found.notices) this.#emit({ type: 'notice', message });
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
    node.on('ended', (peer, reason, detail) => this.#emit({ type: 'ended', with: peer, reason: reason === 'lost' ? detail : reason }));
    node.on('problem', (err) => this.#emit({ type: 'error', code: err.code, message: err.message }));
    if (link !== undefined) {
      link.on('lost', (err, delayMs) =>
        this.#emit({ type: 'notice', message: `directory unreachable: ${err.message}; retrying in ${(delayMs / 1000).toFixed(1)} s` }),
      );
      let wasLost = false;
      link.on('lost', () => {
        wasLost = true;
      });
      link.on('registered', (r) => {
        if (wasLost) {
          wasLost = false;
          this.#emit({ type: 'notice', message: `registered with the directory again${rendezvous?.isHosting ? ' (now hosted here)' : ''}` });
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
          this.#emit({ type: 'notice', message: 'ignored a SHUTDOWN from the local rendezvous directory: only a pinned directory may stop natter' });
          return;
        }
        this.#emit({ type: 'shutdown' });
        void this.quit(0);
      });
    }
  }

  /** Finds peers, registers where needed, starts listening. */
  static async start(o: ChatSessionOptions): Promise<{ session: ChatSession; ready: ChatEvent & { type: 'ready' } }> {
    const common = {
      name: o.name,
      keyPair: o.keyPair,
      keyBook: new KeyBook(o.known),
      isAutoAccept: o.isAutoAccept,
      maxChats: o.maxChats,
      idleTimeoutMs: o.idleTimeoutMs,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      store: o.store,
      ...(o.retryIntervalMs === undefined ? {} : { retryIntervalMs: o.retryIntervalMs }),
      logger: o.logger,
    };
    if (o.find.kind === 'friends') {
      const own = o.find.table.get(o.name);
      if (own === undefined) {
        throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `${o.name} is not in ${o.find.file}; its entry says where to listen`);
      }
      const listenHost = o.listenHost ?? own.ip;
      const finding = findPeers({ source: 'friends', discovery: o.find.table }, lanWiring(o, listenHost));
      const node = new PeerNode({ ...common, discovery: finding.discovery, listenHost, listenPort: own.port, advertiseIp: own.ip });
      const address = await node.start();
      const found = await finding.start(address.port);
      const session = new ChatSession(node, o, undefined, undefined, finding.discovery, found);
      return { session, ready: { type: 'ready', name: node.name, ip: own.ip, port: address.port, via: `friends table ${o.find.file}${found.via}` } };
    }
    let rendezvous: LocalRendezvous | undefined;
    let connect: () => Promise<DirectoryClient>;
    let relay: (peer: string, at?: RelayAt) => Promise<RelayedStream>;
    if (o.find.kind === 'local') {
      const { host, port } = o.find.rendezvous;
      rendezvous = new LocalRendezvous({ host, port, keyPair: o.keyPair, hostDirectory, logger: o.logger });
      const r = rendezvous;
      connect = () => r.connect();
      relay = relayThrough({ host, port, timeoutMs: 5_000, keyPair: o.keyPair }, RELAY_JOIN_MS);
    } else {
      const { host, port } = o.find.directory;
      const verifyKey = directoryPinning(`${host}:${port}`, o.known, o.isTrustingDirectory ?? false);
      // Bound to a port of its own: hole punching dials from it too (protocol.md §6.8).
      connect = () => DirectoryClient.connect({ host, port, timeoutMs: 5_000, keyPair: o.keyPair, verifyKey, localPort: 0 });
      relay = relayThrough({ host, port, timeoutMs: 5_000, keyPair: o.keyPair, verifyKey }, RELAY_JOIN_MS);
    }
    const link = new DirectoryLink({
      name: o.name,
      connect,
      relay,
      logger: o.logger,
      // On one machine a new host is one quick retry away; a remote directory gets the full backoff.
      backoff: o.backoff ?? (o.find.kind === 'local' ? { initialMs: 300, maxMs: 5_000 } : { initialMs: 2_000, maxMs: 30_000 }),
    });
    let registration;
    try {
      registration = await link.start();
    } catch (err) {
      await rendezvous?.close();
      if (err instanceof NatterError && err.code === ERROR_CODES.CONNECTION_CLOSED && o.find.kind === 'directory') {
        throw new NatterError(ERROR_CODES.DIRECTORY_UNAVAILABLE, `no directory answers at ${o.find.directory.host}:${o.find.directory.port}: ${err.message}`, { cause: err });
      }
      throw err;
    }
    // On the LAN, peers on other machines must reach us; otherwise the local default stays on this machine.
    const listenHost = o.listenHost ?? (o.find.kind === 'local' && o.isLanOn !== true ? '127.0.0.1' : '0.0.0.0');
    const finding = findPeers({ source: o.find.kind, discovery: link }, lanWiring(o, listenHost));
    let node: PeerNode | undefined;
    try {
      // The directory knows which ports its peers use, not which ports other programs here use:
      // when the assigned one is busy, give it back and take the next.
      for (let attempt = 0; node === undefined; attempt++) {
        const candidate = new PeerNode({ ...common, discovery: finding.discovery, rendezvous: link, listenHost, listenPort: registration.port });
        try {
          await candidate.start();
          node = candidate;
        } catch (err) {
          if (!(err instanceof NatterError && err.code === ERROR_CODES.LISTEN_FAILED && attempt < 20)) throw err;
          o.logger.info({ port: registration.port }, 'assigned port is busy here; asking for another');
          registration = await link.moveToAnotherPort();
        }
      }
    } catch (err) {
      await link.stop();
      await rendezvous?.close();
      throw err;
    }
    const found = await finding.start(registration.port);
    const session = new ChatSession(node, o, link, rendezvous, finding.discovery, found);
    const via = (o.find.kind === 'local' ? `local directory ${o.find.rendezvous.host}:${o.find.rendezvous.port}${rendezvous?.isHosting ? ' (hosted here)' : ''}` : `directory ${o.find.directory.host}:${o.find.directory.port}`) + found.via;
    const ip = listenHost === '0.0.0.0' ? (link.ownAddress ?? listenHost) : listenHost;
    return { session, ready: { type: 'ready', name: node.name, ip, port: registration.port, via } };
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
    const link = this.node.linkOf(name);
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
      const peers = (await this.#discovery.list())
        .filter((p) => !(p.source === 'friends' && p.name === this.node.name))
        .map(({ key, ...p }) => ({
          ...p,
          ...(key === undefined ? {} : { fingerprint: fingerprint(key) }),
          ...(isFriends ? { connected: this.node.isConnected(p.name) } : {}),
          ...this.#link(p.name),
        }));
      this.#emit({ type: 'who', peers });
    });
  }

  whois(name: string): Promise<boolean> {
    return this.#run(async () => {
      const r = await this.node.whois(name);
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
      const { old, key } = await this.node.trust(name);
      this.#emit({ type: 'trusted', name, fingerprint: fingerprint(key), ...(old === undefined ? {} : { previous: fingerprint(old) }) });
    });
  }

  dump(): void {
    this.#emit({ type: 'dump', ...this.node.dump() });
  }

  /** /doctor: what `natter doctor` says, about the directory this chat uses. */
  async doctor(): Promise<boolean> {
    return this.#run(async () => {
      if (this.#find.kind === 'friends') {
        throw new NatterError(ERROR_CODES.BAD_COMMAND, `this chat finds peers in the friends table ${this.#find.file}: there is no directory to check`);
      }
      const { host, port } = this.#find.kind === 'directory' ? this.#find.directory : this.#find.rendezvous;
      const pinned = this.#find.kind === 'directory' ? this.#known.directory(`${host}:${port}`)?.key : undefined;
      const lan = this.#found.lan;
      const report = await runDoctor({ host, port, keyPair: this.#keyPair, pinned, ...(lan === undefined ? {} : { lanPeers: async () => (await lan.list()).length }) });
      this.#emit({ type: 'doctor', ...report });
    });
  }

  connect(name: string): Promise<boolean> {
    return this.#run(() => this.node.connect(name));
  }

  accept(name: string): Promise<boolean> {
    return this.#run(() => this.node.accept(name));
  }

  decline(name: string): Promise<boolean> {
    return this.#run(() => this.node.decline(name));
  }

  send(name: string, text: string): Promise<boolean> {
    return this.#run(async () => {
      if (text.trim() === '') throw new NatterError(ERROR_CODES.BAD_COMMAND, `nothing to send to ${name}`);
      await this.node.send(name, text);
    });
  }

  history(name: string, count: number): Promise<boolean> {
    return this.#run(() => {
      const entries = this.node.history(name, count);
      this.#emit({ type: 'history', with: name, entries });
    });
  }

  end(name: string): Promise<boolean> {
    return this.#run(() => this.node.end(name));
  }

  /** What waits in the outbox, per name: how many, and when the oldest was entered (ms since 1970). */
  outbox(): void {
    const byPeer = new Map<string, { to: string; count: number; oldest: number }>();
    for (const { peer, message } of this.node.outbox()) {
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
      const count = this.node.drop(name);
      this.#emit({ type: 'dropped', to: name, count });
    });
  }

  /** END every chat, DOWN to the directory, stop hosting; then 'done'. */
  async quit(code = 0): Promise<void> {
    if (this.#isQuitting) return;
    this.#isQuitting = true;
    // Goodbye to the LAN first: others drop us at once instead of when our announcement expires.
    await this.#found.lan?.stop();
    await this.node.stop();
    await this.#directory?.stop();
    await this.#rendezvous?.close();
    this.node.store.close();
    this.emit('done', code);
  }
}

/** What LAN discovery needs, when it is on. */
function lanWiring(o: ChatSessionOptions, listenHost: string): LanWiringOptions | undefined {
  return o.isLanOn === true ? { name: o.name, publicKey: o.keyPair.publicKey, listenHost, logger: o.logger } : undefined;
}

