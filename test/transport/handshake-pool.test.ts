import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ERROR_CODES, isNatterError } from '../../src/errors.ts';
import { IdentityHandshake, keyPairFromSeed } from '../../src/transport/handshake.ts';
import { HandshakePool } from '../../src/transport/handshake-pool.ts';

const alice = keyPairFromSeed(Buffer.alloc(32, 1));
const bob = keyPairFromSeed(Buffer.alloc(32, 2));

const pools: HandshakePool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});

describe('HandshakePool', () => {
  it("works out the accepting side on its threads: both sides end with the same keys and each other's proven key", async () => {
    const pool = new HandshakePool(bob, 2);
    pools.push(pool);
    const runs = Array.from({ length: 6 }, async () => {
      const dialer = new IdentityHandshake(true, alice);
      const responder = pool.responder();
      const second = await responder.receive(dialer.start());
      assert.ok(second !== undefined && second.length === 128);
      const third = dialer.receive(second) as Buffer;
      assert.equal(await responder.receive(third), undefined);
      const d = dialer.result;
      const r = responder.result;
      assert.ok(d !== undefined && r !== undefined);
      assert.deepEqual(r.tx, d.rx);
      assert.deepEqual(r.rx, d.tx);
      assert.deepEqual(r.hash, d.hash);
      assert.deepEqual(r.remotePublicKey, alice.publicKey);
      assert.deepEqual(d.remotePublicKey, bob.publicKey);
    });
    await Promise.all(runs);
  });

  it('refuses a forged message as the handshake itself would, and goes on serving others', async () => {
    const pool = new HandshakePool(bob, 1);
    pools.push(pool);
    const dialer = new IdentityHandshake(true, alice);
    const responder = pool.responder();
    const second = (await responder.receive(dialer.start())) as Buffer;
    const third = dialer.receive(second) as Buffer;
    third[5] = (third[5] as number) ^ 1;
    await assert.rejects(Promise.resolve(responder.receive(third)), (err: unknown) => isNatterError(err, ERROR_CODES.HANDSHAKE_FAILED));
    const other = pool.responder();
    assert.equal(((await other.receive(new IdentityHandshake(true, alice).start())) as Buffer).length, 128);
    other.abort?.();
    assert.throws(
      () => other.start(),
      (err) => isNatterError(err, ERROR_CODES.INTERNAL),
    );
  });

  it('needs at least one thread', () => {
    for (const threads of [0, -1, 1.5]) {
      assert.throws(
        () => new HandshakePool(bob, threads),
        (err) => isNatterError(err, ERROR_CODES.INVALID_ARGUMENT),
      );
    }
  });
});
