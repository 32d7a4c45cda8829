import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import Noise from 'noise-handshake';
import sodium from 'sodium-universal';
import { ERROR_CODES, isNatterError } from '../../src/errors.ts';
import {
  HANDSHAKE_MESSAGE_BYTES,
  IdentityHandshake,
  bindIdentityKey,
  keyPairFromSeed,
  type KeyPair,
} from '../../src/transport/handshake.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));
const mallory = keyPairFromSeed(Buffer.alloc(32, 3));

function x25519Of(keyPair: KeyPair): { publicKey: Buffer; secretKey: Buffer } {
  const dh = { publicKey: Buffer.alloc(32), secretKey: Buffer.alloc(32) };
  sodium.crypto_sign_ed25519_pk_to_curve25519(dh.publicKey, keyPair.publicKey);
  sodium.crypto_sign_ed25519_sk_to_curve25519(dh.secretKey, keyPair.secretKey);
  return dh;
}

/** A side that runs the pattern with any static key pair and puts any payload in its static-key message. */
function rawNoise(isInitiator: boolean, staticKeyPair: { publicKey: Buffer; secretKey: Buffer }): Noise {
  const noise = new Noise('XX', isInitiator, staticKeyPair);
  noise.initialise(Buffer.alloc(0));
  return noise;
}

function isHandshakeFailure(pattern: RegExp) {
  return (err: unknown): boolean => isNatterError(err, ERROR_CODES.HANDSHAKE_FAILED) && pattern.test((err as Error).message);
}

/** The Ed25519 encoding of -A: the same point but the sign of x. */
function negated(publicKey: Buffer): Buffer {
  const out = Buffer.from(publicKey);
  out[31] = (out[31] as number) ^ 0x80;
  return out;
}

/** Encodings libsodium refuses to convert: the neutral point, a point of order 8, and A plus that point. */
const NEUTRAL = Buffer.concat([Buffer.from([1]), Buffer.alloc(31)]);
const ORDER_8 = Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex');

