/**
 * The accepting side's handshakes on worker threads (handshake-worker.ts):
 * a directory's main thread spends most of a registration on the
 * handshake's cryptography, which does no I/O, so a few threads can share
 * it while the main thread keeps reading and writing sockets. Each
 * handshake stays on the thread that started it (its Noise state lives
 * there); new ones go to the thread with the fewest running.
 *
 *   secureSocket ── receive(message) ──▶ PooledHandshake ── { id, message } ──▶ worker
 *                ◀── reply / result ───                  ◀── answer ───────────
 */
import { Worker } from 'node:worker_threads';
import { ERROR_CODES, NatterError, isNatterErrorCode } from '../errors.ts';
import type { HandshakeResult, HandshakeSide, KeyPair } from './handshake.ts';
import type { HandshakeAnswer, HandshakeJob } from './handshake-worker.ts';

/** The worker's script, beside this file (TypeScript when run from the sources, JavaScript when built). */
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './handshake-worker.ts' : './handshake-worker.js', import.meta.url);

interface Waiter {
  resolve: (answer: HandshakeAnswer) => void;
}

class PoolThread {
  readonly worker: Worker;
  readonly waiters = new Map<number, Waiter>();
  /** Handshakes started here and not yet finished or dropped. */
  running = 0;

  constructor(keyPair: KeyPair, onFault: (err: Error) => void) {
    this.worker = new Worker(WORKER_URL, { workerData: { publicKey: keyPair.publicKey, secretKey: keyPair.secretKey } });
    // A pool must not keep its process alive.
    this.worker.unref();
    this.worker.on('message', (answer: HandshakeAnswer) => {
      const waiter = this.waiters.get(answer.id);
      if (waiter === undefined) return;
      this.waiters.delete(answer.id);
      waiter.resolve(answer);
    });
    this.worker.on('error', onFault);
  }

  post(job: HandshakeJob): void {
    this.worker.postMessage(job);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** One accepting-side handshake whose messages are worked on by a pool thread. */
class PooledHandshake implements HandshakeSide {
  readonly isInitiator = false;
  readonly #thread: PoolThread;
  readonly #id: number;
  readonly #publicKey: Buffer;
  #result: HandshakeResult | undefined;
  #isDone = false;

  constructor(thread: PoolThread, id: number, publicKey: Buffer) {
    this.#thread = thread;
    this.#id = id;
    this.#publicKey = publicKey;
    thread.running++;
  }

  get result(): HandshakeResult | undefined {
    return this.#result;
  }

  start(): Buffer {
    throw new NatterError(ERROR_CODES.INTERNAL, 'a pooled handshake accepts; it never starts one');
  }

  receive(message: Uint8Array): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      this.#thread.waiters.set(this.#id, {
        resolve: (answer) => {
          if (answer.error !== undefined) {
            this.#finish();
            const code = isNatterErrorCode(answer.error.code) ? answer.error.code : ERROR_CODES.HANDSHAKE_FAILED;
            reject(new NatterError(code, answer.error.message));
            return;
          }
          if (answer.result !== undefined) {
            this.#finish();
            const r = answer.result;
            this.#result = {
              tx: toBuffer(r.tx),
              rx: toBuffer(r.rx),
              hash: toBuffer(r.hash),
              publicKey: this.#publicKey,
              remotePublicKey: Buffer.from(r.remotePublicKey),
            };
          }
          resolve(answer.reply === undefined ? undefined : toBuffer(answer.reply));
        },
      });
      this.#thread.post({ id: this.#id, message });
    });
  }

  /** Given up (a deadline, a closed socket): the thread forgets it. */
  abort(): void {
    if (this.#isDone) return;
    this.#finish();
    this.#thread.waiters.delete(this.#id);
    this.#thread.post({ id: this.#id, drop: true });
  }

  #finish(): void {
    if (this.#isDone) return;
    this.#isDone = true;
    this.#thread.running--;
  }
}

export class HandshakePool {
  readonly #threads: PoolThread[];
  readonly #publicKey: Buffer;
  #nextId = 1;

  /**
   * `threads` worker threads, each with `keyPair` (the accepting side's
   * identity). `onFault` hears of a thread that failed (it is not replaced).
   */
  constructor(keyPair: KeyPair, threads: number, onFault: (err: Error) => void = () => {}) {
    if (!Number.isSafeInteger(threads) || threads < 1) {
      throw new NatterError(ERROR_CODES.INVALID_ARGUMENT, `a handshake pool needs at least one thread, got ${String(threads)}`);
    }
    this.#publicKey = keyPair.publicKey;
    this.#threads = Array.from({ length: threads }, () => new PoolThread(keyPair, onFault));
  }

  get size(): number {
    return this.#threads.length;
  }

  /** A new accepting-side handshake, on the thread with the fewest running. */
  responder(): HandshakeSide {
    let thread = this.#threads[0] as PoolThread;
    for (const t of this.#threads) if (t.running < thread.running) thread = t;
    return new PooledHandshake(thread, this.#nextId++, this.#publicKey);
  }

  /** Stops every thread; handshakes still running fail. */
  async close(): Promise<void> {
    await Promise.all(
      this.#threads.map((t) => {
        // Held now, so that the event loop waits for the thread to be gone.
        t.worker.ref();
        return t.worker.terminate();
      }),
    );
  }
}
