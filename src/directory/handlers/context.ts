/** What a request handler may use of the directory: nothing more, so handlers stay small and testable. */
import type { Logger } from '../../log.ts';
import type { DirectoryOptions } from '../options.ts';
import type { ClientSession } from '../session.ts';
import type { DirectoryStore } from '../store/store.ts';

/** Counters reported by DUMP; names are part of the DUMP JSON. */
export interface DirectoryCounters {
  connectionsAccepted: number;
  connectionsRefused: number;
  registrations: number;
  refusedRegistrations: number;
  departures: number;
  expirations: number;
  whoServed: number;
  findsServed: number;
  alivesReceived: number;
  nacksSent: number;
  adminRefused: number;
  protocolErrors: number;
  rateLimited: number;
  slowConsumersCut: number;
  registerTimeouts: number;
  idleClosed: number;
  handshakeFailures: number;
  probes: number;
  punches: number;
  relaysJoined: number;
  relaysRefused: number;
  relayedBytes: number;
}

/** Every counter at zero, as a new directory starts. */
export function newCounters(): DirectoryCounters {
  return {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    registrations: 0,
    refusedRegistrations: 0,
    departures: 0,
    expirations: 0,
    whoServed: 0,
    findsServed: 0,
    alivesReceived: 0,
    nacksSent: 0,
    adminRefused: 0,
    protocolErrors: 0,
    rateLimited: 0,
    slowConsumersCut: 0,
    registerTimeouts: 0,
    idleClosed: 0,
    handshakeFailures: 0,
    probes: 0,
    punches: 0,
    relaysJoined: 0,
    relaysRefused: 0,
    relayedBytes: 0,
  };
}

export interface HandlerContext {
  readonly options: DirectoryOptions;
  readonly store: DirectoryStore;
  readonly counters: DirectoryCounters;
  readonly logger: Logger;
  now(): number;
  /** The WHO answer, HDR then every PEER frame, as one buffer (cached until the store's generation changes). */
  listing(): Promise<Buffer>;
  /** The PEER frame of `name` as the current listing has it, or undefined when it is not online. */
  peerFrame(name: string): Promise<Buffer | undefined>;
  /** The session `owner` no longer holds `name` (its key registered it again elsewhere). */
  releaseName(owner: string, name: string): void;
  /** Starts the shutdown of the whole directory. */
  shutdown(reason: string): void;
  /** The state DUMP reports. */
  dumpState(): Promise<unknown>;
  /** The session of this process that owns an entry, if it is here (another process of a shared directory may own it). */
  sessionOf(owner: string): ClientSession | undefined;
  /** Dials back `ip`:`port` and runs the handshake, expecting `key` (PROBE, protocol.md §6.7). */
  dialBack(ip: string, port: number, key: Buffer): Promise<{ isReachable: boolean; detail: string }>;
  /** The relay (protocol.md §6.9). */
  readonly relay: RelayDesk;
}

/** What the RELAY handler needs of the relay. */
export interface RelayDesk {
  /** Asks for `session` to be joined to `target`'s own RELAY connection; answers on the session itself. */
  request(session: ClientSession, target: string): Promise<void>;
}
