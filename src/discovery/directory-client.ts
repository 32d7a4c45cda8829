/**
 * One connection to a directory, with typed requests (docs/protocol.md §6).
 *
 * The directory answers requests in the order it receives them, so answers
 * are matched to requests first-in, first-out:
 *   UP, ALIVE → ACK | NACK (ALIVE only) | ERROR
 *   WHO       → HDR + count × PEER | ERROR
 *   DUMP      → STATE ... STATE(more = 0) | ERROR
 *   SHUTDOWN  → SHUTDOWN (the directory's notice to everyone) | ERROR
 * DOWN has no answer. A SHUTDOWN that arrives unasked is the directory
 * stopping: it is emitted as 'shutdown'.
 */
import { EventEmitter } from 'node:events';
import { ERROR_CODES, NatterError, errorFromWire } from '../errors.ts';
import type { PeerInfo } from './discovery.ts';
import type { CallMessage, Message } from '../protocol/messages.ts';
import type { FramedConnection } from '../transport/framed-connection.ts';
import type { KeyPair } from '../transport/secure.ts';
import { dial, type DialOptions } from '../transport/tcp.ts';

export interface Registration {
  /** The port the directory assigned: listen for chats on it. */
  port: number;
  /** How often to send ALIVE. */
  aliveIntervalMs: number;
  /** Where the directory sees this connection come from (behind a NAT: the public address and mapped port). */
  seenIp: string;
  seenPort: number;
}

/** What a PROBE found (protocol.md §6.7). */
export interface ProbeResult {
  isReachable: boolean;
  /** Why not, for people. */
  detail: string;
  /** Whether this directory relays. */
  isRelaying: boolean;
  seenIp: string;
  seenPort: number;
}

export interface DirectoryClientEvents {
  /** The directory is shutting down the chat system. */
  shutdown: [];
  /** Another peer wants to reach us (protocol.md §6.8, §6.9). */
  call: [CallMessage];
  /** The connection closed; `err` says why when it was not our doing. */
  close: [NatterError | undefined];
}

type Pending =
  | { kind: 'ack'; resolve: (r: Registration | undefined) => void; reject: (e: NatterError) => void; timer: NodeJS.Timeout }
  | { kind: 'probed'; resolve: (r: ProbeResult) => void; reject: (e: NatterError) => void; timer: NodeJS.Timeout }
  | { kind: 'meet'; resolve: (r: { ip: string; port: number }) => void; reject: (e: NatterError) => void; timer: NodeJS.Timeout }
  | {
      kind: 'who';
      resolve: (peers: PeerInfo[]) => void;
      reject: (e: NatterError) => void;
      timer: NodeJS.Timeout;
      expected?: number;
      peers: PeerInfo[];
    }
  | { kind: 'state'; resolve: (state: unknown) => void; reject: (e: NatterError) => void; timer: NodeJS.Timeout; pieces: Buffer[] }
  | { kind: 'shutdown'; resolve: () => void; reject: (e: NatterError) => void; timer: NodeJS.Timeout };

export interface DirectoryClientOptions extends DialOptions {
  /** Our identity: every directory connection is encrypted and authenticated (docs/security.md). */
  keyPair: KeyPair;
  /** Deadline for each answer. Default 10,000 ms. */
  requestTimeoutMs?: number;
}

export class DirectoryClient extends EventEmitter<DirectoryClientEvents> {
  readonly conn: FramedConnection;
  readonly #requestTimeoutMs: number;
  readonly #pending: Pending[] = [];
  /** The last ERROR the directory sent: why it closed on us, when it does. */
  #lastError: NatterError | undefined;

