/**
 * What the fuzz tests share: cheap mutations of valid frames, a prediction of
 * what the receiving decoder makes of the mutated bytes, the codes
 * docs/errors.md documents, and watches on the process and on a server's log.
 *
 * A case is one or more valid frames, encoded, then mutated a few bytes at a
 * time (a mutation costs a copy of a frame at most), then written in one or
 * more pieces. The tests run many cases per connection: a case that the
 * prediction says is harmless is followed by a request whose answer marks
 * its end; one that must end the connection is followed by a new connection.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isNatterError, type NatterError } from '../../src/errors.ts';
import type { Logger } from '../../src/log.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { FrameDecoder } from '../../src/protocol/decoder.ts';
import type { ProtocolLimits } from '../../src/protocol/limits.ts';
import { MESSAGE_TYPES, type Message } from '../../src/protocol/messages.ts';
import type { RawClient } from './raw-client.ts';

/** Every code docs/errors.md lists: what a failure may carry. */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set(
  [...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(/`(NATTER_ERR_[A-Z0-9_]+)`/g)].map(
    (m) => m[1] as string,
  ),
);

/** A code a failure may carry: documented, and not the one that means natter has a bug. */
export function isAcceptableCode(code: unknown): boolean {
  return typeof code === 'string' && DOCUMENTED_CODES.has(code) && code !== 'NATTER_ERR_INTERNAL';
}

const TYPE_CODES = Object.values(MESSAGE_TYPES);

/**
 * One change to a byte string. `at` and `value` are taken modulo what fits,
 * so any pair of numbers is a valid mutation (and shrinks towards the start).
 *   flip      one bit of the byte at `at`
 *   set       the byte at `at` to `value`
 *   insert    `value` before `at`
 *   delete    the byte at `at`
 *   truncate  everything from `at` on
 *   length    a frame's length field (the first frame's, at `at` 0) moved by a little
 *   type      a type byte set to another known type (`value` picks it)
 *   repeat    the bytes from `at` on written twice
 */
export type MutationKind = 'flip' | 'set' | 'insert' | 'delete' | 'truncate' | 'length' | 'type' | 'repeat';

export interface Mutation {
  kind: MutationKind;
  at: number;
  value: number;
}

export const mutationArb: fc.Arbitrary<Mutation> = fc.record(
  {
    // Changes to a byte keep the framing more often than the others: more cases reach the session.
    kind: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom<MutationKind>('flip', 'set') },
      { weight: 2, arbitrary: fc.constantFrom<MutationKind>('insert', 'delete', 'truncate', 'length', 'type', 'repeat') },
    ),
    at: fc.nat({ max: 0xffff }),
    value: fc.nat({ max: 0xff }),
  },
  { noNullPrototype: true },
);

/** Offsets of the frames in a run of whole frames. */
function frameStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  // Bounded: each pass moves past one frame of at least 5 bytes.
  for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at)) starts.push(at);
  return starts;
}

/** `bytes` (whole frames) with `mutations` applied in order; never changes `bytes`. */
export function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let out = bytes;
  const starts = frameStarts(bytes);
  for (const { kind, at, value } of mutations) {
    const n = out.length;
    const i = at % (n + 1);
    const frame = starts.length === 0 ? undefined : (starts[at % starts.length] as number);
    switch (kind) {
      case 'flip':
        if (i < n) out = withByte(out, i, (out[i] as number) ^ (1 << (value % 8)));
        break;
      case 'set':
        if (i < n) out = withByte(out, i, value);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, i), Buffer.from([value]), out.subarray(i)]);
        break;
      case 'delete':
        if (i < n) out = Buffer.concat([out.subarray(0, i), out.subarray(i + 1)]);
        break;
      case 'truncate':
        out = out.subarray(0, i);
        break;
      case 'length':
        if (frame !== undefined && frame + 4 <= n) {
          const copy = Buffer.from(out);
          // -8 .. +7: near the real length, where off-by-a-few bugs live.
          copy.writeUInt32BE((copy.readUInt32BE(frame) + (value % 16) - 8) >>> 0, frame);
          out = copy;
        }
        break;
      case 'type':
        if (frame !== undefined && frame + 5 <= n) out = withByte(out, frame + 4, TYPE_CODES[value % TYPE_CODES.length] as number);
        break;
      case 'repeat':
        if (i < n) out = Buffer.concat([out, out.subarray(i)]);
        break;
    }
  }
  return out;
}

