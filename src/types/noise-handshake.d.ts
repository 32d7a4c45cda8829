/**
 * The part of noise-handshake natter uses (the package ships no types): a
 * Noise handshake state. With no `curve` option it runs Diffie-Hellman on
 * X25519 (its dh.js, libsodium's crypto_scalarmult), with ChaChaPoly and
 * BLAKE2b.
 */
declare module 'noise-handshake' {
  interface DhKeyPair {
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }

  class NoiseState {
    /** Without a static key pair it makes a random one. */
    constructor(pattern: string, isInitiator: boolean, staticKeyPair?: DhKeyPair);
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    /** The next message of the pattern, with `payload` encrypted (when a key is set) at its end. */
    send(payload?: Uint8Array): Uint8Array;
    /** Takes the next message; returns its payload. Throws on a message that does not verify. */
    recv(message: Uint8Array): Uint8Array;
    readonly complete: boolean;
    /** The other side's static public key, once received. */
    readonly rs: Uint8Array | null;
    /** Transport keys and the handshake hash, once complete. */
    readonly tx: Uint8Array | null;
    readonly rx: Uint8Array | null;
    readonly hash: Uint8Array | null;
  }

  export = NoiseState;
}