  constructor(conn: FramedConnection, options: { requestTimeoutMs?: number } = {}) {
    super();
    this.conn = conn;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    conn.on('message', (msg) => this.#onMessage(msg));
    conn.on('close', (failure) => {
      const err = failure ?? this.#lastError;
      const reason = err ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory closed the connection');
      for (const p of this.#pending.splice(0)) {
        clearTimeout(p.timer);
        p.reject(reason);
      }
      this.emit('close', err);
    });
  }

  /** Connects to a directory and completes the HELLO exchange. */
  static async connect(options: DirectoryClientOptions): Promise<DirectoryClient> {
    const { requestTimeoutMs, ...dialOptions } = options;
    const conn = await dial(dialOptions);
    return new DirectoryClient(conn, requestTimeoutMs === undefined ? {} : { requestTimeoutMs });
  }

  /** UP: registers `name`; resolves with the assigned port and alive interval. */
  register(name: string, ip = '', port = 0): Promise<Registration> {
    return this.#request<Registration | undefined>('ack', { type: 'UP', name, ip, port }).then((r) => {
      if (r === undefined) throw new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, 'directory answered UP with NACK');
      return r;
    });
  }

  /** ALIVE: resolves with the registration, or undefined on NACK (register again). */
  alive(): Promise<Registration | undefined> {
    return this.#request('ack', { type: 'ALIVE' });
  }

  /** WHO: every online peer. */
  who(): Promise<PeerInfo[]> {
    return this.#request('who', { type: 'WHO' });
  }

  /** FIND: where `name` is, if it is online; the directory answers it like a WHO of one. */
  async find(name: string): Promise<PeerInfo | undefined> {
    const found = await this.#request<PeerInfo[]>('who', { type: 'FIND', name });
    if (found.length > 1 || (found[0] !== undefined && found[0].name !== name)) {
      throw new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `the directory answered FIND ${name} with another listing`);
    }
    return found[0];
  }

  /** PROBE: asks the directory to dial back this connection's address at `port`. */
  probe(port: number): Promise<ProbeResult> {
    return this.#request('probed', { type: 'PROBE', port });
  }

  /** PUNCH: asks the directory to set up hole punching to `name`; resolves with where to dial it, now. */
  punch(name: string): Promise<{ ip: string; port: number }> {
    return this.#request('meet', { type: 'PUNCH', name });
  }

  /** The local port of this connection (bound so that hole punching may dial from it too). */
  get localPort(): number | undefined {
    return this.conn.localPort;
  }

  /** DOWN: leave the directory (no answer). */
  down(): void {
    this.conn.send({ type: 'DOWN' });
  }

  /** DUMP (administrator, by the key this connection proved): the directory's state. */
  dump(): Promise<unknown> {
    return this.#request('state', { type: 'DUMP' });
  }

  /** SHUTDOWN (administrator, by the key this connection proved): resolves when the directory confirms it is stopping. */
  shutdown(): Promise<void> {
    return this.#request('shutdown', { type: 'SHUTDOWN' });
  }

  /** The directory's key, proven by the handshake. */
  get directoryKey(): Buffer | undefined {
    return this.conn.remoteKey;
  }

  close(): Promise<void> {
    return this.conn.close();
  }

  #request<T>(kind: Pending['kind'], msg: Message): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.conn.destroy(
          new NatterError(ERROR_CODES.TIMEOUT, `the directory did not answer ${msg.type} within ${this.#requestTimeoutMs} ms`),
        );
      }, this.#requestTimeoutMs);
      timer.unref();
      // The kind decides which answer settles the request, and so what T is.
      const base = { kind, resolve, reject, timer, peers: [], pieces: [] };
      const pending = base as unknown as Pending;
      this.#pending.push(pending);
      if (!this.conn.send(msg)) {
        this.#pending.pop();
        clearTimeout(timer);
        reject(this.conn.failure ?? new NatterError(ERROR_CODES.CONNECTION_CLOSED, 'the directory connection is closed'));
      }
    });
  }

  #settle(): Pending | undefined {
    const head = this.#pending.shift();
    if (head !== undefined) clearTimeout(head.timer);
    return head;
  }

  #unexpected(msg: Message): void {
    this.conn.fail(new NatterError(ERROR_CODES.UNEXPECTED_MESSAGE, `unexpected ${msg.type} from the directory`));
  }

  #onMessage(msg: Message): void {
    const head = this.#pending[0];
    switch (msg.type) {
      case 'ACK':
        if (head?.kind !== 'ack') {
          this.#unexpected(msg);
          return;
        }
        this.#settle();
        head.resolve({ port: msg.port, aliveIntervalMs: msg.aliveIntervalMs, seenIp: msg.seenIp, seenPort: msg.seenPort });
        return;
      case 'PROBED':
        if (head?.kind !== 'probed') {
          this.#unexpected(msg);
          return;
        }
        this.#settle();
        head.resolve({
          isReachable: msg.isReachable,
          detail: msg.detail,
          isRelaying: msg.isRelaying,
          seenIp: msg.seenIp,
          seenPort: msg.seenPort,
        });
        return;
      case 'MEET':
        if (head?.kind !== 'meet') {
          this.#unexpected(msg);
          return;
        }
        this.#settle();
        head.resolve({ ip: msg.ip, port: msg.port });
        return;
      case 'CALL':
        this.emit('call', msg);
        return;
      case 'NACK':
        if (head?.kind !== 'ack') {
          this.#unexpected(msg);
          return;
        }
        this.#settle();
        head.resolve(undefined);
        return;
      case 'HDR':
        if (head?.kind !== 'who' || head.expected !== undefined) {
          this.#unexpected(msg);
          return;
        }
        head.expected = msg.count;
        if (msg.count === 0) {
          this.#settle();
          head.resolve([]);
        }
        return;
      case 'PEER':
        if (head?.kind !== 'who' || head.expected === undefined) {
          this.#unexpected(msg);
          return;
        }
        head.peers.push({ name: msg.name, ip: msg.ip, port: msg.port, key: msg.key });
        if (head.peers.length === head.expected) {
          this.#settle();
          head.resolve(head.peers);
        }
        return;
      case 'STATE':
        if (head?.kind !== 'state') {
          this.#unexpected(msg);
          return;
        }
        head.pieces.push(msg.data);
        if (!msg.more) {
          this.#settle();
          try {
            head.resolve(JSON.parse(Buffer.concat(head.pieces).toString('utf8')));
          } catch (cause) {
            head.reject(new NatterError(ERROR_CODES.MALFORMED, 'the directory state is not valid JSON', { cause }));
          }
        }
        return;
      case 'SHUTDOWN':
        if (head?.kind === 'shutdown') {
          this.#settle();
          head.resolve();
        }
        this.emit('shutdown');
        return;
      case 'ERROR': {
        const err = errorFromWire(msg.code, msg.reason);
        this.#lastError = err;
        const failed = this.#settle();
        if (failed === undefined) return; // an error about the connection itself; 'close' follows
        failed.reject(err);
        return;
      }
      default:
        this.#unexpected(msg);
    }
  }
}
