/**
 * Fuzzing a peer's connections: mutated valid frames, inside a real
 * encrypted channel, to a real PeerNode on 127.0.0.1, both ways: on
 * connections the fuzzer dials (after CONN and the RESP that opens the chat,
 * and for openings in place of CONN), and on connections the node dials to
 * the fuzzer (in place of its RESP). Every
 * failure must be a NatterError with a documented code, on that connection
 * alone: nothing reaches the event loop (the node emits no 'error', which
 * would throw with no listener), every 'problem' it reports is a
 * NatterError with a documented code, a canary peer's chat with it keeps
 * delivering, and no fuzzed connection is left at the end.
 *
 * Cases share a connection while it stays open: PING with a nonce of the
 * fuzzer's marks the end of a case's answers (the PONG echoes it). See
 * test/helpers/fuzz.ts. NATTER_FUZZ_SCALE=10 runs ten times as many cases;
 * fast-check prints the seed and path of a failing run.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Discovery, KeyAuthority, PeerInfo } from '../../src/discovery/discovery.ts';
import {
  DOCUMENTED_CODES,
  countsOf,
  EventLoopWatch,
  fuzzSeed,
  FailureLog,
  FuzzStats,
  fuzzCaseArb,
  runCases,
  within,
  type FuzzCase,
  type FuzzTarget,
} from '../helpers/fuzz.ts';
import { isNatterError } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';
import { PeerNode } from '../../src/peer/peer-node.ts';
import { ipArb, messageArb, nameArb } from '../helpers/arbitraries.ts';
import { RawClient, newKeyPair } from '../helpers/raw-client.ts';

const SCALE = Number(process.env.NATTER_FUZZ_SCALE ?? 1);
const CASES_PER_RUN = 100;
const SESSION_RUNS = Math.round(160 * SCALE);
const OPENING_RUNS = Math.round(10 * SCALE);
const DIALED_RUNS = Math.round(20 * SCALE);
const DEADLINE_MS = 5_000;
/** Room for fast-check to shrink a failure on a loaded machine (a run takes 10 to 50 s). */
const FUZZ_TIMEOUT_MS = 600_000;
const FUZZER = 'fuzzer';

/** Peers the test knows; names it does not are pinned on first use (a friends table's rule). */
class Book implements Discovery {
  readonly keyAuthority: KeyAuthority = 'friends-table';
  readonly entries = new Map<string, PeerInfo>();
  async lookup(name: string): Promise<PeerInfo | undefined> {
    return this.entries.get(name);
  }
  async list(): Promise<PeerInfo[]> {
    return [...this.entries.values()];
  }
  isFriend(): boolean {
    return false;
  }
}

const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
/** A few ids over and over: copies of a message, receipts for what was sent. */
const fewIdsArb = fc
  .constantFrom('00000000000000000000000000000000', 'ffffffffffffffffffffffffffffffff', '0123456789abcdef0123456789abcdef')
  .map((hex) => Buffer.from(hex, 'hex'));

/** What a peer takes in an open chat, weighted towards chat traffic, with any message now and then. */
const peerMessageArb: fc.Arbitrary<Message> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      { type: fc.constant('TEXT' as const), id: fc.oneof(idArb, fewIdsArb), ts: fc.maxSafeNat(), text: fc.string({ maxLength: 40 }) },
      { noNullPrototype: true },
    ),
  },
  { weight: 2, arbitrary: fc.oneof(idArb, fewIdsArb).map((id): Message => ({ type: 'RCPT', id })) },
  { weight: 2, arbitrary: fc.nat({ max: 0xffff_ffff }).map((nonce): Message => ({ type: 'PING', nonce })) },
  { weight: 1, arbitrary: fc.nat({ max: 0xffff_ffff }).map((nonce): Message => ({ type: 'PONG', nonce })) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        type: fc.constant('CONN' as const),
        name: fc.oneof(fc.constant(FUZZER), nameArb),
        ip: ipArb,
        port: fc.integer({ min: 1, max: 0xffff }),
      },
      { noNullPrototype: true },
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('NATTER_ERR_TIMEOUT', 'X').map((code): Message => ({ type: 'ERROR', code, reason: 'fuzz' })) },
  { weight: 1, arbitrary: fc.boolean().map((accept): Message => ({ type: 'RESP', accept, reason: '' })) },
  // END closes the chat: rarer, or few cases would share a connection.
  { weight: 1, arbitrary: fc.oneof({ weight: 1, arbitrary: fc.constant<Message>({ type: 'END' }) }, { weight: 3, arbitrary: messageArb }) },
);

/** CONN as the fuzzer's first frame: its own name mostly, the canary's (another key: refused), the node's own (refused), any. */
const connArb: fc.Arbitrary<Message> = fc.record(
  {
    type: fc.constant('CONN' as const),
    name: fc.oneof(
      { weight: 3, arbitrary: fc.constant(FUZZER) },
      { weight: 1, arbitrary: fc.constantFrom('canary', 'target') },
      { weight: 1, arbitrary: nameArb },
    ),
    ip: ipArb,
    port: fc.integer({ min: 1, max: 0xffff }),
  },
  { noNullPrototype: true },
);

