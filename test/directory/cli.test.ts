import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { NatterProcess, runNatter, startDirectoryProcess } from '../helpers/cli.ts';
import { RawClient } from '../helpers/raw-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'natter-cli-'));
const tokenFile = join(dir, 'admin-token');
writeFileSync(tokenFile, 'a-long-random-admin-token\n');
const wrongTokenFile = join(dir, 'wrong-token');
writeFileSync(wrongTokenFile, 'not-it\n');

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
    assert.match(proc.stdout, /^natter directory listening on 127\.0\.0\.1:\d+\n$/);
    const c = await RawClient.connect(port);
    assert.deepEqual(await c.up('alice'), { type: 'ACK', port: 50_000, aliveIntervalMs: 500 });
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
    for (const args of [['--port', 'x'], ['--alive-interval', '-1'], ['--alive-interval', '100000'], ['--port-range', '9-1'], ['--log-level', 'loud'], ['--bogus']]) {
      const r = await runNatter(['directory', ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, /error: /, args.join(' '));
    }
    const missing = await runNatter(['directory', '--port', '0', '--admin-token-file', join(dir, 'nope')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read the token file/);
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
  it('dump prints the state as pretty JSON; shutdown stops the directory, which exits 0', async () => {
    const { proc, port } = await startDirectoryProcess(['--admin-token-file', tokenFile]);
    procs.push(proc);
    const member = await RawClient.connect(port);
    await member.up('member');
    const dump = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--token-file', tokenFile]);
    assert.equal(dump.code, 0, dump.stderr);
    const state = JSON.parse(dump.stdout);
    assert.deepEqual(state.clients.map((c: { name: string }) => c.name), ['member']);
    assert.match(dump.stdout, /^\{\n {2}"server"/, 'pretty-printed');

    const refused = await runNatter(['admin', 'shutdown', '--directory', `127.0.0.1:${port}`, '--token-file', wrongTokenFile]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /NATTER_ERR_NOT_AUTHORIZED/);
    await proc.waitFor(/refused SHUTDOWN/, 5_000, 'stderr');

    const started = Date.now();
    const shutdown = await runNatter(['admin', 'shutdown', '--directory', `127.0.0.1:${port}`, '--token-file', tokenFile]);
    assert.equal(shutdown.code, 0, shutdown.stderr);
    assert.match(shutdown.stdout, /shutting down/);
    assert.equal((await member.next()).type, 'SHUTDOWN');
    assert.deepEqual(await proc.exited, { code: 0, signal: null });
    assert.ok(Date.now() - started < 5_000, 'exits within a few seconds');
  });

  it('a directory that is not there is a clear error', async () => {
    const { proc, port } = await startDirectoryProcess();
    proc.kill('SIGKILL');
    await proc.exited;
    const r = await runNatter(['admin', 'dump', '--directory', `127.0.0.1:${port}`, '--token-file', tokenFile]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NATTER_ERR_CONNECTION_CLOSED/);
  });
});
