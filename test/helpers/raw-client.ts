/**
 * A test client that speaks raw frames over a real socket (inside the
 * encrypted channel, as every natter connection) and lets a test read the
 * answers one at a time, with a deadline for each.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { ByteStream } from '../../src/transport/byte-stream.ts';
import { keyPairFromSeed, secureSocket, type KeyPair } from '../../src/transport/secure.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';

/** A fresh identity for a test client. */
export function newKeyPair(): KeyPair {
  return keyPairFromSeed(randomBytes(32));
}

export class RawClient {
  /** The plaintext side of the encrypted stream: what natter frames are written to. */
  readonly socket: ByteStream;
  readonly keyPair: KeyPair;
  /** The other side's proven key. */
  readonly remoteKey: Buffer;
  readonly #decoder = new FrameDecoder();
  readonly #inbox: Message[] = [];
  #waiter: (() => void) | undefined;
  #isClosed = false;
  readonly #closed: Promise<void>;

  private constructor(socket: ByteStream, keyPair: KeyPair, remoteKey: Buffer) {
    this.socket = socket;
    this.keyPair = keyPair;
    this.remoteKey = remoteKey;
    socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let m = this.#decoder.next(); m !== undefined; m = this.#decoder.next()) this.#inbox.push(m);
      this.#waiter?.();
    });
    socket.on('error', () => {});
    this.#closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        this.#waiter?.();
        resolve();
      }),
    );
  }

  /**
   * Connects and runs the handshake as `keyPair` (default: a new identity);
   * with `hello` (default), sends HELLO and consumes the server's HELLO.
   */
  static async connect(
    port: number,
    options: { hello?: boolean; localAddress?: string; host?: string; keyPair?: KeyPair } = {},
  ): Promise<RawClient> {
    const tcp = connect({
      host: options.host ?? '127.0.0.1',
      port,
      noDelay: true,
      ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    const keyPair = options.keyPair ?? newKeyPair();
    const secure = await secureSocket(tcp, true, { keyPair });
    const client = new RawClient(secure, keyPair, secure.remoteKey);
    if (options.hello ?? true) {
      client.send({ type: 'HELLO', version: PROTOCOL_VERSION });
      const hello = await client.next();
      if (hello.type !== 'HELLO') throw new Error(`expected HELLO, got ${JSON.stringify(hello)}`);
    }
    return client;
  }

  /** The accepting side: runs the handshake as `keyPair` on a socket a test server accepted. Nothing is sent after it. */
  static async accept(socket: Socket, keyPair: KeyPair): Promise<RawClient> {
    socket.setNoDelay(true);
    const secure = await secureSocket(socket, false, { keyPair });
    return new RawClient(secure, keyPair, secure.remoteKey);
  }

  send(msg: Message): void {
    this.socket.write(encodeMessage(msg));
  }

  sendBytes(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  /** The next message, or a rejection after timeoutMs or when the socket closes first. */
  async next(timeoutMs = 3000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const msg = this.#inbox.shift();
      if (msg !== undefined) return msg;
      if (this.#isClosed) throw new Error('closed before the next message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#waiter = undefined;
    }
  }

  /** Messages received and not yet read. */
  get pending(): readonly Message[] {
    return this.#inbox;
  }

  closed(): Promise<void> {
    return this.#closed;
  }

  /** UP then the answer. */
  async up(name: string, port = 0, ip = ''): Promise<Message> {
    this.send({ type: 'UP', name, ip, port });
    return this.next();
  }

  /** WHO then HDR and exactly its count of PEER frames, checked strictly. */
  async who(): Promise<{ name: string; ip: string; port: number; key: Buffer }[]> {
    this.send({ type: 'WHO' });
    const hdr = await this.next();
    if (hdr.type !== 'HDR') throw new Error(`expected HDR, got ${JSON.stringify(hdr)}`);
    const peers: { name: string; ip: string; port: number; key: Buffer }[] = [];
    for (let i = 0; i < hdr.count; i++) {
      const peer = await this.next();
      if (peer.type !== 'PEER') throw new Error(`expected PEER ${i + 1} of ${hdr.count}, got ${JSON.stringify(peer)}`);
      peers.push({ name: peer.name, ip: peer.ip, port: peer.port, key: peer.key });
    }
    return peers;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
