/** A PeerNode's options: every limit finite, every default stated, every value checked. */
import type { Clock, Scheduler } from '../clock.ts';
import type { Discovery } from '../discovery/discovery.ts';
import type { Rendezvous } from '../discovery/rendezvous.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ProtocolLimits } from '../protocol/limits.ts';
import type { KeyPair } from '../transport/secure.ts';
import type { KeyBook } from './key-book.ts';
import type { Connector, ConnectorContext } from './links/connector.ts';
import type { MessageStore } from './store/message-store.ts';
import type { RoomStore } from './store/room-store.ts';

export interface PeerNodeOptions {
  /** Our display name. */
  name: string;
  /** How names are turned into addresses. */
  discovery: Discovery;
  /** Address to listen on. Default 127.0.0.1. */
  listenHost?: string;
  /** Port to listen on (0: any free port). */
  listenPort: number;
  /** IP to tell peers in CONN; default: the local address of each connection. */
  advertiseIp?: string;
  /** Accept every chat request without asking. Default false (friends of a table are always accepted). */
  isAutoAccept?: boolean;
  /** Most chats (open, or being opened by us) at once. Requests from others do not count. Default 8. */
  maxChats?: number;
  /** Chat requests waiting for an answer (accept() or decline()), at most; more are declined as busy. Default 16. */
  maxRequests?: number;
  /** A chat request not answered within this long is declined. Default 120,000 ms. */
  requestTimeoutMs?: number;
  /** Close a connection after this long without chat traffic. Default 300,000 ms. */
  idleTimeoutMs?: number;
  /** PING interval; a connection silent for three intervals is dead. Default 15,000 ms. */
  keepaliveIntervalMs?: number;
  /** Deadline to connect to a peer and exchange HELLO, and for an inbound connection to send CONN. Default 10,000 ms. */
  dialTimeoutMs?: number;
  /** Messages not yet delivered per peer, at most; more are refused with OUTBOX_FULL. Default 1,000. */
  maxOutbox?: number;
  /** How long stop() waits for messages on their way (a chat opening, receipts due). Default 5,000 ms. */
  stopGraceMs?: number;
  /** First wait before trying again to reach a peer that has messages waiting; doubles per failure. Default 2,000 ms. */
  retryIntervalMs?: number;
  /** Longest wait between such tries. Default 60,000 ms. */
  maxRetryIntervalMs?: number;
  /** Where the outbox, the ids of received messages and the history live. Default: in memory (lost at exit). */
  store?: MessageStore;
  /** Where the logs of our rooms live. Default: in memory (lost at exit). */
  roomStore?: RoomStore;
  /** Most members (invitations included) of a room we invite to, 2 to 32. Default 32. */
  maxRoomMembers?: number;
  /** Room items whose clock is further ahead of ours than this are refused for now. Default 120,000 ms. */
  maxClockAheadMs?: number;
  /**
   * Frames (chat messages, receipts and the rest) one peer may send a second,
   * after a burst of twice as many; a faster peer is read at that pace, and
   * the others are read as usual. Default 1,000.
   */
  maxFramesPerSecond?: number;
  /** Inbound connections that have not sent CONN yet (their handshake included), at most; more are refused. Default 64. */
  maxPendingInbound?: number;
  /** Of those, from one address at most. Default 8. */
  maxPendingPerAddress?: number;
  /** From accepting a connection to its CONN, the handshake included: a stranger's one deadline. Default 5,000 ms. */
  inboundTimeoutMs?: number;
  /** Our identity for the encrypted channel. Default: a new key pair (library use and tests). */
  keyPair?: KeyPair;
  /** Which key each name must prove (pins, the friends table, the directory). Default: pins in memory only. */
  keyBook?: KeyBook;
  /**
   * What a directory offers for reaching peers that cannot be dialed
   * straight: with it, a connection is tried direct, then punched, then
   * relayed, and other peers' calls are answered (src/peer/links/paths.ts).
   */
  rendezvous?: Rendezvous;
  /** How connections to a peer are opened. Default: the paths above (only direct without a rendezvous). */
  connector?: (ctx: ConnectorContext) => Connector;
  limits?: Partial<ProtocolLimits>;
  /** The monotonic clock for deadlines (stop's grace, a request's answer). Default: the scheduler's, or the real one. */
  clock?: Clock;
  /** Timers for keepalives, idle closes and retries. Default: Node's. */
  scheduler?: Scheduler;
  logger?: Logger;
}

const DEFAULTS = {
  listenHost: '127.0.0.1',
  isAutoAccept: false,
  maxChats: 8,
  maxRequests: 16,
  requestTimeoutMs: 120_000,
  idleTimeoutMs: 300_000,
  keepaliveIntervalMs: 15_000,
  dialTimeoutMs: 10_000,
  maxOutbox: 1_000,
  stopGraceMs: 5_000,
  retryIntervalMs: 2_000,
  maxRetryIntervalMs: 60_000,
  maxPendingInbound: 64,
  maxFramesPerSecond: 1_000,
  maxPendingPerAddress: 8,
  inboundTimeoutMs: 5_000,
  maxRoomMembers: 32,
  maxClockAheadMs: 120_000,
};

export type ResolvedPeerOptions = typeof DEFAULTS & PeerNodeOptions;

/** The options with their defaults filled in. @throws NatterError NATTER_ERR_INVALID_ARGUMENT for a bad value. */
export function resolvePeerOptions(options: PeerNodeOptions): ResolvedPeerOptions {
  const o = { ...DEFAULTS, ...options };
  for (const key of [
    'maxChats',
    'maxRequests',
    'requestTimeoutMs',
    'idleTimeoutMs',
    'keepaliveIntervalMs',
    'dialTimeoutMs',
    'maxOutbox',
    'stopGraceMs',
    'maxPendingInbound',
    'maxFramesPerSecond',
    'maxPendingPerAddress',
    'inboundTimeoutMs',
    'retryIntervalMs',
    'maxRetryIntervalMs',
    'maxRoomMembers',
    'maxClockAheadMs',
  ] as const) {
    const v = o[key];
    // Durations past a day would overflow Node's timers (about 24.8 days) into 1 ms.
    if (!Number.isSafeInteger(v) || v < 1 || (key.endsWith('Ms') && v > 86_400_000)) {
      throw new NatterError(
        ERROR_CODES.INVALID_ARGUMENT,
        `peer option ${key} must be a positive integer${key.endsWith('Ms') ? ' of at most a day' : ''}, got ${String(v)}`,
      );
    }
  }
  if (o.maxRoomMembers < 2 || o.maxRoomMembers > 32) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `peer option maxRoomMembers must be 2 to 32, got ${o.maxRoomMembers}`);
  }
  return o;
}
