/**
 * Where other peers connect to us: a TCP listener whose every connection
 * runs the Noise handshake (with a deadline) before it becomes a
 * FramedConnection. Who the other side says it is comes next, in the pool.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { NatterError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
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
  /** Deadline for the handshake. */
  handshakeTimeoutMs: number;
  /** Connections not yet identified (beyond those in the handshake) and the most allowed: more are refused at accept. */
  pending(): { count: number; max: number };
  logger: Logger;
  /** A connection whose handshake completed. */
  onConnection(conn: FramedConnection): void;
}

export class PeerListener {
  readonly #o: PeerListenerOptions;
  #server: Server | undefined;
  /** Inbound sockets still in the Noise handshake. */
  #handshaking = 0;
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
    await listenOn(server, this.#o.port, this.#o.host, (err) => this.#o.logger.warn({ code: err.code, err: err.message }, 'could not accept a connection'));
    this.#server = server;
    return server.address() as AddressInfo;
  }

  /** Stops accepting; connections already handed over are not touched. */
  close(): Promise<void> {
    this.#isClosed = true;
    return new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #onSocket(socket: Socket): void {
    // Connections still in the handshake count as unidentified ones: the cap holds for both.
    const { count, max } = this.#o.pending();
    if (this.#isClosed || count + this.#handshaking >= max) {
      if (!this.#isClosed) this.#o.logger.info({ ip: socket.remoteAddress }, `refused a connection: too many waiting to say who they are (${max})`);
      socket.destroy();
      return;
    }
    this.#handshaking++;
    acceptSecure(socket, this.#o.keyPair, this.#o.handshakeTimeoutMs).then(
      ({ stream, connOptions }) => {
        this.#handshaking--;
        if (this.#isClosed) {
          stream.destroy();
          return;
        }
        this.#o.onConnection(new FramedConnection(stream.asDuplex(), { ...connOptions, limits: this.#o.limits, hello: 'answer', isEagerWrite: true }));
      },
      (err: NatterError) => {
        this.#handshaking--;
        this.#o.logger.info({ code: err.code, ip: socket.remoteAddress }, `inbound connection: ${err.message}`);
      },
    );
  }
}
