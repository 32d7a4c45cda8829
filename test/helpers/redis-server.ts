/**
 * A real redis-server for tests and benchmarks, started by the test itself:
 * its own temporary directory, a free port on 127.0.0.1, no persistence
 * (`--save '' --appendonly no`), removed afterwards. Tests never touch a Redis
 * they did not start. `.ci/run` installs Debian's redis-server package.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { freePorts } from './ports.ts';

const BINARY = process.env.NATTER_REDIS_SERVER ?? 'redis-server';
const READY_TIMEOUT_MS = 10_000;

/** Every server still running, and every directory not yet removed; cleared up if the process exits first. */
const running = new Set<ChildProcess>();
const dirs = new Set<string>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export function hasRedisServer(): boolean {
  return spawnSync(BINARY, ['--version'], { stdio: 'ignore' }).status === 0;
}

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #log = '';

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  /** Starts a fresh server; throws with a hint when redis-server is not installed. */
  static async start(): Promise<RedisServer> {
    if (!hasRedisServer()) throw new Error(`${BINARY} not found: install Debian's redis-server package (.ci/run does)`);
    const [port] = await freePorts(1);
    const server = new RedisServer(port as number, mkdtempSync(join(tmpdir(), 'natter-redis-')));
    dirs.add(server.dir);
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      BINARY,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    running.add(child);
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        running.delete(child);
        resolve();
      }),
    );
    this.#log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server not ready within ${READY_TIMEOUT_MS} ms: ${this.#log}`)),
        READY_TIMEOUT_MS,
      );
      const onData = (d: Buffer): void => {
        this.#log += d.toString();
        if (this.#log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${String(code)}) before it was ready: ${this.#log}`));
      });
    });
  }

  /** SIGKILL: Redis vanishes at once, losing everything (no persistence). */
  async kill(): Promise<void> {
    this.#child?.kill('SIGCONT');
    this.#child?.kill('SIGKILL');
    await this.#exited;
    this.#child = undefined;
  }

  /** SIGSTOP / SIGCONT: Redis stops answering, its connections open, as a hung server or a stalled network would. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** Starts it again, empty, on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** Runs one command against it on a short-lived connection (INFO, DBSIZE, ...). */
  async command(args: string[]): Promise<unknown> {
    const client = createClient({
      socket: { host: '127.0.0.1', port: this.port, reconnectStrategy: false },
      disableClientInfo: true,
      maintNotifications: 'disabled',
    });
    client.on('error', () => {});
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  }

  /** One section of INFO as fields. */
  async info(section: string): Promise<Record<string, string>> {
    const text = String(await this.command(['INFO', section]));
    const fields: Record<string, string> = {};
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
    }
    return fields;
  }

  /** Stops it and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
    dirs.delete(this.dir);
  }
}