/** RESP as the answer to the node's own CONN: accepted mostly, declined, busy. */
const respArb: fc.Arbitrary<Message> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Message>({ type: 'RESP', accept: true, reason: '' }) },
  { weight: 1, arbitrary: fc.constantFrom('declined', 'busy', '').map((reason): Message => ({ type: 'RESP', accept: false, reason })) },
);

/** The marker's nonces count down from the top, where the cases' own PINGs rarely are. */
let nextNonce = 0xffff_ffff;

/** PING with a nonce of the fuzzer's: its PONG ends a case's answers. */
function pingMarker(): ReturnType<FuzzTarget['marker']> {
  const nonce = nextNonce--;
  return { bytes: encodeMessage({ type: 'PING', nonce }), isEnd: (msg) => msg.type === 'PONG' && msg.nonce === nonce };
}

/** The fuzzer dials the node. */
function peerTarget(port: number, keyPair: ReturnType<typeof newKeyPair>): FuzzTarget {
  return {
    async open(isBare) {
      const client = await RawClient.connect(port, { keyPair, hello: !isBare });
      if (isBare) return client;
      client.send({ type: 'CONN', name: FUZZER, ip: '127.0.0.1', port: 1 });
      const resp = await client.next(DEADLINE_MS);
      assert.ok(resp.type === 'RESP' && resp.accept, `the chat opens: ${JSON.stringify(resp)}`);
      return client;
    },
    opening: [{ type: 'HELLO', version: PROTOCOL_VERSION }],
    marker: pingMarker,
    deadlineMs: DEADLINE_MS,
  };
}

/** Connections the node dials to the fuzzer's listener, in the order they come. */
class Accepted {
  readonly #ready: RawClient[] = [];
  #waiter: ((client: RawClient) => void) | undefined;

