/** A `natter chat --json` child process driven by a test: commands in, events out, every stdout line checked to be JSON. */
import { NatterProcess } from './cli.ts';

export type Event = { type: string } & Record<string, unknown>;

export class ChatProc {
  readonly proc: NatterProcess;
  readonly events: Event[] = [];
  #taken = new Set<number>();
  #parsed = 0;

  /**
   * `env` may give XDG_CONFIG_HOME (freshHome()) so that a restarted peer keeps its identity;
   * `command` runs natter under a prefix (`[...lab.wrap(ns, [process.execPath, BIN])]` runs it in a network namespace).
   */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, command?: string[]) {
    this.proc = new NatterProcess(['chat', '--json', ...args], command === undefined ? { env } : { env, command });
  }

  #parse(): void {
    const lines = this.proc.stdout.split('\n');
    for (; this.#parsed < lines.length - 1; this.#parsed++) {
      const line = lines[this.#parsed] as string;
      try {
        this.events.push(JSON.parse(line) as Event);
      } catch {
        throw new Error(`stdout line is not JSON: ${JSON.stringify(line)}`);
      }
    }
  }

  /** The oldest event of `type` (matching `where`) not yet returned, waiting up to timeoutMs. */
  async next(type: string, where: (e: Event) => boolean = () => true, timeoutMs = 8_000): Promise<Event> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.#parse();
      const i = this.events.findIndex((e, j) => !this.#taken.has(j) && e.type === type && where(e));
      if (i >= 0) {
        this.#taken.add(i);
        return this.events[i] as Event;
      }
      if (Date.now() > deadline) {
        throw new Error(`no ${type} event within ${timeoutMs} ms; events: ${JSON.stringify(this.events)}; stderr: ${this.proc.stderr}`);
      }
      await this.proc.waitFor(/[\s\S]/, 50).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.write(`${JSON.stringify(cmd)}\n`);
  }

  writeRaw(line: string): void {
    this.proc.write(line);
  }

  async exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.proc.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.proc.kill(signal);
  }

  /** Every stdout line so far, each one JSON. */
  allEvents(): Event[] {
    this.#parse();
    return this.events;
  }
}
