/**
 * The part of @hyperswarm/secret-stream the interoperability tests use (the
 * package ships no types). It is a streamx Duplex that encrypts every write
 * as one record over a raw stream; natter's own record layer
 * (src/transport/records.ts) speaks the same bytes. The tests run natter's
 * handshake and hand the result over with the `handshake` option, as natter
 * itself once did, so the library's own handshake never runs.
 */
declare module '@hyperswarm/secret-stream' {
  import type { Duplex } from 'node:stream';

  interface KeyPair {
    publicKey: Buffer;
    /** 64-byte libsodium secret key (seed followed by the public key). */
    secretKey: Buffer;
  }

  /** A finished handshake: transport keys, handshake hash, both sides' public keys. */
  interface HandshakeResult {
    tx: Buffer;
    rx: Buffer;
    hash: Buffer;
    publicKey: Buffer;
    remotePublicKey: Buffer;
  }

  interface NoiseSecretStreamOptions {
    keyPair?: KeyPair;
    /** Skip the library's handshake: records start at once with these keys. */
    handshake?: HandshakeResult;
    /** Bytes already read from the raw stream, taken before anything it emits later. */
    data?: Buffer;
    pattern?: string;
    remotePublicKey?: Buffer;
  }

  class NoiseSecretStream {
    constructor(isInitiator: boolean, rawStream: Duplex, options?: NoiseSecretStreamOptions);
    static keyPair(seed?: Buffer): KeyPair;
    readonly isInitiator: boolean;
    readonly rawStream: Duplex;
    /** Resolves true once the handshake is done, false if the stream was destroyed first. */
    readonly opened: Promise<boolean>;
    publicKey: Buffer | null;
    remotePublicKey: Buffer | null;
    handshakeHash: Buffer | null;
    readonly destroying: boolean;
    readonly destroyed: boolean;
    /** streamx's writable state: `buffered` counts bytes written and not yet taken by the raw stream. */
    readonly _writableState: { buffered: number } | null;
    write(data: Buffer): boolean;
    end(): this;
    destroy(err?: Error): void;
    pause(): this;
    resume(): this;
    on(event: string, listener: (...args: never[]) => void): this;
    once(event: string, listener: (...args: never[]) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
    removeListener(event: string, listener: (...args: never[]) => void): this;
  }

  export = NoiseSecretStream;
}
