import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type NatterProcess, runNatter, startDirectoryProcess } from '../helpers/cli.ts';
import { RawClient } from '../helpers/raw-client.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('cli');
const adminIdentity = join(dir, 'admin', 'identity.json');
const otherIdentity = join(dir, 'other', 'identity.json');
const adminKeysFile = join(dir, 'admin-keys');

/** Makes an identity with `natter id` and returns its public key (hex). */
async function makeIdentity(file: string): Promise<string> {
  const r = await runNatter(['id', '--identity', file, '--new-identity']);
  assert.equal(r.code, 0, r.stderr);
  return (r.stdout.match(/public key:\s+([0-9a-f]{64})/) as RegExpMatchArray)[1] as string;
}

const procs: NatterProcess[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

describe('natter directory (a real process)', () => {
  it('prints one "listening on HOST:PORT" line with the real port, logs JSON to stderr', async () => {
    const { proc, host, port } = await startDirectoryProcess(['--alive-interval', '0.5']);
    procs.push(proc);
    assert.equal(host, '127.0.0.1');
    assert.ok(port > 0);
    assert.match(proc.stdout, /^natter directory listening on 127\.0\.0\.1:\d+\nkey fingerprint: ([a-z2-7]{4} ){7}[a-z2-7]{4}\n$/);
    const c = await RawClient.connect(port);
    const localPort = (c.socket as unknown as { socket: { localPort: number } }).socket.localPort;
    // The directory says where it sees the connection come from: here, this very socket.
    assert.deepEqual(await c.up('alice'), { type: 'ACK', port: 50_000, aliveIntervalMs: 500, seenIp: '127.0.0.1', seenPort: localPort });
    await proc.waitFor(/"msg":"registered"/, 5_000, 'stderr');
    const line = proc.stderr.split('\n').find((l) => l.includes('"registered"')) as string;
    assert.equal(JSON.parse(line).peer, 'alice');
    c.destroy();
    proc.kill('SIGTERM');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('SIGINT shuts down cleanly: clients get SHUTDOWN, the process exits 0', async () => {
    const { proc, port } = await startDirectoryProcess();
    procs.push(proc);
    const c = await RawClient.connect(port);
    await c.up('bob');
    proc.kill('SIGINT');
    assert.equal((await c.next()).type, 'SHUTDOWN');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
  });

  it('--log-level silent keeps stderr empty', async () => {
    const { proc, port } = await startDirectoryProcess(['--log-level', 'silent']);
    procs.push(proc);
    const c = await RawClient.connect(port);
    await c.up('quiet');
    c.destroy();
    proc.kill('SIGTERM');
    await proc.exited;
    assert.equal(proc.stderr, '');
  });

  it('refuses bad arguments with a clear message and a non-zero exit', async () => {
    for (const args of [
      ['--port', 'x'],
      ['--alive-interval', '-1'],
      ['--alive-interval', '100000'],
      ['--port-range', '9-1'],
      ['--log-level', 'loud'],
      ['--bogus'],
    ]) {
      const r = await runNatter(['directory', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      // One style for every error line: natter: WHAT; HINT (CODE)
      assert.match(r.stderr, /^natter: \S.*; --help shows the options \(NATTER_ERR_INVALID_ARGUMENT\)\n$/, args.join(' '));
    }
    const missing = await runNatter(['directory', '--port', '0', '--admin-keys', join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the admin key file/);
    writeFileSync(join(dir, 'bad-keys'), '# admins\nnot-a-key\n');
    const bad = await runNatter(['directory', '--port', '0', '--admin-keys', join(dir, 'bad-keys')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad-keys line 2: expected a public key of 64 hex digits/);
  });

  it('a port already in use is a clear error', async () => {
    const { proc, port } = await startDirectoryProcess();
    procs.push(proc);
    const r = await runNatter(['directory', '--port', String(port)]);
    assert.notEqual(r.code, 0);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^natter: cannot listen on 127\.0\.0\.1:\d+: the port is already in use \(NATTER_ERR_LISTEN_FAILED\)\n$/);
  });
});

describe('natter admin (real processes)', () => {
  it('dump and shutdown are taken from a listed key only; shutdown stops the directory, which exits 0', async () => {
    const adminKey = await makeIdentity(adminIdentity);
    await makeIdentity(otherIdentity);
    writeFileSync(adminKeysFile, `# who may stop this directory\n${adminKey}  the operator\n`);
    const { proc, port } = await startDirectoryProcess(['--admin-keys', adminKeysFile]);
    procs.push(proc);
    const member = await RawClient.connect(port);
    await member.up('member');
    const dump = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--identity', adminIdentity]);
    assert.equal(dump.code, 0, dump.stderr);
    const state = JSON.parse(dump.stdout);
    assert.deepEqual(
      state.clients.map((c: { name: string }) => c.name),
      ['member'],
    );
    assert.match(dump.stdout, /^\{\n {2}"server"/, 'pretty-printed');

    const refused = await runNatter(['admin', 'shutdown', '--directory', `127.0.0.1:${port}`, '--identity', otherIdentity]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NATTER_ERR_NOT_AUTHORIZED/);
    await proc.waitFor(/refused SHUTDOWN/, 5_000, 'stderr');

    const started = Date.now();
    const shutdown = await runNatter(['admin', 'shutdown', '--directory', `127.0.0.1:${port}`, '--identity', adminIdentity]);
    assert.equal(shutdown.code, 0, shutdown.stderr);
    assert.match(shutdown.stdout, /shutting down/);
    assert.equal((await member.next()).type, 'SHUTDOWN');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.ok(Date.now() - started < 5_000, 'exits within a few seconds');

    // Another directory (another key) on the same address: the pinned key no longer matches.
    const { proc: impostor } = await startDirectoryProcess(['--port', String(port), '--admin-keys', adminKeysFile], undefined);
    procs.push(impostor);
    const mismatch = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--identity', adminIdentity]);
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /NATTER_ERR_KEY_MISMATCH/);
    assert.match(mismatch.stderr, /--trust-directory/);
    const trusted = await runNatter([
      'admin',
      'dump',
      '--directory',
      `127.0.0.1:${port}`,
      '--identity',
      adminIdentity,
      '--trust-directory',
    ]);
    assert.equal(trusted.code, 0, trusted.stderr);
    const again = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--identity', adminIdentity]);
    assert.equal(again.code, 0, 'the new key is pinned now');
  });

  it('a directory that is not there is a clear error', async () => {
    const { proc, port } = await startDirectoryProcess();
    proc.kill('SIGKILL');
    await proc.exited;
    const r = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--identity', otherIdentity]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NATTER_ERR_CONNECTION_CLOSED/);
  });
});
