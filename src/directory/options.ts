/** The directory's options: every cap finite, every default stated, every value checked. */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { MONOTONIC_CLOCK, type Clock } from '../clock.ts';
import { ERROR_CODES, NatterError } from '../errors.ts';
import { SILENT_LOGGER, type Logger } from '../log.ts';
import type { ProtocolLimits } from '../protocol/limits.ts';
import { keyPairFromSeed, type KeyPair } from '../transport/secure.ts';
import { MemoryDirectoryStore } from './store/memory-store.ts';
import { DEFAULT_PORT_RANGE, type DirectoryStore, type PortRange } from './store/store.ts';

export interface DirectoryOptions {
  /** How often clients must send ALIVE; told to them in every ACK. Default 30,000 ms. */
  aliveIntervalMs: number;
  /** A client not heard from for this many alive intervals is removed. Default 2. */
  expiryIntervals: number;
  /** A connection silent for this many alive intervals is closed. Default 3. */
  idleCloseIntervals: number;
  /** Ports assigned to peers. Default 50000-59999. */
  portRange: PortRange;
  /** Absolute deadline for a new connection to send HELLO and a valid UP. Default 10,000 ms. */
  registerTimeoutMs: number;
  /** Most connections at once. Default 16,384. */
  maxClients: number;
  /** Most connections at once from one source IP. Default 32. */
  maxConnectionsPerIp: number;
  /** Loopback addresses are not held to maxConnectionsPerIp. Default true. */
  isLoopbackExempt: boolean;
  /** Commands a connection may send at once before being slowed down. Default 32. */
  rateBurst: number;
  /** Steady commands per second per connection. Default 16. */
  ratePerSecond: number;
  /** Commands delayed in a row (without the bucket refilling) before the client is disconnected. Default 256. */
  maxDelayedCommands: number;
  /** Bytes queued to a connection before it is cut off as not reading. Default 524,288. */
  maxQueueBytes: number;
  /**
   * The directory's own identity: the key every client's handshake proves it
   * talks to, and pins. Default: a new key pair each time (fine for tests;
   * `natter directory` uses the user's identity file so the key stays).
   */
  keyPair: KeyPair;
  /**
   * Ed25519 public keys allowed to send SHUTDOWN and DUMP, proven by the
   * handshake. Default: the directory's own key (whoever runs it with the
   * same identity).
   */
  adminKeys: readonly Buffer[];
  /** Deadline for a new connection's Noise handshake. Default 10,000 ms. */
  handshakeTimeoutMs: number;
  /** Handshakes in progress at once, at most; connections beyond it are closed before one starts (they cost CPU). Default 4,096. */
  maxHandshakes: number;
  /**
   * Worker threads the handshakes' cryptography runs on, beside the main
   * thread's sockets (a HandshakePool); 0 runs it on the main thread. On a
   * machine with several cores a busy directory registers more clients per
   * second with a thread or two per core it can spare. Default 0.
   */
  handshakeThreads: number;
  /** Grace period for clients to close during shutdown. Default 2,000 ms. */
  shutdownGraceMs: number;
  /** Whether the directory relays for peers that cannot reach each other otherwise (protocol.md §6.9). Default true. */
  isRelaying: boolean;
  /** Relayed links at once, at most (pending ones included). Default 256. */
  relayMaxLinks: number;
  /** Relayed links at once for one client (by its name), at most. Default 8. */
  relayMaxPerClient: number;
  /** Bytes per second each relayed link may carry, each way. Default 1 MiB. */
  relayBytesPerSecond: number;
  /** A relayed link that carries nothing either way for this long is closed. Default 600,000 ms. */
  relayIdleTimeoutMs: number;
  /** How long one side of a relay waits for the other to ask too. Default 5,000 ms. */
  relayJoinTimeoutMs: number;
  /** Deadline for a PROBE's dial-back (connection and handshake). Default 2,000 ms. */
  probeTimeoutMs: number;
  /** Shortest time between two PROBEs from one address. Default 1,000 ms. */
  probeIntervalMs: number;
  /** PUNCH requests a client may make in a burst; they refill at one per second. Default 8. */
  punchBurst: number;
  /**
   * Where peers reach this process, for relays across the processes of a
   * shared directory: a relay CALL names it so that both halves meet here
   * (protocol.md §6.9). Default: the address the asking peer's connection
   * came in at.
   */
  advertise?: { host: string; port: number } | undefined;
  /** Codec limits. */
  limits: Partial<ProtocolLimits>;
  /** The online list. Default: a MemoryDirectoryStore over portRange. */
  store: DirectoryStore;
  clock: Clock;
  logger: Logger;
}

