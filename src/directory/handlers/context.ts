/** What a request handler may use of the directory: nothing more, so handlers stay small and testable. */
import type { Logger } from '../../log.ts';
import type { DirectoryOptions } from '../options.ts';
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
  alivesReceived: number;
  nacksSent: number;
  adminRefused: number;
  protocolErrors: number;
  rateLimited: number;
  slowConsumersCut: number;
  registerTimeouts: number;
  idleClosed: number;
  handshakeFailures: number;
}

export interface HandlerContext {
  readonly options: DirectoryOptions;
  readonly store: DirectoryStore;
  readonly counters: DirectoryCounters;
  readonly logger: Logger;
  now(): number;
  /** The WHO answer, HDR then every PEER frame, as one buffer (cached until the store's generation changes). */
  listing(): Promise<Buffer>;
  /** The session `owner` no longer holds `name` (its key registered it again elsewhere). */
  releaseName(owner: string, name: string): void;
  /** Starts the shutdown of the whole directory. */
  shutdown(reason: string): void;
  /** The state DUMP reports. */
  dumpState(): Promise<unknown>;
}
