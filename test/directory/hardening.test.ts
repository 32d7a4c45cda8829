/**
 * What an attacker on the network can do to a directory, tried against a
 * real one on 127.0.0.1: each case is an attack that once worked.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { DirectoryServer } from '../../src/directory/server.ts';
import type { DirectoryOptions } from '../../src/directory/options.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { ERROR_CODES, NatterError } from '../../src/errors.ts';
import { GARBAGE_AFTER_HANDSHAKE, handshakeThenGarbage } from '../helpers/attacks.ts';
import { newKeyPair } from '../helpers/raw-client.ts';
import { until } from '../helpers/until.ts';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function directory(options: Partial<DirectoryOptions> = {}) {
  const server = new DirectoryServer({ aliveIntervalMs: 60_000, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  cleanup.push(() => server.close());
  return { server, port };
}

describe('directory: connections an attacker leaves behind', () => {
  it('a connection whose stream fails right after the handshake is gone with it: no slot, no address count is kept', async () => {
    const { server, port } = await directory({ maxClients: 10, maxConnectionsPerIp: 5, isLoopbackExempt: false });
    // A stream header, then a record that does not decrypt, in the same write as the handshake's last message.
    for (let i = 0; i < 20; i++) {
      const socket = await handshakeThenGarbage(port, GARBAGE_AFTER_HANDSHAKE);
      cleanup.push(() => void socket.destroy());
    }
    await until(() => server.connectionCount === 0, 'every such connection to be forgotten');
    // The address and the directory still take a real client.
    const client = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    cleanup.push(() => client.close());
    assert.equal((await client.register('alice')).port > 0, true);
  });

  it('one address cannot hold the handshakes everyone else needs', async () => {
    const { server, port } = await directory({ maxHandshakes: 40, maxConnectionsPerIp: 8, isLoopbackExempt: false });
    // 200 sockets from one address that never start their handshake.
    const idle = await Promise.all(Array.from({ length: 200 }, () => openSocket(port, '127.0.0.2')));
    cleanup.push(() => {
      for (const s of idle) s.destroy();
    });
    await until(() => idle.filter((s) => !s.destroyed).length <= 12, 'all but that address’s share to be closed');
    assert.ok(server.counters.connectionsRefused >= 188, `${server.counters.connectionsRefused} refused`);
    // Another address gets through at once.
    const client = await DirectoryClient.connect({
      host: '127.0.0.1',
      port,
      keyPair: newKeyPair(),
      localAddress: '127.0.0.3',
      timeoutMs: 2_000,
    });
    cleanup.push(() => client.close());
    assert.ok((await client.register('bob')).port > 0);
  });

  it('the registration deadline counts from accept: a connection that never starts its handshake is closed by it', async () => {
    const { port } = await directory({ registerTimeoutMs: 300 });
    const silent = await Promise.all(Array.from({ length: 20 }, () => openSocket(port, '127.0.0.1')));
    cleanup.push(() => {
      for (const s of silent) s.destroy();
    });
    const since = Date.now();
    await until(() => silent.every((s) => s.destroyed), 'every silent connection to be closed', 3_000);
    assert.ok(Date.now() - since < 2_000, `closed after ${Date.now() - since} ms, not at the 10 s handshake deadline`);
  });
});

describe('directory: FIND, one name at a time', () => {
  it('answers a listing of one, or of none; refuses an unregistered asker', async () => {
    const { server, port } = await directory();
    const alice = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    const bobKey = newKeyPair();
    const bob = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: bobKey });
    const stranger = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    cleanup.push(
      () => alice.close(),
      () => bob.close(),
      () => stranger.close(),
    );
    await alice.register('alice');
    const { port: bobPort } = await bob.register('bob');
    assert.deepEqual(await alice.find('bob'), { name: 'bob', ip: '127.0.0.1', port: bobPort, key: bobKey.publicKey });
    assert.equal(await alice.find('nobody'), undefined);
    await assert.rejects(stranger.find('bob'), (e: unknown) => e instanceof NatterError && e.code === ERROR_CODES.NOT_REGISTERED);
    assert.equal(server.counters.findsServed, 2);
  });
});

describe('directory: a refusal says why', () => {
  it('a client of a full directory hears that it is full, not that the connection closed', async () => {
    const { port } = await directory({ maxClients: 1 });
    const first = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    cleanup.push(() => first.close());
    await assert.rejects(
      DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() }).then(async (client) => {
        cleanup.push(() => client.close());
        return client.register('bob');
      }),
      (e: unknown) =>
        e instanceof NatterError && e.code === ERROR_CODES.SERVER_FULL && /the directory is full \(1 clients\)/.test(e.message),
    );
  });
});

/** A TCP connection from `localAddress` that sends nothing; resolves once connected. */
function openSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => {});
    socket.once('connect', () => resolve(socket));
    // Closed before it connected (refused at accept): resolved all the same, destroyed.
    socket.once('close', () => resolve(socket));
  });
}
