/** The `natter` command line itself: unknown commands and bad options, one style for every error line. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runNatter } from '../helpers/cli.ts';

/** Every error natter prints: "natter: WHAT (CODE)" on one line of stderr, nothing on stdout, exit 1. */
function assertErrorLine(r: { code: number | null; stdout: string; stderr: string }, what: RegExp, code: string): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^natter: [^\n]+ \(NATTER_ERR_[A-Z_]+\)\n$/, `one line in the common style: ${r.stderr}`);
  assert.match(r.stderr, what);
  assert.ok(r.stderr.endsWith(`(${code})\n`), r.stderr);
}

describe('natter (the command line)', () => {
  it('an unknown command is named as such, with the list of commands', async () => {
    const r = await runNatter(['frobnicate']);
    assertErrorLine(
      r,
      /^natter: unknown command 'frobnicate'; the commands are chat, directory, admin, id, doctor; natter --help says more/,
      'NATTER_ERR_UNKNOWN_COMMAND',
    );
    assertErrorLine(await runNatter(['--name', 'x', 'frobnicate']), /unknown command 'frobnicate'/, 'NATTER_ERR_UNKNOWN_COMMAND');
    assertErrorLine(await runNatter(['admin', 'frob']), /unknown command 'frob'/, 'NATTER_ERR_UNKNOWN_COMMAND');
  });

  it('bad options get the same style of line', async () => {
    assertErrorLine(
      await runNatter(['--frob']),
      /^natter: unknown option '--frob'; --help shows the options/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['chat', '--max-chats', 'x']),
      /^natter: --max-chats: expected a positive whole number, got "x"; --help shows the options/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['directory', '--port', '99999']),
      /^natter: --port: expected a port number from 0 to 65535/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['directory', '--advertise', 'host.example:7447']),
      /^natter: --advertise: expected an IP address and a port/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['doctor', '--lan-wait', '0']),
      /^natter: --lan-wait: expected a number of seconds above 0/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['admin', 'dump']),
      /required option '--directory <host:port>' not specified/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
  });

  it('--ui: a full-screen UI needs a terminal, and only the two UIs are known', async () => {
    // Its stdin and stdout are pipes here: the line UI would be the default, and full is refused before anything starts.
    assertErrorLine(
      await runNatter(['chat', '--ui', 'full', '--name', 'x', '--friends', '/nonexistent.json']),
      /^natter: --ui full needs a terminal on stdin and stdout; --ui line or --json work anywhere/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['chat', '--ui', 'fancy']),
      /^natter: --ui: Allowed choices are full, line/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
    assertErrorLine(
      await runNatter(['chat', '--ui', 'line', '--json']),
      /cannot be used with option '--json'/,
      'NATTER_ERR_INVALID_ARGUMENT',
    );
  });

  it('help and version are not errors', async () => {
    const help = await runNatter(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: natter /);
    const version = await runNatter(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+ \(protocol \d+\)\n$/);
  });
});
