/**
 * startChat(): the chat peer as `natter chat` runs it, for any front end (the
 * CLI's UIs, a bot, a test). It assembles a PeerNode with its ways of finding
 * peers (a directory, a friends table, or the local default, with the LAN
 * merged in when it is on): registering, retrying a busy port, translating
 * what fails at start into errors a person can act on.
 */
import { hostDirectory } from '../directory/host.ts';
import { DirectoryClient } from '../discovery/directory-client.ts';
import { DirectoryLink, type Backoff } from '../discovery/directory-link.ts';
import { LocalRendezvous } from '../discovery/local-rendezvous.ts';
import { relayThrough, type RelayAt, type RelayedStream } from '../discovery/rendezvous.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { KeyBook } from '../peer/key-book.ts';
import type { KnownPeers } from '../peer/known-peers.ts';
import { RELAY_JOIN_MS } from '../peer/links/paths.ts';
import { PeerNode } from '../peer/peer-node.ts';
import type { MessageStore } from '../peer/store/message-store.ts';
import type { RoomStore } from '../peer/store/room-store.ts';
import type { KeyPair } from '../transport/secure.ts';
import { ChatSession } from './chat-session.ts';
import { directoryPinning } from './directory-pinning.ts';
import type { ReadyEvent } from './events.ts';
import type { FindPeers } from './find-peers.ts';
import { findPeers, type LanWiringOptions } from './lan-wiring.ts';

export type { FindPeers, HostPort } from './find-peers.ts';

export interface ChatOptions {
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
  /** The rooms' logs (the data directory's rooms/). Default: in memory. */
  roomStore?: RoomStore;
  /** Most members of a room we invite to (2 to 32; default 32). */
  maxRoomMembers?: number;
  /** First wait before trying again to reach a peer that messages wait for. */
  retryIntervalMs?: number;
  /** Frames one peer may send a second before it is read at that pace (PeerNodeOptions; default 1,000). */
  maxFramesPerSecond?: number;
  backoff?: Backoff;
  logger: Logger;
}

/**
 * Finds peers, registers where needed, starts listening. Resolves with the
 * session and its ready event once peers can reach it; hand the session to a
 * UI (runChatUi) or listen to its events, then call begin().
 * @throws NatterError when the directory cannot be reached or refuses the name, or the port cannot be had
 */
export async function startChat(o: ChatOptions): Promise<{ session: ChatSession; ready: ReadyEvent }> {
  const common = {
    name: o.name,
    keyPair: o.keyPair,
    keyBook: new KeyBook(o.known),
    isAutoAccept: o.isAutoAccept,
    maxChats: o.maxChats,
    idleTimeoutMs: o.idleTimeoutMs,
    keepaliveIntervalMs: o.keepaliveIntervalMs,
    store: o.store,
    ...(o.roomStore === undefined ? {} : { roomStore: o.roomStore }),
    ...(o.maxRoomMembers === undefined ? {} : { maxRoomMembers: o.maxRoomMembers }),
    ...(o.retryIntervalMs === undefined ? {} : { retryIntervalMs: o.retryIntervalMs }),
    ...(o.maxFramesPerSecond === undefined ? {} : { maxFramesPerSecond: o.maxFramesPerSecond }),
    logger: o.logger,
  };
  const credentials = { keyPair: o.keyPair, known: o.known };
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
    const session = new ChatSession({
      node,
      find: o.find,
      ...credentials,
      directory: undefined,
      rendezvous: undefined,
      discovery: finding.discovery,
      found,
    });
    return {
      session,
      ready: { type: 'ready', name: node.name, ip: own.ip, port: address.port, via: `friends table ${o.find.file}${found.via}` },
    };
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
  let registration: Awaited<ReturnType<typeof link.start>>;
  try {
    registration = await link.start();
  } catch (err) {
    await rendezvous?.close();
    if (err instanceof NatterError && err.code === ERROR_CODES.CONNECTION_CLOSED && o.find.kind === 'directory') {
      throw new NatterError(
        ERROR_CODES.DIRECTORY_UNAVAILABLE,
        `no directory answers at ${o.find.directory.host}:${o.find.directory.port}: ${err.message}`,
        { cause: err },
      );
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
      const candidate = new PeerNode({
        ...common,
        discovery: finding.discovery,
        rendezvous: link,
        listenHost,
        listenPort: registration.port,
      });
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
  const session = new ChatSession({ node, find: o.find, ...credentials, directory: link, rendezvous, discovery: finding.discovery, found });
  const via =
    (o.find.kind === 'local'
      ? `local directory ${o.find.rendezvous.host}:${o.find.rendezvous.port}${rendezvous?.isHosting ? ' (hosted here)' : ''}`
      : `directory ${o.find.directory.host}:${o.find.directory.port}`) + found.via;
  const ip = listenHost === '0.0.0.0' ? (link.ownAddress ?? listenHost) : listenHost;
  return { session, ready: { type: 'ready', name: node.name, ip, port: registration.port, via } };
}

/** What LAN discovery needs, when it is on. */
function lanWiring(o: ChatOptions, listenHost: string): LanWiringOptions | undefined {
  return o.isLanOn === true ? { name: o.name, publicKey: o.keyPair.publicKey, listenHost, logger: o.logger } : undefined;
}