describe('IdentityHandshake', () => {
  it('proves both Ed25519 keys, with messages of 32, 128 and 96 bytes and matching keys', () => {
    const dialer = new IdentityHandshake(true, alice);
    const listener = new IdentityHandshake(false, bob);
    const m1 = dialer.start();
    const m2 = listener.receive(m1) as Buffer;
    assert.equal(listener.isComplete, false);
    const m3 = dialer.receive(m2) as Buffer;
    assert.equal(dialer.isComplete, true);
    assert.equal(listener.receive(m3), undefined);
    assert.deepEqual([m1.length, m2.length, m3.length], [...HANDSHAKE_MESSAGE_BYTES]);
    assert.deepEqual([m1.length, m2.length, m3.length], [32, 128, 96]);
    const a = dialer.result;
    const b = listener.result;
    assert.ok(a !== undefined && b !== undefined);
    assert.deepEqual(a.remotePublicKey, bob.publicKey);
    assert.deepEqual(b.remotePublicKey, alice.publicKey);
    assert.deepEqual(a.publicKey, alice.publicKey);
    assert.deepEqual(a.tx, b.rx);
    assert.deepEqual(a.rx, b.tx);
    assert.deepEqual(a.hash, b.hash);
    assert.notDeepEqual(a.tx, a.rx);
  });

  it('sends neither Ed25519 key in clear', () => {
    const dialer = new IdentityHandshake(true, alice);
    const listener = new IdentityHandshake(false, bob);
    const m1 = dialer.start();
    const m2 = listener.receive(m1) as Buffer;
    const m3 = dialer.receive(m2) as Buffer;
    const wire = Buffer.concat([m1, m2, m3]);
    for (const key of [alice.publicKey, bob.publicKey, x25519Of(alice).publicKey, x25519Of(bob).publicKey]) {
      assert.equal(wire.indexOf(key), -1);
    }
  });

  it('gives new keys to every connection (ephemeral keys)', () => {
    const run = () => {
      const dialer = new IdentityHandshake(true, alice);
      const listener = new IdentityHandshake(false, bob);
      listener.receive(dialer.receive(listener.receive(dialer.start()) as Buffer) as Buffer);
      return dialer.result?.tx;
    };
    assert.notDeepEqual(run(), run());
  });

  it('refuses a responder whose payload names another Ed25519 key than the one it proved', () => {
    // mallory proves her own static key but claims to be bob.
    const dialer = new IdentityHandshake(true, alice);
    const liar = rawNoise(false, x25519Of(mallory));
    liar.recv(dialer.start());
    const m2 = Buffer.from(liar.send(bob.publicKey));
    assert.throws(() => dialer.receive(m2), isHandshakeFailure(/does not belong to the key it proved/));
    assert.equal(dialer.isComplete, false);
  });

  it('refuses a dialer whose payload names another Ed25519 key than the one it proved', () => {
    const liar = rawNoise(true, x25519Of(mallory));
    const listener = new IdentityHandshake(false, bob);
    const m2 = listener.receive(Buffer.from(liar.send())) as Buffer;
    liar.recv(m2);
    const m3 = Buffer.from(liar.send(alice.publicKey));
    assert.throws(() => listener.receive(m3), isHandshakeFailure(/does not belong to the key it proved/));
    assert.equal(listener.isComplete, false);
  });

  it('refuses a static key that is not the X25519 form of the Ed25519 key offered (a fresh X25519 key pair)', () => {
    const dialer = new IdentityHandshake(true, alice);
    const liar = new Noise('XX', false); // makes itself a random static key pair
    liar.initialise(Buffer.alloc(0));
    liar.recv(dialer.start());
    assert.throws(() => dialer.receive(Buffer.from(liar.send(bob.publicKey))), isHandshakeFailure(/does not belong/));
  });

  for (const [what, payload] of [
    ['the neutral point', NEUTRAL],
    ['a point of order 8', ORDER_8],
  ] as const) {
    it(`refuses an Ed25519 key that libsodium will not convert: ${what}`, () => {
      const dialer = new IdentityHandshake(true, alice);
      const liar = rawNoise(false, x25519Of(mallory));
      liar.recv(dialer.start());
      assert.throws(() => dialer.receive(Buffer.from(liar.send(payload))), isHandshakeFailure(/not a usable Ed25519 public key/));
    });
  }

  it('refuses an Ed25519 key with a small-order component added', () => {
    const withTorsion = Buffer.alloc(32);
    sodium.crypto_core_ed25519_add(withTorsion, mallory.publicKey, ORDER_8);
    assert.throws(() => bindIdentityKey(withTorsion, x25519Of(mallory).publicKey), isHandshakeFailure(/not a usable/));
  });

  it('refuses a payload that is not 32 bytes, whatever the static key', () => {
    for (const size of [0, 31, 33, 64]) {
      const dialer = new IdentityHandshake(true, alice);
      const liar = rawNoise(false, x25519Of(mallory));
      liar.recv(dialer.start());
      // The message then has the wrong size too: refused before it is even decrypted.
      assert.throws(() => dialer.receive(Buffer.from(liar.send(Buffer.alloc(size, 7)))), isHandshakeFailure(/bytes/));
    }
    for (const size of [0, 31, 33]) {
      assert.throws(
        () => bindIdentityKey(Buffer.alloc(size, 7), x25519Of(mallory).publicKey),
        isHandshakeFailure(/identity key of \d+ bytes/),
      );
    }
  });

  it('lets the owner of A present -A, which is another key: nothing granted to A is granted to it', () => {
    // The conversion is two to one (docs/security.md); the handshake yields exactly the bytes sent.
    const dialer = new IdentityHandshake(true, alice);
    const owner = rawNoise(false, x25519Of(bob));
    owner.recv(dialer.start());
    const m3 = dialer.receive(Buffer.from(owner.send(negated(bob.publicKey))));
    assert.ok(m3 !== undefined);
    assert.deepEqual(dialer.result?.remotePublicKey, negated(bob.publicKey));
    assert.notDeepEqual(dialer.result?.remotePublicKey, bob.publicKey);
  });

  it('refuses a forged or altered message, messages of the wrong size and messages out of turn', () => {
    const dialer = new IdentityHandshake(true, alice);
    const listener = new IdentityHandshake(false, bob);
    const m2 = Buffer.from(listener.receive(dialer.start()) as Buffer);
    m2[100] = (m2[100] as number) ^ 1;
    assert.throws(() => dialer.receive(m2), isHandshakeFailure(/did not verify/));

    assert.throws(() => new IdentityHandshake(false, bob).receive(Buffer.alloc(33)), isHandshakeFailure(/33 bytes where 32 belong/));
    assert.throws(() => new IdentityHandshake(true, alice).receive(Buffer.alloc(128)), isHandshakeFailure(/out of turn/));
    const done = new IdentityHandshake(false, bob);
    const d = new IdentityHandshake(true, alice);
    done.receive(d.receive(done.receive(d.start()) as Buffer) as Buffer);
    assert.throws(() => done.receive(Buffer.alloc(96)), isHandshakeFailure(/out of turn/));
  });

  it('makes the same public key from a seed as node:crypto (the identity file format)', async () => {
    const { createPrivateKey, createPublicKey } = await import('node:crypto');
    const seed = randomBytes(32);
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
    assert.deepEqual(keyPairFromSeed(seed).publicKey, Buffer.from(jwk.x as string, 'base64url'));
  });
});
