/** The libsodium functions natter calls directly (the package ships no types). Each throws when libsodium fails. */
declare module 'sodium-universal' {
  interface Sodium {
    /** Adds two Ed25519 points (tests build keys with a small-order component with it). */
    crypto_core_ed25519_add(r: Uint8Array, p: Uint8Array, q: Uint8Array): void;
    /** Ed25519 key pair from a 32-byte seed: a 32-byte public key, a 64-byte secret key (seed and public key). */
    crypto_sign_seed_keypair(publicKey: Uint8Array, secretKey: Uint8Array, seed: Uint8Array): void;
    /** Ed25519 public key to X25519; refuses (throws) a point of small order or outside the prime-order subgroup. */
    crypto_sign_ed25519_pk_to_curve25519(x25519pk: Uint8Array, ed25519pk: Uint8Array): void;
    /** Ed25519 secret key (seed and public key, 64 bytes) to the X25519 secret key with the same scalar. */
    crypto_sign_ed25519_sk_to_curve25519(x25519sk: Uint8Array, ed25519sk: Uint8Array): void;
    /** Ed25519 signature (64 bytes) of `message` by the 64-byte secret key. */
    crypto_sign_detached(signature: Uint8Array, message: Uint8Array, secretKey: Uint8Array): void;
    /** True when `signature` is `publicKey`'s signature of `message`. */
    crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
    /** BLAKE2b of `input` into `output` (16 to 64 bytes), keyed with `key` (16 to 64 bytes) when given. */
    crypto_generichash(output: Uint8Array, input: Uint8Array, key?: Uint8Array | null): void;
    /** Starts a push state (52 bytes) with `key` (32 bytes); writes the 24-byte header the other side starts its pull state from. */
    crypto_secretstream_xchacha20poly1305_init_push(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
    /** Starts a pull state from the other side's header and the same key. */
    crypto_secretstream_xchacha20poly1305_init_pull(state: Uint8Array, header: Uint8Array, key: Uint8Array): void;
    /** Seals `m` into `c` (m.length + ABYTES bytes) with `tag`; `m` may lie at `c`'s second byte (in place). */
    crypto_secretstream_xchacha20poly1305_push(state: Uint8Array, c: Uint8Array, m: Uint8Array, ad: Uint8Array | null, tag: number): number;
    /** Opens `c` into `m` (c.length - ABYTES bytes) and writes its tag into `tag` (1 byte); throws when `c` does not authenticate. */
    crypto_secretstream_xchacha20poly1305_pull(
      state: Uint8Array,
      m: Uint8Array,
      tag: Uint8Array,
      c: Uint8Array,
      ad: Uint8Array | null,
    ): number;
    readonly crypto_secretstream_xchacha20poly1305_ABYTES: number;
    readonly crypto_secretstream_xchacha20poly1305_HEADERBYTES: number;
    readonly crypto_secretstream_xchacha20poly1305_KEYBYTES: number;
    readonly crypto_secretstream_xchacha20poly1305_STATEBYTES: number;
    readonly crypto_secretstream_xchacha20poly1305_TAG_MESSAGE: number;
    /** Overwrites `buf` with zeros (in a way the compiler does not optimise away). */
    sodium_memzero(buf: Uint8Array): void;
  }

  const sodium: Sodium;
  export = sodium;
}
