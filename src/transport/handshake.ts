/**
 * The handshake of the encrypted channel (protocol.md §1.1) as a pure state
 * machine: handshake messages in, handshake messages out, no I/O. secure.ts
 * runs it over a socket and hands the result to the record layer.
 *
 * Noise_XX_25519_ChaChaPoly_BLAKE2b (noise-handshake with its default X25519
 * curve, libsodium underneath). The static keys are the X25519 forms of the
 * two sides' Ed25519 identity keys (libsodium's crypto_sign_ed25519_*_to_curve25519:
 * the same secret scalar), and each side sends its Ed25519 public key as the
 * encrypted payload of its static-key message:
 *
 *   initiator (dialer)                                      responder
 *     │ ── [1] e ────────────────────────────────────── 32 ──▶ │
 *     │ ◀── 128 ── [2] e, ee, s, es, payload: responder's Ed25519 key
 *     │ ── [3] s, se, payload: initiator's Ed25519 key ── 96 ──▶ │
 *
 * A received Ed25519 key is accepted only if libsodium converts it (it
 * refuses points of small order and points outside the prime-order
 * subgroup) to exactly the X25519 static key the handshake proved. Only the
 * holder of that key's secret scalar can complete the handshake, so the
 * Ed25519 key is proven as well (docs/security.md, "Why the X25519 key
 * proves the Ed25519 key").
 */
import Noise from 'noise-handshake';
import sodium from 'sodium-universal';
import { ERROR_CODES, NatterError } from '../errors.ts';

/** An Ed25519 key pair in libsodium's form. */
export interface KeyPair {
  publicKey: Buffer;
  /** 64 bytes: the seed followed by the public key. */
  secretKey: Buffer;
}

/** What a finished handshake gives the record layer (the shape @hyperswarm/secret-stream's `handshake` option takes). */
export interface HandshakeResult {
  tx: Buffer;
  rx: Buffer;
  /** The handshake hash: the record layer derives its stream ids from it. */
  hash: Buffer;
  /** Our Ed25519 public key. */
  publicKey: Buffer;
  /** The other side's Ed25519 public key, proven. */
  remotePublicKey: Buffer;
}

const KEY_BYTES = 32;
/** Authentication tag of each encrypted field. */
const TAG_BYTES = 16;
/**
 * Body size of each handshake message, in order: [1] e; [2] e, s (encrypted), payload (encrypted);
 * [3] s (encrypted), payload (encrypted). Every message has exactly this size.
 */
export const HANDSHAKE_MESSAGE_BYTES = [KEY_BYTES, 3 * KEY_BYTES + 2 * TAG_BYTES, 2 * (KEY_BYTES + TAG_BYTES)] as const;

const EMPTY = Buffer.alloc(0);

/** X25519 static key pairs by identity: the conversion is done once per identity, not per connection. */
const dhKeyPairs = new WeakMap<KeyPair, { publicKey: Buffer; secretKey: Buffer }>();

/** The X25519 key pair with the identity's secret scalar (what the handshake proves possession of). */
function dhKeyPairOf(keyPair: KeyPair): { publicKey: Buffer; secretKey: Buffer } {
  let dh = dhKeyPairs.get(keyPair);
  if (dh === undefined) {
    dh = { publicKey: Buffer.alloc(KEY_BYTES), secretKey: Buffer.alloc(KEY_BYTES) };
    sodium.crypto_sign_ed25519_pk_to_curve25519(dh.publicKey, keyPair.publicKey);
    sodium.crypto_sign_ed25519_sk_to_curve25519(dh.secretKey, keyPair.secretKey);
    dhKeyPairs.set(keyPair, dh);
  }
  return dh;
}

/**
 * The key pair for an identity's seed (the same public key node:crypto
 * derives), with its X25519 form made now rather than on the first connection.
 */
export function keyPairFromSeed(seed: Buffer): KeyPair {
  const keyPair = { publicKey: Buffer.alloc(KEY_BYTES), secretKey: Buffer.alloc(2 * KEY_BYTES) };
  sodium.crypto_sign_seed_keypair(keyPair.publicKey, keyPair.secretKey, seed);
  dhKeyPairOf(keyPair);
  return keyPair;
}

/**
 * X25519 forms of Ed25519 keys received lately, by the Ed25519 key's bytes:
 * the conversion costs about as much as one Diffie-Hellman, and the same
 * keys come back (a client reconnecting to its directory, peers that talk
 * again). A pure function of the key, so a cached answer is the answer.
 * Only keys that converted are kept; the oldest goes first.
 */
const conversions = new Map<string, Buffer>();
const MAX_CONVERSIONS = 1024;

/** The X25519 form of an Ed25519 public key; throws for a key libsodium refuses. */
function x25519Of(edPublicKey: Uint8Array): Buffer {
  const id = Buffer.from(edPublicKey.buffer, edPublicKey.byteOffset, edPublicKey.byteLength).toString('latin1');
  let converted = conversions.get(id);
  if (converted === undefined) {
    converted = Buffer.alloc(KEY_BYTES);
    sodium.crypto_sign_ed25519_pk_to_curve25519(converted, edPublicKey);
    if (conversions.size >= MAX_CONVERSIONS) conversions.delete(conversions.keys().next().value as string);
    conversions.set(id, converted);
  }
  return converted;
}