function withByte(bytes: Buffer, i: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[i] = value;
  return copy;
}

/** `bytes` cut at the given offsets (taken modulo its length; duplicates and order do not matter). */
export function cutInto(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    if (p > start) pieces.push(bytes.subarray(start, p));
    start = Math.max(start, p);
  }
  if (start < bytes.length || pieces.length === 0) pieces.push(bytes.subarray(start));
  return pieces;
}

/** What a receiver's decoder makes of bytes that start at a frame boundary. */
export interface Prediction {
  /** Whole messages decoded before anything went wrong. */
  messages: Message[];
  /** The decoder's error, if the bytes break a rule of protocol.md §2-§4. */
  error: NatterError | undefined;
  /** True when the bytes end inside a frame: the receiver waits for the rest. */
  isPartial: boolean;
}

/**
 * Decodes `bytes` as the receiving connection will (the same decoder, the
 * same limits), so a test knows beforehand whether a case can end its
 * connection in the decoder and whether it leaves a frame unfinished.
 */
export function predict(bytes: Buffer, limits: Partial<ProtocolLimits> = {}): Prediction {
  const decoder = new FrameDecoder(limits);
  const messages: Message[] = [];
  try {
    decoder.push(bytes);
    // Each message consumes at least 5 bytes: bounded by the input.
    for (let m = decoder.next(); m !== undefined; m = decoder.next()) messages.push(m);
  } catch (err) {
    if (!isNatterError(err)) throw err;
    return { messages, error: err, isPartial: false };
  }
  // A frame whose header is read but none of its payload holds no bytes: end() is what tells.
  try {
    decoder.end();
  } catch {
    return { messages, error: undefined, isPartial: true };
  }
  return { messages, error: undefined, isPartial: false };
}

/**
 * Records what a process throws into its event loop: uncaught exceptions and
 * unhandled rejections, which a fuzz run must never cause. The test runner's
 * own handlers still see them too.
 */
export class EventLoopWatch {
  /** Problems since the last reset(). */
  readonly problems: string[] = [];
  /** Every problem seen. */
  readonly allProblems: string[] = [];
  /** Rejects at the first problem since the last reset(), so that a run waiting on a connection the problem left hanging fails at once. */
  tripped!: Promise<never>;
  #trip: (err: Error) => void = () => {};
  readonly #onException = (err: unknown): void => this.#add(`uncaughtException: ${describe(err)}`);
  readonly #onRejection = (reason: unknown): void => this.#add(`unhandledRejection: ${describe(reason)}`);

  constructor() {
    this.reset();
  }

