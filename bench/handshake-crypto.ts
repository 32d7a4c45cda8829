/**
 * bench/handshake-crypto: what one responder handshake's cryptography costs
 * by itself on this machine, so that the CPU natter spends per connection
 * can be held to a multiple of it measured in the same run
 * (bench/handshake-crypto-proc.ts records the libsodium calls of a real
 * handshake and replays them in a loop).
 *
 *   crypto      the responder's libsodium calls, replayed: one X25519 key
 *               pair, three X25519 operations, one Ed25519-to-X25519
 *               conversion, and the hashing and AEAD of messages [2] and [3]
 *   responder   the whole responder side of IdentityHandshake (noise-handshake
 *               and natter's checks around those calls)
 *
 * CPU time (user + system) of the process, per handshake; the median of
 * RUNS runs of ROUNDS handshakes each.
 */
import { Child } from './child.ts';
import { fmt, median, table } from './harness.ts';

export type CryptoCalls = {
  measure: { request: { rounds: number }; reply: CryptoReply };
};

export interface CryptoReply {
  /** CPU µs of the replayed libsodium calls, per handshake. */
  cryptoMicros: number;
  /** CPU µs of the responder's whole side, per handshake. */
  responderMicros: number;
  /** The calls one responder handshake makes, by function. */
  calls: { name: string; count: number }[];
}

export interface HandshakeCryptoResult extends CryptoReply {
  /** Every run's crypto µs, in order. */
  runs: number[];
}

const ROUNDS = 400;
const RUNS = 5;
const CALL_TIMEOUT_MS = 60_000;

/** Measures in a process of its own (its wrapped sodium functions stay there). */
export async function runHandshakeCryptoBench(): Promise<HandshakeCryptoResult> {
  const child = new Child<CryptoCalls>('handshake cryptography', './handshake-crypto-proc.ts', [], []);
  try {
    await child.ready();
    const replies: CryptoReply[] = [];
    for (let run = 0; run < RUNS; run++) replies.push(await child.call('measure', { rounds: ROUNDS }, CALL_TIMEOUT_MS));
    const first = replies[0] as CryptoReply;
    return {
      cryptoMicros: median(replies.map((r) => r.cryptoMicros)),
      responderMicros: median(replies.map((r) => r.responderMicros)),
      calls: first.calls,
      runs: replies.map((r) => r.cryptoMicros),
    };
  } finally {
    await child.kill();
  }
}

export function printHandshakeCrypto(r: HandshakeCryptoResult): void {
  console.log(
    `handshake cryptography: the libsodium calls one responder handshake makes, recorded from a real one and replayed ${fmt(ROUNDS)} times ` +
      `(CPU per handshake, median of ${RUNS} runs)`,
  );
  console.log(`  calls: ${r.calls.map((c) => `${c.name.replace(/^crypto_/, '')} ×${c.count}`).join(', ')}`);
  console.log(
    table(
      ['measure', 'CPU µs', 'against the crypto'],
      [
        ['libsodium calls alone (the crypto)', fmt(r.cryptoMicros, 1), '1.00x'],
        ['IdentityHandshake, responder side', fmt(r.responderMicros, 1), `${fmt(r.responderMicros / r.cryptoMicros, 2)}x`],
      ],
    ),
  );
  console.log(`  every run, crypto µs: ${r.runs.map((v) => fmt(v, 1)).join(' / ')}`);
}

if (import.meta.main) printHandshakeCrypto(await runHandshakeCryptoBench());
