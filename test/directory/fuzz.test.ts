/**
 * Fuzzing the directory's sessions: mutated valid frames, inside a real
 * encrypted channel, to a real DirectoryServer on 127.0.0.1. Every failure
 * must be a NatterError with a documented code, on that connection alone:
 * nothing reaches the event loop, the server logs no fault of its own, a
 * registered canary is answered throughout, and no fuzzed connection is
 * left on the server at the end.
 *
 * Cases share a connection while it stays open: after a case the decoder
 * takes whole, DUMP marks the end of its answers (the fuzzer's key is no
 * admin key, so it is refused, and the refusal changes nothing). See
 * test/helpers/fuzz.ts. NATTER_FUZZ_SCALE=10 runs ten times as many cases;
 * fast-check prints the seed and path of a failing run.
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DirectoryServer } from '../../src/directory/server.ts';
import { DirectoryClient } from '../../src/discovery/directory-client.ts';
import { ERROR_CODES } from '../../src/errors.ts';
import { encodeMessage } from '../../src/protocol/codec.ts';
import { PROTOCOL_VERSION, type Message } from '../../src/protocol/messages.ts';
import type { KeyPair } from '../../src/transport/secure.ts';
import { ipArb, messageArb, nameArb } from '../helpers/arbitraries.ts';
import {
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
import { RawClient, newKeyPair } from '../helpers/raw-client.ts';

const SCALE = Number(process.env.NATTER_FUZZ_SCALE ?? 1);
const CASES_PER_RUN = 100;
const SESSION_RUNS = Math.round(210 * SCALE);
const OPENING_RUNS = Math.round(10 * SCALE);
const DEADLINE_MS = 5_000;
/** Room for fast-check to shrink a failure on a loaded machine (a run takes 10 to 50 s). */
const FUZZ_TIMEOUT_MS = 600_000;
/** How long a relay half waits for its other side: a fuzzed RELAY waits this long for nothing. */
const RELAY_JOIN_MS = 200;
const CANARY = 'canary';

/** Names the fuzzer uses: its own, the canary's (taken; punched and relayed to), and any. */
const fuzzNameArb = fc.oneof(fc.constantFrom('fuzz', CANARY, 'fuzz2'), nameArb);

/** What a directory takes, weighted towards requests, with any message now and then. */
function directoryMessageArb(sinkPort: number): fc.Arbitrary<Message> {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record(
        { type: fc.constant('UP' as const), name: fuzzNameArb, ip: ipArb, port: fc.nat({ max: 0xffff }) },
        { noNullPrototype: true },
      ),
    },
    { weight: 2, arbitrary: fc.constant<Message>({ type: 'WHO' }) },
    { weight: 2, arbitrary: fc.constant<Message>({ type: 'ALIVE' }) },
    { weight: 1, arbitrary: fc.constant<Message>({ type: 'DOWN' }) },
    { weight: 1, arbitrary: fc.constant<Message>({ type: 'DUMP' }) },
    { weight: 1, arbitrary: fc.constant<Message>({ type: 'SHUTDOWN' }) },
    { weight: 1, arbitrary: fuzzNameArb.map((name): Message => ({ type: 'PUNCH', name })) },
    { weight: 1, arbitrary: fuzzNameArb.map((name): Message => ({ type: 'RELAY', name })) },
    { weight: 1, arbitrary: fc.constant<Message>({ type: 'PROBE', port: sinkPort }) },
    { weight: 1, arbitrary: fc.constantFrom('NATTER_ERR_TIMEOUT', 'X').map((code): Message => ({ type: 'ERROR', code, reason: 'fuzz' })) },
    { weight: 1, arbitrary: messageArb },
  );
}

const DUMP = encodeMessage({ type: 'DUMP' });

