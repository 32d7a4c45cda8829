/** Runs the real `natter` command (bin/natter.js, built by `npm test`) as a child process. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the natter processes of this test file keep their identities; removed at exit. */
const HOMES = mkdtempSync(join(tmpdir(), 'natter-test-'));
process.on('exit', () => rmSync(HOMES, { recursive: true, force: true }));
let homes = 0;

/** A fresh config directory: a natter process started with it has its own identity and pinned keys. */
export function freshHome(): string {
  const dir = join(HOMES, String(++homes));
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

export const BIN = fileURLToPath(new URL('../../bin/natter.js', import.meta.url));

/**
 * The environment for natter processes a test starts: without the test
 * runner's coverage variable, because a child killed with SIGKILL would leave
 * a half-written coverage file that makes the runner fail the whole run; and
 * each with its own config directory (identity, pinned keys) unless the test
 * passes XDG_CONFIG_HOME to give a restarted process the same one (and the
 * same data directory, under it, unless XDG_DATA_HOME is passed too).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  // Data (outbox, history) lives beside the config unless the test says otherwise: a
  // restarted process given the same XDG_CONFIG_HOME finds its outbox too.
  const config = extra.XDG_CONFIG_HOME ?? freshHome();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', XDG_CONFIG_HOME: config, XDG_DATA_HOME: join(config, 'data'), ...extra };
  delete env.NODE_V8_COVERAGE;
  return env;
}

export class NatterProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #listeners: (() => void)[] = [];

  constructor(args: string[], options: { env?: NodeJS.ProcessEnv; command?: string[] } = {}) {
    const [cmd, ...pre] = options.command ?? [process.execPath, BIN];
    this.child = spawn(cmd as string, [...pre, ...args], { env: childEnv(options.env), stdio: 'pipe' });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.#notify();
    });
    // A test may kill the process while a command is on its way to it.
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.#notify();
    });
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.#notify();
        resolve({ code, signal });
      }),
    );
  }

  #notify(): void {
    for (const l of this.#listeners.splice(0)) l();
  }

  /** Waits until stdout matches `pattern`; returns the match. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this[stream].match(pattern);
      if (match !== null) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`natter exited before ${pattern}; stdout: ${this.stdout}\nstderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; stdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#listeners.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  write(line: string): void {
    this.child.stdin.write(line);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** Runs natter to completion. */
export async function runNatter(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new NatterProcess(args);
  const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** Starts `natter directory` on a free port and waits for its ready line. */
export async function startDirectoryProcess(
  args: string[] = [],
  command?: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ proc: NatterProcess; host: string; port: number }> {
  const proc = new NatterProcess(
    command === undefined ? ['directory', '--port', '0', ...args] : args,
    command === undefined ? { env } : { command, env },
  );
  const match = await proc.waitFor(/listening on (\S+):(\d+)/);
  return { proc, host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/**
 * A JSON `message` event reduced to who said what, once its id and time are
 * checked to be there: tests compare conversations, not random ids.
 */
export function said(event: unknown): { type: unknown; from: unknown; text: unknown } {
  const e = event as { type?: unknown; from?: unknown; text?: unknown; id?: unknown; ts?: unknown };
  if (typeof e.id !== 'string' || !/^[0-9a-f]{32}$/.test(e.id) || typeof e.ts !== 'number') {
    throw new Error(`a message event without a valid id and time: ${JSON.stringify(event)}`);
  }
  return { type: e.type, from: e.from, text: e.text };
}