/** A view of bytes as a Buffer, without copying (noise-handshake returns Buffers under Node already). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function failed(why: string, cause?: unknown): NatterError {
  return new NatterError(ERROR_CODES.HANDSHAKE_FAILED, why, cause === undefined ? {} : { cause });
}

/**
 * The Ed25519 key a handshake payload carries, if it belongs to `provenStatic`,
 * the X25519 static key the handshake proved; otherwise throws
 * NATTER_ERR_HANDSHAKE_FAILED.
 */
export function bindIdentityKey(payload: Uint8Array, provenStatic: Uint8Array): Buffer {
  if (payload.length !== KEY_BYTES)
    throw failed(`the handshake carried an identity key of ${payload.length} bytes (${KEY_BYTES} expected)`);
  let converted: Buffer;
  try {
    converted = x25519Of(payload);
  } catch (cause) {
    throw failed('the handshake carried an identity key that is not a usable Ed25519 public key', cause);
  }
  if (!converted.equals(provenStatic)) {
    throw failed('the identity key the other side sent does not belong to the key it proved in the handshake');
  }
  // A copy of its own: the connection keeps it for its whole life, and a slice of Node's shared
  // buffer pool (Buffer.from) would keep a whole pool slab (64 KB on Node 24) alive with it.
  const key = Buffer.alloc(KEY_BYTES);
  key.set(payload);
  return key;
}

/**
 * One side of a handshake as secureSocket drives it: the initiator calls
 * start() and sends what it returns; then each message body received goes to
 * receive(), whose answer (when there is one) is sent, until `result` is
 * there. receive() may answer later (a HandshakePool works on another
 * thread); abort() lets go of a handshake given up.
 */
export interface HandshakeSide {
  readonly isInitiator: boolean;
  start(): Buffer;
  receive(message: Uint8Array): Buffer | undefined | Promise<Buffer | undefined>;
  readonly result: HandshakeResult | undefined;
  abort?(): void;
}

/**
 * One side of the handshake. The initiator calls start() and sends what it
 * returns; then each side passes every message body it receives to
 * receive() and sends what that returns, until isComplete.
 */
export class IdentityHandshake implements HandshakeSide {
  readonly isInitiator: boolean;
  readonly #keyPair: KeyPair;
  readonly #noise: Noise;
  /** Messages of the pattern done so far (sent or received). */
  #step = 0;
  #result: HandshakeResult | undefined;
  #remoteKey: Buffer | undefined;

  constructor(isInitiator: boolean, keyPair: KeyPair) {
    this.isInitiator = isInitiator;
    this.#keyPair = keyPair;
    this.#noise = new Noise('XX', isInitiator, dhKeyPairOf(keyPair));
    this.#noise.initialise(EMPTY);
  }

  get isComplete(): boolean {
    return this.#result !== undefined;
  }

  /** The keys and the proven remote key, once complete. */
  get result(): HandshakeResult | undefined {
    return this.#result;
  }

  /** The initiator's first message: its ephemeral key. */
  start(): Buffer {
    if (!this.isInitiator || this.#step !== 0) throw new NatterError(ERROR_CODES.INTERNAL, 'only the initiator starts the handshake, once');
    return this.#send(EMPTY);
  }

  /**
   * Takes the body of the next message from the other side; returns the
   * body to send back, or undefined when there is nothing to send.
   * @throws NatterError NATTER_ERR_HANDSHAKE_FAILED: a message of the wrong
   *   size, that does not verify, or an identity key that does not belong to
   *   the static key proved.
   */
  receive(message: Uint8Array): Buffer | undefined {
    const isTheirs = this.isInitiator ? this.#step === 1 : this.#step === 0 || this.#step === 2;
    if (!isTheirs || this.isComplete) throw failed('a handshake message out of turn');
    const expected = HANDSHAKE_MESSAGE_BYTES[this.#step] as number;
    if (message.length !== expected) throw failed(`a handshake message of ${message.length} bytes where ${expected} belong`);
    let payload: Uint8Array;
    try {
      payload = this.#noise.recv(message);
    } catch (cause) {
      throw failed(`the handshake message did not verify: ${(cause as Error).message}`, cause);
    }
    this.#step++;
    if (this.#step > 1) {
      // [2] and [3] carry the sender's static key, now proven, and its Ed25519 key.
      this.#remoteKey = bindIdentityKey(payload, this.#noise.rs as Uint8Array);
    }
    if (this.isInitiator) return this.#send(this.#keyPair.publicKey);
    if (this.#step === 1) return this.#send(this.#keyPair.publicKey);
    this.#finish();
    return undefined;
  }

  #send(payload: Buffer): Buffer {
    const message = asBuffer(this.#noise.send(payload));
    this.#step++;
    if (this.#noise.complete) this.#finish();
    return message;
  }

  #finish(): void {
    const noise = this.#noise;
    this.#result = {
      tx: asBuffer(noise.tx as Uint8Array),
      rx: asBuffer(noise.rx as Uint8Array),
      hash: asBuffer(noise.hash as Uint8Array),
      publicKey: this.#keyPair.publicKey,
      remotePublicKey: this.#remoteKey as Buffer,
    };
  }
}