  take(client: RawClient): void {
    if (this.#waiter === undefined) this.#ready.push(client);
    else this.#waiter(client);
    this.#waiter = undefined;
  }

  /** Drops connections nobody waited for (there should be none). */
  clear(): void {
    for (const c of this.#ready.splice(0)) c.destroy();
  }

  next(): Promise<RawClient> {
    const ready = this.#ready.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => (this.#waiter = resolve));
  }
}

/**
 * The node dials the fuzzer: a message for it opens the connection; the
 * fuzzer answers HELLO, takes the node's CONN, and the case comes in place
 * of RESP. Afterwards the node ends the chat and drops what is left for the
 * fuzzer, so that no retry dials it between cases.
 */
function dialedTarget(node: PeerNode, accepted: Accepted): FuzzTarget {
  let sent = 0;
  return {
    async open() {
      accepted.clear();
      const next = accepted.next();
      await node.send(FUZZER, `message ${++sent}`);
      const client = await next;
      const hello = await client.next(DEADLINE_MS);
      assert.equal(hello.type, 'HELLO');
      client.send({ type: 'HELLO', version: PROTOCOL_VERSION });
      const conn = await client.next(DEADLINE_MS);
      assert.ok(conn.type === 'CONN' && conn.name === 'target', `the node says who it is: ${JSON.stringify(conn)}`);
      return client;
    },
    opening: [],
    marker: pingMarker,
    deadlineMs: DEADLINE_MS,
    async release(client) {
      if (node.chatState(FUZZER) !== undefined) node.end(FUZZER);
      node.drop(FUZZER);
      client.destroy();
      // Bounded by the deadline the runner puts around release.
      while (node.connectionCount > 1) await new Promise((resolve) => setTimeout(resolve, 1));
    },
  };
}

describe('fuzzing a peer', () => {
  const watch = new EventLoopWatch();
  const log = new FailureLog();
  const stats = new FuzzStats();
  /** 'problem' events of the fuzzed nodes that are not NatterErrors with a documented code. */
  const badEvents: string[] = [];
  const fuzzerKey = newKeyPair();
  let target: PeerNode;
  let asking: PeerNode;
  let canary: PeerNode;
  let port: number;
  let askingPort: number;
  let canaryMessages = 0;
  /** Where the node dials the fuzzer. */
  let fuzzServer: Server;
  const accepted = new Accepted();

  /** The canary's chat delivers: a message goes, its receipt comes back, and the target shows it. */
  async function checkCanary(): Promise<void> {
    const text = `canary ${++canaryMessages}`;
    const shown = new Promise<void>((resolve) => {
      const onMessage = (from: string, got: string): void => {
        if (from !== 'canary' || got !== text) return;
        target.off('message', onMessage);
        resolve();
      };
      target.on('message', onMessage);
    });
    const delivered = once(canary, 'delivered');
    await within(canary.send('target', text), DEADLINE_MS, 'the canary sends');
    await within(shown, DEADLINE_MS, 'the canary message shown');
    await within(delivered, DEADLINE_MS, "the canary's receipt");
  }

  async function fuzz(runs: number, caseArb: fc.Arbitrary<FuzzCase>, fuzzTarget: () => FuzzTarget, isOpening: boolean): Promise<void> {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(caseArb, { minLength: CASES_PER_RUN, maxLength: CASES_PER_RUN }), async (cases: FuzzCase[]) => {
        watch.reset();
        await runCases(fuzzTarget(), cases, stats, { isOpening, watch });
        if (++run % 10 === 0) await checkCanary();
        assert.deepEqual(watch.problems, [], 'thrown into the event loop');
        assert.deepEqual(log.problems, [], 'logged by the peer');
        assert.deepEqual(badEvents, [], "the peer's 'problem' events");
      }),
      { numRuns: runs, seed: fuzzSeed(`peer fuzz, ${runs} runs`) },
    );
  }

  before(async () => {
    watch.start();
    fuzzServer = createServer((socket) => {
      RawClient.accept(socket, fuzzerKey).then(
        (client) => accepted.take(client),
        () => socket.destroy(),
      );
    });
    await new Promise<void>((resolve) => fuzzServer.listen(0, '127.0.0.1', resolve));
    const book = new Book();
    book.entries.set(FUZZER, { name: FUZZER, ip: '127.0.0.1', port: (fuzzServer.address() as AddressInfo).port, key: fuzzerKey.publicKey });
    target = new PeerNode({ name: 'target', discovery: book, listenPort: 0, isAutoAccept: true, logger: log });
    // No 'error' listener on purpose: Node throws an 'error' no one listens for, and the watch would catch it.
    // What the node reports instead must be a NatterError with a documented code.
    const onProblem = (err: unknown): void => {
      if (!isNatterError(err) || !DOCUMENTED_CODES.has(err.code)) badEvents.push(String(err));
    };
    target.on('problem', onProblem);
    ({ port } = await target.start());
    // Openings go to a node that asks its user, who never answers: each CONN stays a request until its connection goes.
    asking = new PeerNode({ name: 'asking', discovery: new Book(), listenPort: 0, maxChats: 2, logger: log });
    asking.on('problem', onProblem);
    ({ port: askingPort } = await asking.start());
    const canaryBook = new Book();
    canaryBook.entries.set('target', { name: 'target', ip: '127.0.0.1', port, key: target.publicKey });
    canary = new PeerNode({ name: 'canary', discovery: canaryBook, listenPort: 0 });
    await canary.start();
    await canary.connect('target');
    await within(once(canary, 'connected'), DEADLINE_MS, 'the canary connects');
  });

  after(async () => {
    await canary.stop();
    await target.stop();
    await asking.stop();
    accepted.clear();
    await new Promise<void>((resolve) => fuzzServer.close(() => resolve()));
    watch.stop();
    console.log(`peer fuzz: ${stats}; failures logged: ${countsOf(log.codes)}`);
  });

  it(`${SESSION_RUNS * CASES_PER_RUN} cases of mutated chat traffic: only documented errors, each on its own connection`, {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    await fuzz(SESSION_RUNS, fuzzCaseArb(peerMessageArb), () => peerTarget(port, fuzzerKey), false);
  });

  it(`${OPENING_RUNS * CASES_PER_RUN} mutated openings (HELLO, CONN and what follows), each on a new connection`, {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    await fuzz(OPENING_RUNS, fuzzCaseArb(peerMessageArb, connArb), () => peerTarget(askingPort, fuzzerKey), true);
  });

  it(`${DIALED_RUNS * CASES_PER_RUN} mutated answers (RESP and what follows) on connections the node dials`, {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    await fuzz(DIALED_RUNS, fuzzCaseArb(peerMessageArb, respArb), () => dialedTarget(target, accepted), true);
    assert.deepEqual(target.outbox(), [], 'nothing waits for the fuzzer');
  });

  it("the canary's chat delivered throughout, and no fuzzed connection is left behind", async () => {
    await checkCanary();
    const deadline = Date.now() + DEADLINE_MS;
    while (target.connectionCount > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(target.connectionCount, 1, "only the canary's connection is open");
    assert.deepEqual(
      target.chats().map((c) => [c.peer, c.state]),
      [['canary', 'open']],
      'no chat outlives its connection',
    );
    while (asking.connectionCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(asking.connectionCount, 0);
    assert.deepEqual(asking.chats(), [], 'no request outlives its connection');
    assert.ok(stats.cases >= (SESSION_RUNS + OPENING_RUNS + DIALED_RUNS) * CASES_PER_RUN, `${stats.cases} cases ran`);
    assert.deepEqual(watch.allProblems, []);
    assert.deepEqual(log.problems, []);
    assert.deepEqual(badEvents, []);
  });
});
