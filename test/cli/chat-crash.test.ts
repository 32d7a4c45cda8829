/**
 * Nothing lost, nothing twice (protocol.md §7.1), with real processes killed
 * with SIGKILL: the sender between typing and delivery, the receiver before
 * it acknowledges, either of them while frames are on the wire, and both at
 * once; each restarted with the same identity and data directory. Then an
 * exact count: every message the sender took in is in the receiver's history
 * once, in the order it was typed, and the receiver never showed one twice.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { FRAMES_PER_TURN } from '../../src/peer/links/read-pacer.ts';
import { ChatProc, type Event } from '../helpers/chat-proc.ts';
import { freshHome } from '../helpers/cli.ts';
import { freePorts } from '../helpers/ports.ts';
import { loopbackFriends } from '../helpers/tmp.ts';

const ROUNDS = 60;
/** Upper bound on the whole loop; each round takes well under a second. */
const LOOP_DEADLINE_MS = 150_000;

const procs: ChatProc[] = [];
after(() => {
  for (const p of procs) p.kill('SIGKILL');
});

/** A tiny deterministic generator, so a failing run can be repeated (the seed is in the failure). */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it(`kill -9 of sender, receiver or both, ${ROUNDS} rounds: every message delivered exactly once, in order`, {
  timeout: LOOP_DEADLINE_MS + 30_000,
}, async (t) => {
  const seed = Number(process.env.NATTER_CRASH_SEED ?? Date.now() % 1_000_000);
  const rand = random(seed);
  const [alicePort, bobPort] = (await freePorts(2)) as [number, number];
  const table = loopbackFriends('crash', { alice: alicePort, bob: bobPort });
  const homes = { alice: freshHome(), bob: freshHome() };
  const runs: Record<'alice' | 'bob', ChatProc[]> = { alice: [], bob: [] };

  async function launch(name: 'alice' | 'bob'): Promise<ChatProc> {
    const p = new ChatProc(['--name', name, '--friends', table, '--retry', '0.05', '--keepalive', '1'], { XDG_CONFIG_HOME: homes[name] });
    procs.push(p);
    runs[name].push(p);
    await p.next('ready', () => true, 15_000);
    return p;
  }
  async function kill(p: ChatProc): Promise<void> {
    p.kill('SIGKILL');
    const { code, signal } = await p.exit();
    assert.equal(signal, 'SIGKILL', `it was still running when killed (exit code ${code}); stderr: ${p.proc.stderr}`);
  }
  const all = (name: 'alice' | 'bob', type: string): Event[] => runs[name].flatMap((p) => p.allEvents().filter((e) => e.type === type));

  let alice = await launch('alice');
  let bob = await launch('bob');
  let typed = 0;
  const type = (n: number): void => {
    for (let i = 0; i < n; i++) alice.send({ cmd: 'send', to: 'bob', text: `m${String(typed++).padStart(5, '0')}` });
  };
  const kinds = { sender: 0, receiver: 0, both: 0, receiverAway: 0 };
  const started = Date.now();
  for (let round = 0; round < ROUNDS && Date.now() - started < LOOP_DEADLINE_MS; round++) {
    const victim = (['sender', 'receiver', 'both', 'receiverAway'] as const)[round % 4] as keyof typeof kinds;
    kinds[victim]++;
    if (victim === 'receiverAway') {
      // The friend is offline while messages are typed, and comes back later.
      await kill(bob);
      type(1 + Math.floor(rand() * 5));
      await sleep(rand() * 60);
      bob = await launch('bob');
      continue;
    }
    type(1 + Math.floor(rand() * 12));
    // Somewhere while those are queued, on the wire, being recorded or acknowledged.
    await sleep(rand() * 25);
    if (victim === 'sender' || victim === 'both') await kill(alice);
    if (victim === 'receiver' || victim === 'both') await kill(bob);
    if (victim === 'sender' || victim === 'both') alice = await launch('alice');
    if (victim === 'receiver' || victim === 'both') bob = await launch('bob');
  }

  // What alice took in: every text natter reported queued (recovered ones are reported again at each start).
  const entered = [...new Set(all('alice', 'queued').map((e) => String(e.text)))].sort();
  const enteredIds = new Set(all('alice', 'queued').map((e) => String(e.id)));
  const deadline = Date.now() + 20_000;
  const delivered = (): Set<string> => new Set(all('alice', 'delivered').map((e) => String(e.id)));
  while ([...enteredIds].some((id) => !delivered().has(id))) {
    if (Date.now() > deadline)
      assert.fail(`seed ${seed}: ${[...enteredIds].filter((id) => !delivered().has(id)).length} messages never delivered`);
    await sleep(20);
  }

  bob.send({ cmd: 'history', with: 'alice', count: 10_000 });
  const history = (await bob.next('history')).entries as { dir: string; id: string; text: string }[];
  const received = history.filter((h) => h.dir === 'in');
  const context = `seed ${seed}, ${typed} typed, ${entered.length} entered, rounds ${JSON.stringify(kinds)}`;
  assert.ok(entered.length >= ROUNDS, `${context}: most typed messages are entered`);
  assert.deepEqual(
    received.map((h) => h.text),
    entered,
    `${context}: the receiver has every entered message once, in order`,
  );
  assert.equal(new Set(received.map((h) => h.id)).size, received.length, `${context}: each id once`);

  // What bob showed, over all its lives: never twice, never out of order, never something not sent.
  const shown = all('bob', 'message').map((e) => String(e.text));
  assert.equal(new Set(shown).size, shown.length, `${context}: no message shown twice`);
  assert.deepEqual(shown, [...shown].sort(), `${context}: shown in the order typed`);
  assert.ok(
    shown.every((t) => entered.includes(t)),
    `${context}: nothing shown that was not entered`,
  );
  // A receiver killed between recording messages and printing them shows them only in /history (protocol.md §7.1):
  // at most one slice of frames from the sender, recorded with one write.
  assert.ok(
    entered.length - shown.length <= (kinds.receiver + kinds.both) * FRAMES_PER_TURN,
    `${context}: ${entered.length - shown.length} recorded but not shown`,
  );

  t.diagnostic(`${context}; ${shown.length} shown as they came, ${entered.length - shown.length} only in /history`);

  alice.send({ cmd: 'quit' });
  bob.send({ cmd: 'quit' });
  assert.deepEqual(await alice.exit(), { code: 0, signal: null });
  assert.deepEqual(await bob.exit(), { code: 0, signal: null });
});