export const DIRECTORY_DEFAULTS = Object.freeze({
  aliveIntervalMs: 30_000,
  expiryIntervals: 2,
  idleCloseIntervals: 3,
  portRange: DEFAULT_PORT_RANGE,
  registerTimeoutMs: 10_000,
  maxClients: 16_384,
  maxConnectionsPerIp: 32,
  isLoopbackExempt: true,
  rateBurst: 32,
  ratePerSecond: 16,
  maxDelayedCommands: 256,
  maxQueueBytes: 524_288,
  shutdownGraceMs: 2_000,
  handshakeTimeoutMs: 10_000,
  maxHandshakes: 4_096,
  handshakeThreads: 0,
  isRelaying: true,
  relayMaxLinks: 256,
  relayMaxPerClient: 8,
  relayBytesPerSecond: 1_048_576,
  relayIdleTimeoutMs: 600_000,
  relayJoinTimeoutMs: 5_000,
  probeTimeoutMs: 2_000,
  probeIntervalMs: 1_000,
  punchBurst: 8,
});

/** Most handshake threads: more than a machine has cores only costs memory. */
export const MAX_HANDSHAKE_THREADS = 64;

/** Longest interval or timeout: a day (Node's timers overflow past about 24.8 days). */
export const MAX_INTERVAL_MS = 86_400_000;

const POSITIVE_INTEGERS = [
  'aliveIntervalMs',
  'expiryIntervals',
  'idleCloseIntervals',
  'registerTimeoutMs',
  'maxClients',
  'maxConnectionsPerIp',
  'rateBurst',
  'maxDelayedCommands',
  'maxQueueBytes',
  'shutdownGraceMs',
  'handshakeTimeoutMs',
  'maxHandshakes',
  'relayMaxLinks',
  'relayMaxPerClient',
  'relayBytesPerSecond',
  'relayIdleTimeoutMs',
  'relayJoinTimeoutMs',
  'probeTimeoutMs',
  'probeIntervalMs',
  'punchBurst',
] as const;

/** Fills in defaults and checks every value; throws NATTER_ERR_INVALID_ARGUMENT naming the bad option. */
export function resolveDirectoryOptions(partial: Partial<DirectoryOptions> = {}): DirectoryOptions {
  const keyPair = partial.keyPair ?? keyPairFromSeed(randomBytes(32));
  const options: DirectoryOptions = {
    ...DIRECTORY_DEFAULTS,
    keyPair,
    adminKeys: [keyPair.publicKey],
    limits: {},
    clock: MONOTONIC_CLOCK,
    logger: SILENT_LOGGER,
    ...partial,
    store: partial.store ?? new MemoryDirectoryStore({ portRange: partial.portRange ?? DEFAULT_PORT_RANGE }),
  };
  for (const key of POSITIVE_INTEGERS) {
    const value = options[key];
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `directory option ${key} must be a positive integer, got ${String(value)}`);
    }
  }
  if (!Number.isSafeInteger(options.handshakeThreads) || options.handshakeThreads < 0 || options.handshakeThreads > MAX_HANDSHAKE_THREADS) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `directory option handshakeThreads must be a whole number from 0 to ${MAX_HANDSHAKE_THREADS}, got ${String(options.handshakeThreads)}`,
    );
  }
  if (!(options.ratePerSecond > 0) || !Number.isFinite(options.ratePerSecond)) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `directory option ratePerSecond must be a positive number, got ${options.ratePerSecond}`,
    );
  }
  if (
    options.aliveIntervalMs > MAX_INTERVAL_MS ||
    options.registerTimeoutMs > MAX_INTERVAL_MS ||
    options.shutdownGraceMs > MAX_INTERVAL_MS ||
    options.handshakeTimeoutMs > MAX_INTERVAL_MS ||
    options.relayIdleTimeoutMs > MAX_INTERVAL_MS ||
    options.relayJoinTimeoutMs > MAX_INTERVAL_MS ||
    options.probeTimeoutMs > MAX_INTERVAL_MS ||
    options.probeIntervalMs > MAX_INTERVAL_MS
  ) {
    throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `directory intervals and timeouts must be at most ${MAX_INTERVAL_MS} ms (a day)`);
  }
  const advertised = options.advertise;
  if (
    advertised !== undefined &&
    (isIP(advertised.host) === 0 || !Number.isInteger(advertised.port) || advertised.port < 1 || advertised.port > 65_535)
  ) {
    throw new NatterError(
      ERROR_CODES.INVALID_ARGUMENT,
      `directory option advertise must be an IP address and a port from 1 to 65535, got ${JSON.stringify(advertised)}`,
    );
  }
  for (const key of options.adminKeys) {
    if (!Buffer.isBuffer(key) || key.length !== 32) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, 'directory option adminKeys must hold 32-byte Ed25519 public keys');
    }
  }
  return options;
}
