/**
 * Where other peers connect to us: a TCP listener whose every connection
 * runs the Noise handshake (with a deadline) before it becomes a
 * FramedConnection. Who the other side says it is comes next, in the pool.
 *
 * Connections that have not said who they are (in their handshake, or
 * waiting for CONN) are capped in all and per source address, and have one
 * deadline from accept: one address cannot hold the slots friends need.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { canonicalIp } from '../../protocol/fields.ts';
import type { ProtocolLimits } from '../../protocol/limits.ts';
import { FramedConnection } from '../../transport/framed-connection.ts';
import { listenOn } from '../../transport/listen.ts';
import type { KeyPair } from '../../transport/secure.ts';
import { acceptSecure } from '../../transport/tcp.ts';

export interface PeerListenerOptions {
  host: string;
  port: number;
  keyPair: KeyPair;
  limits: Partial<ProtocolLimits>;
  /** Deadline from accept to the end of the handshake (the pool's wait for CONN counts from accept too). */
  handshakeTimeoutMs: number;
  /**
   * Connections not yet identified (beyond those in the handshake): in all
   * and from `ip`, and the most allowed of each; more are refused at accept.
   */
  pending(ip: string): { count: number; max: number; fromIp: number; maxPerIp: number };
  logger: Logger;
  /** A connection whose handshake completed, accepted at `acceptedAt` (the scheduler's clock). */
  onConnection(conn: FramedConnection, acceptedAt: number): void;
  /** The clock deadlines count on. */
  now(): number;
}

export class PeerListener {
  readonly #o: PeerListenerOptions;
  #server: Server | undefined;
  /** Inbound sockets still in the Noise handshake, in all and per source address. */
  #handshaking = 0;
  readonly #handshakingFrom = new Map<string, number>();
  #isClosed = false;

  constructor(options: PeerListenerOptions) {
    this.#o = options;
  }

  /** Sockets still in the handshake. */
  get handshaking(): number {
    return this.#handshaking;
  }

  /** Starts listening; resolves with the address. */
  async start(): Promise<AddressInfo> {
    const server = createServer({ noDelay: true }, (socket) => this.#onSocket(socket));
    await listenOn(server, this.#o.port, this.#o.host, (err) =>
      this.#o.logger.warn({ code: err.code, err: err.message }, 'could not accept a connection'),
    );
    this.#server = server;
    return server.address() as AddressInfo;
  }

  /** Stops accepting; connections already handed over are not touched. */
  close(): Promise<void> {
    this.#isClosed = true;
    return new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #onSocket(socket: Socket): void {
    const ip = socket.remoteAddress === undefined ? '' : canonicalIp(socket.remoteAddress);
    // Connections still in the handshake count as unidentified ones: the caps hold for both.
    const { count, max, fromIp, maxPerIp } = this.#o.pending(ip);
    const handshakingFrom = this.#handshakingFrom.get(ip) ?? 0;
    const refusal = this.#isClosed
      ? undefined
      : count + this.#handshaking >= max
        ? `too many waiting to say who they are (${max})`
        : fromIp + handshakingFrom >= maxPerIp
          ? `too many from ${ip} waiting to say who they are (${maxPerIp})`
          : undefined;
    if (this.#isClosed || refusal !== undefined) {
      if (refusal !== undefined) this.#o.logger.info({ ip }, `refused a connection: ${refusal}`);
      socket.destroy();
      return;
    }
    const acceptedAt = this.#o.now();
    this.#handshaking++;
    this.#handshakingFrom.set(ip, handshakingFrom + 1);
    const done = (): void => {
      this.#handshaking--;
      const left = (this.#handshakingFrom.get(ip) ?? 1) - 1;
      if (left === 0) this.#handshakingFrom.delete(ip);
      else this.#handshakingFrom.set(ip, left);
    };
    acceptSecure(socket, this.#o.keyPair, this.#o.handshakeTimeoutMs).then(
      (stream) => {
        done();
        if (this.#isClosed) {
          stream.destroy();
          return;
        }
        this.#o.onConnection(new FramedConnection(stream, { limits: this.#o.limits, hello: 'answer' }), acceptedAt);
      },
      (err: NatterError) => {
        done();
        this.#o.logger.info({ code: err.code, ip }, `inbound connection: ${err.message}`);
      },
    );
  }
}