function directoryTarget(port: number, keyPair: KeyPair, sinkPort: number): FuzzTarget {
  return {
    open: (isBare) => RawClient.connect(port, { keyPair, hello: !isBare }),
    opening: [{ type: 'HELLO', version: PROTOCOL_VERSION }],
    marker(messages) {
      // Every DUMP and SHUTDOWN of the case is refused the same way before the marker's own refusal.
      let refusals = messages.filter((m) => m.type === 'DUMP' || m.type === 'SHUTDOWN').length + 1;
      return { bytes: DUMP, isEnd: (msg) => msg.type === 'ERROR' && msg.code === ERROR_CODES.NOT_AUTHORIZED && --refusals === 0 };
    },
    // A mutated PROBE would make the directory dial a port of this machine that is not the test's.
    isSkipped: (messages) => messages.some((m) => m.type === 'PROBE' && m.port !== sinkPort),
    deadlineMs: DEADLINE_MS,
  };
}

describe('fuzzing the directory', () => {
  const watch = new EventLoopWatch();
  const log = new FailureLog();
  const stats = new FuzzStats();
  let server: DirectoryServer;
  let port: number;
  let sink: Server;
  let sinkPort: number;
  let canary: DirectoryClient;

  /** The canary is still registered and answered. */
  async function checkCanary(): Promise<void> {
    assert.ok((await within(canary.alive(), DEADLINE_MS, 'the canary ALIVE')) !== undefined, 'the canary is still registered');
    assert.ok(
      (await within(canary.who(), DEADLINE_MS, 'the canary WHO')).some((p) => p.name === CANARY),
      'the canary is listed',
    );
  }

  /** One property: `runs` runs of CASES_PER_RUN cases each, each run with a key of its own. */
  async function fuzz(runs: number, isOpening: boolean): Promise<void> {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzCaseArb(directoryMessageArb(sinkPort)), { minLength: CASES_PER_RUN, maxLength: CASES_PER_RUN }),
        async (cases: FuzzCase[]) => {
          watch.reset();
          await runCases(directoryTarget(port, newKeyPair(), sinkPort), cases, stats, { isOpening, watch });
          if (++run % 10 === 0) await checkCanary();
          assert.deepEqual(watch.problems, [], 'thrown into the event loop');
          assert.deepEqual(log.problems, [], 'logged by the directory');
        },
      ),
      { numRuns: runs, seed: fuzzSeed(`directory fuzz, ${runs} runs`) },
    );
  }

  before(async () => {
    watch.start();
    // PROBE dials back here; the sink hangs up at once.
    sink = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    sinkPort = (sink.address() as AddressInfo).port;
    server = new DirectoryServer({
      logger: log,
      // The fuzzer sends as fast as answers come; the rate limiter has tests of its own.
      rateBurst: 1_000_000,
      ratePerSecond: 1_000_000,
      relayJoinTimeoutMs: RELAY_JOIN_MS,
      probeTimeoutMs: 500,
    });
    ({ port } = await server.listen(0, '127.0.0.1'));
    canary = await DirectoryClient.connect({ host: '127.0.0.1', port, keyPair: newKeyPair() });
    await canary.register(CANARY);
  });

  after(async () => {
    canary.conn.destroy();
    await server.shutdown('fuzzing over');
    await new Promise<void>((resolve) => sink.close(() => resolve()));
    watch.stop();
    console.log(`directory fuzz: ${stats}; failures logged: ${countsOf(log.codes)}`);
  });

  it(`${SESSION_RUNS * CASES_PER_RUN} cases of mutated requests in sessions: only documented errors, each on its own connection`, {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    await fuzz(SESSION_RUNS, false);
  });

  it(`${OPENING_RUNS * CASES_PER_RUN} mutated openings (HELLO and a first request), each on a new connection`, {
    timeout: FUZZ_TIMEOUT_MS,
  }, async () => {
    await fuzz(OPENING_RUNS, true);
  });

  it('the canary was answered throughout, and no fuzzed connection is left behind', async () => {
    await checkCanary();
    const deadline = Date.now() + DEADLINE_MS;
    while (server.connectionCount > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(server.connectionCount, 1, 'only the canary is connected');
    assert.deepEqual(
      (await canary.who()).map((p) => p.name),
      [CANARY],
      'no registration outlives its connection',
    );
    assert.deepEqual(server.relay.counts, { links: 0, pending: 0 });
    assert.ok(stats.cases >= (SESSION_RUNS + OPENING_RUNS) * CASES_PER_RUN * 0.95, `${stats.cases} cases ran`);
    assert.deepEqual(watch.allProblems, []);
    assert.deepEqual(log.problems, []);
  });
});
