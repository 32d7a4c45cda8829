/**
 * The handshake's own cryptography, alone in its process (for
 * bench/handshake-crypto.ts): the libsodium calls one responder handshake
 * makes, replayed in a loop, against the whole responder side of
 * IdentityHandshake in a loop.
 *
 * Which calls those are is not written down here but recorded: every
 * function of sodium-universal is wrapped before the handshake code is
 * loaded (noise-handshake takes its functions from the module when it
 * loads), one real handshake runs, and each call the responder made is kept
 * with copies of its arguments. The loop then makes exactly those calls
 * with those arguments: the X25519 key pair, the three X25519 operations,
 * the Ed25519-to-X25519 conversion, the hashing and the AEAD of its
 * messages.
 */
import { createRequire } from 'node:module';
import { serveCalls } from './child.ts';
import type { CryptoCalls, CryptoReply } from './handshake-crypto.ts';

type SodiumFn = (...args: unknown[]) => unknown;
interface Call {
  name: string;
  fn: SodiumFn;
  args: unknown[];
}

const require = createRequire(import.meta.url);
const sodium = require('sodium-universal') as Record<string, unknown>;

/** Set while the responder's side runs: where its calls go. */
let recording: Call[] | undefined;

function copyArg(arg: unknown): unknown {
  if (arg instanceof Uint8Array) return Buffer.from(arg);
  if (Array.isArray(arg)) return arg.map(copyArg);
  return arg;
}

for (const [name, value] of Object.entries(sodium)) {
  if (typeof value !== 'function') continue;
  const fn = value as SodiumFn;
  sodium[name] = (...args: unknown[]): unknown => {
    recording?.push({ name, fn, args: args.map(copyArg) });
    return fn(...args);
  };
}

// Loaded only now, so that noise-handshake takes the wrapped functions.
const { IdentityHandshake, keyPairFromSeed } = await import('../src/transport/handshake.ts');

const responderKeys = keyPairFromSeed(Buffer.alloc(32, 2));
let nextSeed = 0;

/** One handshake; the responder's calls are recorded when `calls` is given. Returns the responder's CPU µs. */
function handshake(calls?: Call[]): number {
  // A new client each time, as in a registration storm: the responder converts its key (it caches keys it saw).
  const seed = Buffer.alloc(32);
  seed.writeUInt32BE(++nextSeed);
  const initiator = new IdentityHandshake(true, keyPairFromSeed(seed));
  const first = initiator.start();
  const cpu0 = process.cpuUsage();
  recording = calls;
  const responder = new IdentityHandshake(false, responderKeys);
  const second = responder.receive(first) as Buffer;
  recording = undefined;
  const mid = process.cpuUsage(cpu0);
  const third = initiator.receive(second) as Buffer;
  const cpu1 = process.cpuUsage();
  recording = calls;
  responder.receive(third);
  recording = undefined;
  const end = process.cpuUsage(cpu1);
  if (!responder.isComplete) throw new Error('the handshake did not complete');
  return mid.user + mid.system + end.user + end.system;
}

function replay(calls: Call[]): void {
  for (const c of calls) c.fn(...c.args);
}

function cpuMicros(): number {
  const cpu = process.cpuUsage();
  return cpu.user + cpu.system;
}

function measure(req: { rounds: number }): CryptoReply {
  const calls: Call[] = [];
  handshake(calls);
  const counts = new Map<string, number>();
  for (const c of calls) counts.set(c.name, (counts.get(c.name) ?? 0) + 1);
  // Warm-up of both loops, then the timed rounds, alternating so that noise hits both alike.
  for (let i = 0; i < 50; i++) {
    replay(calls);
    handshake();
  }
  let cryptoMicros = 0;
  let responderMicros = 0;
  for (let i = 0; i < req.rounds; i++) {
    const t = cpuMicros();
    replay(calls);
    cryptoMicros += cpuMicros() - t;
    responderMicros += handshake();
  }
  return {
    cryptoMicros: cryptoMicros / req.rounds,
    responderMicros: responderMicros / req.rounds,
    calls: [...counts].map(([name, count]) => ({ name, count })),
  };
}

serveCalls<CryptoCalls>({ measure: async (req) => measure(req) });
