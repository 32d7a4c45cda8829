/**
 * Typed calls from a bench to the processes it forks, over Node's IPC
 * channel: Child on the parent's side, serveCalls and report on the child's.
 * bench/chat runs its peers this way, bench/directory its servers and load
 * generators.
 *
 *   parent                                  child
 *     new Child(...)         ── fork ──▶      serveCalls(handlers)
 *     ready()                ◀── ready ──     once: the port it listens on, or 0
 *     call(name, args, ms)   ── call ──▶      handlers[name](args)
 *                            ◀── reply ──
 *     nextReport(what, ms)   ◀── report ─     report(value): unasked (chat's 'counted')
 *
 * The channel uses Node's 'advanced' serialization so that bigint timestamps
 * and Buffers cross it as they are. Both ends are this bench's own code, so
 * each trusts the other's messages to have the shapes below.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** One request type a child answers: what goes in, what comes back. */
export interface CallSpec {
  request: unknown;
  reply: unknown;
}

/** A child's calls by name (declare them with a type alias, not an interface, so they fit Record's index signature). */
export type CallMap = Record<string, CallSpec>;

/** What a child answers each call with. */
export type Handlers<C extends CallMap> = { [K in keyof C]: (args: C[K]['request']) => Promise<C[K]['reply']> };

/** Parent → child. */
export interface CallEnvelope {
  id: number;
  name: string;
  args: unknown;
}

/** Child → parent: 'ready' once, one reply per call, and any reports in between. */
export type ChildMessage =
  | { kind: 'ready'; port: number }
  | { kind: 'reply'; id: number; ok: true; result: unknown }
  | { kind: 'reply'; id: number; ok: false; error: string }
  | { kind: 'report'; report: unknown };

// ---------------------------------------------------------------------------
// The parent's side

/** Every child still running; killed if this process exits first (an uncaught error). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** How long a child has from fork to 'ready' (loading TypeScript, listening). */
const READY_TIMEOUT_MS = 15_000;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ChildOptions {
  /** The child's stdin and stdout are pipes the parent holds. Default false. */
  isPiped?: boolean;
  /** Variables added to this process's environment for the child. */
  env?: Record<string, string>;
}

/** A forked bench process and typed calls to it; `R` is what it may report unasked. */
export class Child<C extends CallMap, R = never> {
  readonly label: string;
  readonly #proc: ChildProcess;
  readonly #pending = new Map<number, Pending>();
  readonly #port: Promise<number>;
  readonly #exited: Promise<void>;
  /** Whoever waits for the next report. */
  #reportWaiter: Pending | undefined;
  #exitReason: string | undefined;
  #nextId = 1;