  /** Starts a run afresh (fast-check runs a failing case again while it shrinks it). */
  reset(): void {
    this.problems.length = 0;
    this.tripped = new Promise<never>((_, reject) => (this.#trip = reject));
    this.tripped.catch(() => {}); // observed by whoever races it
  }

  #add(problem: string): void {
    this.problems.push(problem);
    this.allProblems.push(problem);
    this.#trip(new Error(`thrown into the event loop: ${problem}`));
  }

  start(): void {
    process.on('uncaughtException', this.#onException);
    process.on('unhandledRejection', this.#onRejection);
  }

  stop(): void {
    process.off('uncaughtException', this.#onException);
    process.off('unhandledRejection', this.#onRejection);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * A logger for a server under fuzzing: keeps the code of every connection
 * failure it logs (a line with a `code` and no `reason`: a `reason` is the
 * other side's own ERROR, reported as it came) and every error-level line,
 * which means the server failed at something of its own.
 */
export class FailureLog implements Logger {
  /** How often each code was logged. */
  readonly codes = new Map<string, number>();
  /** Lines whose code is missing, undocumented or NATTER_ERR_INTERNAL, and error-level lines. */
  readonly problems: string[] = [];

  debug(fields: object, msg: string): void {
    this.#take(fields, msg);
  }

  info(fields: object, msg: string): void {
    this.#take(fields, msg);
  }

  warn(fields: object, msg: string): void {
    this.#take(fields, msg);
  }

  error(fields: object, msg: string): void {
    this.problems.push(`error logged: ${msg} ${JSON.stringify(fields)}`);
  }

  #take(fields: object, msg: string): void {
    if (!('code' in fields) || 'reason' in fields) return;
    const code = (fields as { code: unknown }).code;
    this.codes.set(String(code), (this.codes.get(String(code)) ?? 0) + 1);
    if (!isAcceptableCode(code)) this.problems.push(`failure with code ${String(code)}: ${msg}`);
  }
}

/**
 * The seed of a fuzz test's runs: NATTER_FUZZ_SEED when set (to replay a
 * failure), else a new one. Printed before the runs start, so that it is in
 * the log even if the test is stopped before fast-check can report it.
 */
export function fuzzSeed(label: string): number {
  const given = process.env.NATTER_FUZZ_SEED;
  const seed = given === undefined || given === '' ? (Date.now() ^ Math.floor(Math.random() * 0x1_0000_0000)) | 0 : Number(given);
  console.log(`${label}: seed ${seed} (NATTER_FUZZ_SEED=${seed} runs the same cases again)`);
  return seed;
}

/** A deadline for one wait inside a fuzz run: a hang fails the run with `what`, never the whole suite's timeout. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Running cases against a server over real connections

/** One case: valid messages, encoded, mutated, written in pieces cut at `cuts`. */
export interface FuzzCase {
  messages: Message[];
  mutations: Mutation[];
  cuts: number[];
}

/**
 * A case arbitrary: one to three of the given messages (after `first`, when
 * given); a third of the cases are valid frames as they are (out of place,
 * out of order, repeated).
 */
export function fuzzCaseArb(message: fc.Arbitrary<Message>, first?: fc.Arbitrary<Message>): fc.Arbitrary<FuzzCase> {
  const messages =
    first === undefined
      ? fc.array(message, { minLength: 1, maxLength: 3 })
      : fc.tuple(first, fc.array(message, { maxLength: 2 })).map(([head, rest]) => [head, ...rest]);
  return fc.record(
    {
      messages,
      mutations: fc.oneof(
        { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
        { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 2 }) },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 2 }),
    },
    { noNullPrototype: true },
  );
}

/** What a fuzz test needs to know about the server it fuzzes. */
export interface FuzzTarget {
  /** A new connection, through the handshake; unless `isBare`, also through HELLO and whatever opens a session there. */
  open(isBare: boolean): Promise<RawClient>;
  /** Messages a bare connection's case starts with (HELLO, and what opens a session), mutated with the rest. */
  readonly opening: readonly Message[];
  /**
   * The request sent after a case that leaves the connection open, and a
   * test for the answer that ends the case's answers, given the case's messages.
   */
  marker(messages: readonly Message[]): { bytes: Buffer; isEnd: (msg: Message) => boolean };
  /** Cases not to send at all (say, a PROBE that would make a directory dial a port of this machine that is not the test's). */
  isSkipped?(messages: readonly Message[]): boolean;
  /** Longest wait for a case's answers, or its connection's close. */
  readonly deadlineMs: number;
  /**
   * Ends a bare connection's case, whether or not it closed (by default the
   * connection is destroyed): a target that dialed the fuzzer may have more to put straight.
   */
  release?(client: RawClient): Promise<void>;
}

/** What a fuzz test saw, over all its runs. */
export class FuzzStats {
  cases = 0;
  skipped = 0;
  connections = 0;
  /** Cases that ended their connection. */
  closed = 0;
  /** ERROR codes received, and how often. */
  readonly errors = new Map<string, number>();

  toString(): string {
    return `${this.cases} cases (${this.skipped} skipped) over ${this.connections} connections, ${this.closed} ended by their case; ERROR frames: ${countsOf(this.errors)}`;
  }
}

/** "TRUNCATED 12, MALFORMED 3": codes by how often they came, most first. */
export function countsOf(codes: ReadonlyMap<string, number>): string {
  return [...codes]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code.replace('NATTER_ERR_', '')} ${n}`)
    .join(', ');
}

/**
 * Runs `cases` against `target`, on one connection for as long as it stays
 * open (or, with `isOpening`, each case on a new bare connection). Throws,
 * naming the case and its bytes, on an ERROR whose code is not documented
 * (or is NATTER_ERR_INTERNAL), a decoder error reported with another code
 * than the decoder's, or a case that neither gets its answers nor closes its
 * connection before the deadline.
 */
export async function runCases(
  target: FuzzTarget,
  cases: readonly FuzzCase[],
  stats: FuzzStats,
  { isOpening = false, watch }: { isOpening?: boolean; watch?: EventLoopWatch } = {},
): Promise<void> {
  let client: RawClient | undefined;
  try {
    for (const [index, c] of cases.entries()) {
      if (target.isSkipped?.(c.messages) === true) {
        stats.skipped++;
        continue;
      }
      const messages = isOpening ? [...target.opening, ...c.messages] : c.messages;
      const bytes = mutate(Buffer.concat(messages.map((m) => encodeMessage(m))), c.mutations);
      const prediction = predict(bytes);
      if (target.isSkipped?.(prediction.messages) === true) {
        stats.skipped++;
        continue;
      }
      stats.cases++;
      if (client === undefined) {
        stats.connections++;
        client = await within(target.open(isOpening), target.deadlineMs, 'connecting');
      }
      const answers: string[] = [];
      try {
        const isClosed = await runCase(target, client, bytes, c.cuts, prediction, answers, stats, watch);
        if (isClosed) stats.closed++;
        if (isOpening) {
          const done = client;
          client = undefined;
          await within(target.release?.(done) ?? Promise.resolve(done.destroy()), target.deadlineMs, 'ending the case');
        } else if (isClosed) {
          client = undefined;
        }
      } catch (err) {
        const expected = {
          messages: prediction.messages.map((m) => m.type),
          error: prediction.error?.code,
          isPartial: prediction.isPartial,
        };
        throw new Error(
          `case ${index}, bytes ${bytes.toString('hex')}, decoded as ${JSON.stringify(expected)}, answered ${answers.join(', ') || 'nothing'}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
  } finally {
    client?.destroy();
  }
}

/** Sends one case and reads its answers; resolves true when the connection closed. */
async function runCase(
  target: FuzzTarget,
  client: RawClient,
  bytes: Buffer,
  cuts: readonly number[],
  prediction: Prediction,
  answers: string[],
  stats: FuzzStats,
  watch: EventLoopWatch | undefined,
): Promise<boolean> {
  for (const piece of cutInto(bytes, cuts)) client.sendBytes(piece);
  const isFatal = prediction.error !== undefined || prediction.isPartial;
  let isEnd: (msg: Message) => boolean = () => false;
  if (isFatal) {
    // The rest of a frame cut short never comes: the other side must take the end as a truncated frame.
    if (prediction.isPartial) client.socket.end();
  } else {
    const marker = target.marker(prediction.messages);
    client.sendBytes(marker.bytes);
    isEnd = marker.isEnd;
  }
  let lastError: string | undefined;
  for (;;) {
    let msg: Message;
    try {
      const next = client.next(target.deadlineMs);
      msg = await (watch === undefined ? next : Promise.race([next, watch.tripped]));
    } catch (err) {
      if (!client.isClosed || client.pending.length > 0 || watch?.problems.length) throw err;
      // A decoder error, before any message of the case was taken, is reported with the decoder's code.
      if (prediction.error !== undefined && prediction.messages.length === 0) {
        assert.equal(lastError, prediction.error.code, 'the decoder error is the one reported');
      }
      return true;
    }
    answers.push(msg.type === 'ERROR' ? `ERROR ${msg.code}` : msg.type);
    if (msg.type === 'ERROR') {
      stats.errors.set(msg.code, (stats.errors.get(msg.code) ?? 0) + 1);
      assert.ok(isAcceptableCode(msg.code), `ERROR ${msg.code} (${msg.reason}) is not a documented code of a failure`);
      lastError = msg.code;
    }
    if (isEnd(msg)) return false;
  }
}