  /**
   * `label` names the child in every error; `script` is relative to bench/.
   * With `isPiped`, the child's stdin and stdout are pipes the parent holds
   * (stdin and stdout below): bench/tui types into a UI and reads its screen.
   */
  constructor(label: string, script: string, args: string[], execArgv: string[], { isPiped = false, env = {} }: ChildOptions = {}) {
    this.label = label;
    this.#proc = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
      execArgv,
      env: { ...process.env, ...env },
      serialization: 'advanced',
      stdio: [isPiped ? 'pipe' : 'ignore', isPiped ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    running.add(this.#proc);
    this.#exited = new Promise((resolve) => {
      this.#proc.once('exit', (code, signal) => {
        running.delete(this.#proc);
        this.#exitReason = `${label} exited (${signal ?? `code ${String(code)}`})`;
        const err = new Error(this.#exitReason);
        const waiters = [...this.#pending.values(), ...(this.#reportWaiter === undefined ? [] : [this.#reportWaiter])];
        this.#pending.clear();
        this.#reportWaiter = undefined;
        for (const p of waiters) {
          clearTimeout(p.timer);
          p.reject(err);
        }
        resolve();
      });
    });
    this.#port = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${label} not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      this.#proc.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`${label} exited before it was ready`));
      });
      this.#proc.on('message', (raw) => {
        const msg = raw as ChildMessage; // our own child: the shape is known
        if (msg.kind === 'ready') {
          clearTimeout(timer);
          resolve(msg.port);
        } else if (msg.kind === 'report') {
          const waiter = this.#reportWaiter;
          this.#reportWaiter = undefined;
          if (waiter === undefined) return;
          clearTimeout(waiter.timer);
          waiter.resolve(msg.report);
        } else {
          const pending = this.#pending.get(msg.id);
          if (pending === undefined) return;
          this.#pending.delete(msg.id);
          clearTimeout(pending.timer);
          if (msg.ok) pending.resolve(msg.result);
          else pending.reject(new Error(`${label}: ${msg.error}`));
        }
      });
    });
    this.#port.catch(() => {}); // observed by whoever awaits ready()
  }

  /** The child's stdin, when piped. */
  get stdin(): NodeJS.WritableStream | null {
    return this.#proc.stdin;
  }

  /** The child's stdout, when piped. */
  get stdout(): NodeJS.ReadableStream | null {
    return this.#proc.stdout;
  }

  /** Resolves with the port the child listens on (0 if it does not) once it answers calls. */
  ready(): Promise<number> {
    return this.#port;
  }

  call<K extends keyof C & string>(name: K, args: C[K]['request'], timeoutMs: number): Promise<C[K]['reply']> {
    // The reply to call `name` is C[K]['reply'] by the child's contract.
    return this.#expect<C[K]['reply']>(`answer ${name}`, timeoutMs, (pending) => {
      const id = this.#nextId++;
      this.#pending.set(id, pending);
      const envelope: CallEnvelope = { id, name, args };
      this.#proc.send(envelope);
      return () => this.#pending.delete(id);
    });
  }

  /** Resolves with the child's next report; `what` says what it reports, for the timeout's error. */
  nextReport(what: string, timeoutMs: number): Promise<R> {
    return this.#expect<R>(what, timeoutMs, (pending) => {
      this.#reportWaiter = pending;
      return () => {
        this.#reportWaiter = undefined;
      };
    });
  }

  /** Resolves once the process is gone. */
  exited(): Promise<void> {
    return this.#exited;
  }

  /** Kills the process (SIGKILL: nothing in it is needed any more) and resolves once it is gone. */
  kill(): Promise<void> {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
    return this.#exited;
  }

  /**
   * One answer from the child: `hold` files the Pending where the answer will
   * find it and returns how to take it back. Rejects at once if the child is
   * gone, and after `timeoutMs` without the answer.
   */
  #expect<T>(what: string, timeoutMs: number, hold: (pending: Pending) => () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#exitReason !== undefined) {
        reject(new Error(this.#exitReason));
        return;
      }
      const timer = setTimeout(() => {
        release();
        reject(new Error(`${this.label} did not ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const release = hold({ resolve: resolve as (value: unknown) => void, reject, timer });
    });
  }
}

// ---------------------------------------------------------------------------
// The child's side

/** Sends `msg` to the parent; `then` runs once it is out. */
function tellParent(msg: ChildMessage, then?: () => void): void {
  if (process.send === undefined) throw new Error(`${process.argv[1]} is started by a bench, over an IPC channel`);
  process.send(msg, undefined, {}, then);
}

export interface ServeOptions<C extends CallMap> {
  /** The port this process listens on, for the parent's ready(); 0 (the default) if none. */
  port?: number;
  /** After answering this call, leave once the answer is out (process.exit lets --cpu-prof write its profile). */
  exitAfter?: keyof C;
}

/**
 * Answers the parent's calls in a child process, after telling it `ready`.
 * The parent is this bench's orchestrator, so its messages are trusted to
 * have the CallEnvelope shape. The child exits when the parent goes away.
 */
export function serveCalls<C extends CallMap>(handlers: Handlers<C>, options: ServeOptions<C> = {}): void {
  process.on('message', (raw) => {
    const call = raw as CallEnvelope;
    const handler = handlers[call.name as keyof C] as ((args: unknown) => Promise<unknown>) | undefined;
    if (handler === undefined) {
      tellParent({ kind: 'reply', id: call.id, ok: false, error: `no call named ${call.name}` });
      return;
    }
    handler(call.args).then(
      (result) =>
        tellParent({ kind: 'reply', id: call.id, ok: true, result }, call.name === options.exitAfter ? () => process.exit(0) : undefined),
      (err: unknown) =>
        tellParent({ kind: 'reply', id: call.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  // An orphan would keep its sockets open (thousands, for a load generator) and the CPU busy.
  process.on('disconnect', () => process.exit(0));
  tellParent({ kind: 'ready', port: options.port ?? 0 });
}

/** Sends the parent something it did not ask for, for its Child.nextReport. */
export function report<R>(value: R): void {
  tellParent({ kind: 'report', report: value });
}
